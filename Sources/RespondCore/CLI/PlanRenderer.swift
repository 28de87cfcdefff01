import Foundation

/// `respond plan`: the steps in order, each with its condition evaluated where the inputs alone
/// decide it, so a responder can see which branch will run before running anything.
package enum PlanRenderer {
  /// Runs the steps that need nothing but their inputs (offline actions such as key.identify,
  /// through `transport`, which sends nothing), so the plan can say which branch these inputs
  /// take: `OfflineSteps`, the pass the preflight makes too. A step whose condition is already
  /// decided false will not run: its outputs are null, which decides the conditions of the steps
  /// that depend on it. Returns the outputs known.
  package static func runOffline(
    _ rb: Runbook, inputs: [String: String], registry: ActionRegistry, masker: Masker, transport: any HTTPTransport
  ) async -> [String: [String: Value]] {
    await OfflineSteps.run(
      rb, registry: registry, inputs: inputValues(rb, inputs), masker: masker, transport: transport, incidentID: "plan"
    ).known
  }

  /// A step's condition as plan can decide it offline: from the inputs and the outputs of steps
  /// plan knows (env is not looked at: conditions on it stay undecided). Nil when the step has
  /// no condition or it cannot be decided here.
  package static func condition(of step: Step, values: [String: Value], known: [String: [String: Value]]) -> Bool? {
    guard let when = step.when else { return nil }
    let decidable = when.references.allSatisfy {
      $0.path.first == "inputs" || ($0.path.first == "steps" && $0.path.count > 1 && known[$0.path[1]] != nil)
    }
    let context = EvaluationContext(inputs: values, steps: known)
    guard decidable else {
      // `a && b` with one side known false is decided false whatever the other side reads: how
      // another provider's part (`dispatch == 'x' && ...`) is left out like any other branch.
      let unknown = Set(when.references.filter { $0.path.first == "steps" && $0.path.count > 1 }.map { $0.path[1] })
      let partial = when.decide(context, unknownSteps: unknown.subtracting(known.keys), environmentUnknown: true)
      return partial.map(\.isTruthy) == false ? false : nil
    }
    guard let v = try? when.evaluate(context) else { return nil }
    return v.isTruthy
  }

  /// `known`: outputs of steps that `plan` could run offline (key.identify), so conditions on
  /// them are decided too. Steps whose condition is decided false for these inputs (branches
  /// that do not apply) are left out and counted, unless `all`.
  package static func render(
    _ rb: Runbook, inputs: [String: String], registry: ActionRegistry,
    known: [String: [String: Value]] = [:], all: Bool = false
  ) -> String {
    let values = inputValues(rb, inputs)
    var out = ["plan for \(rb.name)\(rb.description.isEmpty ? "" : ": " + rb.description)"]
    var n = 0
    var hidden = 0
    let groups = ConcurrentGroups(rb)
    var announced: Set<String> = []
    for (phase, steps) in rb.phases where !steps.isEmpty {
      var lines: [String] = []
      for s in steps {
        n += 1
        let decided = condition(of: s, values: values, known: known)
        if decided == false && !all {
          hidden += 1
          continue
        }
        // A group is announced above its first member shown, so a reader sees what runs together.
        let group = groups.group(of: s.id)
        if group.count > 1, !announced.contains(group[0].id) {
          announced.insert(group[0].id)
          lines.append("      together (at the same time): \(group.map(\.id).joined(separator: ", "))")
        }
        lines.append(line(s, number: n, decided: decided, registry: registry))
      }
      if !lines.isEmpty { out += ["", phase.rawValue] + lines }
    }
    if hidden > 0 {
      out.append("")
      out.append(
        "\(hidden) step(s) hidden: their conditions are false for these inputs (branches that do not apply); "
          + "--all shows them")
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

  /// One step's entry: number, id, action, flags, and its condition with the decision if known.
  static func line(_ s: Step, number n: Int, decided: Bool?, registry: ActionRegistry) -> String {
    let d = registry.action(named: s.action)?.descriptor
    var flags: [String] = []
    if d?.mutates ?? true { flags.append("mutates") } else { flags.append("read-only") }
    if s.approvalRequired { flags.append("approval") }
    if s.continueOnError { flags.append("continue-on-error") }
    if s.concurrent { flags.append("concurrent") }
    var line =
      "  \(String(n).leftPadding(2)). \(s.id.padding(24))\(s.action.padding(36))[\(flags.joined(separator: ", "))]"
    if let src = s.whenSource {
      line += "\n      when \(src)" + (decided.map { "  → \($0 ? "runs" : "skipped")" } ?? "")
    }
    return line
  }

  /// The inputs as expressions see them: given, else their defaults.
  static func inputValues(_ rb: Runbook, _ inputs: [String: String]) -> [String: Value] {
    var values: [String: Value] = [:]
    for i in rb.inputs { if let v = inputs[i.name] ?? i.defaultValue { values[i.name] = .string(v) } }
    return values
  }
}
