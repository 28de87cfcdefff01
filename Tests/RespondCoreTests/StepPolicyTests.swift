import Foundation
import Testing

@testable import RespondCore

/// `StepPolicy`: one step's decisions as a pure function of the step, its action's descriptor,
/// the journal state and the facts the runner evaluated. No runner, no journal, no network.
@Suite struct StepPolicyTests {
  static let yaml = """
    runbook: policy
    inputs:
      key: { required: true }
    phases:
      detect:
        - id: identify
          action: identify
          with: { key: "${{ inputs.key }}" }
      contain:
        - id: deactivate
          action: deactivate
          when: steps.identify.provider == 'aws'
          approval: required
          with: { id: "${{ steps.identify.key-id }}" }
        - id: verify
          action: probe
          verifies: deactivate
          with: { id: "x" }
        - id: lookup
          action: probe
          with: { id: "${{ steps.identify.key-id }}" }
    """

  let registry = ActionRegistry([
    ScriptedAction(
      "identify", parameters: [ParameterSpec("key")], outputs: [OutputSpec("provider"), OutputSpec("key-id")]),
    ScriptedAction(
      "deactivate", mutates: true, idempotent: false, parameters: [ParameterSpec("id")],
      requirements: [Requirement("AWS credentials", all: ["AWS_ACCESS_KEY_ID"])]),
    ScriptedAction("probe", parameters: [ParameterSpec("id")]),
  ])

  func policy(_ id: String, mode: RunMode = .live, yes: Bool = false, environment: [String: String] = [:]) throws
    -> StepPolicy
  {
    let rb = try runbook(Self.yaml, registry: registry)
    let step = try #require(rb.step(id))
    let descriptor = try #require(registry.action(named: step.action)?.descriptor)
    return StepPolicy(step: step, descriptor: descriptor, mode: mode, assumeYes: yes, environment: environment)
  }

  func state(_ outcomes: [String: StepOutcome]) -> IncidentState {
    var s = IncidentState()
    for (id, outcome) in outcomes { s.steps[id] = StepState(id: id, outcome: outcome) }
    return s
  }

  @Test func aFalseConditionSkipsAndAnUnevaluableOneFails() throws {
    let p = try policy("deactivate", environment: ["AWS_ACCESS_KEY_ID": "x"])
    let done = state(["identify": .succeeded])
    #expect(
      p.admission(state: done, credentialProblem: nil, condition: .doesNotHold, parameterError: nil)
        == .end(.init(.skippedCondition, mutates: true)))
    #expect(
      p.admission(
        state: done, credentialProblem: nil, condition: .cannotBeEvaluated("no such step"), parameterError: nil)
        == .end(.failed("condition could not be evaluated: no such step")))
    // A credential the runbook reads is refused before anything else is looked at.
    #expect(
      p.admission(state: done, credentialProblem: "reads a credential", condition: .holds, parameterError: "bad")
        == .end(.failed("reads a credential")))
    #expect(
      p.admission(state: done, credentialProblem: nil, condition: .holds, parameterError: "'id' could not be evaluated")
        == .end(.failed("'id' could not be evaluated")))
  }

  @Test func aDryRunShowsAStepReadingWhatWasOnlyShownAsUnresolved() throws {
    let p = try policy("deactivate", mode: .drill)
    let shown = state(["identify": .skippedDryRun])
    // The condition cannot be decided from a shown step: never guessed, even if it evaluated.
    let admission = p.admission(state: shown, credentialProblem: nil, condition: .doesNotHold, parameterError: nil)
    let missing = ["AWS credentials: set AWS_ACCESS_KEY_ID"]
    #expect(
      admission
        == .end(
          .init(
            .skippedDryRun,
            summary:
              "depends on `identify`, not run in this dry run; would run when `steps.identify.provider == 'aws'`",
            missing: missing, mutates: true)))
    // A live run never treats a dependency as unresolved.
    let live = try policy("lookup")
    #expect(
      live.admission(state: shown, credentialProblem: nil, condition: .none, parameterError: nil)
        == .run(approval: nil))
    // A verification of a change the drill only showed has nothing to verify.
    let verify = try policy("verify", mode: .drill)
    guard
      case .end(let ending) = verify.admission(
        state: state(["deactivate": .skippedDryRun]), credentialProblem: nil, condition: .none, parameterError: nil)
    else {
      Issue.record("a verification of a shown change ran")
      return
    }
    #expect(ending.outcome == .skippedDryRun && ending.summary?.hasPrefix("depends on `deactivate`") == true)
  }

  @Test func aDrillSkipsAStepItsEnvironmentDoesNotConfigure() throws {
    let done = state(["identify": .succeeded])
    let unconfigured = try policy("deactivate", mode: .drill)
    #expect(
      unconfigured.admission(state: done, credentialProblem: nil, condition: .holds, parameterError: nil)
        == .end(
          .init(
            .skippedDryRun, summary: "not configured: AWS credentials: set AWS_ACCESS_KEY_ID",
            missing: ["AWS credentials: set AWS_ACCESS_KEY_ID"], mutates: true)))
    // Configured, it goes on to the gate; a drill asks no approval.
    let configured = try policy("deactivate", mode: .drill, environment: ["AWS_ACCESS_KEY_ID": "x"])
    #expect(
      configured.admission(state: done, credentialProblem: nil, condition: .holds, parameterError: nil)
        == .run(approval: nil))
  }

  @Test func approvalIsAskedOfAsManyPeopleAsNeededUnlessYes() throws {
    let done = state(["identify": .succeeded])
    let env = ["AWS_ACCESS_KEY_ID": "x"]
    let asked = try policy("deactivate", environment: env)
    let question = "Run contain/deactivate (deactivate), which changes state at the provider?"
    #expect(
      asked.admission(state: done, credentialProblem: nil, condition: .holds, parameterError: nil)
        == .run(approval: .init(question: question, approvers: 1, grantedWithoutAsking: nil)))
    let yes = try policy("deactivate", yes: true, environment: env)
    #expect(
      yes.admission(state: done, credentialProblem: nil, condition: .holds, parameterError: nil)
        == .run(approval: .init(question: question, approvers: 1, grantedWithoutAsking: "granted (--yes)")))
  }

  func given(_ name: String, account: String, via: ApprovalVia = .command, seq: Int = 5) throws -> GivenApproval {
    let person = ApprovalPerson(name: name, account: account)
    var r = JournalRecord.approval(step: "deactivate", by: person, host: "h", via: via, granted: true)
    r.seq = seq
    return try #require(GivenApproval(r))
  }

  @Test func twoPersonGatesNeedTwoDifferentPeopleAndNotTheStarterSecond() throws {
    let alice = ApprovalPerson(name: "alice", account: "alice@h")
    let bob = ApprovalPerson(name: "bob", account: "bob@h2")
    func gate(_ standing: [GivenApproval], here: ApprovalPerson, yes: Bool = false, canAsk: Bool = false)
      -> StepPolicy.Gate
    {
      StepPolicy.gate(
        step: "deactivate", needed: 2, standing: standing, here: here, starter: alice, assumeYes: yes,
        canAsk: canAsk, directory: "D")
    }
    // Nobody yet: the person here approves (--yes or the terminal); without either the step waits.
    #expect(gate([], here: alice, yes: true) == .approveHere(.yes))
    #expect(gate([], here: alice, canAsk: true) == .approveHere(.terminal))
    let first = try given("alice", account: "alice@h", via: .yes)
    // --yes is one person: the step waits and says exactly what the second person runs.
    #expect(
      gate([first], here: alice, yes: true)
        == .wait(
          why: "waiting for approval: 1 of 2 (alice, --yes)",
          next: "step 'deactivate' needs 1 more approval (two-person): a second person runs "
            + "`respond approve D --step deactivate --approver NAME`, then `respond resume D`"))
    // The same person never counts twice, by name from another account or by account under another name.
    let renamed = ApprovalPerson(name: "ALICE", account: "carol@h3")
    #expect(
      StepPolicy.refusal(of: renamed, step: "deactivate", needed: 2, standing: [first], starter: nil)
        == "ALICE already approved step 'deactivate' (--yes, as alice from alice@h): a second, different person must approve it"
    )
    let other = ApprovalPerson(name: "mallory", account: "alice@h")
    #expect(
      StepPolicy.refusal(of: other, step: "deactivate", needed: 2, standing: [first], starter: nil)?
        .hasPrefix("mallory already approved") == true)
    // The starter may give the first approval, never the second.
    let bobs = try given("bob", account: "bob@h2")
    #expect(StepPolicy.refusal(of: alice, step: "deactivate", needed: 2, standing: [], starter: alice) == nil)
    #expect(
      StepPolicy.refusal(of: alice, step: "deactivate", needed: 2, standing: [bobs], starter: alice)
        == "alice started this run (as alice@h) and cannot be the second approver of two-person step "
        + "'deactivate': another person must approve it")
    #expect(StepPolicy.refusal(of: bob, step: "deactivate", needed: 2, standing: [first], starter: alice) == nil)
    // Two different people: the step runs; a third is not needed.
    #expect(gate([first, bobs], here: alice) == .proceed)
    #expect(
      StepPolicy.refusal(of: bob, step: "deactivate", needed: 2, standing: [first, bobs], starter: alice)
        == "step 'deactivate' already has its 2 approvals")
  }

  @Test func aOnePersonGateRunsOnOneApprovalAndWaitsWithoutATerminal() throws {
    let alice = ApprovalPerson(name: "alice", account: "alice@h")
    func gate(_ standing: [GivenApproval], yes: Bool = false, canAsk: Bool = false) -> StepPolicy.Gate {
      StepPolicy.gate(
        step: "deactivate", needed: 1, standing: standing, here: alice, starter: alice, assumeYes: yes,
        canAsk: canAsk, directory: "D")
    }
    #expect(gate([], yes: true) == .approveHere(.yes))
    #expect(
      gate([])
        == .wait(
          why: "no terminal to ask: rerun with --yes",
          next: "step 'deactivate' needs approval: run `respond resume D` from a terminal, or with --yes, "
            + "or a person runs `respond approve D --step deactivate --approver NAME` first"))
    #expect(gate([try given("bob", account: "bob@h2")]) == .proceed)
  }

  @Test func twoPersonLoadsAsTwoApproversAndAsksForTwo() throws {
    let yaml = Self.yaml.replacingOccurrences(of: "approval: required", with: "approval: two-person")
    let step = try #require(try runbook(yaml, registry: registry).step("deactivate"))
    #expect(step.approvers == 2)
    let descriptor = try #require(registry.action(named: step.action)?.descriptor)
    let p = StepPolicy(step: step, descriptor: descriptor, mode: .live, assumeYes: true, environment: [:])
    #expect(p.approvalRequest()?.approvers == 2)
    #expect(try #require(try runbook(Self.yaml, registry: registry).step("deactivate")).approvers == 1)
  }

  @Test func anApprovalIsUsedUpWhenItsStepStarts() throws {
    var s = IncidentState()
    var yes = JournalRecord.approval(
      step: "deactivate", by: ApprovalPerson(name: "alice", account: "alice@h"), host: "h", via: .yes, granted: true)
    yes.seq = 1
    s.apply(yes)
    #expect(s.standingApprovals(for: "deactivate").map(\.person.name) == ["alice"])
    var started = JournalRecord(type: .stepStarted)
    started.seq = 2
    started.step = "deactivate"
    s.apply(started)
    #expect(s.standingApprovals(for: "deactivate").isEmpty, "a step run again is approved again")
    #expect(s.approvals.count == 1, "the report still lists it")
  }

  @Test func aDryRunAttemptShowsWhatItWouldHaveSent() throws {
    let mutating = try policy("deactivate", mode: .drill)
    let read = try policy("lookup", mode: .drill)
    #expect(
      mutating.dryRunEnding(intercepted: [], resultSummary: "already off")
        == .init(.skippedDryRun, summary: "would change nothing: already off", wouldSend: [], mutates: true))
    #expect(
      read.dryRunEnding(intercepted: ["POST https://x"], resultSummary: nil)
        == .init(.skippedDryRun, summary: "not sent (dry run)", wouldSend: ["POST https://x"], mutates: true))
    #expect(read.dryRunEnding(intercepted: [], resultSummary: "found") == nil)
    #expect(try policy("deactivate").dryRunEnding(intercepted: [], resultSummary: nil) == nil)

    let unreachable = TransportError.connectionFailed(url: "https://x", detail: "refused")
    let shown = read.dryRunEnding(intercepted: [], error: ActionError.transport(unreachable))
    #expect(shown?.outcome == .skippedDryRun && shown?.missing == ["reachable endpoint: \(unreachable.description)"])
    #expect(
      read.dryRunEnding(intercepted: [], error: ActionError.verification("still active"))?.outcome == .skippedDryRun)
    #expect(read.dryRunEnding(intercepted: [], error: ActionError.failed("boom")) == nil)
    #expect(try policy("lookup").dryRunEnding(intercepted: [], error: ActionError.transport(unreachable)) == nil)
  }

  @Test func onlyRetryableFailuresAreRetriedAndChangesOnlyWhenNotProcessed() throws {
    func failure(retryable: Bool, processed: Bool) -> ActionFailure {
      ActionFailure(
        ActionError.provider(
          ProviderError(
            provider: "AWS", operation: "Op", endpoint: "https://x", status: 500, code: nil, message: "m",
            retryable: retryable, processed: processed)))
    }
    let read = try policy("lookup")
    let change = try policy("deactivate")
    #expect(read.mayRetry(failure(retryable: true, processed: true)))
    #expect(!read.mayRetry(failure(retryable: false, processed: false)))
    // A change the provider may have made is never retried blindly.
    #expect(!change.mayRetry(failure(retryable: true, processed: true)))
    #expect(change.mayRetry(failure(retryable: true, processed: false)))
    #expect(read.retryPolicy == RetryPolicy())
  }
}

/// `ResumePlan`: what a resume redoes, from the journal state and what this process holds.
@Suite struct ResumePlanTests {
  static let yaml = """
    runbook: resume-plan
    inputs:
      key: { required: true }
    phases:
      detect:
        - id: identify
          action: identify
          with: { key: "${{ inputs.key }}" }
      recover:
        - id: create
          action: create
          with: { user: alice }
          undo: { action: delete, with: { id: "${{ steps.create.new-id }}" } }
        - id: mint
          action: mint
          with: { user: bob }
        - id: store
          action: store
          with: { id: "${{ steps.create.new-id }}", secret: "${{ steps.create.new-secret }}" }
        - id: tell
          action: store
          with: { id: "${{ steps.identify.token }}", secret: "${{ steps.mint.secret }}" }
    """

  let registry = ActionRegistry([
    ScriptedAction(
      "identify", parameters: [ParameterSpec("key")],
      outputs: [OutputSpec("key-id"), OutputSpec("token", journaled: false)]),
    ScriptedAction(
      "create", mutates: true, idempotent: false, parameters: [ParameterSpec("user")],
      outputs: [OutputSpec("new-id"), OutputSpec("new-secret", secret: true)]),
    ScriptedAction(
      "mint", mutates: true, idempotent: false, parameters: [ParameterSpec("user")],
      outputs: [OutputSpec("secret", secret: true)]),
    ScriptedAction("store", mutates: true, parameters: [ParameterSpec("id"), ParameterSpec("secret", secret: true)]),
    ScriptedAction("delete", mutates: true, parameters: [ParameterSpec("id")]),
  ])

  func plan() throws -> (ResumePlan, Runbook) {
    let rb = try runbook(Self.yaml, registry: registry)
    return (ResumePlan(runbook: rb, registry: registry), rb)
  }

  @Test func aStoppedStepGetsAnotherGoAndAChangeIsReconciledUnlessNotProcessed() throws {
    let (plan, rb) = try plan()
    var state = IncidentState()
    state.steps["identify"] = StepState(id: "identify", outcome: .failed)
    state.steps["create"] = StepState(id: "create", outcome: .failed)
    state.steps["mint"] = StepState(id: "mint", outcome: .failed, failedNotProcessed: true)
    let reopened = plan.reopened(state)
    #expect(reopened.steps["identify"]?.outcome == nil && reopened.steps["identify"]?.interrupted == false)
    #expect(reopened.steps["create"]?.outcome == nil && reopened.steps["create"]?.interrupted == true)
    #expect(reopened.steps["mint"]?.interrupted == false)
    #expect(plan.mustReconcile(try #require(rb.step("create")), state: reopened))
    #expect(!plan.mustReconcile(try #require(rb.step("mint")), state: reopened))
  }

  @Test func lostOutputsNameTheirProducersUnlessThisProcessHoldsThem() throws {
    let (plan, rb) = try plan()
    var state = IncidentState()
    for id in ["identify", "create", "mint"] { state.steps[id] = StepState(id: id, outcome: .succeeded) }
    state.steps["create"]?.secretOutputs = ["new-secret"]
    state.steps["mint"]?.secretOutputs = ["secret"]
    let store = try #require(rb.step("store"))
    let tell = try #require(rb.step("tell"))
    #expect(plan.lostSecretProducers(for: store, state: state, live: []).map(\.id) == ["create"])
    #expect(plan.lostSecretProducers(for: store, state: state, live: ["create"]).isEmpty)
    #expect(plan.lostDerivedProducers(for: tell, state: state, live: []).map(\.id) == ["identify"])
    #expect(plan.lostDerivedProducers(for: tell, state: state, live: ["identify"]).isEmpty)
    #expect(plan.lostDerivedProducers(for: store, state: state, live: []).isEmpty)

    // create has an undo; mint has none, so a human must finish.
    guard case .undoThenRerun(let undo, _) = plan.secretRedo(of: try #require(rb.step("create")), for: store) else {
      Issue.record("create's undo was not planned")
      return
    }
    #expect(undo.action == "delete")
    guard case .impossible(let why) = plan.secretRedo(of: try #require(rb.step("mint")), for: tell) else {
      Issue.record("a producer without undo was planned for redo")
      return
    }
    #expect(why.contains("'mint' has no undo"))
  }

  @Test func stepsThatUsedAnUndoneProducerRunAgain() throws {
    let (plan, rb) = try plan()
    var state = IncidentState()
    for id in ["identify", "create", "mint", "store"] { state.steps[id] = StepState(id: id, outcome: .succeeded) }
    let create = try #require(rb.step("create"))
    #expect(
      plan.finishedSteps(using: create, before: try #require(rb.step("tell")), state: state).map(\.id) == ["store"])
    state.steps["store"]?.outcome = .skippedCondition
    #expect(plan.finishedSteps(using: create, before: try #require(rb.step("tell")), state: state).isEmpty)
    #expect(plan.finishedSteps(using: create, before: try #require(rb.step("mint")), state: state).isEmpty)
  }
}
