import RespondCore

/// `check`: fails the step unless a condition holds. Turns "verify" steps into data: the
/// runbook says what must be true (`${{ steps.verify.status != 'Active' }}`) and what it means
/// when it is not; no Swift per verification.
package struct CheckAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "check",
      summary: "Fail unless a condition holds (verification steps)",
      parameters: [
        ParameterSpec("condition", .any, required: true, "an expression that must be true"),
        ParameterSpec("message", .string, required: true, "what it means when the condition is false"),
        ParameterSpec("success", .string, "what to record when it holds"),
      ],
      outputs: [OutputSpec("passed", "true")],
      mutates: false, idempotent: true)
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let holds = context.parameters["condition"]?.isTruthy ?? false
    guard holds else { throw ActionError.verification(try context.string("message")) }
    return ActionResult(outputs: ["passed": .bool(true)], summary: context.optionalString("success") ?? "check passed")
  }
}
