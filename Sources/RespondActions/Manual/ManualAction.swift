import RespondCore

/// `manual`: an instruction for a human, for what no API can do (rolling a Stripe key in the
/// dashboard). It never blocks the run: at a terminal it asks whether the instruction is done;
/// with --yes or no terminal it is acknowledged and left as an open follow-up in the report.
package struct ManualAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "manual",
      summary: "An instruction for a human; asked at the terminal, listed in the report's follow-ups",
      parameters: [
        ParameterSpec("instruction", .string, required: true, "what the human must do, exactly"),
        ParameterSpec("url", .string, "where to do it (a dashboard page)"),
      ],
      outputs: [
        OutputSpec("instruction", "the instruction, as shown"),
        OutputSpec("done", "true when the operator confirmed it at the terminal"),
      ],
      mutates: true, idempotent: true)
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    var instruction = try context.string("instruction")
    if let url = context.optionalString("url") { instruction += " (\(url))" }
    context.log("MANUAL: \(instruction)")
    var done = false
    if let ask = context.ask {
      done = await ask("Manual step: \(instruction)\nHas this been done?") ?? false
    }
    return ActionResult(
      outputs: ["instruction": .string(instruction), "done": .bool(done)],
      summary: done ? "done by the operator" : "left for a human (follow-up)")
  }
}
