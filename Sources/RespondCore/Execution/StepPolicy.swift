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
///   yes; `gate` decides, from the approvals journaled for the step, whether it runs, whether
///   the person here may give the next one, or whom it waits for (`refusal` is shared with
///   `respond approve`).
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
    let people = step.approvers > 1 ? " (two-person approval: one of two people)" : ""
    return ApprovalRequest(
      question: "Run \(step.phase.rawValue)/\(step.id) (\(step.action))\(changes)?\(people)", approvers: step.approvers,
      grantedWithoutAsking: assumeYes ? ApprovalVia.yes.grantedDecision : nil)
  }

  // MARK: - Approval gates

  /// What happens at a step's approval gate.
  package enum Gate: Sendable, Equatable {
    /// Enough different people approved since the step last started: it runs.
    case proceed
    /// The person at this end may give the next approval: `--yes` gives it, else it is asked at
    /// the terminal. Either way one person's approval: four eyes need a second person.
    case approveHere(ApprovalVia)
    /// The step waits for people (the run stops, exit 3). `why` is journaled on the step; `next`
    /// tells them exactly what to run.
    case wait(why: String, next: String)
  }

  /// The gate's decision. `standing`: the yeses given since the step last started; `here`: the
  /// person running respond now; `starter`: who started the run; `canAsk`: a terminal is there.
  package static func gate(
    step: String, needed: Int, standing: [GivenApproval], here: ApprovalPerson, starter: ApprovalPerson?,
    assumeYes: Bool, canAsk: Bool, directory: String
  ) -> Gate {
    if distinctPeople(standing) >= needed { return .proceed }
    let next = nextSteps(step: step, needed: needed, standing: standing, directory: directory)
    if let refused = refusal(of: here, step: step, needed: needed, standing: standing, starter: starter) {
      // Who just approved here needs no telling why they cannot approve again.
      let approvedHere = standing.contains { $0.person.isSame(as: here) }
      return .wait(why: progress(needed: needed, standing: standing), next: approvedHere ? next : refused + ". " + next)
    }
    if assumeYes { return .approveHere(.yes) }
    if canAsk { return .approveHere(.terminal) }
    let why = standing.isEmpty ? "no terminal to ask: rerun with --yes" : progress(needed: needed, standing: standing)
    return .wait(why: why, next: next)
  }

  /// Why `person` cannot give the next approval of `step`, or nil when they can. Shared by the
  /// gate and `respond approve`: the same person never counts twice (by name or account), and
  /// the person who started the run cannot be the second of two.
  package static func refusal(
    of person: ApprovalPerson, step: String, needed: Int, standing: [GivenApproval], starter: ApprovalPerson?
  ) -> String? {
    if distinctPeople(standing) >= needed {
      return "step '\(step)' already has its \(needed == 1 ? "approval" : "\(needed) approvals")"
    }
    // The starter first: the rule they break is that one, whatever else matches.
    if needed > 1, distinctPeople(standing) == needed - 1, let starter, person.isSame(as: starter) {
      return "\(person.name) started this run (as \(starter.account)) and cannot be the second approver of "
        + "two-person step '\(step)': another person must approve it"
    }
    if let earlier = standing.first(where: { $0.person.isSame(as: person) }) {
      return "\(person.name) already approved step '\(step)' (\(earlier.via.rawValue), as \(earlier.person.name) "
        + "from \(earlier.person.account)): a second, different person must approve it"
    }
    return nil
  }

  /// "1 of 2 approvals (alice, --yes)": where a gate stands, for the journal and the report.
  package static func progress(needed: Int, standing: [GivenApproval]) -> String {
    let given = standing.map { "\($0.person.name), \($0.via.rawValue)" }.joined(separator: "; ")
    return "waiting for approval: \(distinctPeople(standing)) of \(needed)" + (given.isEmpty ? "" : " (\(given))")
  }

  /// Exactly what people run next to get the step past its gate.
  package static func nextSteps(step: String, needed: Int, standing: [GivenApproval], directory: String) -> String {
    let approve = "respond approve \(directory) --step \(step)"
    let missing = needed - distinctPeople(standing)
    if needed > 1 {
      let who = missing > 1 ? "two people (other than each other) each run" : "a second person runs"
      return "step '\(step)' needs \(missing) more approval\(missing > 1 ? "s" : "") (two-person): "
        + "\(who) `\(approve) --approver NAME`, then `respond resume \(directory)`"
    }
    return "step '\(step)' needs approval: run `respond resume \(directory)` from a terminal, or with --yes, "
      + "or a person runs `\(approve) --approver NAME` first"
  }

  /// How many different people the approvals come from.
  package static func distinctPeople(_ approvals: [GivenApproval]) -> Int {
    var people: [ApprovalPerson] = []
    for a in approvals where !people.contains(where: { $0.isSame(as: a.person) }) { people.append(a.person) }
    return people.count
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
