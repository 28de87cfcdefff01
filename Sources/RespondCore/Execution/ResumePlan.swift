/// Decides what a resume must redo: which stopped steps get another go, and, before a step runs,
/// which earlier steps must run again because what they made died with the previous process
/// (derived and secret outputs are never journaled). Pure: the runbook, the actions'
/// descriptors, the journal state and the ids of the steps whose outputs this process holds go
/// in; steps come out. The runner reconciles, undoes and re-runs them.
///
/// Shaped for concurrent steps: each question takes the state and the live outputs as values
/// and names whole steps, so steps started together ask independently, and a producer two of
/// them need is found by both (the runner re-runs it once, as it does today for two readers).
package struct ResumePlan: Sendable {
  package let runbook: Runbook
  package let registry: ActionRegistry

  package init(runbook: Runbook, registry: ActionRegistry) {
    self.runbook = runbook
    self.registry = registry
  }

  /// The state a resume starts from: the step the run stopped at gets another go. An idempotent
  /// one simply runs again; a non-idempotent one is marked interrupted (its failure may have
  /// been processed at the provider), so its action reconciles first or a human decides, unless
  /// the journal says the provider certainly did not act on the failed request (a 429, a 403, a
  /// refused connection). A failed step that continues on error stays as it is.
  package func reopened(_ state: IncidentState) -> IncidentState {
    var state = state
    for step in runbook.steps {
      guard var s = state.steps[step.id], s.outcome == .failed, !step.continueOnError else { continue }
      let idempotent = registry.action(named: step.action)?.descriptor.idempotent ?? false
      s.outcome = nil
      s.interrupted = !idempotent && !s.failedNotProcessed
      state.steps[step.id] = s
    }
    return state
  }

  /// Whether `step` was interrupted and its action must reconcile (or a human decide) first.
  package func mustReconcile(_ step: Step, state: IncidentState) -> Bool {
    state.steps[step.id]?.interrupted ?? false
  }

  /// Idempotent steps that succeeded in an earlier process and whose derived (unjournaled,
  /// non-secret) outputs `step` reads: they simply run again.
  package func lostDerivedProducers(for step: Step, state: IncidentState, live: Set<String>) -> [Step] {
    producers(readBy: step, live: live) { producer, output in
      guard state.steps[producer.id]?.outcome == .succeeded,
        let descriptor = registry.action(named: producer.action)?.descriptor, descriptor.idempotent
      else { return false }
      return descriptor.outputs.contains { $0.name == output && !$0.journaled && !$0.secret }
    }
  }

  /// Steps that succeeded in an earlier process and whose secret outputs `step` reads: they are
  /// undone (their `undo:`) and run again; without an undo a human must finish.
  package func lostSecretProducers(for step: Step, state: IncidentState, live: Set<String>) -> [Step] {
    producers(readBy: step, live: live) { producer, output in
      guard let s = state.steps[producer.id], s.outcome == .succeeded else { return false }
      return s.secretOutputs.contains(output)
    }
  }

  /// How a lost secret output of `producer` comes back for `step`.
  package enum SecretRedo: Sendable {
    /// Undo the producer with its `undo:` (this action), then run it again.
    case undoThenRerun(UndoSpec, any Action)
    /// It cannot: why, for the operator.
    case impossible(String)
  }

  /// How `producer`'s lost secret outputs come back: through its undo, or not at all.
  package func secretRedo(of producer: Step, for step: Step) -> SecretRedo {
    guard let undo = producer.undo, let action = registry.action(named: undo.action) else {
      return .impossible(
        "step '\(step.id)' needs a secret output of step '\(producer.id)', which finished before the process "
          + "stopped; secrets are never journaled and '\(producer.id)' has no undo. Re-run the response or finish "
          + "it by hand.")
    }
    return .undoThenRerun(undo, action)
  }

  /// Steps between `producer` and `step` that succeeded and read any output of `producer`: after
  /// `producer` is undone and redone they hold a value that no longer exists (e.g. stored the
  /// old replacement key in Vault), so they run again, in order, first.
  package func finishedSteps(using producer: Step, before step: Step, state: IncidentState) -> [Step] {
    let all = runbook.steps
    guard let from = all.firstIndex(where: { $0.id == producer.id }),
      let to = all.firstIndex(where: { $0.id == step.id }), from + 1 < to
    else { return [] }
    return all[(from + 1)..<to].filter { s in
      state.steps[s.id]?.outcome == .succeeded && StepPolicy.dependencies(in: s.templates).contains(producer.id)
    }
  }

  /// The steps whose outputs `step` reads (`steps.<id>.<output>`), not held by this process, for
  /// which `lost(producer, output)` holds; each once, in first-read order.
  private func producers(readBy step: Step, live: Set<String>, lost: (Step, String) -> Bool) -> [Step] {
    var out: [Step] = []
    for ref in step.templates.flatMap(\.references) where ref.path.count >= 3 && ref.path[0] == "steps" {
      let id = ref.path[1]
      guard !live.contains(id), !out.contains(where: { $0.id == id }), let producer = runbook.step(id),
        lost(producer, ref.path[2])
      else { continue }
      out.append(producer)
    }
    return out
  }
}
