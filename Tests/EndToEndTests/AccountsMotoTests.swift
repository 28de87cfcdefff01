import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond key-compromised --from FILE --accounts MAP`: keys of three AWS accounts in one batch,
/// live against a moto server of this suite's own (Tests/Support/accounts_fixture.py: SigV4 and
/// IAM policies checked, accounts told apart by the key that signs). Account 123456789012 is
/// mapped to a profile of the shared credentials file, 222222222222 to a role assumed with an
/// external id, 333333333333 to nothing. Checked afterwards with boto3 from inside each account.
@Suite(.serialized) final class AccountsMotoTests {
  let services: TestServices
  let out = NSTemporaryDirectory() + "respond-accounts-" + UUID().uuidString
  let server: Process
  let state: Value
  let home = "123456789012"
  let roleAccount = "222222222222"
  let unmapped = "333333333333"

  init() throws {
    services = try TestServices.load()
    try FileManager.default.createDirectory(atPath: out + "/home/.aws", withIntermediateDirectories: true)
    let stateFile = out + "/accounts.json"
    server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    server.arguments = ["python3", services.repoRoot + "/Tests/Support/accounts_fixture.py", "serve", stateFile]
    server.standardOutput = FileHandle.nullDevice
    server.standardError = FileHandle.nullDevice
    try server.run()
    var read: Value?
    for _ in 0..<300 where read == nil {  // at most 30 s for python and moto to start
      read = (try? Data(contentsOf: URL(fileURLWithPath: stateFile))).flatMap { Value.parseJSON($0) }
      if read == nil { usleep(100_000) }
    }
    guard let read else {
      kill(server.processIdentifier, SIGKILL)
      throw TestFailure("accounts_fixture.py did not start moto within 30 s")
    }
    state = read
  }

  /// SIGKILL: a child started by Process may have SIGTERM blocked, and then never ends.
  deinit {
    kill(server.processIdentifier, SIGKILL)
    server.waitUntilExit()
    removeTestOutput(out)
  }

  var motoURL: String { state["url"]?.stringValue ?? "" }
  var adminID: String { state["admin"]?["id"]?.stringValue ?? "" }
  var adminSecret: String { state["admin"]?["secret"]?.stringValue ?? "" }
  func leaked(_ account: String) -> (user: String, id: String, secret: String) {
    let k = state["keys"]?[account]
    return (k?["user"]?.stringValue ?? "", k?["id"]?.stringValue ?? "", k?["secret"]?.stringValue ?? "")
  }

  /// USER's keys in ACCOUNT, as boto3 lists them from inside that account: id → status.
  func keys(_ account: String) throws -> [String: String] {
    let text = try runProgram(
      "/usr/bin/env",
      [
        "python3", services.repoRoot + "/Tests/Support/accounts_fixture.py", "keys", motoURL, account,
        leaked(account).user,
      ],
      environment: ["ACCOUNTS_ADMIN_ID": adminID, "ACCOUNTS_ADMIN_SECRET": adminSecret])
    let list = Value.parseJSON(text)?.arrayValue ?? []
    return Dictionary(
      list.map { ($0["id"]?.stringValue ?? "", $0["status"]?.stringValue ?? "") }, uniquingKeysWith: { a, _ in a })
  }

  /// respond's environment: the administrator of 123456789012 in the environment (the role's
  /// source), a profile `home-admin` with the same key in the shared credentials file, AWS at
  /// this suite's moto, CloudTrail at the recording receiver's documented empty answer.
  func environment() throws -> [String: String] {
    let path = "/cloudtrail-\(UUID().uuidString.prefix(8).lowercased())"
    let spec: Value = [
      "path": .string(path), "responses": [],
      "default": [
        "status": 200, "headers": ["Content-Type": "application/x-amz-json-1.1"], "body": #"{"Events": []}"#,
      ],
    ]
    _ = try runProgram(
      "/usr/bin/curl",
      ["-sS", "--fail", "-X", "POST", "--data-binary", spec.jsonString(), services.receiverURL + "/_control/script"])
    try "[home-admin]\naws_access_key_id = \(adminID)\naws_secret_access_key = \(adminSecret)\n"
      .write(toFile: out + "/home/.aws/credentials", atomically: true, encoding: .utf8)
    return [
      "AWS_ACCESS_KEY_ID": adminID, "AWS_SECRET_ACCESS_KEY": adminSecret, "AWS_REGION": "us-east-1",
      "AWS_ENDPOINT_URL": motoURL, "AWS_ENDPOINT_URL_CLOUDTRAIL": services.receiverURL + path, "HOME": out + "/home",
    ]
  }

  func mapping(unmappedToo: Bool) -> String {
    var text = """
      # which credentials respond uses for each account's keys
      "\(home)": { profile: home-admin }
      "\(roleAccount)":
        role-arn: arn:aws:iam::\(roleAccount):role/respond-access
        external-id: respond-test-ext
        session-name: respond-batch

      """
    if unmappedToo {
      text +=
        "\"\(unmapped)\": { role-arn: \"arn:aws:iam::\(unmapped):role/respond-access\", external-id: respond-test-ext }\n"
    }
    return text
  }

  /// The batch summary's keys (display → outcome, exit code, detail, incident) from its JSON.
  func summary(_ markdownPath: String) throws -> [String: (
    outcome: String, exit: Int, detail: String, incident: String?
  )] {
    let data = try Data(contentsOf: URL(fileURLWithPath: String(markdownPath.dropLast(3)) + ".json"))
    let json = try #require(Value.parseJSON(data))
    var found: [String: (String, Int, String, String?)] = [:]
    for k in json["keys"]?.arrayValue ?? [] {
      found[k["display"]?.stringValue ?? ""] = (
        k["outcome"]?.stringValue ?? "", Int(k["exit-code"]?.numberValue ?? -1), k["detail"]?.stringValue ?? "",
        k["incident-directory"]?.stringValue
      )
    }
    return found
  }

  /// No secret (the leaked ones, the administrator's, any STS session token moto minted: they
  /// all start `FQoGZXIvYXdzEBYaD`) reaches stdout, stderr or any file respond wrote.
  func assertNoSecrets(_ outcome: ProcessOutcome) {
    let secrets = [adminSecret] + [home, roleAccount, unmapped].map { leaked($0).secret } + ["FQoGZXIvYXdzEBYaD"]
    let files = allFileContents(under: out + "/incidents")
    for s in secrets where !s.isEmpty {
      #expect(!outcome.stdout.contains(s) && !outcome.stderr.contains(s), "a secret reached stdout/stderr")
      for (path, text) in files { #expect(!text.contains(s), "a secret is in \(path)") }
    }
  }

  /// Three keys of three accounts in one batch: the profile's and the role's keys are each
  /// deactivated (and rotated) inside their own account; the unmapped account's key is its own
  /// `no-credentials` line saying what to add, left Active, and the batch exits 4 (a person must
  /// act). With the account added to the mapping, `respond resume` runs that key alone.
  @Test func eachKeyIsContainedInItsOwnAccountAndAnUnmappedOneIsItsOwnLine() throws {
    let list = out + "/leaked.txt"
    let ids = [home, roleAccount, unmapped].map { leaked($0).id }
    try ids.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
    let map = out + "/accounts.yaml"
    try mapping(unmappedToo: false).write(toFile: map, atomically: true, encoding: .utf8)
    let env = try environment()

    let o = try runRespond(
      ["key-compromised", "--from", list, "--accounts", map, "--parallel", "3", "--yes", "--out", out + "/incidents"],
      environment: env, timeout: 200)
    #expect(o.status == 4, "stderr tail: \(o.stderr.suffix(3000))")
    #expect(o.lastLine.hasSuffix(".md") && o.lastLine.contains("/batch-"))
    let (homeKey, roleKey, lostKey) = (leaked(home), leaked(roleAccount), leaked(unmapped))
    #expect(o.stderr.contains("[\(homeKey.id)] credentials: account \(home): AWS profile 'home-admin'"))
    #expect(
      o.stderr.contains(
        "[\(roleKey.id)] credentials: account \(roleAccount): role arn:aws:iam::\(roleAccount):role/respond-access"))
    let byKey = try summary(o.lastLine)
    #expect(byKey[homeKey.id]?.outcome == "completed", "\(String(describing: byKey[homeKey.id]))")
    #expect(byKey[roleKey.id]?.outcome == "completed", "\(String(describing: byKey[roleKey.id]))")
    let lost = try #require(byKey[lostKey.id])
    #expect(lost.outcome == "no-credentials" && lost.exit == 4 && lost.incident == nil)
    #expect(lost.detail.hasPrefix("no credentials for account \(unmapped) in \(map)"), "\(lost.detail)")
    #expect(o.stderr.contains("\(lostKey.id): NOT CONTAINED (no-credentials): no credentials for account \(unmapped)"))

    // Inside each account, independently: the leaked key is gone, a replacement is Active; the
    // unmapped account's key is untouched.
    for account in [home, roleAccount] {
      let now = try keys(account)
      #expect(now[leaked(account).id] == nil || now[leaked(account).id] == "Inactive", "\(account): \(now)")
      #expect(now.count == 1 && now.values.allSatisfy { $0 == "Active" }, "\(account): \(now)")
    }
    #expect(try keys(unmapped) == [lostKey.id: "Active"])
    // Each incident says which credentials it ran with (in its journal, for the auditor).
    let journal = try String(
      contentsOfFile: try #require(byKey[roleKey.id]?.incident) + "/journal.jsonl", encoding: .utf8)
    #expect(
      journal.contains("credentials: account \(roleAccount): role arn:aws:iam::\(roleAccount):role/respond-access"))
    assertNoSecrets(o)

    // The account is configured; resume runs the one key left and leaves the others alone.
    try mapping(unmappedToo: true).write(toFile: map, atomically: true, encoding: .utf8)
    let json = String(o.lastLine.dropLast(3)) + ".json"
    let resumed = try runRespond(["resume", json, "--from", list, "--yes"], environment: env, timeout: 200)
    #expect(resumed.status == 0, "stderr tail: \(resumed.stderr.suffix(3000))")
    let after = try summary(resumed.lastLine)
    #expect(after.values.allSatisfy { $0.outcome == "completed" }, "\(after)")
    #expect(after[homeKey.id]?.incident == byKey[homeKey.id]?.incident)
    let nowLost = try keys(unmapped)
    #expect(nowLost[lostKey.id] == nil && nowLost.count == 1, "\(nowLost)")
    assertNoSecrets(resumed)
  }

  /// Credentials of the wrong account are caught before any call about the key: a profile of
  /// 123456789012 mapped to 222222222222 makes that key a `no-credentials` line (STS says whose
  /// they are), and the key stays Active. A mapping file with a mistake stops the batch with
  /// exit 2, located, before anything runs.
  @Test func wrongCredentialsAreTheKeysLineAndABadMappingStopsTheBatch() throws {
    let list = out + "/leaked.txt"
    try leaked(roleAccount).id.write(toFile: list, atomically: true, encoding: .utf8)
    let map = out + "/wrong.yaml"
    try "\"\(roleAccount)\": { profile: home-admin }\n".write(toFile: map, atomically: true, encoding: .utf8)
    let env = try environment()
    let o = try runRespond(
      ["key-compromised", "--from", list, "--accounts", map, "--yes", "--out", out + "/incidents"], environment: env)
    #expect(o.status == 4, "stderr: \(o.stderr)")
    let line = try #require(try summary(o.lastLine)[leaked(roleAccount).id])
    #expect(line.outcome == "no-credentials" && line.incident == nil)
    #expect(
      line.detail
        == "no working credentials for account \(roleAccount): the credentials of AWS profile 'home-admin' "
        + "belong to account \(home), not the key's account \(roleAccount): map \(roleAccount) to its own",
      "\(line.detail)")
    #expect(try keys(roleAccount) == [leaked(roleAccount).id: "Active"])

    let bad = out + "/bad.yaml"
    try "\"\(home)\": { role-arn: \"arn:aws:iam::\(roleAccount):role/respond-access\" }\n"
      .write(toFile: bad, atomically: true, encoding: .utf8)
    let refused = try runRespond(
      ["key-compromised", "--from", list, "--accounts", bad, "--yes", "--out", out + "/incidents"], environment: env)
    #expect(refused.status == 2, "stderr: \(refused.stderr)")
    #expect(refused.stderr.contains("\(bad):1:") && refused.stderr.contains("is not in account \(home)"))
    #expect(try keys(roleAccount) == [leaked(roleAccount).id: "Active"])
    // One key: the mapping is for batches; the responder is told so, and nothing runs.
    let single = try runRespond(
      ["key-compromised", "--key", leaked(roleAccount).id, "--accounts", map, "--yes", "--out", out + "/incidents"],
      environment: env)
    #expect(single.status == 2 && single.stderr.contains("--accounts applies to a batch (--from FILE)"))
    assertNoSecrets(o)
  }
}
