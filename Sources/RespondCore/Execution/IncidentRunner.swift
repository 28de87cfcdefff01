import Foundation

/// Asks a person whether a step may run (or a manual step is done). The CLI provides a terminal
/// implementation; nil answers mean "nobody can be asked here".
package protocol Approver: Sendable {
  func ask(_ question: String) async -> Bool?
}

/// How one invocation should run.
package struct RunOptions: Sendable {
  package var mode: RunMode = .live
  /// `--yes`: every approval gate is answered yes.
  package var assumeYes = false
  /// Resume only: run again a non-idempotent step that was interrupted, after the operator checked.
  package var rerunInterrupted = false
  package var operatorName = RunOptions.currentUser()
  package var host = ProcessInfo.processInfo.hostName
  package var version = respondVersion
  /// Default per-step time limit when the step sets none.
  package var defaultTimeout: Duration = .seconds(300)
  /// The rate limiters the run paces its provider calls with. A batch passes one set to every
  /// key's runner so a provider's limits hold across the whole batch; nil means a fresh set.
  package var limiters: RateLimiters?
  /// From the preflight: steps that cannot work as configured (step id → why). Each is skipped
  /// at its turn as "not configured" and becomes a follow-up, instead of failing there.
  package var notConfigured: [String: String] = [:]
  /// The preflight's findings, journaled as a note right after the run starts.
  package var preflightNote: String?
  /// From the preflight, for drills: per step, what it found besides unset variables (AWS calls
  /// the caller may not make), added to the step's readiness.
  package var preflightMissing: [String: [String]] = [:]

  package init() {}

  /// Who runs respond: $USER, $LOGNAME, or the account name of the process's user.
  package static func currentUser() -> String {
    let env = ProcessInfo.processInfo.environment
    if let u = env["USER"] ?? env["LOGNAME"], !u.isEmpty { return u }
    if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    return "uid \(getuid())"
  }
}

package let respondVersion = "0.1.0"

/// The result of one invocation.
package struct RunResult: Sendable {
  package var status: RunStatus
  package var stoppedAt: String?
  package var message: String?
  package var incidentDirectory: String
  package var state: IncidentState

  /// The exit status the contract promises: 0 finished (and, live, verified contained), 1 failed
  /// (resumable), 3 approval gate, 4 finished but the credential is not verified contained.
  package var exitCode: Int32 {
    switch status {
    case .completed: return RunResult.completedExitCode(state)
    case .failed, .needsOperator, .interrupted: return 1
    case .stoppedAtApproval: return 3
    }
  }
}

extension RunResult {
  /// A finished run exits 0 only when there was nothing to contain, it was a drill, or the
  /// credential is verified (or confirmed) contained; otherwise 4, so automation never reads a
  /// finished run as a contained credential.
  package static func completedExitCode(_ state: IncidentState) -> Int32 {
    if state.incident?.mode.isDry ?? false { return 0 }
    guard let verdict = ContainmentVerdict.decide(state) else { return 0 }
    return verdict.verdict == .contained ? 0 : 4
  }
}

/// Runs a runbook for one incident: asks the conductor what is next, runs it (conditions,
/// approvals, dry-run gate, retries, time limits), journals every event durably, and keeps
/// outputs in memory for later expressions. Knows nothing of terminals or libcurl.
package final class IncidentRunner: @unchecked Sendable {
  package let runbook: Runbook
  package let registry: ActionRegistry
  package let environment: [String: String]
  package let transport: any HTTPTransport
  package let masker: Masker
  package let progress: ProgressLog
  package let approver: (any Approver)?
  package let options: RunOptions
  package var limiters: RateLimiters { options.limiters ?? ownLimiters }
  private let ownLimiters = RateLimiters()

  private var journal: Journal!
  private(set) package var state = IncidentState()
  /// Unmasked input values, in memory only.
  private var inputValues: [String: Value] = [:]
  /// Unmasked outputs of steps that finished in this process (secrets included), in memory only.
  private var liveOutputs: [String: [String: Value]] = [:]
  /// While the `on-stop` steps run: the stop they report (read by expressions, journaled on them).
  private var stopNotice: StopNotice?

  package init(
    runbook: Runbook, registry: ActionRegistry, environment: [String: String],
    transport: any HTTPTransport, masker: Masker, progress: ProgressLog, approver: (any Approver)?,
    options: RunOptions
  ) {
    self.runbook = runbook
    self.registry = registry
    self.environment = environment
    self.transport = transport
    self.masker = masker
    self.progress = progress
    self.approver = approver
    self.options = options
    IncidentRunner.registerCredentialVariables(environment, runbook: runbook, masker: masker)
  }

  /// Every environment variable that holds a credential is masked from the start: the standard
  /// ones by name, and any the runbook declares secret.
  package static func registerCredentialVariables(_ env: [String: String], runbook: Runbook?, masker: Masker) {
    let known: Set<String> = [
      "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "VAULT_TOKEN", "BAO_TOKEN", "GITHUB_TOKEN", "GITLAB_TOKEN",
      "SLACK_WEBHOOK_URL", "PAGERDUTY_ROUTING_KEY", "SMTP_PASSWORD", "OPENAI_ADMIN_KEY", "SENDGRID_API_KEY",
    ]
    let declared = Set((runbook?.env ?? []).filter(\.secret).map(\.name))
    for (name, value) in env where known.contains(name) || declared.contains(name) || EnvSpec.looksSecret(name) {
      if name == "AWS_ACCESS_KEY_ID" { continue }
      masker.register(value)
    }
    // Credentials embedded in URLs (smtp://user:pass@host).
    for (name, value) in env where name.hasSuffix("_URL") || name.hasSuffix("_ADDR") {
      if let c = URLComponents(string: value), let pw = c.password, !pw.isEmpty { masker.register(pw) }
    }
  }

  // MARK: - Starting and resuming

  /// Starts a new incident in a fresh folder under `outDir`. `lock`, when the caller holds one for
  /// the key, is told the folder so a responder it refuses can point at it.
  package func start(inputs given: [String: String], outDir: String, now: Date = Date(), lock: IncidentLock? = nil)
    async throws -> RunResult
  {
    let dir = try IncidentFolder.create(in: outDir, runbook: runbook.name, at: now)
    lock?.record(incident: dir)
    let info = IncidentInfo(
      id: (dir as NSString).lastPathComponent, runbook: runbook.name, startedAt: now, mode: options.mode,
      directory: dir)
    var journaled: [String: Value] = [:]
    var withheld: [String] = []
    for spec in runbook.inputs {
      guard let value = given[spec.name] ?? spec.defaultValue else { continue }
      inputValues[spec.name] = .string(value)
      if spec.secret { masker.register(value) }
      let shown = masker.mask(value)
      journaled[spec.name] = .string(shown)
      if shown != value { withheld.append(spec.name) }
    }
    journal = try Journal(path: dir + "/journal.jsonl", masker: masker)
    var r = JournalRecord(at: now, type: .runStarted)
    r.incident = info
    r.runbookFile = runbook.file
    r.runbookDigest = runbook.digest
    r.runbookDescription = runbook.description
    r.operator = options.operatorName
    r.host = options.host
    r.version = options.version
    r.inputs = journaled
    r.withheldInputs = withheld.isEmpty ? nil : withheld
    r.plan = runbook.steps.map { step in
      PlanEntry(
        id: step.id, phase: step.phase, action: step.action, title: step.title,
        condition: step.whenSource, mutates: registry.action(named: step.action)?.descriptor.mutates ?? true,
        approval: step.approvalRequired, continueOnError: step.continueOnError,
        verifies: step.verifies.isEmpty ? nil : step.verifies)
    }
    try record(r)
    if let preflight = options.preflightNote { try note(step: nil, preflight) }
    progress.line(
      "respond \(runbook.name) · \(options.mode == .live ? "LIVE" : options.mode == .drill ? "DRILL" : "DRILL (--dry-run)") · incident \(info.id)"
    )
    return await drive()
  }

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
    state = journalState
    // The step the run stopped at gets another go: an idempotent one simply runs again; a
    // non-idempotent one is treated as interrupted (its failure may have been processed at the
    // provider), so its action reconciles first or a human decides, unless the journal says the
    // provider certainly did not act on the failed request (a 429, a 403, a refused connection).
    for step in runbook.steps {
      guard var s = state.steps[step.id], s.outcome == .failed, !step.continueOnError else { continue }
      let idempotent = registry.action(named: step.action)?.descriptor.idempotent ?? false
      s.outcome = nil
      s.interrupted = !idempotent && !s.failedNotProcessed
      state.steps[step.id] = s
    }
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

  // MARK: - The loop

  private func drive() async -> RunResult {
    let conductor = Conductor(runbook: runbook)
    var status = RunStatus.completed
    var stoppedAt: String?
    var message: String?
    loop: while true {
      if Task.isCancelled {
        status = .interrupted
        message = "interrupted"
        break
      }
      switch conductor.next(state) {
      case .finish(let s, let at):
        status = s
        stoppedAt = at
        if s == .failed, let at { message = "step '\(at)' failed: \(state.steps[at]?.error ?? "")" }
        break loop
      case .run(let step):
        do {
          if let stop = try await prepareResume(step) {
            status = .needsOperator
            stoppedAt = step.id
            message = stop
            try? note(step: step.id, stop)
            break loop
          }
          let outcome = try await run(step)
          if outcome == .stoppedAtApproval {
            status = .stoppedAtApproval
            stoppedAt = step.id
            message =
              "step '\(step.id)' needs approval: run `respond resume \(incidentDirectory)` from a terminal, or with --yes"
            break loop
          }
        } catch {
          status = .failed
          stoppedAt = step.id
          message = "journal error: \(error)"
          break loop
        }
      }
    }
    await sendStopNotice(status: status, at: stoppedAt, message: message.map { masker.mask($0) })
    var fin = JournalRecord(type: .runFinished)
    fin.status = status
    fin.step = stoppedAt
    fin.note = message.map { masker.mask($0) }
    fin.facts = evaluateFacts()
    try? record(fin)
    return RunResult(
      status: status, stoppedAt: stoppedAt, message: message.map { masker.mask($0) },
      incidentDirectory: incidentDirectory, state: state)
  }

  /// Runs the runbook's `on-stop` steps when the run stopped where a person must pick it up (an
  /// approval gate, a failure, an interrupted step to check), so nobody learns of a stuck response
  /// from silence. Journaled like any step; a failure here is recorded and changes nothing about
  /// how the run ends. A stop already announced (same step, same way) is not announced again.
  private func sendStopNotice(status: RunStatus, at step: String?, message: String?) async {
    guard !runbook.onStop.isEmpty,
      let notice = StopNotice.decide(
        status: status, at: step, reason: message, directory: incidentDirectory,
        withheldInputs: state.withheldInputs)
    else { return }
    let pending = notice.pending(runbook.onStop, state: state)
    if pending.count < runbook.onStop.count {
      progress.line("  on-stop: already sent for this stop (\(notice.key)); not sending again")
    }
    stopNotice = notice
    defer { stopNotice = nil }
    for step in pending { _ = try? await run(step) }
  }

  /// The runbook's report facts, evaluated now and masked ([label, value] pairs).
  private func evaluateFacts() -> [[String]] {
    let ctx = evaluationContext()
    return runbook.report.facts.compactMap { label, template in
      guard let v = try? template.evaluate(ctx), !v.isNull, !(v.stringValue?.isEmpty ?? false) else {
        return [label, ""]
      }
      return [label, masker.mask(v.description)]
    }
  }

  package var incidentDirectory: String {
    state.incident?.directory ?? ((journal?.path as NSString?)?.deletingLastPathComponent ?? "")
  }

  private func record(_ r: JournalRecord) throws {
    var written = try journal.append(r, durability: r.durability)
    // Keep the in-memory fold identical to what a reader of the journal gets: times as written
    // (to the millisecond), so the final report equals `respond report`'s re-rendering.
    written.at = ISO8601.parse(ISO8601.precise(written.at)) ?? written.at
    if let started = written.incident?.startedAt {
      written.incident?.startedAt = ISO8601.parse(ISO8601.precise(started)) ?? started
    }
    TestCrashHook.afterJournalRecord(written.seq)
    state.apply(written)
  }

  private func note(step: String?, _ text: String) throws {
    var r = JournalRecord(type: .note)
    r.step = step
    r.note = masker.mask(text)
    try record(r)
  }

  // MARK: - Resume decisions

  /// Before running a step on resume: reconcile an interrupted attempt, and bring back secret
  /// outputs that died with the previous process. Returns a message when a human must decide.
  private func prepareResume(_ step: Step) async throws -> String? {
    if let s = state.steps[step.id], s.interrupted, let action = registry.action(named: step.action) {
      let context = makeContext(step: step, parameters: (try? resolveParameters(step)) ?? [:], transport: transport)
      let decision: InterruptedDecision
      do {
        decision = try await action.reconcileInterrupted(context, startedAt: s.startedAt ?? Date())
      } catch {
        decision = .needsOperator(
          "step '\(step.id)' was interrupted and checking its effect failed: \(describe(error))")
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
    }
    // Derived outputs are not journaled: an idempotent step that made one in an earlier process
    // simply runs again.
    for producer in lostDerivedProducers(for: step) {
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
    for producer in lostSecretProducers(for: step) {
      guard let undo = producer.undo, let undoAction = registry.action(named: undo.action) else {
        return
          "step '\(step.id)' needs a secret output of step '\(producer.id)', which finished before the process stopped; secrets are never journaled and '\(producer.id)' has no undo. Re-run the response or finish it by hand."
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
      for consumer in finishedSteps(using: producer, before: step) {
        progress.line("  resume: \(consumer.id) used \(producer.id)'s undone outputs; running it again")
        try note(
          step: consumer.id, "run again on resume: it used outputs of '\(producer.id)', which was undone and redone")
        state.steps[consumer.id]?.outcome = nil
        let again = try await run(consumer)
        if again != .succeeded && again != .skippedCondition {
          return "re-running step '\(consumer.id)' with the redone '\(producer.id)' did not succeed; see the report"
        }
      }
    }
    return nil
  }

  /// Steps between `producer` and `step` that succeeded and read any output of `producer`.
  private func finishedSteps(using producer: Step, before step: Step) -> [Step] {
    let all = runbook.steps
    guard let from = all.firstIndex(where: { $0.id == producer.id }),
      let to = all.firstIndex(where: { $0.id == step.id }), from + 1 < to
    else { return [] }
    return all[(from + 1)..<to].filter { s in
      state.steps[s.id]?.outcome == .succeeded && dependencies(in: s.templates).contains(producer.id)
    }
  }

  /// Idempotent steps that succeeded in an earlier process and whose derived (unjournaled)
  /// outputs `step` reads.
  private func lostDerivedProducers(for step: Step) -> [Step] {
    var out: [Step] = []
    for ref in step.templates.flatMap(\.references) where ref.path.count >= 3 && ref.path[0] == "steps" {
      let id = ref.path[1]
      let output = ref.path[2]
      guard liveOutputs[id] == nil, state.steps[id]?.outcome == .succeeded, let producer = runbook.step(id),
        let descriptor = registry.action(named: producer.action)?.descriptor, descriptor.idempotent,
        descriptor.outputs.contains(where: { $0.name == output && !$0.journaled && !$0.secret }),
        !out.contains(where: { $0.id == id })
      else { continue }
      out.append(producer)
    }
    return out
  }

  /// Steps that succeeded in an earlier process and whose secret outputs `step` reads.
  private func lostSecretProducers(for step: Step) -> [Step] {
    var out: [Step] = []
    for ref in step.templates.flatMap(\.references) where ref.path.count >= 3 && ref.path[0] == "steps" {
      let id = ref.path[1]
      let output = ref.path[2]
      guard liveOutputs[id] == nil, let s = state.steps[id], s.outcome == .succeeded,
        s.secretOutputs.contains(output), let producer = runbook.step(id), !out.contains(where: { $0.id == id })
      else { continue }
      out.append(producer)
    }
    return out
  }

  // MARK: - One step

  /// The ids of the steps whose outputs these templates read.
  private func dependencies(in templates: [Template]) -> [String] {
    var ids: [String] = []
    for ref in templates.flatMap(\.references) where ref.path.count >= 2 && ref.path[0] == "steps" {
      if !ids.contains(ref.path[1]) { ids.append(ref.path[1]) }
    }
    return ids
  }

  private func evaluationContext() -> EvaluationContext {
    var steps: [String: [String: Value]] = [:]
    for (id, s) in state.steps { steps[id] = s.outputs }
    for (id, o) in liveOutputs { steps[id] = o }
    var env: [String: String] = [:]
    var configured: [String: Bool] = [:]
    for spec in runbook.env {
      let value = environment[spec.name]
      configured[spec.name] = !(value ?? "").isEmpty
      // A credential's value never enters an expression: only the actions owning it read it.
      if let value, !CredentialEndpoints.isCredential(spec.name, declaredSecret: spec.secret) { env[spec.name] = value }
    }
    let info = state.incident
    let verdict = options.mode.isDry ? nil : ContainmentVerdict.decide(state)
    let incident: [String: Value] = [
      "id": .string(info?.id ?? ""), "runbook": .string(runbook.name),
      "started-at": .string(info.map { ISO8601.string($0.startedAt) } ?? ""),
      "mode": .string(options.mode.rawValue), "directory": .string(info?.directory ?? ""),
      "verdict": .string(verdict?.verdict.rawValue ?? ""), "verdict-reason": .string(verdict?.reason ?? ""),
      "stopped-at": .string(stopNotice?.stoppedAt ?? ""), "stop-reason": .string(stopNotice?.reason ?? ""),
      "resume-command": .string(stopNotice?.resumeCommand ?? ""),
    ]
    return EvaluationContext(inputs: inputValues, steps: steps, env: env, configured: configured, incident: incident)
  }

  /// Resolves a step's `with`; each parameter's values are encoded as its action declares
  /// (a URL path segment, Slack text), here where every step's templates are evaluated.
  private func evaluate(_ with: [(String, TemplateValue)], action: String? = nil) throws -> [String: Value] {
    let ctx = evaluationContext()
    let specs = action.flatMap { registry.action(named: $0)?.descriptor.parameters } ?? []
    var out: [String: Value] = [:]
    for (k, v) in with {
      let interpolation = specs.first { $0.name == k }?.interpolation ?? .plain
      do {
        out[k] = try v.evaluate(ctx, interpolation: interpolation)
      } catch {
        throw ActionError.badParameter(name: k, reason: "could not be evaluated: \(error.message)")
      }
    }
    return out
  }

  private func resolveParameters(_ step: Step) throws -> [String: Value] {
    let params = try evaluate(step.with, action: step.action)
    if let action = registry.action(named: step.action) {
      for spec in action.descriptor.parameters where spec.secret {
        if let v = params[spec.name] { masker.register(v) }
      }
    }
    return params
  }

  private func makeContext(step: Step, parameters: [String: Value], transport: any HTTPTransport) -> ActionContext {
    let approver = self.approver
    let ask: (@Sendable (String) async -> Bool?)? =
      options.assumeYes || approver == nil || options.mode.isDry ? nil : { @Sendable q in await approver?.ask(q) }
    let progress = self.progress
    var context = ActionContext(
      stepID: step.id, parameters: parameters, environment: environment, transport: transport, masker: masker,
      incident: state.incident
        ?? IncidentInfo(id: "", runbook: runbook.name, startedAt: Date(), mode: options.mode, directory: ""),
      log: { progress.line("      \($0)") }, ask: ask, limiters: limiters)
    context.incidentState = { [unowned self] in self.state }
    return context
  }

  /// Runs one step to an outcome and journals it.
  private func run(_ step: Step) async throws -> StepOutcome {
    let began = ContinuousClock.now
    guard let action = registry.action(named: step.action) else {
      return try finish(step, .failed, began: began, error: "unknown action '\(step.action)'")
    }
    let descriptor = action.descriptor

    // A runbook reads no credential, even one that got past validation: refuse before anything
    // is evaluated or sent (the evaluation context holds no credential values either).
    let env = runbook.env
    let reads = step.templates.flatMap(\.references).compactMap { CredentialEndpoints.runbookReadProblem($0, env: env) }
    if let problem = reads.first {
      return try finish(step, .failed, began: began, error: problem)
    }

    // In a dry run, a step that reads outputs of steps that did not really run (they were
    // shown, not sent) cannot be decided or resolved: show it as what would happen, unresolved,
    // with what it needs, instead of guessing a branch.
    func unresolved(_ ids: [String]) throws -> StepOutcome? {
      let unknown = ids.filter { state.steps[$0]?.outcome == .skippedDryRun }
      guard options.mode.isDry, !unknown.isEmpty else { return nil }
      let missing = descriptor.requirements.filter { !$0.isMet(in: environment) }.map(\.missingDescription)
      var summary = "depends on \(unknown.map { "`\($0)`" }.joined(separator: ", ")), not run in this dry run"
      if let src = step.whenSource { summary += "; would run when `\(src)`" }
      return try finish(
        step, .skippedDryRun, began: began, summary: summary, missing: missing,
        mutates: descriptor.mutates)
    }
    // A verification of a change the dry run only showed has nothing to verify.
    if let outcome = try unresolved(step.verifies) { return outcome }
    if let when = step.when, let outcome = try unresolved(dependencies(in: [when])) { return outcome }

    // Condition.
    if let when = step.when {
      let holds: Bool
      do {
        holds = try when.evaluate(evaluationContext()).isTruthy
      } catch {
        return try finish(step, .failed, began: began, error: "condition could not be evaluated: \(error.message)")
      }
      if !holds { return try finish(step, .skippedCondition, began: began, mutates: descriptor.mutates) }
    }
    if let outcome = try unresolved(dependencies(in: step.with.flatMap(\.1.templates).map(\.0))) { return outcome }
    if let why = options.notConfigured[step.id], !options.mode.isDry { return try skipNotConfigured(step, why, began) }

    // Parameters.
    let params: [String: Value]
    do {
      params = try resolveParameters(step)
    } catch {
      return try finish(step, .failed, began: began, error: describe(error))
    }

    // Dry runs and drills: readiness, then the gate.
    if options.mode.isDry {
      let missing = descriptor.requirements.filter { !$0.isMet(in: environment) }.map(\.missingDescription)
      if !missing.isEmpty {
        return try finish(
          step, .skippedDryRun, began: began, summary: "not configured: " + missing.joined(separator: "; "),
          missing: missing, mutates: descriptor.mutates)
      }
    }

    // Approval (live only: a dry run changes nothing, so there is nothing to approve).
    if step.approvalRequired && !options.mode.isDry {
      let decision: String
      var granted = false
      if options.assumeYes {
        decision = "granted (--yes)"
        granted = true
      } else if let approver {
        let question =
          "Run \(step.phase.rawValue)/\(step.id) (\(step.action))\(descriptor.mutates ? ", which changes state at the provider" : "")?"
        switch await approver.ask(question) {
        case true?:
          decision = "granted at the terminal"
          granted = true
        case false?: decision = "declined at the terminal"
        case nil: decision = "no terminal to ask: rerun with --yes"
        }
      } else {
        decision = "no terminal to ask: rerun with --yes"
      }
      var r = JournalRecord(type: .approval)
      r.step = step.id
      r.decision = decision
      try record(r)
      if !granted {
        return try finish(step, .stoppedAtApproval, began: began, summary: decision, mutates: descriptor.mutates)
      }
    }

    let gate = options.mode.isDry ? DryRunGate(base: transport, masker: masker) : nil
    let context = makeContext(step: step, parameters: params, transport: gate ?? transport)
    let policy = step.retry ?? RetryPolicy()
    let limit = step.timeout ?? options.defaultTimeout
    var attempt = 1
    while true {
      var started = JournalRecord(type: .stepStarted)
      started.step = step.id
      started.phase = step.phase
      started.action = step.action
      started.attempt = attempt
      started.mutates = descriptor.mutates
      try record(started)
      do {
        let result = try await IncidentRunner.withTimeout(limit) { try await action.run(context) }
        if let gate, !gate.intercepted.isEmpty || descriptor.mutates {
          let sent = gate.intercepted
          let summary =
            sent.isEmpty
            ? "would change nothing: \(result.summary ?? "already in the desired state")" : "not sent (dry run)"
          return try finish(step, .skippedDryRun, began: began, summary: summary, wouldSend: sent, mutates: true)
        }
        return try succeed(step, descriptor: descriptor, result: result, began: began)
      } catch {
        if let gate, !gate.intercepted.isEmpty {
          return try finish(
            step, .skippedDryRun, began: began, summary: "not sent (dry run)",
            wouldSend: gate.intercepted, mutates: true)
        }
        // A verification checks the effect of changes; in a dry run those changes were not
        // made, so a failed check says nothing about the real run: show it, do not fail.
        if options.mode.isDry, let e = error as? ActionError, case .verification(let what) = e {
          return try finish(
            step, .skippedDryRun, began: began,
            summary: "check not meaningful in a dry run (the change it verifies was not made): \(what)",
            mutates: descriptor.mutates)
        }
        // A drill rehearses: an endpoint it cannot reach here is a readiness finding (shown in
        // the readiness table), not a failed rehearsal.
        if options.mode.isDry, let unreachable = IncidentRunner.unreachable(error) {
          return try finish(
            step, .skippedDryRun, began: began, summary: "not reachable from here: \(unreachable)",
            missing: ["reachable endpoint: \(unreachable)"], mutates: descriptor.mutates)
        }
        let failure = ActionFailure(error)
        let elapsed = ContinuousClock.now - began
        let retryable = failure.retryable && (descriptor.idempotent || failure.notProcessed)
        if retryable && attempt < policy.attempts {
          let delay = backoff(attempt: attempt, policy: policy, hint: failure.retryAfter)
          if elapsed + delay < policy.maxTotal {
            var r = JournalRecord(type: .stepRetry)
            r.step = step.id
            r.attempt = attempt
            r.error = masker.mask(failure.message)
            r.note = "retrying in \(delay.shortDescription)"
            try record(r)
            progress.line(
              "      attempt \(attempt) of \(step.id) failed: \(failure.message); retrying in \(delay.shortDescription)"
            )
            try? await Task.sleep(for: delay)
            attempt += 1
            continue
          }
        }
        let outcome = try finish(
          step, .failed, began: began, error: failure.message, mutates: descriptor.mutates,
          notProcessed: failure.notProcessed)
        if step.continueOnError {
          progress.line("      continuing: the step is marked continue-on-error")
        }
        return outcome
      }
    }
  }

  /// A step the preflight found cannot work as configured: skipped, said, and (through its
  /// `missing` record) a follow-up in the report.
  private func skipNotConfigured(_ step: Step, _ why: String, _ began: ContinuousClock.Instant) throws -> StepOutcome {
    progress.line("  not configured: \(step.id) (\(step.action)) is skipped: \(why)")
    return try finish(step, .skippedCondition, began: began, summary: "not configured: \(why)", missing: [why])
  }

  private func succeed(_ step: Step, descriptor: ActionDescriptor, result: ActionResult, began: ContinuousClock.Instant)
    throws -> StepOutcome
  {
    var secretNames = Set(descriptor.outputs.filter(\.secret).map(\.name))
    if let extra = (try? evaluate(step.with.filter { $0.0 == "secret-outputs" }))?["secret-outputs"]?.arrayValue {
      secretNames.formUnion(extra.compactMap(\.stringValue))
    }
    for name in secretNames { if let v = result.outputs[name] { masker.register(v) } }
    liveOutputs[step.id] = result.outputs
    let derived = Set(descriptor.outputs.filter { !$0.journaled }.map(\.name))
    var journaled: [String: Value] = [:]
    for (k, v) in result.outputs where !secretNames.contains(k) && !derived.contains(k) {
      journaled[k] = masker.mask(v)
    }
    return try finish(
      step, .succeeded, began: began, outputs: journaled,
      secretOutputs: secretNames.filter { result.outputs[$0] != nil }.sorted(),
      summary: result.summary, evidence: result.evidence, mutates: descriptor.mutates)
  }

  private func finish(
    _ step: Step, _ outcome: StepOutcome, began: ContinuousClock.Instant, outputs: [String: Value]? = nil,
    secretOutputs: [String]? = nil, error: String? = nil, summary: String? = nil, evidence: Evidence? = nil,
    wouldSend: [String]? = nil, missing: [String]? = nil, mutates: Bool? = nil, notProcessed: Bool = false
  ) throws -> StepOutcome {
    let duration = ContinuousClock.now - began
    var r = JournalRecord(type: .stepFinished)
    r.step = step.id
    r.phase = step.phase
    r.action = step.action
    r.outcome = outcome
    r.outputs = outputs
    r.secretOutputs = secretOutputs?.isEmpty == false ? secretOutputs : nil
    r.durationMs = Int(duration.seconds * 1000)
    r.error = error.map { masker.mask($0) }
    r.summary = summary.map { masker.mask($0) }
    r.evidence = evidence
    r.wouldSend = wouldSend?.isEmpty == false ? wouldSend : nil
    // Drills report readiness for every step, including branches this drill did not take.
    r.missing =
      missing
      ?? (options.mode.isDry
        ? registry.action(named: step.action)?.descriptor.requirements.filter { !$0.isMet(in: environment) }
          .map(\.missingDescription) : nil)
    if options.mode.isDry, let found = options.preflightMissing[step.id] { r.missing = (r.missing ?? []) + found }
    r.mutates = mutates
    r.continueOnError = step.continueOnError ? true : nil
    r.notProcessed = outcome == .failed && notProcessed ? true : nil
    r.stop = stopNotice?.key
    try record(r)
    let detail = error ?? summary
    progress.step(outcome, phase: step.phase, id: step.id, action: step.action, duration: duration, detail: detail)
    return outcome
  }

  /// Exponential backoff with jitter (50–100% of the step), honouring a provider's hint, capped.
  private func backoff(attempt: Int, policy: RetryPolicy, hint: Duration?) -> Duration {
    if let hint { return min(hint, policy.maxDelay) }
    let base = policy.backoff * (1 << min(attempt - 1, 16))
    let jittered = base * Double.random(in: 0.5...1.0)
    return min(jittered, policy.maxDelay)
  }

  private func describe(_ error: Error) -> String { masker.mask(ActionFailure(error).message) }

  /// The message of an error that says the endpoint could not be reached at all (no answer).
  static func unreachable(_ error: Error) -> String? {
    let transport: TransportError
    switch error {
    case let t as TransportError: transport = t
    case ActionError.transport(let t): transport = t
    default: return nil
    }
    switch transport {
    case .connectionFailed, .timedOut, .tls: return transport.description
    default: return nil
    }
  }

  /// Runs `work`, failing with a timeout error if it takes longer than `limit`.
  package static func withTimeout<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T)
    async throws -> T
  {
    try await withThrowingTaskGroup(of: T.self) { group in
      group.addTask { try await work() }
      group.addTask {
        try await Task.sleep(for: limit)
        throw StepTimeout(limit: limit)
      }
      defer { group.cancelAll() }
      return try await group.next()!
    }
  }
}

/// TEST-ONLY crash points for the crash/resume tests (Tests/EndToEndTests/CrashResumeTests.swift).
/// `RESPOND_TEST_CRASH_AT=<n>` makes the process SIGKILL itself right after journal record `seq`
/// n is written (and, for a record before an outside effect, fsync'd): the harshest crash there is,
/// at a chosen point. Compiled into debug builds only (the tests run those): in a release build no
/// environment variable can kill a real response.
package enum TestCrashHook {
  #if DEBUG
    private static let crashAtRecord: Int? = ProcessInfo.processInfo.environment["RESPOND_TEST_CRASH_AT"].flatMap {
      Int($0)
    }
  #endif

  /// Called after each journal append.
  package static func afterJournalRecord(_ seq: Int) {
    #if DEBUG
      if let n = crashAtRecord, seq == n { raise(SIGKILL) }
    #endif
  }
}

/// A step ran past its time limit.
package struct StepTimeout: Error, CustomStringConvertible {
  package var limit: Duration
  package var description: String { "step timed out after \(limit.shortDescription)" }
}

/// Bad usage or input: exit 2 with this message.
package struct UsageError: Error, CustomStringConvertible {
  package var description: String
  package init(_ message: String) { description = message }
}

/// Any error, classified for the retry decision and phrased for the operator.
package struct ActionFailure {
  package var message: String
  package var retryable: Bool
  /// The provider certainly did not act on the failed request (`ActionError.requestNotProcessed`):
  /// a non-idempotent step may be retried, and resume runs it again without asking.
  package var notProcessed: Bool
  package var retryAfter: Duration?

  package init(_ error: Error) {
    switch error {
    case let e as ActionError:
      message = e.description
      retryable = e.isRetryable
      notProcessed = e.requestNotProcessed
      retryAfter = e.retryAfter
    case let e as TransportError:
      let a = ActionError.transport(e)
      message = a.description
      retryable = a.isRetryable
      notProcessed = a.requestNotProcessed
      retryAfter = nil
    case let e as StepTimeout:
      message = e.description
      retryable = false
      notProcessed = false
      retryAfter = nil
    default:
      message = String(describing: error)
      retryable = false
      notProcessed = false
      retryAfter = nil
    }
  }
}
