import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond key-compromised` as the built executable on leaked OpenAI, Datadog and npm keys
/// (issue 15 item 3), against the receiver standing in for each provider. OpenAI's and Datadog's
/// requests are checked against their own OpenAPI descriptions (Tests/Support/openapi); npm
/// publishes none, so its requests are checked here against the npm CLI's documented shapes.
/// Each key is deleted and looked up again, and the run is CONTAINED only when the lookup proves
/// it dead; without credentials, or when the provider refuses, the key keeps its manual steps
/// and the run exits 4 (NOT CONTAINED).
@Suite struct RevocationEndToEndTests {
  static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

  static func random(_ n: Int, from set: String = "0123456789abcdef") -> String {
    String((0..<n).map { _ in set.randomElement()! })
  }

  /// An OpenAI key of the current shape (`T3BlbkFJ` between two random halves).
  static func openAIKey(_ prefix: String) -> String {
    let set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + random(58, from: set) + "T3BlbkFJ" + random(58, from: set)
  }

  /// An npm token with a valid checksum: `npm_`, 30 random, base62(CRC-32) in 6.
  static func npmToken() -> String {
    let body = random(30, from: String(alphabet))
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in body.utf8 {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    var v = UInt64(~crc)
    var digits: [Character] = []
    while v > 0 {
      digits.append(alphabet[Int(v % 62)])
      v /= 62
    }
    return "npm_" + body + String(repeating: "0", count: max(0, 6 - digits.count)) + String(digits.reversed())
  }

  /// The shared receiver under a fresh prefix, checked against `spec` (none: only recorded).
  struct Provider {
    let base: String
    let prefix: String

    init(_ name: String, spec: String?) throws {
      base = try TestServices.load().receiverURL
      prefix = "/\(name)-\(UUID().uuidString.prefix(8).lowercased())"
      if let spec { try Self.post(base + "/_control/contract", ["prefix": .string(prefix), "spec": .string(spec)]) }
    }

    var url: String { base + prefix }

    func script(_ path: String, _ responses: [Value]) throws {
      try Self.post(base + "/_control/script", ["path": .string(prefix + path), "responses": .array(responses)])
    }

    func recorded(_ path: String) throws -> [Value] {
      let text = try runProgram("/usr/bin/curl", ["-sS", "--fail", base + "/_control/requests?path=" + prefix + path])
      return Value.parseJSON(text)?.arrayValue ?? []
    }

    static func post(_ url: String, _ body: Value) throws {
      _ = try runProgram("/usr/bin/curl", ["-sS", "--fail", "-X", "POST", "--data-binary", body.jsonString(), url])
    }
  }

  struct Run {
    let outcome: ProcessOutcome
    let report: String
    let state: IncidentState
    let files: [(path: String, text: String)]
  }

  /// `respond key-compromised --key KEY --yes` plus `args`, with `env`.
  static func respond(_ key: String, _ args: [String] = [], env: [String: String]) throws -> Run {
    let out = NSTemporaryDirectory() + "respond-revoke-" + UUID().uuidString
    let home = out + "-home"
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    defer {
      removeTestOutput(out)
      removeTestOutput(home)
    }
    let o = try runRespond(
      [
        "key-compromised", "--key", key, "--yes", "--runbooks", TestServices.repositoryRoot() + "/Runbooks", "--out",
        out,
      ]
        + args, environment: ["HOME": home].merging(env) { _, new in new })
    let directory = (o.lastLine as NSString).deletingLastPathComponent
    return Run(
      outcome: o, report: (try? String(contentsOfFile: o.lastLine, encoding: .utf8)) ?? "",
      state: try IncidentState.load(journal: directory + "/journal.jsonl"), files: allFileContents(under: directory))
  }

  /// No secret in stdout, stderr or any file of the incident.
  static func expectAbsent(_ secrets: [String], in run: Run) {
    for secret in secrets {
      #expect(!run.outcome.stdout.contains(secret) && !run.outcome.stderr.contains(secret))
      for (file, text) in run.files { #expect(!text.contains(secret), "a secret is in \(file)") }
    }
  }

  static func methodsAndComplaints(_ requests: [Value]) -> ([String], [Value]) {
    (requests.map { $0["method"]?.stringValue ?? "" }, requests.compactMap { $0["contract"] })
  }

  // MARK: - OpenAI

  @Test func aLeakedOpenAIAdminKeyIsDeletedThroughOpenAIsPublishedAPI() throws {
    let openai = try Provider("openai", spec: "openai.json")
    let leaked = Self.openAIKey("sk-admin-")
    let admin = Self.openAIKey("sk-admin-")
    recordTestSecret(leaked)  // sent nowhere: only the operator's admin key goes to OpenAI
    let keyID = "key_" + Self.random(16)
    let path = "/v1/organization/admin_api_keys/\(keyID)"
    try openai.script(
      path,
      [
        [
          "status": 200,
          "body": ["object": "organization.admin_api_key.deleted", "id": .string(keyID), "deleted": true],
        ],
        ["status": 404, "body": ["error": ["message": "not found", "type": "invalid_request_error"]]],
      ])
    let run = try Self.respond(
      leaked, ["--key-id", keyID],
      env: ["OPENAI_BASE_URL": openai.url + "/v1", "OPENAI_ADMIN_KEY": admin])
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    #expect(run.state.steps["not-automated"]?.outcome == .skippedCondition)
    let (methods, complaints) = Self.methodsAndComplaints(try openai.recorded(path))
    #expect(methods == ["DELETE", "GET"])
    #expect(complaints.isEmpty, "\(complaints)")
    Self.expectAbsent([leaked, admin], in: run)
  }

  @Test func aLeakedOpenAIProjectKeyIsDeletedFromItsProject() throws {
    let openai = try Provider("openai", spec: "openai.json")
    let leaked = Self.openAIKey("sk-proj-")
    recordTestSecret(leaked)
    let keyID = "key_" + Self.random(16)
    let path = "/v1/organization/projects/proj_abc123/api_keys/\(keyID)"
    try openai.script(
      path,
      [
        [
          "status": 200,
          "body": ["object": "organization.project.api_key.deleted", "id": .string(keyID), "deleted": true],
        ],
        ["status": 404, "body": ["error": ["message": "not found", "type": "invalid_request_error"]]],
      ])
    let run = try Self.respond(
      leaked, ["--key-id", keyID, "--openai-project", "proj_abc123"],
      env: ["OPENAI_BASE_URL": openai.url + "/v1", "OPENAI_ADMIN_KEY": Self.openAIKey("sk-admin-")])
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    let (methods, complaints) = Self.methodsAndComplaints(try openai.recorded(path))
    #expect(methods == ["DELETE", "GET"])
    #expect(complaints.isEmpty, "\(complaints)")
  }

  /// No admin key: nothing is sent, and the key keeps OpenAI's manual steps (exit 4).
  @Test func withoutAnOpenAIAdminKeyTheKeyGetsTheManualSteps() throws {
    let run = try Self.respond(
      Self.openAIKey("sk-proj-"), ["--key-id", "key_abc", "--openai-project", "proj_abc"],
      env: ["OPENAI_BASE_URL": "http://127.0.0.1:9/unused"])
    #expect(run.outcome.status == 4, "stderr: \(run.outcome.stderr)")
    #expect(run.state.steps["openai-delete-project"]?.outcome == .skippedCondition)
    #expect(run.state.steps["not-automated"]?.outcome == .succeeded, "the manual steps ran")
    #expect(run.report.contains("NOT CONTAINED"))
    #expect(run.report.contains("platform.openai.com"))
  }

  // MARK: - Datadog

  @Test(arguments: [(32, "/api/v2/api_keys/"), (40, "/api/v2/application_keys/")])
  func aLeakedDatadogKeyIsDeletedThroughDatadogsPublishedAPI(length: Int, resource: String) throws {
    let datadog = try Provider("datadog", spec: "datadog.json")
    let leaked = Self.random(length)
    let (apiKey, appKey) = (Self.random(32), Self.random(40))
    recordTestSecret(leaked)
    let keyID = UUID().uuidString.lowercased()
    try datadog.script(
      resource + keyID, [["status": 204, "body": ""], ["status": 404, "body": ["errors": ["Key not found"]]]])
    let run = try Self.respond(
      leaked, ["--provider", "datadog", "--key-id", keyID],
      env: ["DATADOG_HOST": datadog.url, "DD_API_KEY": apiKey, "DD_APP_KEY": appKey])
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    let requests = try datadog.recorded(resource + keyID)
    let (methods, complaints) = Self.methodsAndComplaints(requests)
    #expect(methods == ["DELETE", "GET"])
    #expect(complaints.isEmpty, "\(complaints)")
    // Datadog's description omits its security schemes: the two key headers are checked here.
    #expect(requests.allSatisfy { $0["headers"]?["Dd-Api-Key"] != nil || $0["headers"]?["DD-API-KEY"] != nil })
    Self.expectAbsent([leaked, apiKey, appKey], in: run)
  }

  @Test func withoutDatadogCredentialsTheKeyIsNotContained() throws {
    let run = try Self.respond(
      Self.random(32), ["--provider", "datadog", "--key-id", "00000000-0000-0000-0000-000000000000"],
      env: ["DATADOG_HOST": "http://127.0.0.1:9/unused"])
    #expect(run.outcome.status == 4, "stderr: \(run.outcome.stderr)")
    #expect(run.state.steps["datadog-delete"]?.outcome == .skippedCondition)
    #expect(run.report.contains("NOT CONTAINED"))
  }

  // MARK: - npm

  @Test func aLeakedNpmTokenRevokesItselfAndIsProvedDead() throws {
    let npm = try Provider("npm", spec: nil)
    let token = Self.npmToken()
    try npm.script("/-/npm/v1/tokens/token/\(token)", [["status": 204, "body": ""]])
    try npm.script("/-/whoami", [["status": 401, "body": ["error": "unauthorized"]]])
    let run = try Self.respond(token, env: ["NPM_CONFIG_REGISTRY": npm.url])
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    // The shapes `npm token revoke <token>` and `npm whoami` send: the token as bearer.
    let revoke = try npm.recorded("/-/npm/v1/tokens/token/\(token)")
    #expect(revoke.map { $0["method"]?.stringValue } == ["DELETE"])
    let whoami = try npm.recorded("/-/whoami")
    #expect(whoami.map { $0["method"]?.stringValue } == ["GET"])
    for request in revoke + whoami {
      #expect(request["headers"]?["Authorization"]?.stringValue == "Bearer \(token)")
    }
    // The registry must receive the token (path and bearer); respond's own outputs must not show it.
    Self.expectAbsent([token], in: run)
  }

  /// An account with 2FA for writes refuses the revocation without a one-time password: the
  /// token still authenticates, so the run is NOT CONTAINED and the manual steps stay.
  @Test func anNpmTokenTheRegistryStillAcceptsIsNotContained() throws {
    let npm = try Provider("npm", spec: nil)
    let token = Self.npmToken()
    try npm.script(
      "/-/npm/v1/tokens/token/\(token)", [["status": 401, "body": ["error": "otp required for this operation"]]])
    try npm.script("/-/whoami", [["status": 200, "body": ["username": "release-bot"]]])
    let run = try Self.respond(token, env: ["NPM_CONFIG_REGISTRY": npm.url])
    #expect(run.outcome.status == 4, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("NOT CONTAINED"))
    #expect(run.state.steps["npm-dead"]?.outcome != .succeeded)
    #expect(run.state.steps["not-automated"]?.outcome == .succeeded, "the manual steps ran")
    Self.expectAbsent([token], in: run)
  }
}
