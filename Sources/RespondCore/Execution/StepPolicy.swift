/// Decides, for one step, everything the runner would otherwise decide inline: whether it is
/// skipped (its condition is false, it reads what a dry run only showed, it is not configured
/// for a drill), whether it fails before it starts (an unreadable credential, a condition or
/// parameter that cannot be evaluated), whether it needs approval and from how many people,
/// what a dry-run attempt shows instead of an outcome, and whether a failed attempt is retried.
/// Pure: the step, its action's descriptor and the facts the runner evaluated go in, a decision
/// comes out; the runner only executes and journals.
///
/// Shaped for what is planned, so neither needs a special case in the runner:
/// - Concurrent steps: every decision reads the journal state as a value and keeps nothing
///   between calls, so a group of steps the conductor starts together can each be decided from
///   the same snapshot, in any order, on any task.
/// - Two-person approvals: `ApprovalRequest.approvers` says how many different people must say
///   yes; the runner asks that many times and `approval(answers:)` decides, so an
///   `approval: two-person` only sets the count.
package struct StepPolicy: Sendable {
  package var step: Step
  package var descriptor: ActionDescriptor
  package var mode: RunMode
  /// `--yes`: every approval gate is answered yes.
  package var assumeYes: Bool
  /// The action's requirements this environment does not meet, as readiness findings.
  package var missing: [String]

  package init(step: Step, descriptor: ActionDescriptor, mode: RunMode, assumeYes: Bool, environment: [String: String])
  {
    self.step = step
    self.descriptor = descriptor
    self.mode = mode
    self.assumeYes = assumeYes
    self.missing = descriptor.requirements.filter { !$0.isMet(in: environment) }.map(\.missingDescription)
  }

  /// How a step ends without (or instead of) a real outcome of its action: what the runner
  /// journals and shows.
  package struct Ending: Sendable, Equatable {
    package var outcome: StepOutcome
    package var summary: String?
    package var error: String?
    package var missing: [String]?
    package var wouldSend: [String]?
    package var mutates: Bool?

    package init(
      _ outcome: StepOutcome, summary: String? = nil, error: String? = nil, missing: [String]? = nil,
      wouldSend: [String]? = nil, mutates: Bool? = nil
    ) {
      self.outcome = outcome
      self.summary = summary
      self.error = error
      self.missing = missing
      self.wouldSend = wouldSend
      self.mutates = mutates
    }

    package static func failed(_ error: String) -> Ending { Ending(.failed, error: error) }
  }

  /// A step's condition as the runner evaluated it.
  package enum Condition: Sendable, Equatable {
    case none
    case holds
    case doesNotHold
    case cannotBeEvaluated(String)
  }

  /// Approval the step needs before it runs.
  package struct ApprovalRequest: Sendable, Equatable {
    package var question: String
    /// How many different people must say yes (one for `approval: required`).
    package var approvers: Int
    /// Already granted without asking (`--yes`), with the journaled decision.
    package var grantedWithoutAsking: String?
  }

  /// Whether the step starts, and behind which approval.
  package enum Admission: Sendable, Equatable {
    case end(Ending)
    case run(approval: ApprovalRequest?)
  }

  /// Decides whether the step starts. `credentialProblem`: the runbook reads a credential
  /// (refused before anything is evaluated); `condition` and `parameterError` as evaluated
  /// against the run so far. The checks run in the order a reader expects: a dry-run step that
  /// reads what was only shown is shown unresolved rather than guessed; a false condition skips;
  /// then the parameters, readiness and approval.
  package func admission(
    state: IncidentState, credentialProblem: String?, condition: Condition, parameterError: String?
  ) -> Admission {
    if let credentialProblem { return .end(.failed(credentialProblem)) }
    // A verification of a change the dry run only showed has nothing to verify.
    if let shown = unresolved(reading: step.verifies, state: state) { return .end(shown) }
    if let when = step.when, let shown = unresolved(reading: Self.dependencies(in: [when]), state: state) {
      return .end(shown)
    }
    switch condition {
    case .none, .holds: break
    case .doesNotHold: return .end(Ending(.skippedCondition, mutates: descriptor.mutates))
    case .cannotBeEvaluated(let why): return .end(.failed("condition could not be evaluated: \(why)"))
    }
    let parameterReads = Self.dependencies(in: step.with.flatMap(\.1.templates).map(\.0))
    if let shown = unresolved(reading: parameterReads, state: state) { return .end(shown) }
    if let parameterError { return .end(.failed(parameterError)) }
    // Dry runs and drills: readiness, then the gate.
    if mode.isDry && !missing.isEmpty {
      return .end(
        Ending(
          .skippedDryRun, summary: "not configured: " + missing.joined(separator: "; "), missing: missing,
          mutates: descriptor.mutates))
    }
    return .run(approval: approvalRequest())
  }

  /// In a dry run, a step that reads outputs of steps that did not really run (they were shown,
  /// not sent) cannot be decided or resolved: it is shown as what would happen, unresolved, with
  /// what it needs, instead of guessing a branch.
  func unresolved(reading ids: [String], state: IncidentState) -> Ending? {
    let unknown = ids.filter { state.steps[$0]?.outcome == .skippedDryRun }
    guard mode.isDry, !unknown.isEmpty else { return nil }
    var summary = "depends on \(unknown.map { "`\($0)`" }.joined(separator: ", ")), not run in this dry run"
    if let source = step.whenSource { summary += "; would run when `\(source)`" }
    return Ending(.skippedDryRun, summary: summary, missing: missing, mutates: descriptor.mutates)
  }

  /// Live only: a dry run changes nothing, so there is nothing to approve.
  func approvalRequest() -> ApprovalRequest? {
    guard step.approvalRequired, !mode.isDry else { return nil }
    let changes = descriptor.mutates ? ", which changes state at the provider" : ""
    return ApprovalRequest(
      question: "Run \(step.phase.rawValue)/\(step.id) (\(step.action))\(changes)?", approvers: 1,
      grantedWithoutAsking: assumeYes ? "granted (--yes)" : nil)
  }

  /// The approval decision from the answers collected so far, one per person asked (nil: nobody
  /// could be asked). Granted only when `needed` people said yes; the first no or unanswered
  /// question decides.
  package static func approval(answers: [Bool?], needed: Int) -> (granted: Bool, decision: String) {
    for answer in answers {
      switch answer {
      case true?: continue
      case false?: return (false, "declined at the terminal")
      case nil: return (false, "no terminal to ask: rerun with --yes")
      }
    }
    guard answers.count >= needed else { return (false, "no terminal to ask: rerun with --yes") }
    return (true, needed > 1 ? "granted at the terminal by \(needed) people" : "granted at the terminal")
  }

  /// In a dry run, what an attempt that returned shows: a mutating action, or any request the
  /// gate stopped, is a change that was not made. Nil: a real outcome (a read that changed nothing).
  package func dryRunEnding(intercepted: [String], resultSummary: String?) -> Ending? {
    guard mode.isDry, !intercepted.isEmpty || descriptor.mutates else { return nil }
    let summary =
      intercepted.isEmpty
      ? "would change nothing: \(resultSummary ?? "already in the desired state")" : "not sent (dry run)"
    return Ending(.skippedDryRun, summary: summary, wouldSend: intercepted, mutates: true)
  }

  /// In a dry run, what an attempt that threw shows instead of a failure: the request the gate
  /// stopped, a verification of a change that was not made, or an endpoint this drill cannot reach
  /// (a readiness finding, not a failed rehearsal). Nil: a real failure.
  package func dryRunEnding(intercepted: [String], error: any Error) -> Ending? {
    guard mode.isDry else { return nil }
    if !intercepted.isEmpty {
      return Ending(.skippedDryRun, summary: "not sent (dry run)", wouldSend: intercepted, mutates: true)
    }
    if let e = error as? ActionError, case .verification(let what) = e {
      return Ending(
        .skippedDryRun, summary: "check not meaningful in a dry run (the change it verifies was not made): \(what)",
        mutates: descriptor.mutates)
    }
    if let unreachable = Self.unreachable(error) {
      return Ending(
        .skippedDryRun, summary: "not reachable from here: \(unreachable)",
        missing: ["reachable endpoint: \(unreachable)"], mutates: descriptor.mutates)
    }
    return nil
  }

  /// Whether a failed attempt may be tried again: the error must be retryable, and a step that
  /// is not idempotent is retried only when the provider certainly did not act on the request.
  /// How long to wait, and whether time is left, is the step's `RetryPolicy`.
  package func mayRetry(_ failure: ActionFailure) -> Bool {
    failure.retryable && (descriptor.idempotent || failure.notProcessed)
  }

  /// The step's retry policy: its own `retry:` or the default.
  package var retryPolicy: RetryPolicy { step.retry ?? RetryPolicy() }

  /// The ids of the steps whose outputs these templates read, in first-read order.
  package static func dependencies(in templates: [Template]) -> [String] {
    var ids: [String] = []
    for ref in templates.flatMap(\.references) where ref.path.count >= 2 && ref.path[0] == "steps" {
      if !ids.contains(ref.path[1]) { ids.append(ref.path[1]) }
    }
    return ids
  }

  /// The message of an error that says the endpoint could not be reached at all (no answer).
  package static func unreachable(_ error: any Error) -> String? {
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
}
