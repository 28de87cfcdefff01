/// Decides what runs next, given the runbook and what the journal says has happened. Pure: no
/// I/O, no clock, so a rehearsal test can drive it with recorded outcomes.
package struct Conductor: Sendable {
  package let runbook: Runbook
  package let groups: ConcurrentGroups

  package init(runbook: Runbook) {
    self.runbook = runbook
    self.groups = ConcurrentGroups(runbook)
  }

  package enum Decision: Sendable {
    /// Run this step next.
    case run(Step)
    /// Run these steps of one concurrent group at the same time (file order; two or more).
    case runTogether([Step])
    /// Nothing more to run: the run ended with this status (and, unless completed, at this step).
    case finish(RunStatus, at: String?)
  }

  /// The next move. Steps run in phase order, then file order. A step that succeeded or was
  /// skipped is done; a failed step stops the run unless it continues on error; a step stopped
  /// at approval, interrupted, or never run is next. When that step is in a concurrent group,
  /// the members of its group still to run are next, together: a member that finished (in this
  /// process or one before a crash) is never among them.
  package func next(_ state: IncidentState) -> Decision {
    for step in runbook.steps {
      guard !Self.isPending(step, state) else {
        let together = groups.group(of: step.id).filter { Self.isPending($0, state) }
        return together.count > 1 ? .runTogether(together) : .run(step)
      }
      // Succeeded or skipped: done. Failed: the run stops here unless the step continues on error.
      if state.steps[step.id]?.outcome == .failed && !step.continueOnError { return .finish(.failed, at: step.id) }
    }
    return .finish(.completed, at: nil)
  }

  /// Whether `step` still has to run: never run, interrupted, or stopped at its approval gate.
  static func isPending(_ step: Step, _ state: IncidentState) -> Bool {
    guard let s = state.steps[step.id], !s.interrupted, let outcome = s.outcome else { return true }
    return outcome == .stoppedAtApproval
  }

  /// The steps that will not run because the run stopped at `stepID` (for "not done" in reports).
  package func stepsAfter(_ stepID: String) -> [Step] {
    let all = runbook.steps
    guard let i = all.firstIndex(where: { $0.id == stepID }) else { return [] }
    return Array(all[(i + 1)...])
  }
}
