/// A problem in an expression or template: what is wrong and where.
///
/// `offset` is a 0-based offset in Unicode scalars (code points) within the text that was parsed;
/// libyaml counts columns the same way, so a loader can add it to a scalar's start column.
package struct ExpressionError: Error, Equatable, Sendable, CustomStringConvertible {
  package var message: String
  package var offset: Int

  package init(_ message: String, at offset: Int) {
    self.message = message
    self.offset = offset
  }

  /// The message alone: callers put the location in front (`path:line:column: error: message`).
  package var description: String { message }

  /// The same error with its offset moved by `delta` (an expression's errors inside a template).
  func shifted(by delta: Int) -> ExpressionError { ExpressionError(message, at: offset + delta) }
}

/// A use of the run's data in an expression: the longest static part of a property chain
/// (`["steps", "identify", "key-id"]`), and where it starts. `validate` checks these against
/// the runbook's inputs and the outputs steps declare, before anything runs.
package struct Reference: Equatable, Hashable, Sendable {
  package var path: [String]
  package var offset: Int

  package init(path: [String], offset: Int) {
    self.path = path
    self.offset = offset
  }
}

/// What an expression can read while it is evaluated: the runbook's inputs, the outputs of the
/// steps that ran (a step that did not run is simply absent, so its outputs read as null), the
/// environment, and facts about the incident.
package struct EvaluationContext: Sendable {
  package var inputs: [String: Value]
  package var steps: [String: [String: Value]]
  package var env: [String: String]
  /// Whether each declared env variable is set (non-empty); credentials appear only here.
  package var configured: [String: Bool]
  package var incident: [String: Value]

  package init(
    inputs: [String: Value] = [:], steps: [String: [String: Value]] = [:], env: [String: String] = [:],
    configured: [String: Bool] = [:], incident: [String: Value] = [:]
  ) {
    self.inputs = inputs
    self.steps = steps
    self.env = env
    self.configured = configured
    self.incident = incident
  }
}

/// One parsed expression of the runbook language: the text between `${{` and `}}`.
///
/// The language is GitHub Actions' expression syntax: literals, property paths into `inputs`,
/// `steps`, `env` and `incident`, comparison and logical operators, and a fixed set of functions.
/// Parsing checks everything that can be checked without data (names, functions, arity), so a
/// runbook's mistakes surface in `validate`, not halfway through an incident.
package struct Expression: Sendable {
  /// The text the expression was parsed from.
  package let source: String
  /// Every use of run data, ordered by offset.
  package let references: [Reference]
  let root: Node

  /// The longest expression accepted, in Unicode scalars: far beyond any sensible condition, and
  /// a bound on the work hostile input can cause.
  package static let maximumLength = 4096
  /// The deepest nesting of parentheses, `!`, calls and indexes accepted.
  package static let maximumDepth = 64

  /// Parses an expression (the text without `${{ }}`).
  package static func parse(_ text: String) throws(ExpressionError) -> Expression {
    let scalars = Array(text.unicodeScalars)
    guard scalars.count <= maximumLength else {
      throw ExpressionError(
        "expression too long (\(scalars.count) characters; the limit is \(maximumLength))", at: maximumLength)
    }
    let tokens = try Lexer.tokenize(scalars)
    var parser = Parser(tokens: tokens)
    let root = try parser.parseExpression()
    return Expression(source: text, references: parser.references.sorted { $0.offset < $1.offset }, root: root)
  }

  /// Evaluates the expression against the run's data. Missing properties are null; operations
  /// that make no sense for their operands (`<` on a list) are errors located at the operator.
  package func evaluate(_ context: EvaluationContext) throws(ExpressionError) -> Value {
    try Evaluator(context: context).evaluate(root)
  }
}
