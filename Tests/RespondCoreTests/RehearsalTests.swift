import Foundation
import Testing

@testable import RespondCore

/// Rehearsals: a runbook plus recorded action results in, the step order, outcomes, outputs and
/// journal out. No network: scripted actions and a recording transport.
@Suite struct RehearsalTests {
  struct Harness {
    let registry: ActionRegistry
    let actions: [String: ScriptedAction]
    let transport = OKTransport()
    let masker = Masker()
    let sink = TextSink()
    let out = temporaryDirectory()

    init(_ actions: [ScriptedAction]) {
      self.actions = Dictionary(uniqueKeysWithValues: actions.map { ($0.descriptor.name, $0) })
      registry = ActionRegistry(actions)
    }

    func runner(
      _ rb: Runbook, mode: RunMode = .live, yes: Bool = true, approver: (any Approver)? = nil,
      environment: [String: String] = [:], rerunInterrupted: Bool = false
    ) -> IncidentRunner {
      var options = RunOptions()
      options.mode = mode
      options.assumeYes = yes
      options.rerunInterrupted = rerunInterrupted
      options.operatorName = "tester"
      let sink = self.sink
      return IncidentRunner(
        runbook: rb, registry: registry, environment: environment, transport: transport, masker: masker,
        progress: ProgressLog(masker: masker, colour: false) { sink.write($0) }, approver: approver, options: options)
    }

    func outcomes(_ r: RunResult) -> [String] {
      r.state.stepOrder.map { "\($0):\(r.state.steps[$0]?.outcome?.rawValue ?? "unfinished")" }
    }
  }

  static let yaml = """
    runbook: rehearsal
    inputs:
      key: { required: true, secret: true }
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
        - id: revoke-github
          action: deactivate
          when: steps.identify.provider == 'github'
          with: { id: x }
        - id: verify
          action: probe
          verifies: [deactivate, revoke-github]
          with: { id: "${{ steps.identify.key-id }}" }
      investigate:
        - id: trail
          action: lookup
          continue-on-error: true
          with: { id: "${{ steps.identify.key-id }}" }
      recover:
        - id: create
          action: create
          with: { user: alice }
          undo: { action: delete, with: { id: "${{ steps.create.new-id }}" } }
        - id: store
          action: store
          with: { id: "${{ steps.create.new-id }}", secret: "${{ steps.create.new-secret }}" }
    report:
      facts:
        Leaked key: ${{ steps.identify.key-id }}
        Replacement: ${{ steps.create.new-id }}
        Audit events: ${{ steps.trail.count }}
    """

  static let leaked = "AKIAIOSFODNN7EXAMPLE"
  static let newSecret = "NEWsecretValue/abc+def1234567890"

  func makeHarness(
    trail: [Result<[String: Value], ActionError>] = [.success(["count": 3])],
    create: [Result<[String: Value], ActionError>]? = nil, createIdempotent: Bool = false
  ) -> Harness {
    Harness([
      ScriptedAction(
        "identify", parameters: [ParameterSpec("key", required: true, secret: true)],
        outputs: [OutputSpec("provider"), OutputSpec("key-id")],
        script: [.success(["provider": "aws", "key-id": .string(Self.leaked)])]),
      ScriptedAction(
        "deactivate", mutates: true, parameters: [ParameterSpec("id", required: true)],
        script: [.success([:])]),
      ScriptedAction("probe", parameters: [ParameterSpec("id")], script: [.success([:])]),
      ScriptedAction("lookup", parameters: [ParameterSpec("id")], outputs: [OutputSpec("count")], script: trail),
      ScriptedAction(
        "create", mutates: true, idempotent: createIdempotent, parameters: [ParameterSpec("user")],
        outputs: [OutputSpec("new-id"), OutputSpec("new-secret", secret: true)],
        script: create ?? [.success(["new-id": "AKIANEWKEY0000000001", "new-secret": .string(Self.newSecret)])]),
      ScriptedAction(
        "store", mutates: true, idempotent: true,
        parameters: [ParameterSpec("id"), ParameterSpec("secret", secret: true)], script: [.success([:])]),
      ScriptedAction("delete", mutates: true, parameters: [ParameterSpec("id")], script: [.success([:])]),
    ])
  }

  @Test func aLiveRunFollowsPhasesConditionsAndKeepsSecretsOutOfTheJournal() async throws {
    let h = makeHarness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.status == .completed)
    #expect(r.exitCode == 0)
    #expect(
      h.outcomes(r) == [
        "identify:succeeded", "deactivate:succeeded", "revoke-github:skipped-condition",
        "verify:succeeded", "trail:succeeded", "create:succeeded", "store:succeeded",
      ])
    // The secret output flowed to the next step in memory...
    #expect(h.actions["store"]!.calls.first?["secret"] == .string(Self.newSecret))
    // ...and was never written.
    let journal = try String(contentsOfFile: r.incidentDirectory + "/journal.jsonl", encoding: .utf8)
    #expect(!journal.contains(Self.newSecret))
    #expect(journal.contains(Self.leaked))  // an access key id is an identifier, kept
    #expect(r.state.steps["create"]?.secretOutputs == ["new-secret"])
    #expect(
      r.state.facts == [["Leaked key", Self.leaked], ["Replacement", "AKIANEWKEY0000000001"], ["Audit events", "3"]])
    #expect(!h.sink.text.contains(Self.newSecret))
  }

  @Test func aFailedStepStopsTheRunButContinueOnErrorDoesNot() async throws {
    let h = makeHarness(
      trail: [.failure(.failed("CloudTrail said no"))],
      create: [.failure(.verification("LimitExceeded: user has two keys"))])
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.status == .failed)
    #expect(r.exitCode == 1)
    #expect(r.stoppedAt == "create")
    #expect(
      h.outcomes(r) == [
        "identify:succeeded", "deactivate:succeeded", "revoke-github:skipped-condition",
        "verify:succeeded", "trail:failed", "create:failed",
      ])
    #expect(h.actions["store"]!.callCount == 0)
    let report = IncidentReport(state: r.state)
    #expect(report.notDone.contains { $0.step == "store" && $0.reason.hasPrefix("not reached") })
    #expect(report.statusLine.contains("run FAILED at step `create`"))
    // A fact read from the failed lookup says it is not known, not "n/a" (which reads as none).
    #expect(r.state.facts.contains(["Audit events", "not known: step trail failed"]))
    #expect(r.state.facts.contains(["Replacement", "not known: step create failed"]))
    // Resume gives the failed step another go, but a non-idempotent one only after its action
    // (here: a human) has said running it again is safe.
    let state = try IncidentState.load(journal: r.incidentDirectory + "/journal.jsonl")
    let again = try await h.runner(rb).resume(directory: r.incidentDirectory, journalState: state, inputs: [:])
    #expect(again.status == .needsOperator)
    #expect(h.actions["create"]!.callCount == 1)
    #expect(h.actions["lookup"]!.callCount == 1)  // the continue-on-error failure is not retried
  }

  @Test func resumeRunsAFailedIdempotentStepAgain() async throws {
    let h = makeHarness(
      create: [.success(["new-id": "AKIANEWKEY0000000001", "new-secret": .string(Self.newSecret)])],
      createIdempotent: true)
    let store = h.actions["store"]!
    let rb = try runbook(Self.yaml, registry: h.registry)
    // First run: store fails (the secret store is down).
    let failing = Harness([
      h.actions["identify"]!, h.actions["deactivate"]!, h.actions["probe"]!, h.actions["lookup"]!,
      h.actions["create"]!,
      ScriptedAction(
        "store", mutates: true, idempotent: true,
        parameters: [ParameterSpec("id"), ParameterSpec("secret", secret: true)],
        script: Array(
          repeating: .failure(.transport(.connectionFailed(url: "http://vault", detail: "refused"))), count: 3)),
      h.actions["delete"]!,
    ])
    let r = try await failing.runner(rb).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.stoppedAt == "store")
    let state = try IncidentState.load(journal: r.incidentDirectory + "/journal.jsonl")
    let again = try await h.runner(rb).resume(directory: r.incidentDirectory, journalState: state, inputs: [:])
    #expect(again.status == .completed)
    #expect(store.callCount == 1)
  }

  @Test func retryableErrorsAreRetriedAndNonIdempotentStepsOnlyWhenNotProcessed() async throws {
    let throttled = ActionError.provider(
      ProviderError(
        provider: "AWS", operation: "LookupEvents", endpoint: "https://x", status: 400, code: "ThrottlingException",
        message: "slow down", retryable: true, processed: false, retryAfter: .milliseconds(10)))
    let ambiguous = ActionError.provider(
      ProviderError(
        provider: "AWS", operation: "CreateAccessKey", endpoint: "https://x", status: 500, code: "InternalFailure",
        message: "oops", retryable: true, processed: true))
    let h = makeHarness(
      trail: [.failure(throttled), .failure(throttled), .success(["count": 1])],
      create: [.failure(ambiguous)])
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(h.actions["lookup"]!.callCount == 3)
    #expect(r.state.steps["trail"]?.outcome == .succeeded)
    // A 500 on a non-idempotent create may have minted a key: never retried blindly.
    #expect(h.actions["create"]!.callCount == 1)
    #expect(r.state.steps["create"]?.outcome == .failed)
  }

  @Test func withoutYesOrATerminalTheRunStopsAtTheApprovalGateAndResumesWithYes() async throws {
    let h = makeHarness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb, yes: false).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.status == .stoppedAtApproval)
    #expect(r.exitCode == 3)
    #expect(h.actions["deactivate"]!.callCount == 0)
    let state = try IncidentState.load(journal: r.incidentDirectory + "/journal.jsonl")
    let resumed = try await h.runner(rb, yes: true).resume(
      directory: r.incidentDirectory, journalState: state, inputs: [:])
    #expect(resumed.status == .completed)
    #expect(h.actions["identify"]!.callCount == 1)  // not repeated
    #expect(h.actions["deactivate"]!.callCount == 1)
    #expect(IncidentReport(state: resumed.state).resumedAt.count == 1)
  }

  @Test func aDryRunSendsNothingThatMutatesAndShowsWhatItWouldSend() async throws {
    let h = makeHarness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb, mode: .dryRun, yes: false).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.status == .completed)
    #expect(h.transport.sent.isEmpty)
    #expect(
      h.outcomes(r) == [
        "identify:succeeded", "deactivate:skipped-dry-run", "revoke-github:skipped-condition",
        "verify:skipped-dry-run", "trail:succeeded", "create:skipped-dry-run", "store:skipped-dry-run",
      ])
    #expect(r.state.steps["deactivate"]?.wouldSend.first?.hasPrefix("POST https://provider.example/deactivate") == true)
    let report = IncidentReport(state: r.state)
    #expect(report.mode == "DRILL")
    #expect(report.statusLine.hasPrefix("DRILL: nothing was changed"))
  }

  @Test func aDrillReportsWhatEachStepNeeds() async throws {
    let h = Harness([
      ScriptedAction(
        "identify", outputs: [OutputSpec("provider"), OutputSpec("key-id")],
        script: [.success(["provider": "aws"])]),
      ScriptedAction(
        "deactivate", mutates: true,
        requirements: [
          Requirement("AWS credentials", anyOf: [["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], ["AWS_PROFILE"]])
        ]),
    ])
    let rb = try runbook(
      """
      runbook: drill
      phases:
        detect:
          - { id: identify, action: identify }
        contain:
          - { id: deactivate, action: deactivate }
          - { id: verify, action: identify, verifies: deactivate }
      """, registry: h.registry)
    let r = try await h.runner(rb, mode: .drill).start(inputs: [:], outDir: h.out)
    let report = IncidentReport(state: r.state)
    #expect(
      report.readiness?.first { $0.step == "deactivate" }?.missing
        == ["AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"])
    #expect(report.readiness?.first { $0.step == "identify" }?.ready == true)
    #expect(MarkdownReport.render(report).contains("## Drill readiness"))
  }

  @Test func resumeUndoesAndRerunsAStepWhoseSecretOutputWasLost() async throws {
    // First process: create succeeds, then the process "dies" before store.
    let h = makeHarness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let first = try await h.runner(rb).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(first.status == .completed)
    // Rebuild a journal that ends right after `create` finished (what a crash leaves).
    let lines = try String(contentsOfFile: first.incidentDirectory + "/journal.jsonl", encoding: .utf8)
      .split(separator: "\n")
    let cut = lines.firstIndex { $0.contains("\"step-finished\"") && $0.contains("\"create\"") }!
    let crashed = temporaryDirectory()
    try (lines[...cut].joined(separator: "\n") + "\n").write(
      toFile: crashed + "/journal.jsonl", atomically: true, encoding: .utf8)
    var state = try IncidentState.load(journal: crashed + "/journal.jsonl")
    state.incident?.directory = crashed
    let h2 = makeHarness(create: [
      .success(["new-id": "AKIANEWKEY0000000002", "new-secret": "another-secret-value-123"])
    ])
    let resumed = try await h2.runner(rb).resume(directory: crashed, journalState: state, inputs: [:])
    #expect(resumed.status == .completed)
    #expect(h2.actions["delete"]!.calls.first?["id"] == "AKIANEWKEY0000000001")  // the orphan is deleted
    #expect(h2.actions["create"]!.callCount == 1)  // and a fresh key minted
    #expect(h2.actions["store"]!.calls.first?["id"] == "AKIANEWKEY0000000002")
    #expect(h2.actions["identify"]!.callCount == 0)
  }

  /// A derived output (`journaled: false`, like the report's own text) reaches later steps of the
  /// same process but never the journal; on resume, a step that reads it gets it by the
  /// (idempotent) producer running again.
  @Test func derivedOutputsAreNotJournaledAndResumeMakesThemAgain() async throws {
    let yaml = """
      runbook: derived
      phases:
        document:
          - id: render
            action: render
          - id: send
            action: send
            with: { body: "${{ steps.render.text }}", path: "${{ steps.render.path }}" }
      """
    func harness(send: [Result<[String: Value], ActionError>]) -> Harness {
      Harness([
        ScriptedAction(
          "render", outputs: [OutputSpec("path"), OutputSpec("text", journaled: false)],
          script: [.success(["path": "/r.md", "text": "the whole report"])]),
        ScriptedAction(
          "send", mutates: true, idempotent: true, parameters: [ParameterSpec("body"), ParameterSpec("path")],
          script: send),
      ])
    }
    let h = harness(send: [.failure(.failed("the mail server said no"))])
    let rb = try runbook(yaml, registry: h.registry)
    let first = try await h.runner(rb).start(inputs: [:], outDir: h.out)
    #expect(first.stoppedAt == "send")
    #expect(h.actions["send"]!.calls.first?["body"] == "the whole report")  // same process: live
    let journal = try String(contentsOfFile: first.incidentDirectory + "/journal.jsonl", encoding: .utf8)
    #expect(!journal.contains("the whole report"))
    #expect(journal.contains("/r.md"))

    let h2 = harness(send: [.success([:])])
    let again = try await h2.runner(rb).resume(
      directory: first.incidentDirectory,
      journalState: try IncidentState.load(journal: first.incidentDirectory + "/journal.jsonl"), inputs: [:])
    #expect(again.status == .completed)
    #expect(h2.actions["render"]!.callCount == 1)
    #expect(h2.actions["send"]!.calls.first?["body"] == "the whole report")
  }

  /// A non-idempotent step that failed with an answer proving the provider did not act (here a
  /// 403) runs again on resume without asking; one whose failure proves nothing (an answer the
  /// action could not read) still goes through its action's check or a human.
  @Test func resumeRerunsANonIdempotentStepOnlyWhenItsFailureProvesNothingWasDone() async throws {
    let denied = ActionError.provider(
      ProviderError(
        provider: "AWS", operation: "CreateAccessKey", endpoint: "https://x", status: 403, code: "AccessDenied",
        message: "not allowed", retryable: false, processed: false))
    let h = makeHarness(create: [.failure(denied)])
    let rb = try runbook(Self.yaml, registry: h.registry)
    let first = try await h.runner(rb).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(first.stoppedAt == "create")
    let journal = try String(contentsOfFile: first.incidentDirectory + "/journal.jsonl", encoding: .utf8)
    #expect(journal.contains("\"not-processed\":true"))
    let h2 = makeHarness()
    let again = try await h2.runner(rb).resume(
      directory: first.incidentDirectory,
      journalState: try IncidentState.load(journal: first.incidentDirectory + "/journal.jsonl"),
      inputs: [:])
    #expect(again.status == .completed)
    #expect(h2.actions["create"]!.callCount == 1)

    let h3 = makeHarness(create: [.failure(.failed("IAM answered without a SecretAccessKey"))])
    let unclear = try await h3.runner(rb).start(inputs: ["key": Self.leaked], outDir: h3.out)
    #expect(unclear.stoppedAt == "create")
    let h4 = makeHarness()
    let stopped = try await h4.runner(rb).resume(
      directory: unclear.incidentDirectory,
      journalState: try IncidentState.load(journal: unclear.incidentDirectory + "/journal.jsonl"), inputs: [:])
    #expect(stopped.status == .needsOperator)
    #expect(h4.actions["create"]!.callCount == 0)
  }

  @Test func anInterruptedNonIdempotentStepStopsResumeWithInstructions() async throws {
    let h = makeHarness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let first = try await h.runner(rb).start(inputs: ["key": Self.leaked], outDir: h.out)
    let lines = try String(contentsOfFile: first.incidentDirectory + "/journal.jsonl", encoding: .utf8).split(
      separator: "\n")
    let cut = lines.firstIndex { $0.contains("\"step-started\"") && $0.contains("\"create\"") }!
    let crashed = temporaryDirectory()
    // Keep the start of `create` and tear the next line mid-write.
    try (lines[...cut].joined(separator: "\n") + "\n{\"seq\":99,\"ty").write(
      toFile: crashed + "/journal.jsonl", atomically: true, encoding: .utf8)
    var state = try IncidentState.load(journal: crashed + "/journal.jsonl")
    #expect(state.tornTail)
    state.incident?.directory = crashed
    let h2 = makeHarness()
    let r = try await h2.runner(rb).resume(directory: crashed, journalState: state, inputs: [:])
    #expect(r.status == .needsOperator)
    #expect(r.exitCode == 1)
    #expect(h2.actions["create"]!.callCount == 0)
    #expect(r.message?.contains("--rerun-interrupted") == true)
    let again = try await h2.runner(rb, rerunInterrupted: true).resume(
      directory: crashed, journalState: try IncidentState.load(journal: crashed + "/journal.jsonl"), inputs: [:])
    #expect(again.status == .completed)
    #expect(h2.actions["create"]!.callCount == 1)
  }

  @Test func secretInputsAreWithheldFromTheJournalAndMustBeGivenAgainOnResume() async throws {
    let h = makeHarness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let token = "ghp_" + String(repeating: "a1B2", count: 9)
    let r = try await h.runner(rb, yes: false).start(inputs: ["key": token], outDir: h.out)
    let journal = try String(contentsOfFile: r.incidentDirectory + "/journal.jsonl", encoding: .utf8)
    #expect(!journal.contains(token))
    let state = try IncidentState.load(journal: r.incidentDirectory + "/journal.jsonl")
    #expect(state.withheldInputs == ["key"])
    await #expect(throws: UsageError.self) {
      _ = try await h.runner(rb).resume(directory: r.incidentDirectory, journalState: state, inputs: [:])
    }
    await #expect(throws: UsageError.self) {
      _ = try await h.runner(rb).resume(
        directory: r.incidentDirectory, journalState: state, inputs: ["key": "ghp_wrong0000000000000000000000000000000"]
      )
    }
  }

  @Test func aStepPastItsTimeLimitFailsWithoutWaitingForIt() async throws {
    let slow = ScriptedAction("slow", script: [.success([:])])
    slow.delay = .seconds(30)
    let h = Harness([slow])
    let rb = try runbook(
      """
      runbook: slow
      phases:
        investigate:
          - { id: wait, action: slow, timeout: 200ms }
      """, registry: h.registry)
    let r = try await h.runner(rb).start(inputs: [:], outDir: h.out)
    #expect(r.status == .failed)
    #expect(r.state.steps["wait"]?.error == "step timed out after 200ms")
    #expect((r.state.steps["wait"]?.durationMs ?? 99_999) < 10_000)
  }

  /// Issue 12, item 7: a bad input found after the first change can be corrected on resume for
  /// the steps that have not run; an input a step already used cannot be changed.
  @Test func resumeAcceptsACorrectedInputOnlyForStepsThatHaveNotRun() async throws {
    let h = Harness([
      ScriptedAction("change", mutates: true, parameters: [ParameterSpec("id")], script: [.success([:])]),
      ScriptedAction("probe", parameters: [ParameterSpec("id")], script: [.success([:])]),
      ScriptedAction(
        "store", mutates: true, idempotent: true, parameters: [ParameterSpec("path")],
        script: [.failure(.badParameter(name: "path", reason: "no such mount")), .success([:])]),
    ])
    let rb = try runbook(
      """
      runbook: correct
      inputs:
        path: { pattern: '[a-z]+(/[a-z]+)*' }
        id: {}
      phases:
        contain:
          - { id: change, action: change, with: { id: "${{ inputs.id }}" } }
          - { id: verify, action: probe, verifies: change, with: { id: "${{ inputs.id }}" } }
        recover:
          - { id: store, action: store, with: { path: "${{ inputs.path }}" } }
      """, registry: h.registry)
    let first = try await h.runner(rb).start(inputs: ["path": "secret/wrong", "id": "k1"], outDir: h.out)
    #expect(first.stoppedAt == "store")
    let state = try IncidentState.load(journal: first.incidentDirectory + "/journal.jsonl")
    // Used already by change and verify: refused, naming them.
    await #expect(throws: UsageError.self) {
      _ = try await h.runner(rb).resume(directory: first.incidentDirectory, journalState: state, inputs: ["id": "k2"])
    }
    // Not of the declared form: refused.
    await #expect(throws: UsageError.self) {
      _ = try await h.runner(rb).resume(
        directory: first.incidentDirectory, journalState: state, inputs: ["path": "../x"])
    }
    let fixed = try await h.runner(rb).resume(
      directory: first.incidentDirectory, journalState: state, inputs: ["path": "secret/right"])
    #expect(fixed.status == .completed)
    #expect(h.actions["store"]!.calls.last?["path"] == "secret/right")
    #expect(h.actions["change"]!.callCount == 1, "nothing already done was redone")
    let after = try IncidentState.load(journal: first.incidentDirectory + "/journal.jsonl")
    #expect(after.inputs["path"] == "secret/right", "a later resume and the report see the correction")
  }
}
