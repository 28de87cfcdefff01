import Foundation
import Testing

@testable import RespondCore

/// `concurrent: true`: which steps form a group (pure), what the conductor decides for a group,
/// that members really overlap (from the journal's own times), that a group is journaled and
/// resumed member by member, and what the validator refuses (located).
@Suite struct ConcurrentGroupTests {
  static let yaml = """
    runbook: together
    phases:
      detect:
        - id: first
          action: read
          with: { id: a }
      investigate:
        - id: slow
          action: slow
          concurrent: true
          with: { id: "${{ steps.first.value }}" }
        - id: quick
          action: quick
          concurrent: true
          continue-on-error: true
          with: { id: b }
        - id: merge
          action: read
          with: { id: "${{ steps.slow.value }}-${{ steps.quick.value }}" }
        - id: alone-a
          action: read
          concurrent: true
          with: { id: c }
        - id: alone-b
          action: read
          concurrent: true
          with: { id: d }
      notify:
        - id: next-phase
          action: read
          concurrent: true
          with: { id: e }
        - id: last
          action: read
          concurrent: true
          with: { id: f }
    """

  struct Harness {
    let slow: ScriptedAction
    let quick: ScriptedAction
    let read: ScriptedAction
    let registry: ActionRegistry
    let masker = Masker()
    let sink = TextSink()
    let out = temporaryDirectory()

    init(quickFails: Bool = false, delay: Duration = .milliseconds(400)) {
      slow = ScriptedAction(
        "slow", parameters: [ParameterSpec("id")], outputs: [OutputSpec("value")],
        script: [.success(["value": "s"]), .success(["value": "s"])])
      quick = ScriptedAction(
        "quick", parameters: [ParameterSpec("id")], outputs: [OutputSpec("value")],
        script: [quickFails ? .failure(.failed("quick said no")) : .success(["value": "q"])])
      read = ScriptedAction("read", parameters: [ParameterSpec("id")], outputs: [OutputSpec("value")])
      slow.delay = delay
      quick.delay = delay
      registry = ActionRegistry([slow, quick, read])
    }

    func runner(_ rb: Runbook) -> IncidentRunner {
      var options = RunOptions()
      options.assumeYes = true
      options.operatorName = "tester"
      let sink = self.sink
      return IncidentRunner(
        runbook: rb, registry: registry, environment: [:], transport: OKTransport(), masker: masker,
        progress: ProgressLog(masker: masker, colour: false) { sink.write($0) }, approver: nil, options: options)
    }
  }

  // MARK: - Grouping (pure)

  @Test func adjacentConcurrentStepsOfOnePhaseFormOneGroup() throws {
    let h = Harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let groups = ConcurrentGroups(rb)
    #expect(
      groups.groups.map { $0.map(\.id) } == [
        ["first"], ["slow", "quick"], ["merge"], ["alone-a", "alone-b"], ["next-phase", "last"],
      ])
    #expect(groups.concurrentGroups.count == 3)
    #expect(groups.group(of: "quick").map(\.id) == ["slow", "quick"])
    #expect(groups.runsTogether("slow") && !groups.runsTogether("merge"))
    // A step not marked concurrent ends a group; a phase boundary does too.
    let steps = rb.steps
    let split = ConcurrentGroups(phases: [
      (.investigate, [steps[1], steps[3], steps[2]]), (.notify, [steps[4]]), (.document, [steps[5]]),
    ])
    #expect(split.groups.map { $0.map(\.id) } == [["slow"], ["merge"], ["quick"], ["alone-a"], ["alone-b"]])
  }

  @Test func theConductorRunsTheUnfinishedMembersTogether() throws {
    let h = Harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let conductor = Conductor(runbook: rb)
    var state = IncidentState()
    func finish(_ id: String, _ outcome: StepOutcome) {
      var r = JournalRecord(type: .stepFinished)
      r.step = id
      r.outcome = outcome
      state.apply(r)
    }
    func decided() -> [String] {
      switch conductor.next(state) {
      case .run(let s): return [s.id]
      case .runTogether(let steps): return ["together"] + steps.map(\.id)
      case .finish(let status, let at): return ["finish", status.rawValue, at ?? ""]
      }
    }
    #expect(decided() == ["first"])
    finish("first", .succeeded)
    #expect(decided() == ["together", "slow", "quick"])
    // A member that finished (before a crash, say) is not run again; the other runs alone.
    finish("quick", .failed)
    #expect(decided() == ["slow"])
    var started = JournalRecord(type: .stepStarted)
    started.step = "slow"
    state.apply(started)
    #expect(decided() == ["slow"])  // interrupted: it runs again
    finish("slow", .succeeded)
    #expect(decided() == ["merge"])  // quick continues on error
    finish("merge", .succeeded)
    #expect(decided() == ["together", "alone-a", "alone-b"])
  }

  // MARK: - Running a group

  @Test func membersOverlapAndEachIsJournaledLikeAStep() async throws {
    let h = Harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let began = ContinuousClock.now
    let r = try await h.runner(rb).start(inputs: [:], outDir: h.out)
    let elapsed = ContinuousClock.now - began
    #expect(r.status == .completed)
    let state = try IncidentState.load(journal: r.incidentDirectory + "/journal.jsonl")
    let slow = try #require(state.steps["slow"])
    let quick = try #require(state.steps["quick"])
    let (s0, s1) = (try #require(slow.startedAt), try #require(slow.finishedAt))
    let (q0, q1) = (try #require(quick.startedAt), try #require(quick.finishedAt))
    // Each started before the other finished: they ran at the same time.
    #expect(s0 < q1 && q0 < s1, "slow \(s0)–\(s1), quick \(q0)–\(q1)")
    // One started, one finished record each, and the step after the group saw both outputs.
    for id in ["slow", "quick"] {
      #expect(state.records.filter { $0.step == id && $0.type == .stepStarted }.count == 1)
      #expect(state.records.filter { $0.step == id && $0.type == .stepFinished }.count == 1)
    }
    #expect(h.read.calls.contains { $0["id"] == "s-q" })
    #expect(slow.outcome == .succeeded && quick.outcome == .succeeded)
    // Generous: two 400 ms members one after the other would need 800 ms.
    #expect(elapsed < .seconds(5))
    #expect(h.sink.text.contains("together: slow, quick"))
  }

  @Test func aFailingMemberDoesNotCutTheOthersShort() async throws {
    let yaml = Self.yaml.replacingOccurrences(of: "      continue-on-error: true\n", with: "")
    let h = Harness(quickFails: true)
    let rb = try runbook(yaml, registry: h.registry)
    let r = try await h.runner(rb).start(inputs: [:], outDir: h.out)
    #expect(r.status == .failed)
    #expect(r.stoppedAt == "quick")
    #expect(r.state.steps["slow"]?.outcome == .succeeded)
    #expect(r.state.steps["merge"] == nil)
  }

  /// A crash inside a group, the harshest way: the journal ends right after the record where
  /// the quick member finished (everything later was never written, as after SIGKILL; the hash
  /// chain of what is left is intact). Resume runs only the member that had not finished.
  @Test func resumeAfterACrashInsideAGroupRunsOnlyTheUnfinishedMembers() async throws {
    let h = Harness()
    h.slow.delay = .milliseconds(600)
    h.quick.delay = .milliseconds(50)
    let rb = try runbook(Self.yaml, registry: h.registry)
    let r = try await h.runner(rb).start(inputs: [:], outDir: h.out)
    #expect(r.status == .completed)
    let path = r.incidentDirectory + "/journal.jsonl"
    let full = try IncidentState.load(journal: path)
    let cut = try #require(full.records.first { $0.type == .stepFinished && $0.step == "quick" }?.seq)
    #expect(full.records.first { $0.type == .stepFinished && $0.step == "slow" }?.seq ?? 0 > cut)
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(
      separator: "\n", omittingEmptySubsequences: true)
    try (lines.prefix(cut).joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    let crashed = try IncidentState.load(journal: path)
    #expect(crashed.steps["quick"]?.outcome == .succeeded)
    #expect(crashed.steps["slow"]?.interrupted == true)

    let again = try await h.runner(rb).resume(directory: r.incidentDirectory, journalState: crashed, inputs: [:])
    #expect(again.status == .completed)
    #expect(h.quick.callCount == 1, "the finished member ran again")
    #expect(h.slow.callCount == 2, "the unfinished member did not run again")
    let resumed = try IncidentState.load(journal: path)
    #expect(resumed.records.filter { $0.step == "quick" && $0.type == .stepStarted }.count == 1)
    #expect(resumed.steps["slow"]?.outcome == .succeeded)
    // merge ran once in each process, the second time reading quick's output from the journal.
    #expect(h.read.calls.filter { $0["id"] == "s-q" }.count == 2)
  }

  // MARK: - Shown in the plan

  @Test func thePlanShowsWhichStepsRunTogether() throws {
    let h = Harness()
    let rb = try runbook(Self.yaml, registry: h.registry)
    let text = PlanRenderer.render(rb, inputs: [:], registry: h.registry)
    let lines = text.split(separator: "\n").map(String.init)
    let header = try #require(lines.firstIndex { $0.contains("together (at the same time): slow, quick") })
    #expect(lines[header + 1].contains("slow") && lines[header + 1].contains("concurrent"))
    #expect(lines[header + 2].contains("quick") && lines[header + 2].contains("concurrent"))
    #expect(text.contains("together (at the same time): alone-a, alone-b"))
    #expect(!(lines.first { $0.contains("merge") }?.contains("concurrent") ?? true))
  }
}
