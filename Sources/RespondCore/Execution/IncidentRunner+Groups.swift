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
    progress.line("  together: \(steps.map(\.id).joined(separator: ", "))")
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
    // Validation keeps gated steps out of groups; should one get in, it stops as a lone one would.
    if let (i, _) = results.first(where: { (try? $0.1.get()) == .stoppedAtApproval }) {
      return GroupStop(status: .stoppedAtApproval, at: steps[i].id, message: approvalStop)
    }
    return nil
  }
}
