import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `RESPOND_STATE_URL=s3://bucket/prefix` against moto's real S3 (conditional writes, Object
/// Lock): two machines are two `respond` processes with their own output and lock folders.
@Suite(.serialized) struct SharedStateTests {
  let services: TestServices
  let moto: MotoFixture
  let root = NSTemporaryDirectory() + "respond-shared-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
  }

  /// CloudTrail answered by the botocore-checked emulator (moto has none).
  let cloudtrail: CloudTrailEmulator

  var awsEnvironment: [String: String] { cloudtrail.awsEnvironment() }

  func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

  /// A fresh bucket (with Object Lock when `locked`) and its state URL.
  func bucket(locked: Bool = false) throws -> (name: String, url: String) {
    let name = unique("respond-state")
    _ = try fixture(["bucket", services.motoURL, name] + (locked ? ["lock"] : []))
    return (name, "s3://\(name)/team")
  }

  func fixture(_ args: [String]) throws -> String {
    try runProgram(
      "/usr/bin/env", ["python3", services.repoRoot + "/Tests/Support/moto_fixture.py"] + args,
      environment: [
        "RESPOND_TEST_AWS_ACCESS_KEY_ID": services.awsAccessKeyID,
        "RESPOND_TEST_AWS_SECRET_ACCESS_KEY": services.awsSecretAccessKey,
      ])
  }

  func keys(_ bucket: String, _ prefix: String) throws -> [String] {
    (Value.parseJSON(try fixture(["s3-keys", services.motoURL, bucket, prefix]))?.arrayValue ?? []).compactMap(
      \.stringValue)
  }

  /// One machine: its own output folder and per-user lock folder, the team's state URL.
  func machine(_ name: String, state: String) -> (out: String, env: [String: String]) {
    var env = awsEnvironment
    env["RESPOND_STATE_URL"] = state
    env["RESPOND_LOCK_DIR"] = root + "/\(name)-locks"
    return (root + "/\(name)-incidents", env)
  }

  /// Every file of an incident folder (relative path → bytes), evidence included.
  func files(_ dir: String) -> [String: Data] {
    var out: [String: Data] = [:]
    let e = FileManager.default.enumerator(atPath: dir)
    while let rel = e?.nextObject() as? String {
      if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
      var isDir: ObjCBool = false
      if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
        out[rel] = FileManager.default.contents(atPath: dir + "/" + rel)
      }
    }
    return out
  }

  @Test func twoRespondersOnTwoMachinesRotateOnce() throws {
    let state = try bucket()
    for round in 1...2 {
      let user = unique("shared\(round)")
      let leaked = try moto.createUser(user)
      let a = machine("a\(round)", state: state.url)
      let b = machine("b\(round)", state: state.url)
      let first = try RunningRespond(
        ["key-compromised", "--key", leaked.id, "--yes", "--out", a.out], environment: a.env)
      let second = try RunningRespond(
        ["key-compromised", "--key", leaked.id, "--yes", "--out", b.out], environment: b.env)
      let results = [try first.wait(), try second.wait()]
      let refused = results.filter { $0.status == 1 && $0.stderr.contains("already responding to this key") }
      let finished = results.filter { $0.status == 0 }
      #expect(
        refused.count == 1 && finished.count == 1,
        "round \(round): \(results.map { "exit \($0.status): \($0.stderr.suffix(400))" })")
      if let r = refused.first, let f = finished.first {
        let id = ((f.lastLine as NSString).deletingLastPathComponent as NSString).lastPathComponent
        #expect(
          r.stderr.contains("\(state.url)/incidents/\(id)"), "the refusal names the winner's incident: \(r.stderr)")
        #expect(!r.stdout.contains("report.md"), "the refused responder created no incident")
      }
      let now = try moto.keys(of: user)
      #expect(
        now.count == 1 && now.first?.id != leaked.id && now.first?.status == "Active",
        "round \(round): exactly one replacement: \(now)")
      #expect(try keys(state.name, "team/locks/").isEmpty, "a finished run gives the key's shared lock back")
    }
  }

  @Test func theMirrorEqualsTheIncidentByteForByteAndIsRetained() throws {
    let state = try bucket(locked: true)
    let user = unique("mirror")
    let leaked = try moto.createUser(user)
    let a = machine("mirror", state: state.url)
    let run = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", a.out], environment: a.env)
    #expect(run.status == 0, "stderr: \(run.stderr)")
    let dir = (run.lastLine as NSString).deletingLastPathComponent
    let id = (dir as NSString).lastPathComponent
    #expect(run.stderr.contains("Object Lock retention 365 days (GOVERNANCE)"), "stderr: \(run.stderr)")
    // The copy goes where the secrets scan of test outputs looks (TMPDIR).
    let copy = root + "/downloaded-" + id
    _ = try fixture(["s3-get", services.motoURL, state.name, "team/incidents/\(id)/", copy])
    let local = files(dir)
    let shared = files(copy)
    #expect(local.keys.contains("journal.jsonl") && local.keys.contains { $0.hasPrefix("evidence/") })
    #expect(Set(shared.keys) == Set(local.keys), "mirrored \(shared.keys.sorted()) vs local \(local.keys.sorted())")
    for (name, bytes) in local { #expect(shared[name] == bytes, "\(name) differs from its mirror") }
    for (name, bytes) in shared {
      let text = String(decoding: bytes, as: UTF8.self)
      #expect(!text.contains(leaked.secret) && !text.contains(services.awsSecretAccessKey), "\(name) holds a secret")
    }
    let year = Date().addingTimeInterval(364 * 86400)
    for key in ["journal.jsonl", local.keys.sorted().first { $0.hasPrefix("evidence/") } ?? "?"] {
      let r = Value.parseJSON(
        try fixture(["s3-retention", services.motoURL, state.name, "team/incidents/\(id)/\(key)"]))
      #expect(r?["mode"]?.stringValue == "GOVERNANCE", "\(key): \(String(describing: r))")
      let until = (r?["until"]?.stringValue).flatMap { ISO8601.parse($0) }
      #expect(until.map { $0 > year } == true, "\(key) retained a year: \(String(describing: r))")
    }
  }

  @Test func anotherMachineResumesTheSharedIncident() throws {
    let state = try bucket()
    let user = unique("resume")
    let leaked = try moto.createUser(user)
    let a = machine("first", state: state.url)
    let gate = try runRespond(["key-compromised", "--key", leaked.id, "--out", a.out], environment: a.env)
    #expect(gate.status == 3, "stops at the approval gate: \(gate.stderr)")
    let id = ((gate.lastLine as NSString).deletingLastPathComponent as NSString).lastPathComponent
    let url = "\(state.url)/incidents/\(id)"
    // The stopped incident keeps the key: a new responder elsewhere is sent to it.
    let c = machine("third", state: state.url)
    let other = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", c.out], environment: c.env)
    #expect(other.status == 1 && other.stderr.contains(url), "refused, naming \(url): \(other.stderr)")
    #expect(try moto.keys(of: user).map(\.status) == ["Active"])
    // Another machine, an empty output folder: pulled, verified, finished.
    let b = machine("second", state: state.url)
    try FileManager.default.createDirectory(atPath: b.out, withIntermediateDirectories: true)
    var env = b.env
    env["RESPOND_STATE_URL"] = nil
    let resumed = try runRespond(["resume", url, "--out", b.out, "--yes", "--key", leaked.id], environment: env)
    #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
    #expect(resumed.stderr.contains("it verifies"), "stderr: \(resumed.stderr)")
    #expect(resumed.lastLine.hasSuffix("-incidents/\(id)/report.md"), "stdout: \(resumed.stdout)")
    let now = try moto.keys(of: user)
    #expect(now.count == 1 && now.first?.id != leaked.id, "rotated once: \(now)")
    let verify = try runRespond(["verify", b.out + "/\(id)"], environment: [:])
    #expect(verify.status == 0, "the resumed copy verifies: \(verify.stderr)")
    #expect(try keys(state.name, "team/locks/").isEmpty, "the finished incident gives the lock back")
    let journal = try keys(state.name, "team/incidents/\(id)/").contains("team/incidents/\(id)/journal.jsonl")
    #expect(journal)
  }

  /// Four eyes across machines: the responder's --yes is one approval of a two-person step; the
  /// second person approves the shared incident from their own machine (never the starter), and
  /// the responder finishes by resuming the shared copy, which now holds both approvals.
  @Test func aSecondPersonApprovesTheSharedIncidentFromAnotherMachine() throws {
    let state = try bucket()
    let runbooks = root + "/runbooks"
    try FileManager.default.createDirectory(atPath: runbooks, withIntermediateDirectories: true)
    try ApprovalTests.fourEyes.write(toFile: runbooks + "/four-eyes.yaml", atomically: true, encoding: .utf8)
    let key = "sk_live_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24)
    recordTestSecret(String(key))
    let a = machine("alice", state: state.url)
    var aliceEnv = a.env
    aliceEnv["USER"] = "alice"
    let started = try runRespond(
      ["four-eyes", "--runbooks", runbooks, "--key", String(key), "--yes", "--approver", "alice", "--out", a.out],
      environment: aliceEnv)
    #expect(started.status == 3, "one person so far: \(started.stderr)")
    let id = ((started.lastLine as NSString).deletingLastPathComponent as NSString).lastPathComponent
    let url = "\(state.url)/incidents/\(id)"

    // On another machine, with only the URL: the starter is refused, a second person accepted.
    var bobEnv = awsEnvironment
    bobEnv["USER"] = "bob"
    bobEnv["HOME"] = root + "/bob-home"
    let refused = try runRespond(
      ["approve", url, "--step", "quarantine", "--approver", "alice"], environment: bobEnv)
    #expect(refused.status == 2 && refused.stderr.contains("alice started this run"), "\(refused.stderr)")
    let approved = try runRespond(["approve", url, "--step", "quarantine", "--approver", "bob"], environment: bobEnv)
    #expect(approved.status == 0, "\(approved.stderr)")
    #expect(approved.stderr.contains("respond resume \(url) --out DIR"), "\(approved.stderr)")
    // The shared copy's reports list the approval, so the copy verifies as it stands.
    let copy = root + "/approved-" + id
    _ = try fixture(["s3-get", services.motoURL, state.name, "team/incidents/\(id)/", copy])
    let verified = try runRespond(["verify", copy], environment: [:])
    #expect(verified.status == 0, "the shared copy verifies after the approval: \(verified.stdout)")
    let shared = (try? String(contentsOfFile: copy + "/report.md", encoding: .utf8)) ?? ""
    #expect(shared.contains("| `quarantine` | bob | bob@"), "the shared report lists bob's approval")
    // Approving again changes nothing: the step is no longer short of an approval.
    let again = try runRespond(["approve", url, "--step", "quarantine", "--approver", "bob"], environment: bobEnv)
    #expect(again.status == 2, "\(again.stderr)")

    // The responder resumes the shared copy: the gated step runs, both approvals are listed.
    let b = machine("alice-again", state: state.url)
    var resumeEnv = b.env
    resumeEnv["RESPOND_STATE_URL"] = nil
    resumeEnv["USER"] = "alice"
    let resumed = try runRespond(
      ["resume", url, "--out", b.out, "--key", String(key)], environment: resumeEnv)
    #expect(resumed.status == 4 || resumed.status == 0, "stderr: \(resumed.stderr)")
    let dir = b.out + "/\(id)"
    let json = try #require(Value.parseJSON(String(contentsOfFile: dir + "/report.json", encoding: .utf8)))
    let quarantine = json["steps"]?.arrayValue?.first { $0["id"]?.stringValue == "quarantine" }
    #expect(quarantine?["outcome"]?.stringValue == "succeeded", "\(String(describing: quarantine))")
    let approvers = (json["approvals"]?.arrayValue ?? []).compactMap { $0["by"]?.stringValue }
    #expect(Set(approvers) == ["alice", "bob"], "\(approvers)")
  }

  /// The seq of the record finishing step `step` in a journal.
  func seq(finishing step: String, in journal: String) -> Int? {
    let text = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { Value.parseJSON(Data($0.utf8)) }
      .first { $0["type"]?.stringValue == "step-finished" && $0["step"]?.stringValue == step }?["seq"]?.intValue
  }

  /// A machine killed right after the replacement key was made: the shared journal already held
  /// the change's write-ahead record (mirrored before the change), so the machine that resumes
  /// the shared copy reconciles it instead of minting a second replacement.
  @Test func aResumeElsewhereAfterACrashNeverRepeatsAChange() throws {
    let state = try bucket()
    let reference = try moto.createUser(unique("ref"))
    let r = machine("ref", state: state.url)
    let full = try runRespond(["key-compromised", "--key", reference.id, "--yes", "--out", r.out], environment: r.env)
    let refJournal = (full.lastLine as NSString).deletingLastPathComponent + "/journal.jsonl"
    let n = try #require(seq(finishing: "create", in: refJournal), "stderr: \(full.stderr)")
    let user = unique("crash")
    let leaked = try moto.createUser(user)
    var a = machine("crashed", state: state.url)
    a.env["RESPOND_TEST_CRASH_AT"] = "\(n)"
    // Each background upload sends what it read 400 ms earlier: only the sync before a change
    // can have put the change's write-ahead record in the shared journal by the crash.
    a.env["RESPOND_TEST_MIRROR_DELAY_MS"] = "400"
    _ = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", a.out], environment: a.env)
    let id = try #require((try? FileManager.default.contentsOfDirectory(atPath: a.out))?.first { !$0.hasPrefix(".") })
    let local = try String(contentsOfFile: a.out + "/\(id)/journal.jsonl", encoding: .utf8)
    let copy = root + "/crash-copy-" + id
    _ = try fixture(["s3-get", services.motoURL, state.name, "team/incidents/\(id)/", copy])
    let shared = try String(contentsOfFile: copy + "/journal.jsonl", encoding: .utf8)
    #expect(local.hasPrefix(shared), "the shared journal is a prefix of the local one")
    let started = shared.split(separator: "\n").compactMap { Value.parseJSON(Data($0.utf8)) }
      .contains { $0["type"]?.stringValue == "step-started" && $0["step"]?.stringValue == "create" }
    #expect(started, "the change's write-ahead record reached the shared state before the change")
    let b = machine("rescuer", state: state.url)
    let resumed = try runRespond(
      ["resume", "\(state.url)/incidents/\(id)", "--out", b.out, "--yes", "--key", leaked.id], environment: b.env)
    let minted = try moto.keys(of: user).filter { $0.id != leaked.id }
    #expect(minted.count == 1, "one replacement, never a second: \(minted); exit \(resumed.status): \(resumed.stderr)")
  }

  @Test func anUnusableStateStopsBeforeAnything() throws {
    let user = unique("nostate")
    let leaked = try moto.createUser(user)
    let cases: [(String, String?, String)] = [
      ("s3://\(unique("no-such-bucket"))/team", nil, "does not exist"),
      ("https://example.com/team", nil, "is not an s3:// URL"),
      ("s3://Bad_Bucket/team", nil, "is not an S3 bucket name"),
      (try bucket().url, "forever", "RESPOND_STATE_RETENTION_DAYS"),
    ]
    for (n, (url, days, said)) in cases.enumerated() {
      var a = machine("bad\(n)", state: url)
      a.env["RESPOND_STATE_RETENTION_DAYS"] = days
      let o = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", a.out], environment: a.env)
      #expect(o.status == 2 && o.stderr.contains(said) && o.stderr.contains("nothing was done"), "\(url): \(o.stderr)")
      let made = (try? FileManager.default.contentsOfDirectory(atPath: a.out))?.filter { !$0.hasPrefix(".") } ?? []
      #expect(made.isEmpty, "no incident folder: \(made)")
    }
    #expect(try moto.keys(of: user).map(\.status) == ["Active"], "the key was not touched")
  }
}
