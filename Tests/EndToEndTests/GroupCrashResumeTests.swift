import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// A concurrent group with the built CLI against the recording receiver: two `http` reads marked
/// `concurrent: true`, one answered after 1.5 s and one at once. A run without a crash shows the
/// two overlapping in the journal; a run SIGKILLed (`RESPOND_TEST_CRASH_AT`) right after the
/// quick member's finish is journaled, with the slow one still waiting, is resumed: only the
/// slow member is asked again (after a person says so: `http` is not idempotent), the quick one
/// never.
@Suite(.serialized) struct GroupCrashResumeTests {
  let services: TestServices
  let root = NSTemporaryDirectory() + "respond-group-" + UUID().uuidString
  let prefix = "/together-\(UUID().uuidString.prefix(8).lowercased())"

  init() throws {
    services = try TestServices.load()
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  func curl(_ args: [String]) throws -> String {
    try runProgram("/usr/bin/curl", ["-sS", "--fail", "--max-time", "10"] + args)
  }

  /// Requests the receiver got for one of this test's paths.
  func requests(_ name: String) throws -> Int {
    let all = Value.parseJSON(try curl([services.receiverURL + "/_control/requests?path=\(prefix)/\(name)"]))
    return all?.arrayValue?.count ?? 0
  }

  func runbookFile() throws -> String {
    let slow: Value = [
      "path": .string(prefix + "/slow"), "responses": [], "default": ["status": 200, "delay": .number(1.5)],
    ]
    _ = try curl(["-X", "POST", "--data-binary", slow.jsonString(), services.receiverURL + "/_control/script"])
    let url = services.receiverURL + prefix
    let yaml = """
      runbook: together
      description: two reads at the same time
      phases:
        investigate:
          - id: slow
            action: http
            concurrent: true
            with: { url: "\(url)/slow" }
          - id: quick
            action: http
            concurrent: true
            with: { url: "\(url)/quick" }
          - id: after
            action: http
            with: { url: "\(url)/after" }
      """
    let path = root + "/together.yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func incident(in out: String) throws -> String {
    let folders = try FileManager.default.contentsOfDirectory(atPath: out).filter { !$0.hasPrefix(".") }
    try #require(folders.count == 1, "one incident folder, got \(folders)")
    return out + "/" + folders[0]
  }

  @Test func membersOverlapAndAResumeRunsOnlyTheUnfinishedOne() throws {
    let file = try runbookFile()
    let env = ["HOME": root]
    // Without a crash: both members overlap, measured by the journal's own times.
    let base = try runRespond([file, "--out", root + "/base"], environment: env)
    try #require(base.status == 0, "baseline failed: \(base.stderr)")
    let full = try IncidentState.load(journal: try incident(in: root + "/base") + "/journal.jsonl")
    let slow = try #require(full.steps["slow"])
    let quick = try #require(full.steps["quick"])
    #expect(
      try #require(slow.startedAt) < #require(quick.finishedAt)
        && #require(quick.startedAt) < #require(slow.finishedAt),
      "slow \(String(describing: slow.startedAt))–\(String(describing: slow.finishedAt)), quick \(String(describing: quick.startedAt))–\(String(describing: quick.finishedAt))"
    )
    let cut = try #require(full.records.first { $0.type == .stepFinished && $0.step == "quick" }?.seq)

    // Killed right after the quick member's finish is on disk; the slow one is still waiting.
    var crashEnv = env
    crashEnv["RESPOND_TEST_CRASH_AT"] = String(cut)
    let crashed = try runRespond([file, "--out", root + "/crash"], environment: crashEnv)
    #expect(crashed.status == SIGKILL, "the hook must kill the run: \(crashed.stderr.suffix(400))")
    let dir = try incident(in: root + "/crash")
    let before = try IncidentState.load(journal: dir + "/journal.jsonl")
    try #require(before.steps["quick"]?.outcome == .succeeded, "quick had not finished at record \(cut)")
    try #require(before.steps["slow"]?.outcome == nil, "slow had already finished at record \(cut)")
    let (slowAsked, quickAsked) = (try requests("slow"), try requests("quick"))

    // The generic `http` action is not idempotent: resume asks a person about the interrupted
    // member, as it would for a lone step, and names that member only.
    let asked = try runRespond(["resume", dir], environment: env)
    #expect(asked.status == 1 && asked.stderr.contains("step 'slow' (http) started"), "\(asked.stderr.suffix(800))")
    #expect(!asked.stderr.contains("step 'quick'"))
    let resumed = try runRespond(["resume", dir, "--rerun-interrupted"], environment: env)
    #expect(resumed.status == 0, "resume: \(resumed.stderr.suffix(800))")
    #expect(try requests("quick") == quickAsked, "the finished member was asked again")
    #expect(try requests("slow") == slowAsked + 1, "the unfinished member was not asked again")
    let after = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(after.damagedLines.isEmpty)
    #expect(after.status == .completed)
    #expect(after.records.filter { $0.step == "quick" && $0.type == .stepStarted }.count == 1)
    #expect(after.records.filter { $0.step == "slow" && $0.type == .stepStarted }.count == 2)
    #expect(after.steps["after"]?.outcome == .succeeded)
  }
}
