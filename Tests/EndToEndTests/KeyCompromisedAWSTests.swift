import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond key-compromised` as a user runs it: the built executable, real moto (SigV4 checked)
/// and a real OpenBao dev server, checked afterwards with independent clients (boto3, bao).
@Suite(.serialized) struct KeyCompromisedAWSTests {
  let services: TestServices
  let moto: MotoFixture
  let bao: BaoFixture
  /// CloudTrail LookupEvents, which moto lacks, served in front of moto with the demo's events.
  let cloudtrail: CloudTrailEmulator
  let out = NSTemporaryDirectory() + "respond-e2e-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    bao = BaoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
  }

  var environment: [String: String] { cloudtrail.awsEnvironment(vault: true) }

  func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

  /// Secrets that must appear in no output and no file.
  func assertNoSecrets(_ secrets: [String], in outcome: ProcessOutcome, incident: String?) {
    for s in secrets where !s.isEmpty {
      #expect(!outcome.stdout.contains(s), "secret in stdout")
      #expect(!outcome.stderr.contains(s), "secret in stderr")
      if let incident {
        for (path, text) in allFileContents(under: incident) { #expect(!text.contains(s), "secret in \(path)") }
      }
    }
  }

  func incidentDirectory(_ o: ProcessOutcome) -> String {
    (o.lastLine as NSString).deletingLastPathComponent
  }

  /// CloudTrail was read in every region enabled for the account (moto's DescribeRegions), all
  /// at once, no region over 2 requests per second, every request conforming to botocore's
  /// model; the key's events (in us-east-1) were found.
  func expectCloudTrailSearchedEveryRegion(incident: String, events: Int) throws {
    let state = try IncidentState.load(journal: incident + "/journal.jsonl")
    let step = try #require(state.steps["cloudtrail"])
    #expect(step.outcome == .succeeded)
    #expect(step.outputs["event-count"] == .number(Double(events)))
    let regions = step.outputs["regions"]?.arrayValue ?? []
    #expect(regions.count > 17 && regions.contains("us-east-1"), "\(regions)")
    let requests = try cloudtrail.requests()
    #expect(requests.allSatisfy { $0.problems.isEmpty }, "\(requests.flatMap(\.problems))")
    for (region, times) in Dictionary(grouping: requests, by: \.region).mapValues({ $0.map(\.start) }) {
      #expect(CloudTrailEmulator.busiestSecond(times) <= 2, "\(region) above 2 requests per second")
    }
  }

  @Test func liveResponseRotatesTheKeyEverywhereAndReportsIt() throws {
    let user = unique("ci-deployer")
    let leaked = try moto.createUser(user)
    let decoy = try moto.createUser(unique("bystander"))
    let group = unique("trail")
    // The attacker put the secret itself into a user agent: it must be masked from the first
    // line written (the secret store is read in detect, before any event is journaled).
    try moto.trail(group: group, key: leaked.id, decoys: [decoy.id], agent: "Boto3/1.34.0 k=" + leaked.secret)
    try cloudtrail.load(region: "us-east-1", logGroup: group)
    let vaultPath = "e2e/\(user)"
    try bao.put(vaultPath, ["access_key_id": leaked.id, "secret_access_key": leaked.secret, "region": "eu-west-1"])
    let secretID = unique("ci/aws")
    try moto.createSecret(
      secretID,
      json: "{\"access_key_id\":\"\(leaked.id)\",\"secret_access_key\":\"\(leaked.secret)\",\"note\":\"kept\"}")

    let o = try runRespond(
      [
        "key-compromised", "--key", leaked.id, "--vault-path", "secret/\(vaultPath)", "--secret-id", secretID,
        "--log-group", group, "--yes", "--out", out,
      ],
      environment: environment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(o.lastLine.hasSuffix("/report.md"))

    // IAM: the leaked key is gone and exactly one new Active key exists.
    let keys = try moto.keys(of: user)
    #expect(!keys.contains { $0.id == leaked.id })
    #expect(keys.count == 1)
    #expect(keys.first?.status == "Active")
    let newID = try #require(keys.first?.id)

    // Vault holds the new key, its secret authenticates, other fields are kept.
    let stored = try bao.get(vaultPath)
    #expect(stored["access_key_id"] == newID)
    #expect(stored["region"] == "eu-west-1")
    let newSecret = try #require(stored["secret_access_key"])
    #expect(newSecret != leaked.secret)
    #expect(moto.authenticates(newID, newSecret))
    #expect(!moto.authenticates(leaked.id, leaked.secret))

    // Secrets Manager too, with its other field kept.
    let sm = Value.parseJSON(try moto.secretString(secretID))
    #expect(sm?["access_key_id"]?.stringValue == newID)
    #expect(sm?["note"]?.stringValue == "kept")

    // The report names both key ids and the key's own audit events only.
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("LIVE: CONTAINED"))
    #expect(report.contains(leaked.id))
    #expect(report.contains(newID))
    #expect(report.contains("203.0.113.7"))
    #expect(report.contains("CreateUser"))
    #expect(!report.contains("192.0.2.1"), "a decoy key's events leaked into the evidence")
    #expect(report.contains("```mermaid"))
    #expect(
      report.contains("| Last used | none recorded by IAM |"),
      "IAM recorded no use: the report says so, not that the key was never used")
    try expectCloudTrailSearchedEveryRegion(incident: incidentDirectory(o), events: 3)

    // Files and folder are private; no secret anywhere.
    let dir = incidentDirectory(o)
    let dirMode = try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int
    #expect(dirMode == 0o700)
    for name in ["journal.jsonl", "report.md", "report.json"] {
      let mode = try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.posixPermissions] as? Int
      #expect(mode == 0o600, "\(name) mode")
    }
    assertNoSecrets([leaked.secret, newSecret, services.baoToken, services.awsSecretAccessKey], in: o, incident: dir)

    // The postmortem draft is written from the journal and evidence: golden, names normalised.
    try PostmortemGolden.check(
      incident: dir, golden: "postmortem-aws.md",
      replacing: [
        (leaked.id, "<leaked-key>"), (newID, "<new-key>"), (user, "<user>"), (decoy.id, "<decoy-key>"),
        (group, "<log-group>"), (vaultPath, "<vault-path>"), (secretID, "<secret-id>"), (out, "<out>"),
      ])

    // The second run is given no secret store, so respond is never told the secret the attacker
    // wrote into a user agent; CloudTrail still answers with those events. The secret is masked
    // all the same: the audit readers recognise a secret access key by its shape.
    // A second run on the now-deleted key mints nothing. IAM not knowing the key proves nothing
    // (it may be another account's): NOT CONTAINED, exit 4, until a person confirms it.
    let again = try runRespond(
      ["key-compromised", "--key", leaked.id, "--yes", "--out", out], environment: environment)
    #expect(again.status == 4, "stderr: \(again.stderr)")
    #expect(again.stderr.contains("LIVE: NOT CONTAINED: containment is left to a person"))
    #expect(try moto.keys(of: user).count == 1)
    let againReport = try String(contentsOfFile: again.lastLine, encoding: .utf8)
    #expect(againReport.contains("was not found"))
    #expect(againReport.contains("k=sha256:"), "the attacker's user agent is in the report, its secret masked")
    assertNoSecrets([leaked.secret], in: again, incident: incidentDirectory(again))
  }

  /// Issue 12, item 8, with Secrets Manager as the only store: the secret it holds is masked from
  /// detect on, so an attacker's user agent carrying it is never journaled in clear.
  @Test func aSecretsManagerStoreIsReadInDetectSoItsValuesAreMasked() throws {
    let user = unique("sm-only")
    let leaked = try moto.createUser(user)
    let group = unique("trail")
    try moto.trail(group: group, key: leaked.id, decoys: [], agent: "Boto3/1.34.0 k=" + leaked.secret)
    try cloudtrail.load(region: "us-east-1", logGroup: group)
    let secretID = unique("ci/aws")
    try moto.createSecret(
      secretID, json: "{\"access_key_id\":\"\(leaked.id)\",\"secret_access_key\":\"\(leaked.secret)\"}")
    let o = try runRespond(
      ["key-compromised", "--key", leaked.id, "--secret-id", secretID, "--log-group", group, "--yes", "--out", out],
      environment: environment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let dir = incidentDirectory(o)
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(state.steps["secrets-manager-read"]?.outcome == .succeeded)
    #expect(try String(contentsOfFile: dir + "/report.md", encoding: .utf8).contains("CreateUser"))
    assertNoSecrets([leaked.secret, services.awsSecretAccessKey], in: o, incident: dir)
  }

  @Test func aDryRunChangesNothingAndShowsEveryChange() throws {
    let user = unique("dry")
    let leaked = try moto.createUser(user)
    let vaultPath = "e2e/\(user)"
    try bao.put(vaultPath, ["access_key_id": leaked.id, "secret_access_key": leaked.secret])
    let o = try runRespond(
      ["key-compromised", "--key", leaked.id, "--vault-path", "secret/\(vaultPath)", "--dry-run", "--out", out],
      environment: environment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let keys = try moto.keys(of: user)
    #expect(keys.count == 1 && keys.first?.id == leaked.id && keys.first?.status == "Active")
    #expect(try bao.get(vaultPath)["access_key_id"] == leaked.id)
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("(DRILL)"))
    #expect(report.contains("Would send (not sent)"))
    #expect(report.contains("Action=UpdateAccessKey"))
    let state = try IncidentState.load(journal: incidentDirectory(o) + "/journal.jsonl")
    for id in ["deactivate", "create"] {
      #expect(state.steps[id]?.outcome == .skippedDryRun, "\(id)")
    }
    assertNoSecrets(
      [leaked.secret, services.baoToken, services.awsSecretAccessKey], in: o, incident: incidentDirectory(o))
  }

  @Test func withoutYesAndWithoutATerminalTheRunStopsAtTheGate() throws {
    let user = unique("gate")
    let leaked = try moto.createUser(user)
    let o = try runRespond(["key-compromised", "--key", leaked.id, "--out", out], environment: environment)
    #expect(o.status == 3)
    #expect(try moto.keys(of: user).first?.status == "Active")
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("STOPPED at approval gate `deactivate`"))
    // Resuming with --yes finishes the response.
    let r = try runRespond(["resume", incidentDirectory(o), "--yes"], environment: environment)
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let keys = try moto.keys(of: user)
    #expect(keys.count == 1 && keys.first?.id != leaked.id)
    #expect(try String(contentsOfFile: r.lastLine, encoding: .utf8).contains("| Resumed | 1 time(s)"))
  }

  /// The replacement was created but could not be stored (Vault was down), and the process that
  /// held its secret is gone. Resume must not leave that key active and unrecorded: it deletes
  /// it (its id is in the journal) and mints a fresh one that it then stores.
  @Test func resumeAfterTheReplacementWasCreatedButNotStoredLeavesNoOrphan() throws {
    let user = unique("orphan")
    let leaked = try moto.createUser(user)
    let vaultPath = "e2e/\(user)"
    try bao.put(vaultPath, ["access_key_id": leaked.id, "secret_access_key": leaked.secret, "team": "ci"])
    var down = environment
    down["VAULT_ADDR"] = "http://127.0.0.1:9"  // nothing listens on the discard port
    let first = try runRespond(
      ["key-compromised", "--key", leaked.id, "--vault-path", "secret/\(vaultPath)", "--yes", "--out", out],
      environment: down)
    #expect(first.status == 1, "stderr: \(first.stderr)")
    let dir = incidentDirectory(first)
    let crashed = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(crashed.stoppedAt == "store-vault")
    let orphan = try #require(crashed.steps["create"]?.outputs["access-key-id"]?.stringValue)
    #expect(try moto.keys(of: user).contains { $0.id == orphan && $0.status == "Active" })

    let resumed = try runRespond(["resume", dir, "--yes"], environment: environment)
    #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
    let keys = try moto.keys(of: user)
    #expect(!keys.contains { $0.id == orphan }, "the unrecorded replacement must be deleted")
    #expect(!keys.contains { $0.id == leaked.id })
    #expect(keys.count == 1 && keys.first?.status == "Active")
    let stored = try bao.get(vaultPath)
    #expect(stored["access_key_id"] == keys.first?.id)
    #expect(stored["team"] == "ci")
    let secret = try #require(stored["secret_access_key"])
    #expect(moto.authenticates(keys.first!.id, secret))
    let report = try String(contentsOfFile: resumed.lastLine, encoding: .utf8)
    #expect(report.contains("| Resumed | 1 time(s)"))
    #expect(report.contains("undone on resume"))
    assertNoSecrets([leaked.secret, secret, services.baoToken], in: resumed, incident: dir)
  }

  @Test func temporaryCredentialsDenyOlderSessionsOfTheRole() throws {
    let role = unique("app-role")
    try moto.createRole(role)
    let asia = "ASIA" + String(repeating: "Q", count: 12) + "ABCD"
    let o = try runRespond(
      ["key-compromised", "--key", asia, "--role", role, "--yes", "--out", out], environment: environment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let policy = try moto.rolePolicy(role: role, policy: "AWSRevokeOlderSessions")
    #expect(policy.contains("aws:TokenIssueTime"))
    #expect(policy.contains("Deny"))
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("LIVE: CONTAINED"))
  }

  /// Issue 13: missing credentials were found at step 2, after the incident existed (exit 1).
  /// The preflight finds them before anything: exit 2, nothing changed, the variables named.
  @Test func missingCredentialsFailWithAClearMessage() throws {
    let o = try runRespond(
      ["key-compromised", "--key", "AKIAIOSFODNN7EXAMPLE", "--yes", "--out", out],
      environment: ["AWS_ENDPOINT_URL": services.motoURL, "HOME": NSTemporaryDirectory() + UUID().uuidString])
    #expect(o.status == 2, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("AWS credentials: not configured"))
    #expect(o.stderr.contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"))
    #expect(o.stderr.contains("nothing was changed"))
    #expect(o.stdout.isEmpty, "no incident, no report")
  }

  @Test func anEndpointThatRefusesConnectionsFailsTheStepAndStaysResumable() throws {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    _ = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
    }
    let port = UInt16(bigEndian: addr.sin_port)
    close(s)  // nothing listens there now
    var env = environment
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(port)"
    let o = try runRespond(
      ["key-compromised", "--key", "AKIAIOSFODNN7EXAMPLE", "--yes", "--out", out], environment: env)
    #expect(o.status == 1)
    #expect(o.stderr.contains("127.0.0.1:\(port)"))
    let state = try IncidentState.load(journal: incidentDirectory(o) + "/journal.jsonl")
    #expect(state.status == .failed)
    #expect(state.stoppedAt == "owner")
  }

  /// A drill against moto with credentials: the containment path's reads are measured, the
  /// changes estimated, and with everything ready and well within two minutes the drill passes.
  @Test func aReadyDrillIsScoredAndPasses() throws {
    let user = unique("drill-owner")
    let leaked = try moto.createUser(user)
    let o = try runRespond(
      ["drill", "key-compromised", "--key", leaked.id, "--out", out], environment: environment)
    #expect(o.status == 0, "\(o.stderr)")
    let dir = incidentDirectory(o)
    let json = try #require(Value.parseJSON(String(contentsOfFile: dir + "/report.json", encoding: .utf8)))
    let drill = try #require(json["drill"])
    #expect(drill["passed"]?.boolValue == true, "\(drill)")
    #expect(drill["score"]?.intValue == 100)
    #expect(drill["ready-steps"]?.intValue == drill["total-steps"]?.intValue)
    // The deactivation was not sent but is estimated from the AWS reads the drill measured.
    #expect((drill["measured-ms"]?.intValue ?? 0) > 0)
    #expect((drill["estimated-ms"]?.intValue ?? 0) > 0)
    let md = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(md.contains("| Drill score | **100/100**, passed"))
    // The terminal says the score and its rule too, right after the status line.
    #expect(
      o.stderr.contains("respond: drill score 100/100, passed: readiness \(drill["ready-steps"]?.intValue ?? -1)/"),
      "\(o.stderr.suffix(600))")
    // The key was not touched: a drill changes nothing.
    #expect(try moto.keys(of: user).map(\.status) == ["Active"])
  }
}

/// The shipped runbooks and the CLI contract, without servers.
@Suite struct CLIContractTests {
  @Test func shippedRunbooksValidate() throws {
    let o = try runRespond(["validate", TestServices.repositoryRoot() + "/Runbooks"], environment: [:])
    #expect(o.status == 0, "\(o.stdout)\(o.stderr)")
  }

  @Test func anInvalidRunbookExitsTwoWithLocatedErrors() throws {
    let dir = NSTemporaryDirectory() + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "runbook: x\nphases:\n  detect:\n    - id: a\n      action: nope.nothing\n".write(
      toFile: dir + "/x.yaml", atomically: true, encoding: .utf8)
    let o = try runRespond(["validate", dir + "/x.yaml"], environment: [:])
    #expect(o.status == 2)
    #expect(o.stdout.contains("x.yaml:5:15: error: unknown action 'nope.nothing'"))
    let run = try runRespond(["x", "--runbooks", dir, "--out", dir + "/incidents"], environment: [:])
    #expect(run.status == 2)
    #expect(!FileManager.default.fileExists(atPath: dir + "/incidents"), "an invalid runbook must never start")
  }

  @Test func badUsageExitsTwo() throws {
    let root = TestServices.repositoryRoot()
    let missing = try runRespond(["key-compromised", "--runbooks", root + "/Runbooks"], environment: [:])
    #expect(missing.status == 2)
    #expect(missing.stderr.contains("missing required input --key"))
    let unknown = try runRespond(
      ["key-compromised", "--runbooks", root + "/Runbooks", "--key", "x", "--vault-pth", "y"], environment: [:])
    #expect(unknown.status == 2)
    #expect(unknown.stderr.contains("did you mean --vault-path?"))
  }

  /// libcurl (about 30 shared libraries) is loaded only by commands that may use the network:
  /// the loader's own trace (glibc's LD_DEBUG=files) names every library a process opens.
  @Test func onlyCommandsThatMayUseTheNetworkLoadLibcurl() throws {
    let root = TestServices.repositoryRoot()
    func loadsLibcurl(_ args: [String]) throws -> Bool {
      let o = try runRespond(args, environment: ["LD_DEBUG": "files", "HOME": NSTemporaryDirectory()])
      return o.stderr.contains("file=libcurl.so.4")
    }
    #expect(try !loadsLibcurl(["--version"]))
    #expect(try !loadsLibcurl(["validate", root + "/Runbooks/key-compromised.yaml"]))
    #expect(try !loadsLibcurl(["identify", "--key", "AKIAIOSFODNN7EXAMPLE"]))
    #expect(try !loadsLibcurl(["key-compromised", "--runbooks", root + "/Runbooks", "--help"]))
    let out = NSTemporaryDirectory() + "respond-curl-" + UUID().uuidString
    #expect(
      try loadsLibcurl(
        ["drill", "key-compromised", "--runbooks", root + "/Runbooks", "--key", "AKIAIOSFODNN7EXAMPLE", "--out", out]))
  }

  @Test func aDrillWithNoCredentialsSaysWhatEachStepNeeds() throws {
    let out = NSTemporaryDirectory() + "respond-drill-" + UUID().uuidString
    let o = try runRespond(
      [
        "drill", "key-compromised", "--runbooks", TestServices.repositoryRoot() + "/Runbooks", "--key",
        "AKIAIOSFODNN7EXAMPLE", "--vault-path", "secret/ci/aws", "--out", out,
      ],
      environment: ["HOME": out])
    #expect(o.status == 0, "\(o.stderr)")
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("(DRILL)"))
    #expect(report.contains("## Drill readiness"))
    #expect(report.contains("AWS_ACCESS_KEY_ID"))
    // Not ready here (no AWS credentials): the drill is scored and does not pass.
    let dir0 = (o.lastLine as NSString).deletingLastPathComponent
    let drill = try #require(Value.parseJSON(String(contentsOfFile: dir0 + "/report.json", encoding: .utf8))?["drill"])
    #expect(drill["passed"]?.boolValue == false)
    #expect(drill["target-ms"]?.intValue == 120_000)
    #expect((drill["ready-steps"]?.intValue ?? 0) < (drill["total-steps"]?.intValue ?? 0))
    #expect(report.contains("## Drill score"))

    // `respond report` re-renders the same report from the journal alone.
    let dir = (o.lastLine as NSString).deletingLastPathComponent
    try FileManager.default.removeItem(atPath: dir + "/report.md")
    let again = try runRespond(["report", dir], environment: ["HOME": out])
    #expect(again.status == 0)
    #expect(again.lastLine == o.lastLine)
    #expect(try String(contentsOfFile: again.lastLine, encoding: .utf8) == report)
  }
}
