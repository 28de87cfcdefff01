/// The data an expression can name at its root.
enum Root: String, Sendable, CaseIterable {
  /// `configured.NAME` is whether an env variable is set: how a runbook asks about a credential
  /// it may not read (`when: ${{ configured.SLACK_WEBHOOK_URL }}`).
  /// `provider.NAME` is a value the dispatched provider's part provides (`provides:` in its
  /// response.yaml); loading replaces it with a `.provided` node, so nothing evaluates it as is.
  case inputs, steps, env, configured, incident, provider
}

/// A binary operator, in the precedence groups GitHub Actions uses.
enum BinaryOperator: String, Sendable {
  case less = "<"
  case lessEqual = "<="
  case greater = ">"
  case greaterEqual = ">="
  case equal = "=="
  case notEqual = "!="
}

/// One step of a property chain: `.name` or `[expression]`.
enum Segment: Sendable {
  case name(String)
  case index(Node, offset: Int)
}

/// The parsed form of an expression. Operator chains are flat lists (not left-nested trees), so
/// the tree is never deeper than the nesting the parser allows, however long the expression.
indirect enum Node: Sendable {
  case literal(Value)
  case root(Root)
  /// A property chain: `base.a['b'][0]`.
  case access(Node, [Segment])
  case not(Node)
  /// `a && b && c`: the first falsy operand, else the last.
  case and([Node])
  /// `a || b || c`: the first truthy operand, else the last.
  case or([Node])
  /// `a == b != c` or `a < b <= c`, evaluated left to right.
  case chain(Node, [(op: BinaryOperator, operand: Node, offset: Int)])
  case call(Function, [Node], offset: Int)
  /// `provider.NAME` resolved at load time: the case whose provider equals the dispatch's value,
  /// null when no case matches (the dispatched provider provides no such value).
  case provided(dispatch: Node, cases: [(provider: String, value: Node)])
  /// A part's provided mapping (`provides: { fields: { token: ${{ ... }} } }`), an object of its
  /// leaves: null when any leaf is null, so a store is never handed half a credential (a key id
  /// without its secret) and a host's `when:` on it holds only once the whole value exists.
  case object([(key: String, value: Node)])
}

/// A recursive-descent parser over the token list, with GitHub Actions' precedence (lowest
/// first): `||`, `&&`, `==` `!=`, `<` `<=` `>` `>=`, `!`, property access, grouping. Nesting is
/// bounded by `Expression.maximumDepth`, so hostile input cannot exhaust the stack.
struct Parser {
  private let tokens: [Token]
  private var position = 0
  private var depth = 0
  /// Every root-based property chain met so far.
  private(set) var references: [Reference] = []

  init(tokens: [Token]) {
    self.tokens = tokens
  }

  private var current: Token { tokens[position] }

  private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

  private mutating func enter(_ offset: Int) throws(ExpressionError) {
    depth += 1
    if depth > Expression.maximumDepth { throw ExpressionError("expression nested too deeply", at: offset) }
  }

  private mutating func leave() { depth -= 1 }

  /// The whole expression: one `||` chain and nothing after it.
  mutating func parseExpression() throws(ExpressionError) -> Node {
    if current.kind == .end { throw ExpressionError("empty expression", at: 0) }
    let node = try parseOr()
    guard current.kind == .end else {
      throw ExpressionError("expected end of expression, found \(current.displayName)", at: current.offset)
    }
    return node
  }

  private mutating func parseOr() throws(ExpressionError) -> Node {
    var operands = [try parseAnd()]
    while current.kind == .or {
      advance()
      operands.append(try parseAnd())
    }
    return operands.count == 1 ? operands[0] : .or(operands)
  }

  private mutating func parseAnd() throws(ExpressionError) -> Node {
    var operands = [try parseEquality()]
    while current.kind == .and {
      advance()
      operands.append(try parseEquality())
    }
    return operands.count == 1 ? operands[0] : .and(operands)
  }

  private mutating func parseEquality() throws(ExpressionError) -> Node {
    let first = try parseComparison()
    var rest: [(op: BinaryOperator, operand: Node, offset: Int)] = []
    while true {
      let op: BinaryOperator
      switch current.kind {
      case .equal: op = .equal
      case .notEqual: op = .notEqual
      default: return rest.isEmpty ? first : .chain(first, rest)
      }
      let offset = current.offset
      advance()
      rest.append((op, try parseComparison(), offset))
    }
  }

  private mutating func parseComparison() throws(ExpressionError) -> Node {
    let first = try parseUnary()
    var rest: [(op: BinaryOperator, operand: Node, offset: Int)] = []
    while true {
      let op: BinaryOperator
      switch current.kind {
      case .less: op = .less
      case .lessEqual: op = .lessEqual
      case .greater: op = .greater
      case .greaterEqual: op = .greaterEqual
      default: return rest.isEmpty ? first : .chain(first, rest)
      }
      let offset = current.offset
      advance()
      rest.append((op, try parseUnary(), offset))
    }
  }

  private mutating func parseUnary() throws(ExpressionError) -> Node {
    guard current.kind == .not else { return try parsePostfix() }
    try enter(current.offset)
    advance()
    let operand = try parseUnary()
    leave()
    return .not(operand)
  }

  /// A primary followed by any number of `.name` and `[index]`; records the static prefix of a
  /// chain that starts at a root as a reference.
  private mutating func parsePostfix() throws(ExpressionError) -> Node {
    let baseOffset = current.offset
    let base = try parsePrimary()
    var segments: [Segment] = []
    while true {
      if current.kind == .dot {
        advance()
        guard case .identifier(let name) = current.kind else {
          throw ExpressionError("expected a property name after '.'", at: current.offset)
        }
        segments.append(.name(name))
        advance()
      } else if current.kind == .leftBracket {
        let open = current.offset
        try enter(open)
        advance()
        let index = try parseOr()
        guard current.kind == .rightBracket else {
          throw ExpressionError("expected ']'", at: current.offset)
        }
        advance()
        leave()
        segments.append(.index(index, offset: open))
      } else {
        break
      }
    }
    if case .root(let root) = base {
      var path = [root.rawValue]
      loop: for segment in segments {
        switch segment {
        case .name(let name): path.append(name)
        case .index(.literal(.string(let key)), _): path.append(key)
        case .index(.literal(.number(let n)), _): path.append(Value.number(n).description)
        case .index: break loop
        }
      }
      references.append(Reference(path: path, offset: baseOffset))
    }
    return segments.isEmpty ? base : .access(base, segments)
  }

  private mutating func parsePrimary() throws(ExpressionError) -> Node {
    let token = current
    switch token.kind {
    case .leftParen:
      try enter(token.offset)
      advance()
      let inner = try parseOr()
      guard current.kind == .rightParen else { throw ExpressionError("expected ')'", at: current.offset) }
      advance()
      leave()
      return inner
    case .string(let s):
      advance()
      return .literal(.string(s))
    case .number(let n):
      advance()
      return .literal(.number(n))
    case .identifier(let name):
      advance()
      if current.kind == .leftParen { return try parseCall(name, at: token.offset) }
      switch name {
      case "true": return .literal(.bool(true))
      case "false": return .literal(.bool(false))
      case "null": return .literal(.null)
      default:
        guard let root = Root(rawValue: name) else {
          throw ExpressionError(
            "unknown name '\(name)': expressions can use inputs, steps, env, configured, incident and provider",
            at: token.offset)
        }
        return .root(root)
      }
    case .end:
      throw ExpressionError("expected an expression", at: token.offset)
    default:
      throw ExpressionError("expected an expression, found \(token.displayName)", at: token.offset)
    }
  }

  /// `name(arg, ...)`, with the name and the argument count checked here rather than at run time.
  private mutating func parseCall(_ name: String, at offset: Int) throws(ExpressionError) -> Node {
    guard let function = Function.named(name) else {
      throw ExpressionError(
        "unknown function '\(name)': expressions can call "
          + Function.allCases.map(\.rawValue).joined(separator: ", "), at: offset)
    }
    try enter(current.offset)
    advance()  // (
    var arguments: [Node] = []
    var argumentOffsets: [Int] = []
    if current.kind == .rightParen {
      advance()
    } else {
      while true {
        argumentOffsets.append(current.offset)
        arguments.append(try parseOr())
        if current.kind == .comma {
          advance()
          continue
        }
        guard current.kind == .rightParen else {
          throw ExpressionError("expected ',' or ')'", at: current.offset)
        }
        advance()
        break
      }
    }
    leave()
    guard function.arity.contains(arguments.count) else {
      throw ExpressionError("\(function.rawValue)() \(function.arityDescription), got \(arguments.count)", at: offset)
    }
    if function == .format, case .literal(.string(let pattern)) = arguments[0] {
      do throws(FormatError) {
        _ = try Function.format(pattern, arguments: Array(repeating: .null, count: arguments.count - 1))
      } catch {
        throw ExpressionError(error.message, at: argumentOffsets[0])
      }
    }
    return .call(function, arguments, offset: offset)
  }
}
