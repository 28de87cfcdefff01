import Foundation
import Testing

@testable import RespondCore

/// A concurrent group whose members need approval: every member's approval is asked first, one
/// at a time in file order, and only when all are given do the members start together; one not
/// given (declined, no terminal) and none starts. A crash between the approvals and the starts
/// resumes with the approvals standing, as a lone step's would.
@Suite struct ConcurrentApprovalTests {
  static let yaml = """
    runbook: gated-together
    phases:
      detect:
        - id: first
          action: read
          with: { id: a }
      recover:
        - id: cut-a
          action: change
          concurrent: true
          approval: required
          with: { id: "${{ steps.first.value }}" }
        - id: cut-b
          action: change
          concurrent: true
          approval: required
          with: { id: b }
        - id: after
          action: read
          with: { id: c }
    """

  /// Answers the questions it is asked, in order, and remembers them.
  final class ScriptedApprover: Approver, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Bool?]
    private(set) var questions: [String] = []
    init(_ answers: [Bool?]) { self.answers = answers }
    func ask(_ question: String) async -> Bool? {
      lock.withLock {
        questions.append(question)
        return answers.isEmpty ? nil : answers.removeFirst()
      }
    }
    var asked: [String] { lock.withLock { questions } }
  }

  struct Harness {
    let change = ScriptedAction("change", mutates: true, parameters: [ParameterSpec("id")])
    let read = ScriptedAction("read", parameters: [ParameterSpec("id")], outputs: [OutputSpec("value")])
    let registry: ActionRegistry
    let masker = Masker()
    let out = temporaryDirectory()

    init() {
      change.delay = .milliseconds(300)
      registry = ActionRegistry([change, read])
    }

    func runner(_ rb: Runbook, approver: (any Approver)?, yes: Bool = false) -> IncidentRunner {
      var options = RunOptions()
      options.assumeYes = yes
      options.operatorName = "tester"
      let masker = self.masker
      return IncidentRunner(
        runbook: rb, registry: registry, environment: [:], transport: OKTransport(), masker: masker,
        progress: ProgressLog(masker: masker, colour: false) { _ in }, approver: approver, options: options)
    }
  }

  /// The seq of the first record of `type` for `step`.
  static func seq(_ state: IncidentState, _ type: RecordType, _ step: String) -> Int? {
    state.records.first { $0.type == type && $0.step == step }?.seq
  }

  @Test func bothApprovalsAreAskedBeforeEitherMemberStartsThenTheyRunTogether() async throws {
    let h = Harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let approver = ScriptedApprover([true, true])
    let r = try await h.runner(rb, approver: approver).start(inputs: [:], outDir: h.out)
    #expect(r.status == .completed)
    #expect(approver.asked.map { $0.contains("cut-a") } == [true, false], "asked in file order: \(approver.asked)")
    let state = try IncidentState.load(journal: r.incidentDirectory + "/journal.jsonl")
    let approvals = state.approvals.filter(\.granted).map(\.step)
    #expect(approvals == ["cut-a", "cut-b"])
    let lastApproval = try #require(Self.seq(state, .approval, "cut-b"))
    for id in ["cut-a", "cut-b"] {
      #expect(try #require(Self.seq(state, .stepStarted, id)) > lastApproval, "\(id) started before every approval")
      #expect(state.steps[id]?.outcome == .succeeded)
    }
    // They ran at the same time (each started before the other finished).
    let a = try #require(state.steps["cut-a"])
    let b = try #require(state.steps["cut-b"])
    #expect(try #require(a.startedAt) < #require(b.finishedAt) && #require(b.startedAt) < #require(a.finishedAt))
    #expect(h.change.callCount == 2)
  }

  @Test func oneDeclinedAndNeitherStarts() async throws {
    let h = Harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let approver = ScriptedApprover([true, false])
    let r = try await h.runner(rb, approver: approver).start(inputs: [:], outDir: h.out)
    #expect(r.status == .stoppedAtApproval)  // exit 3
    #expect(r.stoppedAt == "cut-b")
    #expect(h.change.callCount == 0, "a member started while the other was declined")
    let started = r.state.records.filter { $0.type == .stepStarted && ($0.step ?? "").hasPrefix("cut-") }
    #expect(started.isEmpty)
    #expect(r.state.steps["after"] == nil)
    // The first yes stands (the step never started): a resume asks only the declined one.
    let again = ScriptedApprover([true])
    let stopped = try IncidentState.load(journal: r.incidentDirectory + "/journal.jsonl")
    let resumed = try await h.runner(rb, approver: again).resume(
      directory: r.incidentDirectory, journalState: stopped, inputs: [:])
    #expect(resumed.status == .completed)
    #expect(again.asked.count == 1 && again.asked.first?.contains("cut-b") == true, "\(again.asked)")
    #expect(h.change.callCount == 2)
  }

  @Test func noTerminalAndNoYesStopsAtTheFirstGateAndNeitherStarts() async throws {
    let h = Harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb, approver: nil).start(inputs: [:], outDir: h.out)
    #expect(r.status == .stoppedAtApproval)
    #expect(r.stoppedAt == "cut-a")
    #expect(h.change.callCount == 0)
    #expect(r.state.steps["cut-b"] == nil, "the second member was asked or run after the first stopped")
  }

  /// The harshest crash: the journal ends right after the second approval (as after SIGKILL
  /// before either member started). The approvals stand: a resume with no one to ask runs both.
  @Test func resumeAfterACrashBetweenTheApprovalsAndTheStartsRunsBoth() async throws {
    let h = Harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb, approver: nil, yes: true).start(inputs: [:], outDir: h.out)
    #expect(r.status == .completed)
    let path = r.incidentDirectory + "/journal.jsonl"
    let full = try IncidentState.load(journal: path)
    let cut = try #require(Self.seq(full, .approval, "cut-b"))
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(
      separator: "\n", omittingEmptySubsequences: true)
    try (lines.prefix(cut).joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    let crashed = try IncidentState.load(journal: path)
    #expect(crashed.approvals.map(\.step) == ["cut-a", "cut-b"])
    #expect(crashed.records.allSatisfy { $0.type != .stepStarted || $0.step == "first" })

    let again = try await h.runner(rb, approver: nil).resume(
      directory: r.incidentDirectory, journalState: crashed, inputs: [:])
    #expect(again.status == .completed, "\(again.message ?? "")")
    let state = try IncidentState.load(journal: path)
    #expect(state.approvals.count == 2, "approvals given before the crash were asked again")
    #expect(state.steps["cut-a"]?.outcome == .succeeded && state.steps["cut-b"]?.outcome == .succeeded)
    #expect(h.change.callCount == 4)  // twice in the first run, once each after the resume
  }
}
