/// Decides what runs next, given the runbook and what the journal says has happened. Pure: no
/// I/O, no clock, so a rehearsal test can drive it with recorded outcomes.
package struct Conductor: Sendable {
  package let runbook: Runbook

  package init(runbook: Runbook) {
    self.runbook = runbook
  }

  package enum Decision: Sendable {
    /// Run this step next.
    case run(Step)
    /// Nothing more to run: the run ended with this status (and, unless completed, at this step).
    case finish(RunStatus, at: String?)
  }

  /// The next move. Steps run in phase order, then file order. A step that succeeded or was
  /// skipped is done; a failed step stops the run unless it continues on error; a step stopped
  /// at approval, interrupted, or never run is next.
  package func next(_ state: IncidentState) -> Decision {
    for step in runbook.steps {
      guard let s = state.steps[step.id], !s.interrupted, let outcome = s.outcome else { return .run(step) }
      switch outcome {
      case .succeeded, .skippedCondition, .skippedDryRun:
        continue
      case .failed:
        if step.continueOnError { continue }
        return .finish(.failed, at: step.id)
      case .stoppedAtApproval:
        return .run(step)
      }
    }
    return .finish(.completed, at: nil)
  }

  /// The steps that will not run because the run stopped at `stepID` (for "not done" in reports).
  package func stepsAfter(_ stepID: String) -> [Step] {
    let all = runbook.steps
    guard let i = all.firstIndex(where: { $0.id == stepID }) else { return [] }
    return Array(all[(i + 1)...])
  }
}
