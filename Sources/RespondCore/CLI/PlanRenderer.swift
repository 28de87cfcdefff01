/// `respond plan`: the steps in order, each with its condition evaluated where the inputs alone
/// decide it, so a responder can see which branch will run before running anything.
package enum PlanRenderer {
  /// `known`: outputs of steps that `plan` could run offline (key.identify), so conditions on
  /// them are decided too.
  package static func render(
    _ rb: Runbook, inputs: [String: String], registry: ActionRegistry,
    known: [String: [String: Value]] = [:]
  ) -> String {
    var values: [String: Value] = [:]
    for i in rb.inputs { if let v = inputs[i.name] ?? i.defaultValue { values[i.name] = .string(v) } }
    let ctx = EvaluationContext(inputs: values, steps: known)
    var out = ["plan for \(rb.name)\(rb.description.isEmpty ? "" : ": " + rb.description)"]
    var n = 0
    for (phase, steps) in rb.phases where !steps.isEmpty {
      out.append("")
      out.append("\(phase.rawValue)")
      for s in steps {
        n += 1
        let d = registry.action(named: s.action)?.descriptor
        var flags: [String] = []
        if d?.mutates ?? true { flags.append("mutates") } else { flags.append("read-only") }
        if s.approvalRequired { flags.append("approval") }
        if s.continueOnError { flags.append("continue-on-error") }
        var line =
          "  \(String(n).leftPadding(2)). \(s.id.padding(24))\(s.action.padding(36))[\(flags.joined(separator: ", "))]"
        if let when = s.when, let src = s.whenSource {
          let refsOnlyInputs = when.references.allSatisfy {
            // env is not looked at by plan: conditions on it stay undecided.
            $0.path.first == "inputs"
              || ($0.path.first == "steps" && $0.path.count > 1 && known[$0.path[1]] != nil)
          }
          if refsOnlyInputs, let v = try? when.evaluate(ctx) {
            line += "\n      when \(src)  → \(v.isTruthy ? "runs" : "skipped")"
          } else {
            line += "\n      when \(src)"
          }
        }
        out.append(line)
      }
    }
    // Not numbered: they run only if the run stops, after the step it stopped at.
    if !rb.onStop.isEmpty {
      out.append("")
      out.append("on-stop (sent once per stop, when the run stops at an approval gate or fails)")
      for s in rb.onStop {
        out.append("      \(s.id.padding(24))\(s.action.padding(36))[mutates]")
        if let src = s.whenSource { out.append("      when \(src)") }
      }
    }
    return out.joined(separator: "\n")
  }
}
