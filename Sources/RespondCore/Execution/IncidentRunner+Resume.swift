import Foundation

/// Resuming an incident: the checks and corrections before the loop starts again, and the work
/// `ResumePlan` decides before each step (reconcile an interrupted attempt, bring back outputs
/// that died with the previous process).
extension IncidentRunner {
  /// Continues an incident from its journal. `given` supplies the inputs that were withheld
  /// from the journal (secret inputs); their fingerprints must match the original ones.
  package func resume(directory dir: String, journalState: IncidentState, inputs given: [String: String]) async throws
    -> RunResult
  {
    // Another user's incident folder (or one they can write) may hold a journal of their making.
    try IncidentFolder.checkOwned(dir)
    if let why = ResumeCheck.refusal(journalState, runbookDigest: runbook.digest, runbookPath: runbook.file) {
      throw UsageError(why)
    }
    for (name, value) in journalState.inputs { inputValues[name] = value }
    let corrected = try ResumeCheck.corrections(given: given, state: journalState, runbook: runbook)
    for (name, value) in corrected { inputValues[name] = .string(value) }
    for name in journalState.withheldInputs {
      guard let value = given[name] else {
        throw UsageError("input '\(name)' was secret and is not in the journal: pass it again with --\(name)")
      }
      masker.register(value)
      if let recorded = journalState.inputs[name]?.stringValue, recorded != masker.mask(value) {
        throw UsageError("--\(name) is not the value this incident started with (its fingerprint differs)")
      }
      inputValues[name] = .string(value)
    }
    journal = try Journal(
      path: dir + "/journal.jsonl", masker: masker,
      nextSeq: (journalState.records.last?.seq ?? 0) + 1, lastHash: journalState.lastHash)
    state = ResumePlan(runbook: runbook, registry: registry).reopened(journalState)
    // The folder as it is here: a copy pulled from the shared state (or a moved folder) keeps
    // its evidence beside its journal, not where the first machine had it.
    state.incident?.directory = URL(fileURLWithPath: dir).standardizedFileURL.path
    var r = JournalRecord(type: .runResumed)
    r.operator = options.operatorName
    r.host = options.host
    if !corrected.isEmpty {
      r.inputs = corrected.mapValues { .string(masker.mask($0)) }
      r.note = "inputs corrected on resume: " + corrected.keys.sorted().map { "--\($0)" }.joined(separator: ", ")
      progress.line("note: \(r.note!) (steps that have not run use the new value)")
    }
    if journalState.tornTail {
      r.note =
        (r.note.map { $0 + "; " } ?? "")
        + "the journal's last line was torn (the process died mid-write); it was ignored"
    }
    try record(r)
    if journalState.tornTail { progress.line("note: the journal's last line was torn by a crash; ignoring it") }
    progress.line("respond resume · incident \(journalState.incident?.id ?? dir)")
    return await drive()
  }

  /// Before running a step on resume: reconcile an interrupted attempt, and bring back derived
  /// and secret outputs that died with the previous process. A message when a human must decide.
  func prepareResume(_ step: Step) async throws -> String? {
    let plan = ResumePlan(runbook: runbook, registry: registry)
    if plan.mustReconcile(step, state: state), let stop = try await reconcileInterrupted(step) { return stop }
    // Derived outputs are not journaled: an idempotent step that made one in an earlier process
    // simply runs again.
    for producer in plan.lostDerivedProducers(for: step, state: state, live: Set(liveOutputs.keys)) {
      progress.line(
        "  resume: \(step.id) reads an output \(producer.id) made in the previous process; running \(producer.id) again"
      )
      state.steps[producer.id]?.outcome = nil
      if try await run(producer) != .succeeded {
        return "re-running step '\(producer.id)' did not succeed; see the report"
      }
    }
    // Secret outputs are never journaled: a step that needs one from a step finished by an
    // earlier process gets it back by undoing and re-running that step.
    for producer in plan.lostSecretProducers(for: step, state: state, live: Set(liveOutputs.keys)) {
      if let stop = try await redoSecretProducer(producer, for: step, plan: plan) { return stop }
    }
    return nil
  }

  /// An interrupted attempt: its action checks what happened; when it cannot tell, a human
  /// decides (`--rerun-interrupted`). A message when the run must stop for that.
  private func reconcileInterrupted(_ step: Step) async throws -> String? {
    guard let s = state.steps[step.id], let action = registry.action(named: step.action) else { return nil }
    let context = makeContext(step: step, parameters: (try? resolveParameters(step)) ?? [:], transport: transport)
    let decision: InterruptedDecision
    do {
      decision = try await action.reconcileInterrupted(context, startedAt: s.startedAt ?? Date())
    } catch {
      decision = .needsOperator("step '\(step.id)' was interrupted and checking its effect failed: \(describe(error))")
    }
    switch decision {
    case .safeToRerun(let why):
      try note(step: step.id, "interrupted attempt reconciled: \(why); running it again")
      progress.line("  resume: \(step.id) was interrupted; \(why); running it again")
    case .needsOperator(let what):
      if options.rerunInterrupted {
        try note(step: step.id, "interrupted attempt: operator chose to run it again (--rerun-interrupted)")
      } else {
        return what + ". After checking, run `respond resume \(incidentDirectory) --rerun-interrupted`."
      }
    }
    return nil
  }

  /// Undoes `producer` (its secret outputs died with the previous process), runs it again, then
  /// runs again the finished steps that used its undone outputs. A message when that fails.
  private func redoSecretProducer(_ producer: Step, for step: Step, plan: ResumePlan) async throws -> String? {
    let undo: UndoSpec
    let undoAction: any Action
    switch plan.secretRedo(of: producer, for: step) {
    case .impossible(let why): return why
    case .undoThenRerun(let spec, let action): (undo, undoAction) = (spec, action)
    }
    let params = try evaluate(undo.with, action: undo.action)
    progress.line(
      "  resume: \(producer.id)'s secret output was lost with the previous process; undoing it (\(undo.action)) and running it again"
    )
    let ctx = makeContext(step: producer, parameters: params, transport: transport)
    do {
      let result = try await undoAction.run(ctx)
      try note(step: producer.id, "undone on resume with \(undo.action): \(result.summary ?? "done")")
    } catch {
      return
        "undoing step '\(producer.id)' with \(undo.action) failed: \(describe(error)); check it by hand, then resume"
    }
    state.steps[producer.id]?.outcome = nil
    let outcome = try await run(producer)
    if outcome != .succeeded { return "re-running step '\(producer.id)' did not succeed; see the report" }
    // Steps that already used the undone outputs (e.g. stored the old replacement key in Vault)
    // hold a value that no longer exists: run them again with the new one, in order, first.
    for consumer in plan.finishedSteps(using: producer, before: step, state: state) {
      progress.line("  resume: \(consumer.id) used \(producer.id)'s undone outputs; running it again")
      try note(
        step: consumer.id, "run again on resume: it used outputs of '\(producer.id)', which was undone and redone")
      state.steps[consumer.id]?.outcome = nil
      let again = try await run(consumer)
      if again != .succeeded && again != .skippedCondition {
        return "re-running step '\(consumer.id)' with the redone '\(producer.id)' did not succeed; see the report"
      }
    }
    return nil
  }
}
