// TEMPORARY compile stub; replaced by the real expression engine (branch exprs).
package struct ExpressionError: Error, Equatable, CustomStringConvertible {
  package var message: String
  package var offset: Int
  package var description: String { message }
}
package struct Reference: Equatable, Sendable {
  package var path: [String]
  package var offset: Int
}
package struct EvaluationContext: Sendable {
  package var inputs: [String: Value]
  package var steps: [String: [String: Value]]
  package var env: [String: String]
  package var incident: [String: Value]
  package init(inputs: [String: Value] = [:], steps: [String: [String: Value]] = [:], env: [String: String] = [:],
               incident: [String: Value] = [:]) {
    self.inputs = inputs; self.steps = steps; self.env = env; self.incident = incident
  }
}
package struct Expression: Sendable {
  package let source: String
  package static func parse(_ text: String) throws(ExpressionError) -> Expression { Expression(source: text) }
  package var references: [Reference] { [] }
  package func evaluate(_ context: EvaluationContext) throws(ExpressionError) -> Value { .null }
}
package struct Template: Sendable {
  let text: String
  package static func parse(_ text: String) throws(ExpressionError) -> Template { Template(text: text) }
  package var expressions: [(expression: Expression, offset: Int)] { [] }
  package var references: [Reference] { [] }
  package var isLiteral: Bool { !text.contains("${{") }
  package func evaluate(_ context: EvaluationContext) throws(ExpressionError) -> Value { .string(text) }
}
