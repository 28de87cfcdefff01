import Foundation

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

  var journal: Journal!
  /// Held for every journal append and every read or write of `state` and `liveOutputs`, so
  /// steps of a concurrent group (IncidentRunner+Groups.swift) share them safely.
  let shared = NSRecursiveLock()
  /// `state`'s storage; read and write it through `state` (or under `shared`).
  var stateStorage = IncidentState()
  /// Unmasked input values, in memory only.
  var inputValues: [String: Value] = [:]
  /// `liveOutputs`'s storage: unmasked outputs of steps that finished in this process (secrets
  /// included), in memory only.
  var liveOutputStorage: [String: [String: Value]] = [:]
  /// While the `on-stop` steps run: the stop they report (read by expressions, journaled on them).
  var stopNotice: StopNotice?
  /// When the run stops at an approval gate: what the people must run next (`StepPolicy.gate`).
  var approvalStop: String?
  /// Told the path of every file of the incident written (journal, evidence): the shared state
  /// mirrors them as the run goes (`SharedIncident.written`).
  package var fileWritten: (@Sendable (String) -> Void)?
  /// Awaited with the journal's path after a change's write-ahead record, before the change: the
  /// shared copy of the
  /// journal then knows of every change, so a resume elsewhere never repeats one blindly.
  package var beforeChange: (@Sendable (String) async -> Void)?

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
    r.drillTargetMs = runbook.drillTarget.map { Int(($0.seconds * 1000).rounded()) }
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
        verifies: step.verifies.isEmpty ? nil : step.verifies, approvers: step.approvers > 1 ? step.approvers : nil)
    }
    try record(r)
    if let preflight = options.preflightNote { try note(step: nil, preflight) }
    progress.line(
      "respond \(runbook.name) · \(options.mode == .live ? "LIVE" : options.mode == .drill ? "DRILL" : "DRILL (--dry-run)") · incident \(info.id)"
    )
    return await drive()
  }

  // MARK: - The loop

  func drive() async -> RunResult {
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
      case .runTogether(let steps):
        if let stop = await runTogether(steps) {  // IncidentRunner+Groups.swift
          (status, stoppedAt, message) = (stop.status, stop.at, stop.message)
          break loop
        }
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
            message = approvalStop
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

  func record(_ r: JournalRecord) throws {
    shared.lock()
    defer { shared.unlock() }
    var written = try journal.append(r, durability: r.durability)
    // Keep the in-memory fold identical to what a reader of the journal gets: times as written
    // (to the millisecond), so the final report equals `respond report`'s re-rendering.
    written.at = ISO8601.parse(ISO8601.precise(written.at)) ?? written.at
    if let started = written.incident?.startedAt {
      written.incident?.startedAt = ISO8601.parse(ISO8601.precise(started)) ?? started
    }
    fileWritten?(journal.path)
    TestCrashHook.afterJournalRecord(written.seq)
    stateStorage.apply(written)
  }

  func note(step: String?, _ text: String) throws {
    var r = JournalRecord(type: .note)
    r.step = step
    r.note = masker.mask(text)
    try record(r)
  }

  // MARK: - One step

  func makeContext(step: Step, parameters: [String: Value], transport: any HTTPTransport) -> ActionContext {
    let approver = self.approver
    let ask: (@Sendable (String) async -> Bool?)? =
      options.assumeYes || approver == nil || options.mode.isDry ? nil : { @Sendable q in await approver?.ask(q) }
    let progress = self.progress
    var context = ActionContext(
      stepID: step.id, parameters: parameters, environment: environment, transport: transport, masker: masker,
      incident: state.incident
        ?? IncidentInfo(id: "", runbook: runbook.name, startedAt: Date(), mode: options.mode, directory: ""),
      log: { progress.line("      \($0)") }, ask: ask, limiters: limiters)
    // With the report's facts as they stand: a report written mid-run (the document phase's
    // report, e-mailed or sent to a SIEM) must carry its header facts, not wait for the run's end.
    context.incidentState = { [unowned self] in
      var now = self.state
      now.facts = self.evaluateFacts()
      return now
    }
    return context
  }

  /// What the runner knows of a step before it starts: its action, policy, evaluated parameters
  /// and the policy's admission. Pure reads of the run so far, so a concurrent group's approvals
  /// (`approveTogether`) are decided exactly as each member's own `run` decides them.
  struct Admitted {
    var action: any Action
    var policy: StepPolicy
    var parameters: Result<[String: Value], any Error>
    var admission: StepPolicy.Admission
  }

  /// The step's action, policy, parameters and admission; nil when its action is unknown.
  func admit(_ step: Step) -> Admitted? {
    guard let action = registry.action(named: step.action) else { return nil }
    let policy = StepPolicy(
      step: step, descriptor: action.descriptor, mode: options.mode, assumeYes: options.assumeYes,
      environment: environment)
    // A runbook reads no credential, even one that got past validation: refused before anything
    // is evaluated or sent (the evaluation context holds no credential values either).
    let env = runbook.env
    let credentialProblem = step.templates.flatMap(\.references).lazy
      .compactMap { CredentialEndpoints.runbookReadProblem($0, env: env) }.first
    // The condition and parameters are evaluated up front for the policy to decide on; both are
    // pure, and a parameter's secret is registered with the masker only once the step runs.
    let parameters: Result<[String: Value], any Error> =
      credentialProblem == nil ? Result { try evaluate(step.with, action: step.action) } : .success([:])
    let admission = policy.admission(
      state: state, credentialProblem: credentialProblem,
      condition: credentialProblem == nil ? condition(of: step) : .none,
      parameterError: parameters.failure.map(describe))
    return Admitted(action: action, policy: policy, parameters: parameters, admission: admission)
  }

  /// Runs one step to an outcome and journals it. Its `StepPolicy` decides whether it starts,
  /// behind which approval, what a dry run shows and whether a failure is retried; this executes.
  func run(_ step: Step) async throws -> StepOutcome {
    let began = ContinuousClock.now
    guard let admitted = admit(step) else {
      return try finish(step, .failed("unknown action '\(step.action)'"), began: began)
    }
    let (action, policy) = (admitted.action, admitted.policy)
    switch admitted.admission {
    case .end(let ending):
      return try finish(step, ending, began: began)
    case .run(let approval):
      // A step the preflight found cannot work as configured is skipped before anyone is asked.
      if let why = options.notConfigured[step.id], !options.mode.isDry {
        return try skipNotConfigured(step, why, began)
      }
      if let approval, let stopped = try await seekApproval(approval, for: step, began: began, policy: policy) {
        return stopped
      }
    }
    let params = try admitted.parameters.get()
    for spec in action.descriptor.parameters where spec.secret {
      if let v = params[spec.name] { masker.register(v) }
    }
    return try await execute(step, action: action, policy: policy, parameters: params, began: began)
  }

  /// The step's condition, evaluated against the run so far.
  private func condition(of step: Step) -> StepPolicy.Condition {
    guard let when = step.when else { return .none }
    do {
      return try when.evaluate(evaluationContext()).isTruthy ? .holds : .doesNotHold
    } catch {
      return .cannotBeEvaluated(error.message)
    }
  }

  /// A failed attempt, carried out of the retry loop (journal errors pass through as they are).
  private struct AttemptFailed: Error {
    var failure: ActionFailure
  }

  /// Runs the action within the step's time limit, behind the dry-run gate in a dry run, and
  /// retries as the step's retry policy allows; journals every attempt, retry and the outcome.
  private func execute(
    _ step: Step, action: any Action, policy: StepPolicy, parameters: [String: Value], began: ContinuousClock.Instant
  ) async throws -> StepOutcome {
    let descriptor = action.descriptor
    let gate = options.mode.isDry ? DryRunGate(base: transport, masker: masker) : nil
    let context = makeContext(step: step, parameters: parameters, transport: gate ?? transport)
    let limit = step.timeout ?? options.defaultTimeout
    do {
      return try await policy.retryPolicy.run(
        sleep: { try? await Task.sleep(for: $0) },
        onRetry: { attempt, wait, error in
          guard let failed = error as? AttemptFailed else { return }
          try journalRetry(step, attempt: attempt, wait: wait, failure: failed.failure)
        },
        attempt: { attempt in
          var started = JournalRecord(type: .stepStarted)
          started.step = step.id
          started.phase = step.phase
          started.action = step.action
          started.attempt = attempt
          started.mutates = descriptor.mutates
          try record(started)
          if descriptor.mutates, !options.mode.isDry { await beforeChange?(journal.path) }
          let result: Result<ActionResult, any Error>
          do {
            result = .success(try await StepTimeout.limiting(limit) { try await action.run(context) })
          } catch {
            result = .failure(error)
          }
          let intercepted = gate?.intercepted ?? []
          switch result {
          case .success(let done):
            if let shown = policy.dryRunEnding(intercepted: intercepted, resultSummary: done.summary) {
              return .done(try finish(step, shown, began: began))
            }
            return .done(try succeed(step, descriptor: descriptor, result: done, began: began))
          case .failure(let error):
            if let shown = policy.dryRunEnding(intercepted: intercepted, error: error) {
              return .done(try finish(step, shown, began: began))
            }
            let failure = ActionFailure(error)
            let failed = AttemptFailed(failure: failure)
            return policy.mayRetry(failure) ? .retry(failed, hint: failure.retryAfter) : .fail(failed)
          }
        })
    } catch let failed as AttemptFailed {
      let outcome = try finish(
        step, StepPolicy.Ending(.failed, error: failed.failure.message, mutates: descriptor.mutates), began: began,
        notProcessed: failed.failure.notProcessed)
      if step.continueOnError {
        progress.line("      continuing: the step is marked continue-on-error")
      }
      return outcome
    }
  }

  private func journalRetry(_ step: Step, attempt: Int, wait: Duration, failure: ActionFailure) throws {
    var r = JournalRecord(type: .stepRetry)
    r.step = step.id
    r.attempt = attempt
    r.error = masker.mask(failure.message)
    r.note = "retrying in \(wait.shortDescription)"
    try record(r)
    progress.line(
      "      attempt \(attempt) of \(step.id) failed: \(failure.message); retrying in \(wait.shortDescription)")
  }

  /// A step the preflight found cannot work as configured: skipped, said, and (through its
  /// `missing` record) a follow-up in the report.
  private func skipNotConfigured(_ step: Step, _ why: String, _ began: ContinuousClock.Instant) throws -> StepOutcome {
    progress.line("  not configured: \(step.id) (\(step.action)) is skipped: \(why)")
    return try finish(
      step, StepPolicy.Ending(.skippedCondition, summary: "not configured: \(why)", missing: [why]), began: began)
  }

  private func succeed(_ step: Step, descriptor: ActionDescriptor, result: ActionResult, began: ContinuousClock.Instant)
    throws -> StepOutcome
  {
    var secretNames = Set(descriptor.outputs.filter(\.secret).map(\.name))
    if let extra = (try? evaluate(step.with.filter { $0.0 == "secret-outputs" }))?["secret-outputs"]?.arrayValue {
      secretNames.formUnion(extra.compactMap(\.stringValue))
    }
    for name in secretNames { if let v = result.outputs[name] { masker.register(v) } }
    shared.withLock { liveOutputStorage[step.id] = result.outputs }
    let derived = Set(descriptor.outputs.filter { !$0.journaled }.map(\.name))
    var journaled: [String: Value] = [:]
    for (k, v) in result.outputs where !secretNames.contains(k) && !derived.contains(k) {
      journaled[k] = masker.mask(v)
    }
    return try finish(
      step, StepPolicy.Ending(.succeeded, summary: result.summary, mutates: descriptor.mutates), began: began,
      outputs: journaled, secretOutputs: secretNames.filter { result.outputs[$0] != nil }.sorted(),
      evidence: result.evidence)
  }

  func finish(
    _ step: Step, _ ending: StepPolicy.Ending, began: ContinuousClock.Instant, outputs: [String: Value]? = nil,
    secretOutputs: [String]? = nil, evidence: Evidence? = nil, notProcessed: Bool = false
  ) throws -> StepOutcome {
    let duration = ContinuousClock.now - began
    let outcome = ending.outcome
    var r = JournalRecord(type: .stepFinished)
    r.step = step.id
    r.phase = step.phase
    r.action = step.action
    r.outcome = outcome
    r.outputs = outputs
    r.secretOutputs = secretOutputs?.isEmpty == false ? secretOutputs : nil
    r.durationMs = Int(duration.seconds * 1000)
    r.error = ending.error.map { masker.mask($0) }
    r.summary = ending.summary.map { masker.mask($0) }
    r.evidence = evidence
    r.wouldSend = ending.wouldSend?.isEmpty == false ? ending.wouldSend : nil
    // Drills report readiness for every step, including branches this drill did not take.
    r.missing =
      ending.missing
      ?? (options.mode.isDry
        ? registry.action(named: step.action)?.descriptor.requirements.filter { !$0.isMet(in: environment) }
          .map(\.missingDescription) : nil)
    if options.mode.isDry, let found = options.preflightMissing[step.id] { r.missing = (r.missing ?? []) + found }
    r.mutates = ending.mutates
    r.continueOnError = step.continueOnError ? true : nil
    r.notProcessed = outcome == .failed && notProcessed ? true : nil
    r.stop = stopNotice?.key
    // Under the lock: members of a concurrent group may finish at once (one evidence folder).
    try shared.withLock {
      r.evidenceFile = try keepEvidence(step, r)  // IncidentRunner+Evidence.swift
      try record(r)
    }
    let detail = ending.error ?? ending.summary
    progress.step(outcome, phase: step.phase, id: step.id, action: step.action, duration: duration, detail: detail)
    return outcome
  }

  func describe(_ error: any Error) -> String { masker.mask(ActionFailure(error).message) }
}

extension Result {
  /// The error, when this is a failure.
  fileprivate var failure: Failure? {
    if case .failure(let error) = self { return error }
    return nil
  }
}
