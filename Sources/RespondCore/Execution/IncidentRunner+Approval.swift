import Foundation

/// The approval gate: `StepPolicy.gate` decides; this asks, journals who approved, when and how,
/// and stops the run when the step waits for people.
extension IncidentRunner {
  /// Nil when the step may run; the stopped outcome when it waits for approval (or was declined).
  func seekApproval(
    _ request: StepPolicy.ApprovalRequest, for step: Step, began: ContinuousClock.Instant, policy: StepPolicy
  ) async throws -> StepOutcome? {
    let here = options.approvalPerson
    while true {
      let gate = StepPolicy.gate(
        step: step.id, needed: request.approvers, standing: state.standingApprovals(for: step.id), here: here,
        starter: state.starter, assumeYes: options.assumeYes, canAsk: approver != nil,
        directory: incidentDirectory)
      switch gate {
      case .proceed:
        return nil
      case .approveHere(let via):
        let answer = via == .yes ? true : await approver?.ask(request.question)
        guard let answer else {
          let why = "no terminal to ask: rerun with --yes"
          let next = StepPolicy.nextSteps(
            step: step.id, needed: request.approvers, standing: state.standingApprovals(for: step.id),
            directory: incidentDirectory)
          return try waitForPeople(step, why: why, next: next, began: began, policy: policy)
        }
        try record(.approval(step: step.id, by: here, host: options.host, via: via, granted: answer))
        progress.line("  approval of \(step.id): \(answer ? "granted" : "declined") by \(here.name) (\(via.rawValue))")
        if !answer {
          // The no is journaled above, with who: the step stops without another record.
          approvalStop =
            "step '\(step.id)' was declined at the terminal by \(here.name): "
            + "run `respond resume \(incidentDirectory)` to be asked again"
          let why = "declined at the terminal by \(here.name)"
          return try finish(
            step, StepPolicy.Ending(.stoppedAtApproval, summary: why, mutates: policy.descriptor.mutates),
            began: began)
        }
      case .wait(let why, let next):
        return try waitForPeople(step, why: why, next: next, began: began, policy: policy)
      }
    }
  }

  /// Stops at the gate: a record of why (the step's approval decision, as before four eyes) and
  /// the step's stopped outcome; `next` becomes the run's stop message.
  private func waitForPeople(
    _ step: Step, why: String, next: String, began: ContinuousClock.Instant, policy: StepPolicy
  ) throws -> StepOutcome {
    var r = JournalRecord(type: .approval)
    r.step = step.id
    r.decision = why
    try record(r)
    approvalStop = next
    return try finish(
      step, StepPolicy.Ending(.stoppedAtApproval, summary: why, mutates: policy.descriptor.mutates), began: began)
  }
}
