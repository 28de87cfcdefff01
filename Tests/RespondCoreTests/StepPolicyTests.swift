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

    #expect(StepPolicy.approval(answers: [true], needed: 1) == (true, "granted at the terminal"))
    #expect(StepPolicy.approval(answers: [false], needed: 1) == (false, "declined at the terminal"))
    #expect(StepPolicy.approval(answers: [nil], needed: 1) == (false, "no terminal to ask: rerun with --yes"))
    #expect(StepPolicy.approval(answers: [], needed: 1) == (false, "no terminal to ask: rerun with --yes"))
    // Two people: one yes is not enough, the second person's no declines.
    #expect(StepPolicy.approval(answers: [true], needed: 2).granted == false)
    #expect(StepPolicy.approval(answers: [true, false], needed: 2) == (false, "declined at the terminal"))
    #expect(StepPolicy.approval(answers: [true, true], needed: 2) == (true, "granted at the terminal by 2 people"))
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
