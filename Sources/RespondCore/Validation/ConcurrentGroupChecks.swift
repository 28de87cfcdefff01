/// What makes no sense in a concurrent group, refused before anything runs (each located):
/// a lone concurrent step, a member that reads another member's outputs, a verification of a
/// change in its own group, a member reading the verdict while another member can change it, and
/// a concurrent `on-stop` step. A member behind an approval is fine: the runner asks every
/// member's approval first, one at a time, and starts none until all are given.
extension RunbookValidator {
  package func checkConcurrentGroups(_ runbook: Runbook) -> [Diagnostic] {
    let groups = ConcurrentGroups(runbook)
    var out: [Diagnostic] = []
    for step in runbook.onStop where step.concurrent {
      out.append(
        Diagnostic(
          step.concurrentLocation ?? step.location,
          "on-stop step '\(step.id)' cannot be concurrent: on-stop steps are sent one after another"))
    }
    for group in groups.groups where group.count == 1 {
      guard let step = group.first, step.concurrent else { continue }
      out.append(
        Diagnostic(
          step.concurrentLocation ?? step.location,
          "step '\(step.id)' is concurrent but no step next to it in phase \(step.phase.rawValue) is: "
            + "mark the steps that run together next to each other, or drop 'concurrent'"))
    }
    for group in groups.concurrentGroups {
      let ids = Set(group.map(\.id))
      // Verifications and contain-phase changes move the verdict.
      let verifying = group.filter { !$0.verifies.isEmpty || ($0.phase == .contain && isContainmentChange($0)) }
        .map(\.id)
      for step in group {
        for read in groups.readsWithinGroup(step) {
          out.append(
            Diagnostic(
              read.location,
              "step '\(step.id)' reads the outputs of '\(read.id)', which runs in the same concurrent group and may "
                + "not have finished: drop 'concurrent' from one of them, or move '\(step.id)' after the group"))
        }
        for target in step.verifies where ids.contains(target) {
          out.append(
            Diagnostic(
              step.verifiesLocation ?? step.location,
              "step '\(step.id)' verifies '\(target)', which runs in the same concurrent group: "
                + "a verification must run after the change"))
        }
        let others = verifying.filter { $0 != step.id }
        if !others.isEmpty, let at = verdictRead(step) {
          out.append(
            Diagnostic(
              at,
              "step '\(step.id)' reads the verdict while '\(others.joined(separator: "', '"))' in its concurrent group "
                + "can change it: move one of them out of the group"))
        }
      }
    }
    return out
  }

  /// Where `step` reads `incident.verdict` or `incident.verdict-reason`, if it does.
  private func verdictRead(_ step: Step) -> SourceLocation? {
    var templates = step.with.flatMap(\.1.templates)
    if let when = step.when, let at = step.whenLocation { templates.append((when, at)) }
    for (template, at) in templates {
      if let ref = template.references.first(where: {
        $0.path.count >= 2 && $0.path[0] == "incident" && $0.path[1].hasPrefix("verdict")
      }) {
        return at.advanced(by: ref.offset)
      }
    }
    return nil
  }
}
