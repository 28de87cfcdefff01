import Foundation

/// Evaluates a parsed expression against the run's data. Recursion follows the tree, whose depth
/// the parser bounds.
struct Evaluator {
  let context: EvaluationContext

  /// The value of a node; `&&` and `||` short-circuit.
  func evaluate(_ node: Node) throws(ExpressionError) -> Value {
    switch node {
    case .literal(let value):
      return value
    case .root(let root):
      return whole(root)
    case .access(let base, let segments):
      return try access(base, segments)
    case .not(let operand):
      return .bool(!(try evaluate(operand)).isTruthy)
    case .and(let operands):
      var last = Value.null
      for operand in operands {
        last = try evaluate(operand)
        if !last.isTruthy { return last }
      }
      return last
    case .or(let operands):
      var last = Value.null
      for operand in operands {
        last = try evaluate(operand)
        if last.isTruthy { return last }
      }
      return last
    case .chain(let first, let rest):
      var left = try evaluate(first)
      for (op, operand, offset) in rest {
        let right = try evaluate(operand)
        left = .bool(try Evaluator.compare(left, op, right, at: offset))
      }
      return left
    case .call(let function, let arguments, let offset):
      var values: [Value] = []
      values.reserveCapacity(arguments.count)
      for argument in arguments { values.append(try evaluate(argument)) }
      return try function.apply(values, at: offset)
    case .provided(let dispatch, let cases):
      let chosen = try evaluate(dispatch)
      guard let match = cases.first(where: { Value.string($0.provider) == chosen }) else { return .null }
      return try evaluate(match.value)
    case .object(let pairs):
      var out: [String: Value] = [:]
      for (key, leaf) in pairs {
        let value = try evaluate(leaf)
        if value.isNull { return .null }
        out[key] = value
      }
      return .object(out)
    }
  }

  /// A root as a whole map (`toJSON(inputs)`); paths below a root avoid building it.
  private func whole(_ root: Root) -> Value {
    switch root {
    case .inputs: return .object(context.inputs)
    case .steps: return .object(context.steps.mapValues { .object($0) })
    case .env: return .object(context.env.mapValues { .string($0) })
    case .configured: return .object(context.configured.mapValues { .bool($0) })
    case .incident: return .object(context.incident)
    case .provider: return .null
    }
  }

  /// Follows a property chain. A missing member, an index out of range or a member of something
  /// that is not a map is null, never an error: a skipped step's outputs read as null.
  private func access(_ base: Node, _ segments: [Segment]) throws(ExpressionError) -> Value {
    var remaining = segments[...]
    var value: Value
    if case .root(let root) = base, case .name(let first)? = remaining.first {
      remaining = remaining.dropFirst()
      switch root {
      case .inputs: value = context.inputs[first] ?? .null
      case .env: value = context.env[first].map { .string($0) } ?? .null
      case .configured: value = .bool(context.configured[first] ?? false)
      case .incident: value = context.incident[first] ?? .null
      case .provider: return .null
      case .steps:
        guard let outputs = context.steps[first] else { return .null }
        if case .name(let output)? = remaining.first {
          remaining = remaining.dropFirst()
          value = outputs[output] ?? .null
        } else {
          value = .object(outputs)
        }
      }
    } else {
      value = try evaluate(base)
    }
    for segment in remaining {
      switch segment {
      case .name(let name):
        value = value[name] ?? .null
      case .index(let node, _):
        value = Evaluator.index(value, try evaluate(node))
      }
    }
    return value
  }

  /// `value[key]`: maps by string (numbers are written out), lists by whole non-negative number.
  static func index(_ value: Value, _ key: Value) -> Value {
    switch (value, key) {
    case (.object(let o), .string(let k)): return o[k] ?? .null
    case (.object(let o), .number), (.object(let o), .bool): return o[key.description] ?? .null
    case (.array(let a), _):
      guard let i = key.intValue, a.indices.contains(i) else { return .null }
      return a[i]
    default: return .null
    }
  }

  /// `==` as the runbook language defines it: same-type values compare by value (strings
  /// case-sensitively); a number and a string that spells a number compare as numbers; a boolean
  /// equals the string `'true'`/`'false'` (inputs arrive as text); null equals only null.
  static func looselyEqual(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.number(let n), .string(let s)), (.string(let s), .number(let n)):
      guard let d = numeric(s) else { return false }
      return n == d
    case (.bool(let b), .string(let s)), (.string(let s), .bool(let b)):
      return s == (b ? "true" : "false")
    case (.array, .array), (.object, .object): return a == b
    default: return false
    }
  }

  /// The number a string spells (surrounding whitespace allowed), or nil.
  static func numeric(_ s: String) -> Double? {
    let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
    guard let first = trimmed.unicodeScalars.first,
      Lexer.isDigit(first) || first == "-" || first == "+" || first == ".",
      let d = Double(trimmed), d.isFinite
    else { return nil }
    return d
  }

  /// Applies one comparison operator. Ordering needs two numbers (or numeric strings) or two
  /// strings (compared by code point, so ISO-8601 timestamps order correctly); anything else is
  /// an error at the operator rather than a silent false.
  static func compare(_ a: Value, _ op: BinaryOperator, _ b: Value, at offset: Int) throws(ExpressionError) -> Bool {
    switch op {
    case .equal: return looselyEqual(a, b)
    case .notEqual: return !looselyEqual(a, b)
    default: break
    }
    let ordering: Int
    switch (a, b) {
    case (.number(let x), .number(let y)):
      guard let o = order(x, y) else { return false }
      ordering = o
    case (.number(let x), .string(let s)):
      guard let y = numeric(s) else { throw mismatch(a, op, b, offset) }
      guard let o = order(x, y) else { return false }
      ordering = o
    case (.string(let s), .number(let y)):
      guard let x = numeric(s) else { throw mismatch(a, op, b, offset) }
      guard let o = order(x, y) else { return false }
      ordering = o
    case (.string(let x), .string(let y)):
      if let nx = numeric(x), let ny = numeric(y) {
        guard let o = order(nx, ny) else { return false }
        ordering = o
      } else {
        let xs = Array(x.unicodeScalars.map(\.value))
        let ys = Array(y.unicodeScalars.map(\.value))
        ordering = xs == ys ? 0 : (xs.lexicographicallyPrecedes(ys) ? -1 : 1)
      }
    default:
      throw mismatch(a, op, b, offset)
    }
    switch op {
    case .less: return ordering < 0
    case .lessEqual: return ordering <= 0
    case .greater: return ordering > 0
    case .greaterEqual: return ordering >= 0
    case .equal, .notEqual: return false  // handled above
    }
  }

  private static func order(_ x: Double, _ y: Double) -> Int? {
    if x.isNaN || y.isNaN { return nil }
    return x < y ? -1 : (x > y ? 1 : 0)
  }

  private static func mismatch(_ a: Value, _ op: BinaryOperator, _ b: Value, _ offset: Int) -> ExpressionError {
    ExpressionError(
      "'\(op.rawValue)' needs two numbers or two strings, got \(a.typeName) and \(b.typeName)", at: offset)
  }
}
