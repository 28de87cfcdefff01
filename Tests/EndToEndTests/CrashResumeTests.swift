import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Crash anywhere, resume to the right end state. The live AWS key-compromised runbook (moto +
/// OpenBao, --vault-path) is SIGKILLed at many points over the whole run, with the test-only
/// hooks `RESPOND_TEST_CRASH_AT=<journal record>` (just after the record is fsync'd) and
/// `RESPOND_TEST_CRASH_AFTER_RESPONSE=<n>` (an HTTP answer arrived, nothing journaled yet), then
/// `respond resume DIR --yes` runs until it finishes. Every trial must end in the one right
/// state: the leaked key Inactive or gone, exactly one new Active key, Vault holding it and it
/// authenticating, a readable journal, a report that says it was resumed, and no secret on disk.
@Suite(.serialized) struct CrashResumeTests {
  let services: TestServices
  let moto: MotoFixture
  let root = NSTemporaryDirectory() + "respond-crash-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
  }

  /// CloudTrail answered by the botocore-checked emulator (moto has none).
  let cloudtrail: CloudTrailEmulator

  var environment: [String: String] { cloudtrail.awsEnvironment(vault: true) }

  /// One kill point: which hook, and its value.
  struct KillPoint: CustomStringConvertible {
    var variable: String
    var value: String
    var description: String { "\(variable)=\(value)" }
  }

  /// A user whose key leaked, stored in Vault (secret/<path>) with another field that must survive.
  struct Planted {
    var user: String
    var id: String
    var secret: String
    var path: String
  }

  /// Creates `n` planted users in one fixture process (boto3 + Vault's HTTP API).
  func plant(_ n: Int) throws -> [Planted] {
    let text = try runProgram(
      "/usr/bin/env",
      [
        "python3", services.repoRoot + "/Tests/Support/batch_fixture.py", "setup", services.motoURL, services.baoAddr,
        "crash-" + UUID().uuidString.prefix(6).lowercased(), "\(n)",
      ],
      environment: fixtureEnvironment)
    return (Value.parseJSON(text)?.arrayValue ?? []).map {
      Planted(
        user: $0["user"]?.stringValue ?? "", id: $0["id"]?.stringValue ?? "",
        secret: $0["secret"]?.stringValue ?? "", path: $0["path"]?.stringValue ?? "")
    }
  }

  var fixtureEnvironment: [String: String] {
    [
      "RESPOND_TEST_AWS_ACCESS_KEY_ID": services.awsAccessKeyID,
      "RESPOND_TEST_AWS_SECRET_ACCESS_KEY": services.awsSecretAccessKey, "VAULT_TOKEN": services.baoToken,
    ]
  }

  /// After the fact, for every trial in one process: the user's keys, Vault's fields, and
  /// whether the stored key authenticates.
  func check(_ planted: [Planted]) throws -> [Value] {
    let file = root + "/check.json"
    let list = Value.array(planted.map { .object(["user": .string($0.user), "path": .string($0.path)]) })
    try list.jsonString().write(toFile: file, atomically: true, encoding: .utf8)
    let text = try runProgram(
      "/usr/bin/env",
      [
        "python3", services.repoRoot + "/Tests/Support/batch_fixture.py", "check", services.motoURL, services.baoAddr,
        file,
      ],
      environment: fixtureEnvironment)
    return Value.parseJSON(text)?.arrayValue ?? []
  }

  func args(key: String, path: String, out: String) -> [String] {
    ["key-compromised", "--key", key, "--vault-path", "secret/\(path)", "--yes", "--out", out]
  }

  /// A full run without a crash: how many journal records and HTTP answers it has, and where
  /// `create` finished (the point between minting the replacement and storing it).
  func baseline(_ p: Planted) throws -> (records: Int, responses: Int, createFinished: Int) {
    var env = environment
    env["RESPOND_TIMING"] = "1"
    let o = try runRespond(args(key: p.id, path: p.path, out: root + "/baseline"), environment: env)
    try #require(o.status == 0, "baseline run failed: \(o.stderr)")
    let state = try IncidentState.load(journal: (o.lastLine as NSString).deletingLastPathComponent + "/journal.jsonl")
    let requests = o.stderr.split(separator: "requests=").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
    let createFinished = state.records.last { $0.type == .stepFinished && $0.step == "create" }?.seq ?? 0
    try #require(requests > 5 && createFinished > 0, "baseline: \(o.stderr)")
    return (state.records.count, requests, createFinished)
  }

  /// What one trial left behind, checked once every trial has run.
  struct Trial {
    var point: KillPoint
    var planted: Planted
    var dir: String
    var resumes: Int
    var diedAfterStep: String?
    var outcomes: [ProcessOutcome]
  }

  /// Kills one run at `point`, then resumes it (at most 3 times) until it finishes.
  func trial(_ point: KillPoint, _ p: Planted, index: Int) throws -> Trial {
    let out = root + "/t\(index)"
    var env = environment
    env[point.variable] = point.value
    let crashed = try runRespond(args(key: p.id, path: p.path, out: out), environment: env)
    #expect(
      crashed.status == SIGKILL,
      "\(point): the hook must kill the run (exit \(crashed.status)): \(crashed.stderr.suffix(400))")
    let folders = try FileManager.default.contentsOfDirectory(atPath: out).filter { !$0.hasPrefix(".") }
    try #require(folders.count == 1, "\(point): one incident folder, got \(folders)")
    let dir = out + "/" + folders[0]
    let before = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(before.damagedLines.isEmpty, "\(point): journal damaged: \(before.damagedLines)")
    var outcomes = [crashed]
    var resumes = 0
    for _ in 1...3 {
      resumes += 1
      let r = try runRespond(["resume", dir, "--yes"], environment: environment)
      outcomes.append(r)
      if r.status == 0 { break }
    }
    #expect(
      outcomes.last?.status == 0,
      "\(point): resume did not finish after \(resumes) tries: \(outcomes.last?.stderr.suffix(1200) ?? "")")
    return Trial(
      point: point, planted: p, dir: dir, resumes: resumes, diedAfterStep: before.stepOrder.last, outcomes: outcomes)
  }

  /// The one right end state, for a trial and what the fixtures found.
  func verify(_ t: Trial, _ found: Value) throws {
    let point = t.point
    // IAM: the leaked key Inactive or gone; exactly one other key, Active.
    let keys = (found["keys"]?.arrayValue ?? []).map { ($0["id"]?.stringValue ?? "", $0["status"]?.stringValue ?? "") }
    #expect(!keys.contains { $0.0 == t.planted.id && $0.1 == "Active" }, "\(point): leaked key still Active")
    let others = keys.filter { $0.0 != t.planted.id }
    #expect(others.count == 1 && others.first?.1 == "Active", "\(point): want one new Active key, got \(keys)")
    // The rerun guard names that key: the tag respond writes when it mints (issue 16).
    let tag = found["tags"]?["respond:replaces:\(t.planted.id)"]?.stringValue
    #expect(tag != nil && tag == others.first?.0, "\(point): respond:replaces tag \(tag ?? "absent"), keys \(keys)")
    // Vault holds that key, its other field kept, and the stored secret authenticates.
    let vault = found["vault"]?.objectValue ?? [:]
    #expect(
      vault["access_key_id"]?.stringValue == others.first?.0,
      "\(point): Vault holds \(vault["access_key_id"]?.stringValue ?? "nothing"), IAM has \(others)")
    #expect(vault["team"]?.stringValue == "ci", "\(point): Vault lost a field")
    let newSecret = vault["secret_access_key"]?.stringValue ?? ""
    #expect(!newSecret.isEmpty && newSecret != t.planted.secret)
    #expect(found["authenticates"]?.boolValue == true, "\(point): the stored key does not authenticate")
    // The journal parses (a torn last line is tolerated) and the report says it was resumed.
    let after = try IncidentState.load(journal: t.dir + "/journal.jsonl")
    #expect(after.damagedLines.isEmpty, "\(point): journal damaged: \(after.damagedLines)")
    #expect(after.status == .completed)
    #expect(after.resumes.count == t.resumes)
    let report = try String(contentsOfFile: t.dir + "/report.md", encoding: .utf8)
    #expect(report.contains("| Resumed | \(t.resumes) time(s)"), "\(point): the report does not say it was resumed")
    // No secret in any file of the incident folder, nor in any output.
    for secret in [t.planted.secret, newSecret, services.baoToken, services.awsSecretAccessKey] where !secret.isEmpty {
      for (path, text) in allFileContents(under: t.dir) {
        #expect(!text.contains(secret), "\(point): secret in \(path)")
      }
      for o in t.outcomes {
        #expect(!o.stdout.contains(secret) && !o.stderr.contains(secret), "\(point): secret in output")
      }
    }
  }

  /// Kill points spread over the whole run: every few journal records (plus the one right after
  /// `create` finished, before `store-vault`), every few HTTP answers, and the answer to
  /// CreateAccessKey itself.
  @Test(.timeLimit(.minutes(6))) func killedAnywhereResumeReachesTheRightEndState() throws {
    let base = try baseline(try #require(try plant(1).first))
    var points: [KillPoint] = []
    // About 20 journal records spread over the run (every 3rd for a short run), plus the
    // records right after `create` finished (before `store-vault` starts) and the last but one.
    let recordPoints = Set(stride(from: 1, to: base.records - 1, by: max(3, base.records / 20)))
      .union([base.createFinished, base.createFinished + 1, base.records - 1])
    for n in recordPoints.sorted() where n >= 1 && n < base.records {
      points.append(KillPoint(variable: "RESPOND_TEST_CRASH_AT", value: "\(n)"))
    }
    // About 10 HTTP answers (every other one for a short run), and the answers to each mutating
    // call and to the new key's check.
    for n in stride(from: 1, through: base.responses, by: max(2, base.responses / 10)) {
      points.append(KillPoint(variable: "RESPOND_TEST_CRASH_AFTER_RESPONSE", value: "\(n)"))
    }
    // Triage asks STS who respond is first: the new key's check is the second GetCallerIdentity.
    // PutUserPolicy is the deny of the owner's older sessions (a contain step after the key).
    // TagUser: create's "minting" marker (1), then the tag naming the new key (2), the window
    // between CreateAccessKey and the tag on either side.
    let specs = [
      "1:iam:CreateAccessKey", "1:iam:UpdateAccessKey", "1:iam:DeleteAccessKey", "2:sts:GetCallerIdentity",
      "1:iam:PutUserPolicy", "1:iam:TagUser", "2:iam:TagUser",
    ]
    for spec in specs {
      points.append(KillPoint(variable: "RESPOND_TEST_CRASH_AFTER_RESPONSE", value: spec))
    }
    let planted = try plant(points.count)
    try #require(planted.count == points.count)
    #expect(points.count >= 30, "at least 30 kill points, got \(points.count)")
    var trials: [Trial] = []
    for (i, point) in points.enumerated() { trials.append(try trial(point, planted[i], index: i)) }
    let found = try check(trials.map(\.planted))
    try #require(found.count == trials.count)
    for (t, f) in zip(trials, found) { try verify(t, f) }
    let line = trials.map { "\($0.point)→\($0.diedAfterStep ?? "-")/\($0.resumes)" }.joined(separator: " ")
    print("crash-resume: \(trials.count) trials over \(base.records) records and \(base.responses) responses: \(line)")
  }
}
