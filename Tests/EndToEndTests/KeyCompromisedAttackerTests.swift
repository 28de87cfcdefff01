import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 16 as a user sees it: an attacker, signing with the leaked key on moto, made a backdoor
/// user with its own key, an attached administrator policy and a console password, and assumed
/// a role; the CloudTrail records of it are in CloudWatch Logs. `respond key-compromised --yes`
/// must triage it P1, deny the older sessions of the user and the role, undo the backdoor, and
/// name every artefact with its event id. Checked afterwards with boto3, not respond's client.
@Suite(.serialized) struct KeyCompromisedAttackerTests {
  let services: TestServices
  let moto: MotoFixture
  let out = NSTemporaryDirectory() + "respond-e2e-attacker-" + UUID().uuidString

  let cloudtrail: CloudTrailEmulator

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
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

  let prefix = "/attacker-\(UUID().uuidString.prefix(8).lowercased())"

  func curl(_ args: [String]) throws -> String {
    try runProgram("/usr/bin/curl", ["-sS", "--fail", "--max-time", "10"] + args)
  }

  /// moto plus PagerDuty at the recording receiver, and CloudTrail LookupEvents (which moto
  /// lacks) at the emulator, holding what was loaded into it (the attack's records, when loaded).
  func environment() throws -> [String: String] {
    var env = cloudtrail.awsEnvironment()
    env["PAGERDUTY_ROUTING_KEY"] = "R0UT1NGKEY" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    env["PAGERDUTY_EVENTS_URL"] = services.receiverURL + prefix + "/pagerduty"
    return env
  }

  /// The PagerDuty events sent, in order.
  func pages() throws -> [Value] {
    let q = (prefix + "/pagerduty").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? prefix
    let all = Value.parseJSON(try curl([services.receiverURL + "/_control/requests?path=" + q]))?.arrayValue ?? []
    return all.compactMap { $0["body"]?.stringValue.flatMap(Value.parseJSON) }
  }

  /// Containment first: the first page goes out before triage, at the highest urgency; triage
  /// (after the key is verified Inactive) re-pages the same incident with the severity. A leaked
  /// key whose owner may do nothing is P4: that second page is informational.
  @Test func theFirstPageIsCriticalAndTriageUpdatesItWithTheSeverity() throws {
    let user = "quiet-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let o = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", out], environment: environment())
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let pages = try pages()
    let first = try #require(pages.first)
    #expect(first.pointer("/payload/severity") == "critical")
    #expect(first.pointer("/payload/custom_details/severity") == "not triaged yet")
    let triaged = try #require(pages.dropFirst().first)
    #expect(triaged["event_action"] == "trigger" && triaged["dedup_key"] == first["dedup_key"], "\(pages)")
    #expect(triaged.pointer("/payload/severity") == "info")
    #expect(triaged.pointer("/payload/custom_details/severity") == "P4")
    #expect(triaged.pointer("/payload/summary")?.stringValue?.hasPrefix("P4 leaked aws access-key") == true)
    // The page after triage comes after containment was verified, not before.
    let state = try IncidentState.load(journal: dirname(o.lastLine) + "/journal.jsonl")
    let order = state.records.compactMap { $0.type == .stepFinished ? $0.step : nil }
    let at = { (step: String) in order.firstIndex(of: step) ?? Int.max }
    #expect(at("check-inactive") < at("triage") && at("check-user-sessions-denied") < at("triage"), "\(order)")
    #expect(at("triage") < at("page-severity"), "\(order)")
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("| Severity | P4: no permissions found for the key's owner |"))
    #expect(!report.contains("## What the key did"), "no audit source, nothing classified: no empty section")
  }

  /// The leaked key minted a second key for its own user: that newer Active key is the
  /// attacker's, not a replacement. Eradication deactivates it and a replacement is minted, so
  /// the owner is not left with no working key (a guard that took any newer Active key for a
  /// replacement minted none).
  @Test func aKeyTheAttackerMadeForTheOwnerIsNoReplacement() throws {
    let user = "twin-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let group = "trail-\(user)"
    let twin = try fixture(["twin", services.motoURL, group, user, leaked.id, leaked.secret])
    let twinKey = try #require(twin["twin_key"]?.stringValue)
    recordTestSecret(try #require(twin["twin_secret"]?.stringValue))
    let o = try runRespond(
      ["key-compromised", "--key", leaked.id, "--log-group", group, "--yes", "--out", out],
      environment: try environment())
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let state = try IncidentState.load(journal: dirname(o.lastLine) + "/journal.jsonl")
    #expect(state.steps["create"]?.outcome == .succeeded, "a replacement is minted")
    #expect(state.steps["rotation-skipped"]?.outcome == .skippedCondition)
    let keys = try #require(try fixture(["iam-state", services.motoURL, user])["keys"]?.objectValue)
    #expect(keys[twinKey] == "Inactive", "the attacker's key is deactivated: \(keys)")
    #expect(keys[leaked.id] == nil, "the leaked key made room for the replacement: \(keys)")
    let active = keys.filter { $0.value == "Active" }.map(\.key)
    #expect(active.count == 1 && active.first.map { $0 != twinKey && $0 != leaked.id } == true, "\(keys)")
  }

  @Test func theAttackersBackdoorIsUndoneAndEveryArtefactNamed() throws {
    let user = "victim-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let group = "trail-\(user)"
    let attack = try fixture(["attack", services.motoURL, group, user, leaked.id, leaked.secret])
    func s(_ key: String) throws -> String { try #require(attack[key]?.stringValue) }
    let secrets = [
      leaked.secret, try s("backdoor_secret"), try s("password"), try s("session_secret"), try s("session_token"),
    ]
    for secret in secrets { recordTestSecret(secret) }
    let backdoor = try s("backdoor_user")
    let role = try s("role")
    // The same records in CloudTrail event history: both audit sources hold the attack.
    try cloudtrail.load(region: "us-east-1", logGroup: group)

    let o = try runRespond(
      ["key-compromised", "--key", leaked.id, "--log-group", group, "--yes", "--out", out],
      environment: try environment())
    #expect(o.status == 0, "stderr: \(o.stderr)")
    // Paged at the highest urgency before the first change; triage then says P1, still critical.
    let pages = try pages()
    #expect(pages.first?.pointer("/payload/severity") == "critical")
    let triaged = try #require(pages.first { $0.pointer("/payload/custom_details/severity") == "P1" })
    #expect(triaged.pointer("/payload/severity") == "critical")
    #expect(triaged["dedup_key"] == pages.first?["dedup_key"])

    // Checked with boto3: the backdoor is disabled, not deleted (evidence kept).
    let state = try fixture(["iam-state", services.motoURL, backdoor])
    #expect(state["keys"]?[try s("backdoor_key")]?.stringValue == "Inactive")
    #expect(state["attached"]?.arrayValue?.isEmpty == true, "the attacker's policy is detached")
    #expect(state["login_profile"] == false, "the backdoor's console password is gone")
    #expect(state["inline"]?.arrayValue?.contains("RespondQuarantineDenyAll") == true)
    // The older sessions of the leaked key's user and of the role it assumed are denied.
    let victim = try fixture(["iam-state", services.motoURL, user, role])
    #expect(victim["inline"]?.arrayValue?.contains("AWSRevokeOlderSessions") == true)
    #expect(victim["role_inline"]?.arrayValue?.contains("AWSRevokeOlderSessions") == true)
    // P1: the owner is quarantined and its console password deleted (both approved by --yes).
    #expect(victim["inline"]?.arrayValue?.contains("RespondQuarantineDenyAll") == true)
    #expect(victim["login_profile"] == false)
    let denied = try moto.rolePolicy(role: role, policy: "AWSRevokeOlderSessions")
    #expect(denied.contains("aws:TokenIssueTime"))

    // The report: severity P1 with its rule, and every artefact with its event id.
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("| Severity | P1: administrator access: every action on every resource |"))
    let ids = try #require(attack["event_ids"])
    for name in ["CreateUser", "CreateAccessKey", "AttachUserPolicy", "CreateLoginProfile"] {
      let id = try #require(ids[name]?.stringValue)
      #expect(report.contains(id), "\(name)'s event id \(id) is in the report")
    }
    #expect(report.contains("- [ ] What the attacker left behind: Delete the IAM user `\(backdoor)`"))
    // The owner's quarantine also stops its replacement key: a follow-up says so, with the
    // command that lifts it; the deleted console password likewise.
    let followUps = report.components(separatedBy: "## Follow-ups").last ?? ""
    #expect(
      followUps.contains("\(user) is quarantined: the inline policy RespondQuarantineDenyAll denies it every action"))
    #expect(followUps.contains("aws iam delete-user-policy --user-name \(user) --policy-name RespondQuarantineDenyAll"))
    #expect(followUps.contains("aws iam create-login-profile --user-name \(user) --password-reset-required"))
    #expect(report.contains("### Persistence (4)"))
    #expect(
      report.contains(
        "- detached \(try s("policy_arn")) from user \(backdoor) (event \(ids["AttachUserPolicy"]!.stringValue!), verified;"
      ))
    // The postmortem lists every change respond made, in order, the backdoor's key once (its
    // user's disabling and its CreateAccessKey undo the same key), each change with its undo.
    let postmortem = try String(contentsOfFile: dirname(o.lastLine) + "/postmortem.md", encoding: .utf8)
    let changed =
      postmortem.components(separatedBy: "## What respond changed").last?.components(separatedBy: "\n## ").first ?? ""
    let made = ["deactivate", "deny-user-sessions", "deny-role-sessions", "quarantine", "disable-console", "eradicate"]
    for step in made + ["create", "delete-leaked"] {
      #expect(changed.contains("- `\(step)` ("), "the postmortem lists \(step) as a change: \(changed)")
    }
    let keyChange = "deactivated access key \(try s("backdoor_key")) of user \(backdoor)"
    #expect(changed.components(separatedBy: keyChange).count == 2, "the backdoor's key listed once: \(changed)")
    #expect(changed.contains("  - \(keyChange); undo: `aws iam update-access-key --user-name \(backdoor)"))
    let json = try #require(
      Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: dirname(o.lastLine) + "/report.json"))))
    let steps = json["steps"]?.arrayValue ?? []
    // CloudTrail found the attack too, and followed the session the key minted (AssumeRole).
    let trail = try #require(steps.first { $0["id"] == "cloudtrail" })
    #expect(trail["outputs"]?["event-count"] == 6)
    #expect(trail["outputs"]?["session-keys"] == [.string(try s("session_key"))])
    let activity = try #require(steps.first { $0["id"] == "activity" })
    #expect(activity["outputs"]?["persistence-count"] == 4)
    #expect(activity["outputs"]?["created-users"] == [.string(backdoor)])
    // The session token CloudTrail logged in the AssumeRole record is never copied.
    for secret in secrets {
      #expect(!o.stdout.contains(secret) && !o.stderr.contains(secret))
      for (path, text) in allFileContents(under: dirname(o.lastLine)) { #expect(!text.contains(secret), "in \(path)") }
    }
  }

  /// Issue 16 item 6: signing with the leaked key, the attacker read a Secrets Manager secret
  /// whose rotation is configured, one whose rotation is not, and an SSM SecureString with
  /// decryption. After `--yes` the first is rotated (checked with boto3: respond's new version is
  /// AWSCURRENT, the version read is not), and the report and postmortem name the other two as
  /// follow-ups with their event ids.
  @Test func whatTheKeyReadIsRotatedWhereItCanBeAndNamedWhereNot() throws {
    let user = "reader-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let group = "trail-\(user)"
    let stolen = try fixture(["steal", services.motoURL, group, user, leaked.id, leaked.secret])
    for value in stolen["values"]?.arrayValue ?? [] { recordTestSecret(try #require(value.stringValue)) }
    func s(_ key: String) throws -> String { try #require(stolen[key]?.stringValue) }
    func id(_ key: String) throws -> String { try #require(stolen["event_ids"]?[key]?.stringValue) }
    let (rotating, plain, parameter) = (try s("rotating"), try s("plain"), try s("parameter"))
    let (rotatingID, plainID, parameterID) = (try id("rotating"), try id("plain"), try id("parameter"))
    let (readVersion, plainVersion) = (try s("read_version"), try s("plain_version"))
    let before = try fixture(["secret-state", services.motoURL, rotating])
    try cloudtrail.load(region: "us-east-1", logGroup: group)

    let o = try runRespond(
      ["key-compromised", "--key", leaked.id, "--log-group", group, "--yes", "--out", out],
      environment: try environment())
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let dir = dirname(o.lastLine)
    let json = try #require(Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))))
    let step = try #require(json["steps"]?.arrayValue?.first { $0["id"] == "rotate-read-secrets" })
    let change = try #require(step["outputs"]?["changes"]?.arrayValue?.first)
    #expect(step["outputs"]?["verified-count"] == 1 && step["outputs"]?["rotated-count"] == 1, "\(step)")
    #expect(change["secret"]?.stringValue == rotating && change["event-ids"] == [.string(rotatingID)])
    let version = try #require(change["version-id"]?.stringValue)

    // Checked with boto3: respond's version is current, the one the attacker read is not, the
    // rotation date moved on; the secret without rotation is as it was.
    let after = try fixture(["secret-state", services.motoURL, rotating])
    #expect(after["stages"]?[version] == ["AWSCURRENT"], "\(after)")
    #expect(after["stages"]?[readVersion]?.arrayValue?.contains("AWSCURRENT") == false)
    #expect((after["last_rotated"]?.numberValue ?? 0) >= (before["last_rotated"]?.numberValue ?? .infinity))
    let untouched = try fixture(["secret-state", services.motoURL, plain])
    #expect(untouched["stages"] == [plainVersion: ["AWSCURRENT"]] && untouched["last_rotated"] == .null)

    // The report: the rotation with its event, and a follow-up for each secret not rotated.
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("### Rotated by respond (step `rotate-read-secrets`)"))
    #expect(
      report.contains(
        "- rotated Secrets Manager secret \(rotating) (new version \(version)) (event \(rotatingID), verified;")
    )
    let plainLine =
      "What the leaked key read: Rotate Secrets Manager secret `\(plain)` (us-east-1) and update what uses it: read by "
      + "the leaked key (GetSecretValue at "
    let parameterLine =
      "What the leaked key read: Rotate SSM parameter `\(parameter)` (us-east-1) and update what uses it: read "
      + "decrypted by the leaked key (GetParameter at "
    let followUps = (json["follow-ups"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
    for (line, event) in [(plainLine, plainID), (parameterLine, parameterID)] {
      #expect(followUps.contains { $0.hasPrefix(line) && $0.contains("event \(event))") }, "\(followUps)")
      #expect(report.contains("- [ ] " + line), "report.md lists \(event)")
      #expect(report.contains(event))
    }
    #expect(!followUps.contains { $0.contains("`\(rotating)`") }, "the rotated secret is no follow-up")
    #expect(followUps.contains { $0.hasPrefix(plainLine) && $0.hasSuffix("so respond did not rotate it") })
    let postmortem = try String(contentsOfFile: dir + "/postmortem.md", encoding: .utf8)
    let items = postmortem.components(separatedBy: "## Action items").last ?? ""
    #expect(items.contains(plainID) && items.contains(parameterID), "postmortem action items")
    for value in stolen["values"]?.arrayValue ?? [] {
      let secret = try #require(value.stringValue)
      #expect(!o.stdout.contains(secret) && !o.stderr.contains(secret))
      for (path, text) in allFileContents(under: dir) { #expect(!text.contains(secret), "in \(path)") }
    }
  }

  func dirname(_ path: String) -> String { (path as NSString).deletingLastPathComponent }
}
