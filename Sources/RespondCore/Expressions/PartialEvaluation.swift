/// Deciding a condition before the run, when some of what it reads is not known yet (the outputs
/// of steps that have not run, the incident's verdict). Three-valued: nil means "cannot tell
/// yet". `a && b` is decided false when either side is known falsy, `a || b` decided true when
/// either side is known truthy, whatever the other side holds; everything else that touches an
/// unknown is unknown. The preflight uses it to say which steps will run for these inputs.
struct PartialEvaluator {
  let context: EvaluationContext
  /// Steps whose outputs are not known yet (they will run, or may).
  let unknownSteps: Set<String>
  /// Whether `incident.*` (verdict, stop reason) counts as unknown: it is only known at its turn.
  let incidentUnknown: Bool
  /// Whether `env.*` and `configured.*` count as unknown (`respond plan` does not look at them).
  var environmentUnknown = false

  func decide(_ node: Node) -> Value? {
    switch node {
    case .literal(let value):
      return value
    case .not(let operand):
      return decide(operand).map { .bool(!$0.isTruthy) }
    case .and(let operands):
      var unknown = false
      var last = Value.null
      for operand in operands {
        guard let v = decide(operand) else {
          unknown = true
          continue
        }
        if !v.isTruthy { return v }
        last = v
      }
      // Not `unknown ? nil : last`: Value is nil-literal-convertible, so that reads as `.null`.
      if unknown { return Optional<Value>.none }
      return last
    case .or(let operands):
      var unknown = false
      var last = Value.null
      for operand in operands {
        guard let v = decide(operand) else {
          unknown = true
          continue
        }
        if v.isTruthy { return v }
        last = v
      }
      // Not `unknown ? nil : last`: Value is nil-literal-convertible, so that reads as `.null`.
      if unknown { return Optional<Value>.none }
      return last
    case .provided(let dispatch, let cases):
      guard let chosen = decide(dispatch) else { return nil }
      guard let match = cases.first(where: { Value.string($0.provider) == chosen }) else { return .null }
      return decide(match.value)
    case .object(let pairs):
      // One leaf known null decides it (null), whatever the others hold.
      var out: [String: Value] = [:]
      var unknown = false
      for (key, leaf) in pairs {
        guard let value = decide(leaf) else {
          unknown = true
          continue
        }
        if value.isNull { return .null }
        out[key] = value
      }
      if unknown { return Optional<Value>.none }
      return .object(out)
    case .root, .access, .chain, .call:
      guard !readsUnknown(node) else { return nil }
      return try? Evaluator(context: context).evaluate(node)
    }
  }

  /// Whether anything under `node` reads a value not known yet.
  private func readsUnknown(_ node: Node) -> Bool {
    switch node {
    case .literal: return false
    case .root(let root):
      return (root == .steps && !unknownSteps.isEmpty) || (root == .incident && incidentUnknown)
        || (environmentUnknown && (root == .env || root == .configured))
    case .access(let base, let segments):
      if case .root(let root) = base, case .name(let first)? = segments.first {
        if root == .steps && unknownSteps.contains(first) { return true }
        if root == .incident && incidentUnknown { return true }
        if environmentUnknown && (root == .env || root == .configured) { return true }
      } else if readsUnknown(base) {
        return true
      }
      return segments.contains { segment in
        if case .index(let index, _) = segment { return readsUnknown(index) }
        return false
      }
    case .not(let operand): return readsUnknown(operand)
    case .and(let operands), .or(let operands): return operands.contains(where: readsUnknown)
    case .chain(let first, let rest): return readsUnknown(first) || rest.contains { readsUnknown($0.operand) }
    case .call(_, let arguments, _): return arguments.contains(where: readsUnknown)
    case .provided(let dispatch, let cases): return readsUnknown(dispatch) || cases.contains { readsUnknown($0.value) }
    case .object(let pairs): return pairs.contains { readsUnknown($0.value) }
    }
  }
}

extension Template {
  /// The template's value when it can be decided before the run; nil when it reads something not
  /// known yet. A template that mixes text and expressions is decided only when all of them are.
  package func decide(
    _ context: EvaluationContext, unknownSteps: Set<String>, incidentUnknown: Bool = true,
    environmentUnknown: Bool = false
  ) -> Value? {
    var partial = PartialEvaluator(context: context, unknownSteps: unknownSteps, incidentUnknown: incidentUnknown)
    partial.environmentUnknown = environmentUnknown
    if let (expression, _) = soleExpression { return partial.decide(expression.root) }
    for (expression, _) in expressions where partial.decide(expression.root) == nil { return nil }
    return try? evaluate(context)
  }
}
