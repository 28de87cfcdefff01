import Foundation
import Testing

@testable import RespondCore

/// Page first, and page again when stuck: the early page is sent once across resumes, `on-stop`
/// steps run when a run stops at a gate or fails, once per stop, never in a drill, and never
/// change how the run ends. Rehearsals with scripted actions, no network.
@Suite struct StopNoticeTests {
  typealias Harness = RehearsalTests.Harness

  static let yaml = """
    runbook: paging
    inputs:
      key: { required: true, secret: true }
    phases:
      detect:
        - id: identify
          action: identify
          with: { key: "${{ inputs.key }}" }
        - id: page
          action: notify.page
          continue-on-error: true
          with: { text: "leaked ${{ steps.identify.key-id }}, incident ${{ incident.id }}" }
      contain:
        - id: deactivate
          action: deactivate
          approval: required
          with: { id: "${{ steps.identify.key-id }}" }
        - id: verify
          action: probe
          verifies: deactivate
          with: { id: "${{ steps.identify.key-id }}" }
      notify:
        - id: outcome
          action: notify.page
          with: { text: "${{ incident.verdict }}: ${{ incident.verdict-reason }}" }
    on-stop:
      - id: stuck
        action: notify.page
        with:
          text: "stopped at ${{ incident.stopped-at }}: ${{ incident.stop-reason }}; ${{ incident.resume-command }}"
    """

  static let leaked = "AKIAIOSFODNN7EXAMPLE"

  func harness(
    probe: [Result<[String: Value], ActionError>] = [.success([:])],
    page: [Result<[String: Value], ActionError>] = []
  ) -> Harness {
    Harness([
      ScriptedAction(
        "identify", parameters: [ParameterSpec("key", required: true, secret: true)],
        outputs: [OutputSpec("provider"), OutputSpec("key-id")],
        script: [.success(["provider": "aws", "key-id": .string(Self.leaked)])]),
      ScriptedAction(
        "notify.page", mutates: true, idempotent: true, parameters: [ParameterSpec("text")],
        script: page),
      ScriptedAction("deactivate", mutates: true, parameters: [ParameterSpec("id", required: true)]),
      ScriptedAction("probe", parameters: [ParameterSpec("id")], script: probe),
    ])
  }

  func texts(_ h: Harness) -> [String] {
    h.actions["notify.page"]!.calls.compactMap { $0["text"]?.stringValue }
  }

  func load(_ dir: String) throws -> IncidentState { try IncidentState.load(journal: dir + "/journal.jsonl") }

  @Test func aRunStoppedAtTheGateHasPagedAndSaysHowToResumeOnceAndTheEndUpdatesTheVerdict() async throws {
    let h = harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb, yes: false).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.exitCode == 3)
    let dir = r.incidentDirectory
    // Paged before containment, then told the channel it is stuck and how to go on.
    #expect(texts(h).count == 2)
    #expect(texts(h).first?.hasPrefix("leaked \(Self.leaked)") == true)
    #expect(texts(h).last?.hasPrefix("stopped at deactivate: step 'deactivate' needs approval") == true)
    #expect(texts(h).last?.hasSuffix("; respond resume \(dir)") == true, "\(texts(h))")
    #expect(r.state.steps["stuck"]?.outcome == .succeeded)
    #expect(r.state.steps["stuck"]?.stopKey == "stopped-at-approval:deactivate")
    #expect(IncidentReport(state: r.state).steps.contains { $0.id == "stuck" })

    // Still no terminal: the same stop is not announced again.
    let again = try await h.runner(rb, yes: false).resume(
      directory: dir, journalState: try load(dir),
      inputs: ["key": Self.leaked])
    #expect(again.exitCode == 3)
    #expect(texts(h).count == 2)

    // Approved: the early page is not sent again; the end says the verdict.
    let done = try await h.runner(rb, yes: true).resume(
      directory: dir, journalState: try load(dir),
      inputs: ["key": Self.leaked])
    #expect(done.exitCode == 0)
    #expect(texts(h).count == 3)
    #expect(texts(h).last == "CONTAINED: verified by step `verify`")
  }

  @Test func aFailedStepPagesOnceAcrossResumesThatFailTheSameWayAndNeverChangesTheExit() async throws {
    let down = ActionError.failed("IAM is down")
    // The on-stop page itself fails the second time it is asked: recorded, exit unchanged.
    let h = harness(probe: [.failure(down), .failure(down), .failure(down), .failure(down)])
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.exitCode == 1)
    #expect(r.stoppedAt == "verify")
    #expect(texts(h).count == 2)
    #expect(texts(h).last?.hasPrefix("stopped at verify: step 'verify' failed: IAM is down") == true)
    let dir = r.incidentDirectory
    let again = try await h.runner(rb).resume(directory: dir, journalState: try load(dir), inputs: ["key": Self.leaked])
    #expect(again.exitCode == 1)
    #expect(again.stoppedAt == "verify")
    #expect(texts(h).count == 2)
  }

  @Test func aFailedStopPageIsRecordedAndTheRunEndsAsItWould() async throws {
    let h = harness(page: [.success([:]), .failure(.failed("Slack is down"))])
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb, yes: false).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.exitCode == 3)
    #expect(r.status == .stoppedAtApproval)
    #expect(r.state.steps["stuck"]?.outcome == .failed)
    // Not sent yet for this stop: the next stop in the same place tries again.
    let dir = r.incidentDirectory
    _ = try await h.runner(rb, yes: false).resume(
      directory: dir, journalState: try load(dir),
      inputs: ["key": Self.leaked])
    #expect(texts(h).count == 3)
  }

  @Test func aDrillSendsNothing() async throws {
    let yaml = """
      runbook: drill-paging
      inputs:
        key: { required: true, secret: true }
      phases:
        detect:
          - id: identify
            action: identify
            with: { key: "${{ inputs.key }}" }
          - id: page
            action: notify.page
            continue-on-error: true
            with: { text: "leaked ${{ steps.identify.key-id }}" }
          - id: lookup
            action: probe
            with: { id: "${{ steps.identify.key-id }}" }
      on-stop:
        - id: stuck
          action: notify.page
          with: { text: "${{ incident.resume-command }}" }
      """
    let h = harness(probe: [.failure(.failed("no such user"))])
    let rb = try runbook(yaml, registry: h.registry)
    let r = try await h.runner(rb, mode: .drill).start(inputs: ["key": Self.leaked], outDir: h.out)
    #expect(r.status == .failed)
    #expect(r.state.steps["page"]?.outcome == .skippedDryRun)
    #expect(r.state.steps["stuck"]?.outcome == .skippedDryRun)
    #expect(h.transport.sent.isEmpty)
  }

  @Test func theStopDecisionIsPure() {
    let notice = StopNotice.decide(
      status: .failed, at: "create", reason: "step 'create' failed: x", directory: "/tmp/my incident",
      withheldInputs: ["token", "key"])
    #expect(notice?.key == "failed:create")
    #expect(notice?.resumeCommand == "respond resume '/tmp/my incident' --key - --token -")
    #expect(StopNotice.decide(status: .completed, at: nil, reason: nil, directory: "/x", withheldInputs: []) == nil)
    #expect(StopNotice.decide(status: .interrupted, at: "a", reason: nil, directory: "/x", withheldInputs: []) == nil)
  }

  @Test func onStopTakesNotifyActionsOnlyWithLocatedErrors() {
    let registry = harness().registry
    let yaml = """
      runbook: bad
      phases:
        detect:
          - id: identify
            action: identify
            with: { key: x }
      on-stop:
        - id: identify
          action: deactivate
          approval: required
          with: { id: "${{ incident.stoped-at }}" }
      """
    #expect(
      diagnostics(yaml, registry: registry) == [
        "rb.yaml:8:9: error: duplicate step id 'identify' (first defined at line 4)",
        "rb.yaml:8:9: error: on-stop step 'identify' cannot require approval: it runs when the run is already stuck",
        "rb.yaml:9:13: error: on-stop step 'identify' must use a notify action (notify.*), found 'deactivate'",
        "rb.yaml:11:22: error: unknown incident field 'stoped-at'; fields are "
          + RunbookValidator.incidentFields.joined(separator: ", "),
      ])
  }
}
