import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Crash inside session denial and eradication, resume to the right end state, each change made
/// once. The attacker scenario of `KeyCompromisedAttackerTests` (a backdoor user with its own key,
/// an attached policy and a console password, and a role the leaked key assumed, in CloudWatch
/// Logs) is run with `respond key-compromised --log-group ... --yes` and SIGKILLed inside
/// `deny-user-sessions`, `deny-role-sessions` and `eradicate`: at their journal records
/// (`RESPOND_TEST_CRASH_AT`: started, before any call; finished, before the next step) and right
/// after the provider answered one of their changes (`RESPOND_TEST_CRASH_AFTER_RESPONSE`: IAM
/// acted, respond never learned of it). Then `respond resume DIR --yes` runs until it finishes.
/// respond talks to moto through `faultproxy.py`, which counts every change IAM was asked for.
/// Checked after every trial with boto3: the backdoor's key Inactive, its policy detached, its
/// console password gone, it denied everything; the owner's and the role's older sessions denied;
/// the leaked key gone and exactly one replacement. And exactly once: every step finished once in
/// the journal, the report lists each eradication change once (all verified), and IAM received
/// each change as often as in a run without a crash, except the interrupted step's own changes
/// and, inside a concurrent group (`deactivate` with `deny-user-sessions`), any member's, which a
/// resume may repeat (they are idempotent: the same policy, the same state).
@Suite(.serialized) final class AttackerCrashResumeTests {
  let services: TestServices
  let moto: MotoFixture
  let cloudtrail: CloudTrailEmulator
  let root = NSTemporaryDirectory() + "respond-attacker-crash-" + UUID().uuidString
  let proxy: FaultProxy
  var proxyURL: String { proxy.url }

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
    proxy = try FaultProxy(services, target: services.motoURL)
  }

  /// AWS through the counting proxy; CloudTrail (which moto lacks) at the emulator.
  var environment: [String: String] { cloudtrail.awsEnvironment(endpoint: proxyURL) }

  /// The IAM changes every run asks for; the counts are compared with the run without a crash.
  static let changes: Set<String> = [
    "UpdateAccessKey", "CreateAccessKey", "DeleteAccessKey", "PutUserPolicy", "PutRolePolicy", "DeleteLoginProfile",
    "DetachUserPolicy", "TagUser",
  ]

  /// The changes each step under test makes (what its resume may ask again).
  static let stepChanges: [String: Set<String>] = [
    "deny-user-sessions": ["PutUserPolicy"], "deny-role-sessions": ["PutRolePolicy"],
    "eradicate": ["UpdateAccessKey", "DeleteLoginProfile", "PutUserPolicy", "TagUser", "DetachUserPolicy"],
  ]

  /// The changes of every member of a step's concurrent group. A journal record of one member is
  /// no quiet point for the others: a kill there may catch any member's change in flight (the
  /// records of two members interleave differently from run to run, so the baseline's record n
  /// may be the other member's), and the resume reconciles and may ask it again (idempotent: the
  /// leaked key set Inactive again, the same deny policy).
  static let groupChanges: [String: Set<String>] = ["deny-user-sessions": ["UpdateAccessKey", "PutUserPolicy"]]

  /// The changes IAM was asked for since the last call, by operation.
  func takeChanges() throws -> [String: Int] {
    let text = try runProgram("/usr/bin/env", ["curl", "-s", "--max-time", "5", proxyURL + "/_fault/stats"])
    _ = try runProgram("/usr/bin/env", ["curl", "-s", "--max-time", "5", "-X", "POST", proxyURL + "/_fault/reset"])
    var counts: [String: Int] = [:]
    for entry in Value.parseJSON(text)?["log"]?.arrayValue ?? [] {
      if let op = entry.arrayValue?.first?.stringValue, Self.changes.contains(op) { counts[op, default: 0] += 1 }
    }
    return counts
  }

  func fixture(_ args: [String]) throws -> Value {
    let text = try runProgram(
      "/usr/bin/env", ["python3", services.repoRoot + "/Tests/Support/moto_fixture.py"] + args,
      environment: [
        "RESPOND_TEST_AWS_ACCESS_KEY_ID": services.awsAccessKeyID,
        "RESPOND_TEST_AWS_SECRET_ACCESS_KEY": services.awsSecretAccessKey,
      ])
    return try #require(Value.parseJSON(text))
  }

  /// A victim whose leaked key made a backdoor user and assumed a role, as in the attacker test.
  struct Attack {
    var user: String
    var key: String
    var group: String
    var backdoor: String
    var backdoorKey: String
    var role: String
    var secrets: [String]
  }

  func plant() throws -> Attack {
    let user = "crash-victim-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let group = "trail-\(user)"
    let a = try fixture(["attack", services.motoURL, group, user, leaked.id, leaked.secret])
    func s(_ key: String) throws -> String { try #require(a[key]?.stringValue) }
    let secrets = [
      leaked.secret, try s("backdoor_secret"), try s("password"), try s("session_secret"), try s("session_token"),
    ]
    for secret in secrets { recordTestSecret(secret) }
    return Attack(
      user: user, key: leaked.id, group: group, backdoor: try s("backdoor_user"), backdoorKey: try s("backdoor_key"),
      role: try s("role"), secrets: secrets)
  }

  func args(_ a: Attack, out: String) -> [String] {
    ["key-compromised", "--key", a.key, "--log-group", a.group, "--yes", "--out", out]
  }

  func dirname(_ path: String) -> String { (path as NSString).deletingLastPathComponent }

  /// A run without a crash: the journal records where each step under test starts and finishes,
  /// and the changes IAM was asked for.
  func baseline() throws -> (records: [String: Int], changes: [String: Int], eradicated: Int) {
    let a = try plant()
    _ = try takeChanges()
    let o = try runRespond(args(a, out: root + "/baseline"), environment: environment)
    try #require(o.status == 0, "baseline run failed: \(o.stderr.suffix(1200))")
    let changes = try takeChanges()
    let state = try IncidentState.load(journal: dirname(o.lastLine) + "/journal.jsonl")
    var records: [String: Int] = [:]
    for r in state.records where r.type == .stepStarted || r.type == .stepFinished {
      guard let step = r.step, Self.stepChanges[step] != nil else { continue }
      records["\(step) \(r.type == .stepStarted ? "started" : "finished")"] = r.seq
    }
    try #require(records.count == 6, "the baseline ran every step under test: \(records)")
    let eradicated = Set(try eradicationChanges(dirname(o.lastLine)).compactMap { $0["change"]?.stringValue }).count
    try #require(eradicated >= 4, "the baseline undid the backdoor: \(eradicated) change(s)")
    return (records, changes, eradicated)
  }

  /// The eradication changes the report lists.
  func eradicationChanges(_ dir: String) throws -> [Value] {
    let json = try #require(Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))))
    let step = (json["steps"]?.arrayValue ?? []).first { $0["id"] == "eradicate" }
    return step?["outputs"]?["changes"]?.arrayValue ?? []
  }

  /// One kill point, and the step it must land in.
  struct KillPoint: CustomStringConvertible {
    var variable: String
    var value: String
    var step: String
    var description: String { "\(variable)=\(value) (\(step))" }
  }

  /// Kills one run at `point`, resumes it (at most 3 times) until it finishes, and checks it.
  func trial(_ point: KillPoint, index: Int, baseline: [String: Int], eradicated: Int) throws {
    let a = try plant()
    let out = root + "/t\(index)"
    _ = try takeChanges()
    var env = environment
    env[point.variable] = point.value
    let crashed = try runRespond(args(a, out: out), environment: env)
    #expect(crashed.status == SIGKILL, "\(point): the hook must kill the run: \(crashed.stderr.suffix(400))")
    let folders = try FileManager.default.contentsOfDirectory(atPath: out).filter { !$0.hasPrefix(".") }
    try #require(folders.count == 1, "\(point): one incident folder, got \(folders)")
    let dir = out + "/" + folders[0]
    let before = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(before.stepOrder.last == point.step, "\(point): died in \(before.stepOrder.last ?? "-")")
    var outcomes = [crashed]
    for _ in 1...3 {
      outcomes.append(try runRespond(["resume", dir, "--yes"], environment: environment))
      if outcomes.last?.status == 0 { break }
    }
    try #require(
      outcomes.last?.status == 0, "\(point): resume did not finish: \(outcomes.last?.stderr.suffix(1200) ?? "")")
    try checkState(point, a)
    try checkOnce(point, dir: dir, changes: try takeChanges(), baseline: baseline, eradicated: eradicated)
    for secret in a.secrets {
      for o in outcomes {
        #expect(!o.stdout.contains(secret) && !o.stderr.contains(secret), "\(point): secret in output")
      }
      for (path, text) in allFileContents(under: dir) { #expect(!text.contains(secret), "\(point): secret in \(path)") }
    }
  }

  /// The one right end state, read with boto3.
  func checkState(_ point: KillPoint, _ a: Attack) throws {
    let backdoor = try fixture(["iam-state", services.motoURL, a.backdoor])
    #expect(backdoor["keys"]?[a.backdoorKey]?.stringValue == "Inactive", "\(point): backdoor key \(backdoor)")
    #expect(backdoor["attached"]?.arrayValue?.isEmpty == true, "\(point): the attacker's policy is still attached")
    #expect(backdoor["login_profile"] == false, "\(point): the backdoor's console password is still there")
    // Inline policies by name: a change made twice under two names would show here.
    let inline = { (v: Value, key: String) in Set((v[key]?.arrayValue ?? []).compactMap(\.stringValue)) }
    #expect(inline(backdoor, "inline") == ["RespondQuarantineDenyAll"], "\(point): \(backdoor)")
    let victim = try fixture(["iam-state", services.motoURL, a.user, a.role])
    let keys = victim["keys"]?.objectValue ?? [:]
    #expect(keys[a.key] == nil, "\(point): the leaked key is still there: \(keys)")
    #expect(keys.count == 1 && keys.values.first == "Active", "\(point): want one replacement, Active: \(keys)")
    #expect(
      inline(victim, "inline") == ["ci-admin", "AWSRevokeOlderSessions", "RespondQuarantineDenyAll"],
      "\(point): the owner's inline policies \(victim)")
    #expect(inline(victim, "role_inline") == ["AWSRevokeOlderSessions"], "\(point): the role's \(victim)")
    #expect(victim["login_profile"] == false, "\(point): the owner's console password is still there")
  }

  /// Exactly once: the journal, the report and what IAM was asked for.
  func checkOnce(_ point: KillPoint, dir: String, changes: [String: Int], baseline: [String: Int], eradicated: Int)
    throws
  {
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(state.damagedLines.isEmpty, "\(point): journal damaged: \(state.damagedLines)")
    #expect(state.status == .completed)
    var finished: [String: Int] = [:]
    for r in state.records where r.type == .stepFinished { finished[r.step ?? "", default: 0] += 1 }
    #expect(
      finished.values.allSatisfy { $0 == 1 }, "\(point): a step finished twice: \(finished.filter { $0.value > 1 })")
    let listed = try eradicationChanges(dir)
    // Each artefact's change once per event (a key the attacker made is deactivated for the user
    // it made and for the key it made: two events), and every kind of change of the run without
    // a crash (a change made before the kill may be listed under the other event only).
    let names = listed.compactMap { $0["change"]?.stringValue }
    let perEvent = listed.map { "\($0["event-id"]?.stringValue ?? "") \($0["change"]?.stringValue ?? "")" }
    #expect(Set(perEvent).count == perEvent.count, "\(point): a change listed twice: \(perEvent)")
    #expect(Set(names).count == eradicated, "\(point): eradication changes \(names)")
    #expect(listed.allSatisfy { $0["verified"]?.boolValue == true }, "\(point): an unverified change: \(listed)")
    let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(report.contains("| Resumed | "), "\(point): the report does not say it was resumed")
    // A kill at a journal record repeats nothing of the step; a kill after an answer may repeat
    // only the interrupted step's own (idempotent) changes; inside a concurrent group either may
    // repeat any member's. Never a second replacement key.
    let own: Set<String> = point.variable == "RESPOND_TEST_CRASH_AT" ? [] : Self.stepChanges[point.step] ?? []
    let repeatable = own.union(Self.groupChanges[point.step] ?? [])
    for op in Self.changes {
      let (got, want) = (changes[op] ?? 0, baseline[op] ?? 0)
      if repeatable.contains(op) {
        #expect(got >= want, "\(point): \(op) asked \(got) time(s), \(want) without a crash")
      } else {
        #expect(got == want, "\(point): \(op) asked \(got) time(s), \(want) without a crash")
      }
    }
    #expect(changes["CreateAccessKey"] == 1, "\(point): \(changes["CreateAccessKey"] ?? 0) replacement key(s) minted")
  }

  @Test(.timeLimit(.minutes(10))) func killedInsideSessionDenialAndEradicationResumesExactlyOnce() throws {
    let base = try baseline()
    var points: [KillPoint] = []
    for step in ["deny-user-sessions", "deny-role-sessions", "eradicate"] {
      for record in ["started", "finished"] {
        // At `finished` the run dies after the step: the journal's last step is still it.
        let n = try #require(base.records["\(step) \(record)"])
        points.append(KillPoint(variable: "RESPOND_TEST_CRASH_AT", value: "\(n)", step: step))
      }
    }
    // Right after IAM answered a change, before respond journaled it: the owner's deny (the
    // first PutUserPolicy), the role's deny, and inside eradication the backdoor's key
    // deactivated (the second UpdateAccessKey: the leaked key's is the first), the backdoor
    // tagged (mid-step) and the attacker's policy detached (its last kind of change).
    let answers = [
      ("1:iam:PutUserPolicy", "deny-user-sessions"), ("1:iam:PutRolePolicy", "deny-role-sessions"),
      ("2:iam:UpdateAccessKey", "eradicate"), ("1:iam:TagUser", "eradicate"), ("1:iam:DetachUserPolicy", "eradicate"),
    ]
    for (spec, step) in answers {
      points.append(KillPoint(variable: "RESPOND_TEST_CRASH_AFTER_RESPONSE", value: spec, step: step))
    }
    for (i, point) in points.enumerated() {
      try trial(point, index: i, baseline: base.changes, eradicated: base.eradicated)
    }
    print("attacker crash-resume: \(points.count) kill points; without a crash IAM was asked \(base.changes)")
  }
}
