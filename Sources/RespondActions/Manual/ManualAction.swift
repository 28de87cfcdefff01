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
        ParameterSpec(
          "items", .list, "one line per thing to do (each its own follow-up, after the instruction)"),
      ],
      outputs: [
        OutputSpec("instruction", "the instruction, as shown"),
        OutputSpec("items", "the items, each listed as its own follow-up"),
        OutputSpec("done", "true when the operator confirmed it at the terminal"),
      ],
      mutates: true, idempotent: true)
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    var instruction = try context.string("instruction")
    if let url = context.optionalString("url") { instruction += " (\(url))" }
    // A list of resources (what an attacker created) is a follow-up each: one checkbox per
    // thing to remove, so none is ticked off with another.
    let items = (context.parameters["items"]?.arrayValue ?? []).compactMap(\.stringValue).filter { !$0.isEmpty }
    context.log("MANUAL: \(instruction)")
    for item in items { context.log("  - \(item)") }
    var done = false
    if let ask = context.ask {
      let list = items.map { "\n  - \($0)" }.joined()
      done = await ask("Manual step: \(instruction)\(list)\nHas this been done?") ?? false
    }
    var outputs: [String: Value] = ["instruction": .string(instruction), "done": .bool(done)]
    if !items.isEmpty { outputs["items"] = .array(items.map { .string($0) }) }
    return ActionResult(
      outputs: outputs,
      summary: done ? "done by the operator" : "left for a human (follow-up)")
  }
}
