import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Four eyes through the built CLI: a two-person step stops after the responder's `--yes`
/// (exit 3) and names the command the second person runs; `respond approve` refuses the same
/// person and the one who started the run, accepts a second person, and `respond resume` then
/// runs the step. No provider is called: the gated step only identifies the key.
@Suite struct ApprovalTests {
  let out = NSTemporaryDirectory() + "respond-approvals-" + UUID().uuidString
  var runbooks: String { out + "/runbooks" }

  /// A runbook whose one gated step two people must approve (also used by SharedStateTests).
  static let fourEyes = """
    runbook: four-eyes
    description: A step two people must approve
    inputs:
      key: { description: the leaked key, required: true, secret: true }
    phases:
      detect:
        - id: identify
          action: key.identify
          with: { key: "${{ inputs.key }}" }
      investigate:
        - id: quarantine
          action: key.identify
          approval: two-person
          with: { key: "${{ inputs.key }}" }
    """

  init() throws {
    try FileManager.default.createDirectory(atPath: out + "/runbooks", withIntermediateDirectories: true)
    try Self.fourEyes.write(toFile: runbooks + "/four-eyes.yaml", atomically: true, encoding: .utf8)
  }

  /// `user` is the operating-system account the process runs as (what $USER says).
  func cli(_ args: [String], user: String) throws -> ProcessOutcome {
    try runRespond(args, environment: ["HOME": out, "USER": user, "RESPOND_LOCK_DIR": out + "/locks"])
  }

  @Test func aTwoPersonStepNeedsASecondDifferentPerson() throws {
    let key = "sk_live_" + String(repeating: "a1", count: 12)
    let started = try cli(
      ["four-eyes", "--key", key, "--yes", "--out", out, "--runbooks", runbooks, "--approver", "alice"],
      user: "alice")
    #expect(started.status == 3, "--yes is one person: the step still waits. stderr: \(started.stderr)")
    let dir = (started.lastLine as NSString).deletingLastPathComponent
    let command = "respond approve \(dir) --step quarantine --approver NAME"
    #expect(started.stderr.contains(command), "stderr names the second person's command: \(started.stderr)")

    // The same person (by name, from any account), and the starter's account under another name.
    let same = try cli(["approve", dir, "--step", "quarantine", "--approver", "alice"], user: "carol")
    #expect(same.status == 2)
    #expect(same.stderr.contains("alice started this run (as alice@"), "\(same.stderr)")
    let starter = try cli(["approve", dir, "--step", "quarantine", "--approver", "mallory"], user: "alice")
    #expect(starter.status == 2)
    #expect(
      starter.stderr.contains("cannot be the second approver of two-person step 'quarantine'"), "\(starter.stderr)")
    // An unknown step and a step that is not waiting are refused too.
    let unknown = try cli(["approve", dir, "--step", "nope"], user: "bob")
    #expect(unknown.status == 2)
    #expect(unknown.stderr.contains("no step 'nope' in this incident; steps behind an approval gate: `quarantine`"))
    let notGated = try cli(["approve", dir, "--step", "identify"], user: "bob")
    #expect(notGated.status == 2)
    #expect(notGated.stderr.contains("step 'identify' does not need approval"))

    // A respond process holding the incident's lock (running or resuming it): refused, nothing written.
    let locks = out + "/.locks"
    let lockFile = try #require(
      try FileManager.default.contentsOfDirectory(atPath: locks).first { $0.hasSuffix(".lock") })
    let fd = open(locks + "/" + lockFile, O_RDONLY)
    #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
    let whileLocked = try cli(["approve", dir, "--step", "quarantine"], user: "bob")
    flock(fd, LOCK_UN)
    close(fd)
    #expect(whileLocked.status == 2)
    #expect(whileLocked.stderr.contains("the incident is locked by a running respond process"), "\(whileLocked.stderr)")

    let help = try cli(["approve", "--help"], user: "bob")
    #expect(help.stdout.contains("respond approve incidents/20261202T101500Z-key-compromised --step quarantine"))

    let second = try cli(["approve", dir, "--step", "quarantine"], user: "bob")
    #expect(second.status == 0, "stderr: \(second.stderr)")
    #expect(second.stderr.contains("run `respond resume \(dir)` to continue"))
    let again = try cli(["approve", dir, "--step", "quarantine", "--approver", "dave"], user: "dave")
    #expect(again.status == 2, "a step whose approvals are complete is not waiting for more")

    let resumed = try cli(["resume", dir, "--key", key, "--runbooks", runbooks], user: "alice")
    #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(state.steps["quarantine"]?.outcome == .succeeded)
    let host = ProcessInfo.processInfo.hostName
    #expect(
      state.approvals.map { "\($0.person.name) \($0.person.account) \($0.via.rawValue)" } == [
        "alice alice@\(host) --yes", "bob@\(host) bob@\(host) respond approve",
      ])
    #expect(state.damagedLines.isEmpty, "approvals continue the hash chain")
    let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(report.contains("| `quarantine` | bob@\(host) |"), "the report lists every approval:\n\(report)")
    let json = try #require(Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))))
    #expect(json["approvals"]?.arrayValue?.count == 2)
    #expect(json["approvals"]?.arrayValue?.last?["how"] == "respond approve")
  }
}
