import Foundation

/// Running a concurrent group (`Conductor.Decision.runTogether`): its members start at once, each
/// as the one step it is (policy, condition, retries, time limit, journal records), and the group
/// ends when every member has. What members share (the journal, the folded state, the outputs
/// held in memory, the evidence folder) is touched only under `shared`, so their records are
/// whole, in the order they happened, each folded before the next is written.
extension IncidentRunner {
  /// What the journal says has happened, folded. Read and written under `shared`.
  package internal(set) var state: IncidentState {
    get { shared.withLock { stateStorage } }
    set { shared.withLock { stateStorage = newValue } }
  }

  /// Unmasked outputs of steps that finished in this process (secrets included), in memory
  /// only. Written only by a step that succeeded (`shared.withLock`), read here under `shared`.
  var liveOutputs: [String: [String: Value]] { shared.withLock { liveOutputStorage } }

  /// Why a group stopped the run.
  struct GroupStop {
    var status: RunStatus
    var at: String
    var message: String?
  }

  /// Runs `steps` (members of one concurrent group that have not finished, in file order) at
  /// the same time and waits for all of them: a member that fails does not cut another short
  /// (a cancelled request could leave it half done). Nil when the run goes on; the conductor
  /// then sees every member's outcome (a failure without continue-on-error ends the run there).
  /// On resume, each member is prepared first, one at a time, as a lone step would be: an
  /// interrupted one reconciled, lost outputs it reads brought back; a human must decide → stop.
  /// Then every gated member's approval is asked (`approveTogether`); only when all are given
  /// does any member start.
  func runTogether(_ steps: [Step]) async -> GroupStop? {
    for step in steps {
      do {
        if let stop = try await prepareResume(step) {
          try? note(step: step.id, stop)
          return GroupStop(status: .needsOperator, at: step.id, message: stop)
        }
      } catch {
        return GroupStop(status: .failed, at: step.id, message: "journal error: \(error)")
      }
    }
    do {
      if let stop = try await approveTogether(steps) { return stop }
    } catch {
      return GroupStop(status: .failed, at: steps[0].id, message: "journal error: \(error)")
    }
    // Named only with the members that will run: a branch that does not apply stays hidden.
    let running = steps.filter { step in
      guard let admitted = admit(step), case .end = admitted.admission else { return true }
      return false
    }
    if running.count > 1 { progress.line("  together: \(running.map(\.id).joined(separator: ", "))") }
    let results = await withTaskGroup(of: (Int, Result<StepOutcome, any Error>).self) { group in
      for (i, step) in steps.enumerated() {
        group.addTask {
          do { return (i, .success(try await self.run(step))) } catch { return (i, .failure(error)) }
        }
      }
      var all: [(Int, Result<StepOutcome, any Error>)] = []
      for await result in group { all.append(result) }
      return all.sorted { $0.0 < $1.0 }
    }
    for (i, result) in results {
      if case .failure(let error) = result {
        return GroupStop(status: .failed, at: steps[i].id, message: "journal error: \(error)")
      }
    }
    // Every gated member was approved above, and a start uses up only its own step's approvals;
    // should a member still stop at its gate, the run stops there as a lone step's would.
    if let (i, _) = results.first(where: { (try? $0.1.get()) == .stoppedAtApproval }) {
      return GroupStop(status: .stoppedAtApproval, at: steps[i].id, message: approvalStop)
    }
    return nil
  }

  /// Asks the approval of every member that needs one, one at a time in file order, each through
  /// the lone step's gate (`seekApproval`: `StepPolicy.gate` decides, the same records, two-person
  /// rules and `--yes`). Nil when every member may start; the stop otherwise, before any member
  /// started: a change must not go out while the change beside it waits for people (refused, no
  /// terminal, a second person). A member skipped by its condition, not configured, or in a dry
  /// run asks nothing, as it would alone. Approvals given before a crash still stand on resume
  /// (`standingApprovals`: yeses since the step last started), so the gate lets them through.
  func approveTogether(_ steps: [Step]) async throws -> GroupStop? {
    for step in steps {
      guard let admitted = admit(step), case .run(let request?) = admitted.admission,
        options.mode.isDry || options.notConfigured[step.id] == nil
      else { continue }
      let began = ContinuousClock.now
      if try await seekApproval(request, for: step, began: began, policy: admitted.policy) != nil {
        return GroupStop(status: .stoppedAtApproval, at: step.id, message: approvalStop)
      }
    }
    return nil
  }
}
