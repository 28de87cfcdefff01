import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond key-compromised` as the built executable, revoking a leaked key and storing its
/// replacement (issue 15 item 3): a Datadog API key and an OpenAI admin key are deleted, proved
/// gone, and a new key is minted and written into the real OpenBao and moto Secrets Manager; a
/// GitLab runner token resets itself, is proved dead, and the new token is stored. The receiver
/// checks every request against the provider's description (Tests/Support/openapi), the stores
/// are read back with their own clients, and the new secret appears in no output of respond.
@Suite struct ReplacementEndToEndTests {
  typealias R = RevocationEndToEndTests
  let services: TestServices
  let bao: BaoFixture
  let moto: MotoFixture

  init() throws {
    services = try TestServices.load()
    bao = BaoFixture(services)
    moto = MotoFixture(services)
  }

  /// The stores' coordinates respond needs, plus `env`.
  func environment(_ env: [String: String]) -> [String: String] {
    services.awsEnvironment.merging(services.vaultEnvironment) { a, _ in a }.merging(env) { _, new in new }
  }

  static func unique(_ name: String) -> String { "\(name)-\(UUID().uuidString.prefix(8).lowercased())" }

  /// The request body respond sent, as JSON.
  static func body(_ request: Value?) -> Value? { Value.parseJSON(request?["body"]?.stringValue ?? "") }

  // MARK: - Datadog

  @Test func aDeletedDatadogAPIKeyIsReplacedAndStoredInBothStores() throws {
    let datadog = try R.Provider("datadog", spec: "datadog.json")
    let (leaked, minted) = (R.random(32), R.random(32))
    let (apiKey, appKey) = (R.random(32), R.random(40))
    for secret in [leaked, minted] { recordTestSecret(secret) }  // neither is sent anywhere
    let (keyID, newID) = (UUID().uuidString.lowercased(), UUID().uuidString.lowercased())
    let old: Value = ["data": ["type": "api_keys", "id": .string(keyID), "attributes": ["name": "ci-metrics"]]]
    try datadog.script(
      "/api/v2/api_keys/" + keyID,
      [
        ["status": 200, "body": old], ["status": 204, "body": ""], ["status": 404, "body": ["errors": ["not found"]]],
      ])
    let created: Value = [
      "data": [
        "type": "api_keys", "id": .string(newID),
        "attributes": [
          "name": "ci-metrics (replaced)", "key": .string(minted), "last4": .string(String(minted.suffix(4))),
        ],
      ]
    ]
    try datadog.script("/api/v2/api_keys", [["status": 201, "body": created]])
    let path = Self.unique("replace/datadog")
    try bao.put(path, ["api_key": leaked, "key_id": keyID])
    let secretID = Self.unique("replace/datadog")
    try moto.createSecret(
      secretID, json: Value.object(["api_key": .string(leaked), "key_id": .string(keyID)]).jsonString())
    let run = try R.respond(
      leaked, ["--provider", "datadog", "--key-id", keyID, "--vault-path", "secret/" + path, "--secret-id", secretID],
      env: environment(["DATADOG_HOST": datadog.url, "DD_API_KEY": apiKey, "DD_APP_KEY": appKey]))
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    #expect(run.state.steps["datadog-create"]?.secretOutputs == ["key"])
    // The old key is read (its name), deleted, and looked up again; the new one is named after it.
    let (methods, complaints) = R.methodsAndComplaints(try datadog.recorded("/api/v2/api_keys/" + keyID))
    #expect(methods == ["GET", "DELETE", "GET"])
    let creates = try datadog.recorded("/api/v2/api_keys")
    #expect(creates.map { $0["method"]?.stringValue } == ["POST"])
    #expect((complaints + R.methodsAndComplaints(creates).1).isEmpty, "\(complaints)")
    let name = Self.body(creates.first)?.pointer("/data/attributes/name")?.stringValue ?? ""
    #expect(name.hasPrefix("ci-metrics (replaced by respond "), "\(name)")
    // Read back with the stores' own clients.
    #expect(try bao.get(path) == ["api_key": minted, "key_id": newID])
    let stored = Value.parseJSON(try moto.secretString(secretID))
    #expect(stored?["api_key"]?.stringValue == minted && stored?["key_id"]?.stringValue == newID)
    // The host's store steps wrote it, so the report's facts name both stores.
    #expect(Self.fact("Stored in Vault/OpenBao", in: run.report)?.contains("secret/\(path) (version 2)") == true)
    #expect(Self.fact("Stored in Secrets Manager", in: run.report)?.contains(secretID) == true)
    R.expectAbsent([leaked, minted, apiKey, appKey], in: run)
  }

  /// Without a store nothing is minted: a key nobody holds would be one more live key.
  @Test func withoutAStoreNoDatadogReplacementIsMinted() throws {
    let datadog = try R.Provider("datadog", spec: "datadog.json")
    let keyID = UUID().uuidString.lowercased()
    try datadog.script(
      "/api/v2/api_keys/" + keyID, [["status": 204, "body": ""], ["status": 404, "body": ["errors": ["not found"]]]])
    let leaked = R.random(32)
    recordTestSecret(leaked)
    let run = try R.respond(
      leaked, ["--provider", "datadog", "--key-id", keyID],
      env: ["DATADOG_HOST": datadog.url, "DD_API_KEY": R.random(32), "DD_APP_KEY": R.random(40)])
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.state.steps["datadog-before"]?.outcome == .skippedCondition)
    #expect(run.state.steps["datadog-create"]?.outcome == .skippedCondition)
    #expect(try datadog.recorded("/api/v2/api_keys").isEmpty)
  }

  // MARK: - OpenAI

  @Test func aDeletedOpenAIAdminKeyIsReplacedAndStoredInSecretsManager() throws {
    let openai = try R.Provider("openai", spec: "openai.json")
    let (leaked, admin, minted) = (R.openAIKey("sk-admin-"), R.openAIKey("sk-admin-"), R.openAIKey("sk-admin-"))
    for secret in [leaked, minted] { recordTestSecret(secret) }
    let (keyID, newID) = ("key_" + R.random(16), "key_" + R.random(16))
    try openai.script(
      "/v1/organization/admin_api_keys/" + keyID,
      [
        [
          "status": 200,
          "body": ["object": "organization.admin_api_key.deleted", "id": .string(keyID), "deleted": true],
        ],
        ["status": 404, "body": ["error": ["message": "not found", "type": "invalid_request_error"]]],
      ])
    let created: Value = [
      "object": "organization.admin_api_key", "id": .string(newID), "name": "replacement",
      "redacted_value": "sk-admin...new", "created_at": 1_764_756_000, "expires_at": .null,
      "owner": [
        "type": "user", "object": "organization.user", "id": "user_1", "name": "Ops", "created_at": 1_711_471_533,
        "role": "owner",
      ],
      "value": .string(minted),
    ]
    try openai.script("/v1/organization/admin_api_keys", [["status": 200, "body": created]])
    let secretID = Self.unique("replace/openai")
    try moto.createSecret(secretID, json: Value.object(["api_key": .string(leaked)]).jsonString())
    let run = try R.respond(
      leaked, ["--key-id", keyID, "--secret-id", secretID],
      env: environment(["OPENAI_BASE_URL": openai.url + "/v1", "OPENAI_ADMIN_KEY": admin]))
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    #expect(run.state.steps["openai-create-admin"]?.secretOutputs == ["key"])
    #expect(run.state.steps["store-vault"]?.outcome == .skippedCondition)
    let creates = try openai.recorded("/v1/organization/admin_api_keys")
    #expect(creates.map { $0["method"]?.stringValue } == ["POST"])
    #expect(R.methodsAndComplaints(creates).1.isEmpty, "\(R.methodsAndComplaints(creates).1)")
    #expect(Self.body(creates.first)?["name"]?.stringValue?.hasPrefix("replaces \(keyID) (respond ") == true)
    let stored = Value.parseJSON(try moto.secretString(secretID))
    #expect(stored?["api_key"]?.stringValue == minted && stored?["key_id"]?.stringValue == newID)
    R.expectAbsent([leaked, admin, minted], in: run)
  }

  /// A project key cannot be minted through the admin API: the deletion is proved, and the
  /// replacement is left to a person, saying why.
  @Test func aDeletedOpenAIProjectKeyGetsTheManualReplacementStep() throws {
    let openai = try R.Provider("openai", spec: "openai.json")
    let keyID = "key_" + R.random(16)
    try openai.script(
      "/v1/organization/projects/proj_abc123/api_keys/" + keyID,
      [
        [
          "status": 200,
          "body": ["object": "organization.project.api_key.deleted", "id": .string(keyID), "deleted": true],
        ],
        ["status": 404, "body": ["error": ["message": "not found", "type": "invalid_request_error"]]],
      ])
    let secretID = Self.unique("replace/openai-project")
    try moto.createSecret(secretID, json: #"{"api_key": "unchanged"}"#)
    let run = try R.respond(
      R.openAIKey("sk-proj-"), ["--key-id", keyID, "--openai-project", "proj_abc123", "--secret-id", secretID],
      env: environment(["OPENAI_BASE_URL": openai.url + "/v1", "OPENAI_ADMIN_KEY": R.openAIKey("sk-admin-")]))
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.state.steps["openai-create-admin"]?.outcome == .skippedCondition)
    #expect(run.state.steps["openai-project-replacement"]?.outcome == .succeeded)
    #expect(run.report.contains("OpenAI's admin API cannot create a user-owned project key"))
    #expect(try openai.recorded("/v1/organization/admin_api_keys").isEmpty)
  }

  // MARK: - GitLab runner tokens

  @Test func aLeakedGitLabRunnerTokenResetsItselfAndTheNewOneIsStored() throws {
    let gitlab = try R.Provider("gitlab", spec: "gitlab.json")
    let set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    // The leaked token is sent to the receiver standing in for GitLab (it authenticates its own
    // reset), so it is not in the scan's manifest; the new one is sent nowhere.
    let (leaked, minted) = ("glrt-" + R.random(24, from: set), "glrt-" + R.random(24, from: set))
    recordTestSecret(minted)
    try gitlab.script(
      "/api/v4/runners/reset_authentication_token",
      [["status": 201, "body": ["token": .string(minted), "token_expires_at": .null]]])
    try gitlab.script("/api/v4/runners/verify", [["status": 403, "body": ["message": "403 Forbidden"]]])
    let path = Self.unique("replace/runner")
    try bao.put(path, ["token": leaked, "url": "https://gitlab.example.com"])
    let slack = try R.Provider("slack", spec: nil)
    let run = try R.respond(
      leaked, ["--vault-path", "secret/" + path],
      env: environment(["GITLAB_URL": gitlab.url, "SLACK_WEBHOOK_URL": slack.url + "/hook"]))
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    #expect(run.state.steps["gitlab-self"]?.outcome == .skippedCondition, "no personal-access-token lookup")
    #expect(run.state.steps["gitlab-runner-reset"]?.secretOutputs == ["new-token"])
    #expect(run.state.steps["gitlab-runner-dead"]?.outcome == .succeeded)
    #expect(run.state.steps["not-automated"]?.outcome == .skippedCondition)
    #expect(run.report.contains("The new token is in the secret store named above"))
    for request in ["/api/v4/runners/reset_authentication_token", "/api/v4/runners/verify"] {
      let sent = try gitlab.recorded(request)
      #expect(sent.map { $0["method"]?.stringValue } == ["POST"], "\(request)")
      #expect(R.methodsAndComplaints(sent).1.isEmpty, "\(R.methodsAndComplaints(sent).1)")
      #expect(Self.body(sent.first)?["token"]?.stringValue == leaked, "the leaked token authenticates \(request)")
    }
    #expect(try bao.get(path) == ["token": minted, "url": "https://gitlab.example.com"], "other fields are kept")
    #expect(Self.fact("Stored in Vault/OpenBao", in: run.report)?.contains("secret/\(path) (version 2)") == true)
    let outcome = try slack.recorded("/hook").last?["body"]?.stringValue ?? ""
    // The outcome names no provider's own wording: the host's message is the same for every part.
    #expect(outcome.contains("contained, proved dead") && outcome.contains("CONTAINED"), "\(outcome)")
    R.expectAbsent([leaked, minted], in: run)
  }
}
