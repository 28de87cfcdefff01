import Foundation
import RespondActions
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

/// The shipped Slack and GitLab actions, and the new OpenAI and Datadog ones, against the
/// receiver with contract checking on (issue 15 item 4), as `ContractTests` does for GitHub,
/// SendGrid and Twilio. Slack's description dates from 2020 and knows only GET with a `token`
/// query parameter: Tests/Support/openapi/slack.json adds the POST with a bearer token that
/// Slack documents today, marked `x-respond-adapted`. GitLab's generated description could not
/// be brought here: gitlab.json transcribes the three requests respond sends from GitLab's REST
/// reference (its `info` names the pages). Each suite also sends one broken request and sees
/// the check refuse it.
@Suite struct ProviderContractTests {
  typealias Receiver = ContractTests.Receiver
  static let slackToken =
    "xoxb-" + String(repeating: "1", count: 12) + "-" + String(repeating: "2", count: 13) + "-contracttest"
  static let gitlabToken = "glpat-" + String(repeating: "Ct", count: 10)
  static let adminKey =
    "sk-admin-" + String(repeating: "c0n7", count: 15) + "T3BlbkFJ" + String(repeating: "k3y5", count: 15)
  static let ddAPIKey = String(repeating: "ab", count: 16)
  static let ddAppKey = String(repeating: "cd", count: 20)

  static func run(_ name: String, _ parameters: [String: Value], env: [String: String]) async throws -> ActionResult {
    try await ContractTests.run(try ContractTests.action(name), parameters, env: env)
  }

  /// The http action sending a request the description does not allow: it must fail with the
  /// checker's reason (HTTP 400 from the receiver), naming `expected`.
  static func expectRefused(_ parameters: [String: Value], naming expected: String) async {
    await #expect {
      _ = try await ContractTests.run(HTTPAction(), parameters, env: [:])
    } throws: { error in
      guard case .provider(let problem) = error as? ActionError else { return false }
      return problem.status == 400 && problem.message.contains(expected)
    }
  }

  @Test func slackRevocationMatchesSlacksDescriptionAsAdapted() async throws {
    let slack = try Receiver(provider: "slack", spec: "slack.json")
    try slack.script("/api/auth.revoke", #"[{"status": 200, "body": {"ok": true, "revoked": true}}]"#)
    let revoked = try await Self.run(
      "slack.auth.revoke", ["token": .string(Self.slackToken)], env: ["SLACK_API_URL": slack.url + "/api"])
    #expect(revoked.outputs["revoked"] == true)
    let sent = try slack.recorded("/api/auth.revoke")
    #expect(sent.map(\.method) == ["POST"])
    #expect(sent.allSatisfy { $0.contract == nil })
    // Broken on purpose: POST without the bearer token (the description requires Authorization).
    try slack.script("/api/auth.revoke", #"[{"status": 200, "body": {"ok": true, "revoked": true}}]"#)
    await Self.expectRefused(
      ["method": "POST", "url": .string(slack.url + "/api/auth.revoke"), "expect": [200]], naming: "Authorization")
  }

  @Test func gitlabLookupRevokeAndRotateMatchGitLabsReference() async throws {
    let gitlab = try Receiver(provider: "gitlab", spec: "gitlab.json")
    let token =
      #"{"id": 42, "name": "ci", "revoked": false, "created_at": "2026-11-01T10:00:00.000Z", "scopes": ["api"], "user_id": 7, "last_used_at": null, "active": true, "expires_at": "2027-01-01"}"#
    try gitlab.script(
      "/api/v4/personal_access_tokens/self", #"[{"status": 200, "body": \#(token)}, {"status": 204, "body": ""}]"#)
    try gitlab.script(
      "/api/v4/personal_access_tokens/42/rotate",
      #"[{"status": 200, "body": {"id": 43, "name": "ci", "revoked": false, "created_at": "2026-12-03T10:00:00.000Z", "scopes": ["api"], "user_id": 7, "last_used_at": null, "active": true, "expires_at": "2026-12-10", "token": "glpat-newtokenvalue000"}}]"#
    )
    let env = ["GITLAB_URL": gitlab.url, "GITLAB_TOKEN": Self.gitlabToken + "admin"]
    let me = try await Self.run("gitlab.token.self", ["token": .string(Self.gitlabToken)], env: env)
    #expect(me.outputs["id"] == 42)
    let revoked = try await Self.run("gitlab.token.revoke", ["token": .string(Self.gitlabToken)], env: env)
    #expect(revoked.outputs["status"] == 204)
    let rotated = try await Self.run("gitlab.token.rotate", ["id": "42"], env: env)
    #expect(rotated.outputs["new-id"] == 43)
    #expect(try gitlab.recorded("/api/v4/personal_access_tokens/self").map(\.method) == ["GET", "DELETE"])
    #expect(try gitlab.recorded("/api/v4/personal_access_tokens/42/rotate").allSatisfy { $0.contract == nil })
    // Broken on purpose: rotating with PUT, which the reference does not have.
    await Self.expectRefused(
      [
        "method": "PUT", "url": .string(gitlab.url + "/api/v4/personal_access_tokens/42/rotate"),
        "headers": ["PRIVATE-TOKEN": .string(Self.gitlabToken)], "expect": [200],
      ], naming: "OperationNotFound")
  }

  @Test func openAIKeyDeletionMatchesOpenAIsDescription() async throws {
    let openai = try Receiver(provider: "openai", spec: "openai.json")
    try openai.script(
      "/v1/organization/admin_api_keys/key_abc",
      #"[{"status": 200, "body": {"object": "organization.admin_api_key.deleted", "id": "key_abc", "deleted": true}}]"#)
    let env = ["OPENAI_BASE_URL": openai.url + "/v1", "OPENAI_ADMIN_KEY": Self.adminKey]
    let deleted = try await Self.run("openai.admin-key.delete", ["key-id": "key_abc"], env: env)
    #expect(deleted.outputs["deleted"] == true)
    #expect(try openai.recorded("/v1/organization/admin_api_keys/key_abc").allSatisfy { $0.contract == nil })
    // Broken on purpose: the delete without the admin key's bearer token.
    await Self.expectRefused(
      ["method": "DELETE", "url": .string(openai.url + "/v1/organization/admin_api_keys/key_abc"), "expect": [200]],
      naming: "Security")
  }

  @Test func datadogKeyDeletionMatchesDatadogsDescription() async throws {
    let datadog = try Receiver(provider: "datadog", spec: "datadog.json")
    try datadog.script(
      "/api/v2/application_keys/app-1",
      #"[{"status": 204, "body": ""}, {"status": 404, "body": {"errors": ["Application key not found"]}}]"#)
    let env = ["DATADOG_HOST": datadog.url, "DD_API_KEY": Self.ddAPIKey, "DD_APP_KEY": Self.ddAppKey]
    let deleted = try await Self.run("datadog.app-key.delete", ["key-id": "app-1"], env: env)
    #expect(deleted.outputs["status"] == 204)
    let after = try await Self.run("datadog.app-key.get", ["key-id": "app-1"], env: env)
    #expect(after.outputs["status"] == 404)
    #expect(try datadog.recorded("/api/v2/application_keys/app-1").allSatisfy { $0.contract == nil })
    // Broken on purpose: POST on a key, which the description does not have.
    await Self.expectRefused(
      ["method": "POST", "url": .string(datadog.url + "/api/v2/api_keys/key-1"), "json": ["x": 1], "expect": [200]],
      naming: "OperationNotFound")
  }

  // MARK: - Replacements (issue 15 item 3)

  @Test func datadogAPIKeyCreationMatchesDatadogsDescriptionAndMasksTheKey() async throws {
    let datadog = try Receiver(provider: "datadog", spec: "datadog.json")
    let minted = String(repeating: "9f", count: 16)
    try datadog.script(
      "/api/v2/api_keys",
      #"[{"status": 201, "body": {"data": {"type": "api_keys", "id": "new-1", "attributes": {"name": "ci (replaced)", "key": "\#(minted)", "last4": "9f9f"}}}}]"#
    )
    let env = ["DATADOG_HOST": datadog.url, "DD_API_KEY": Self.ddAPIKey, "DD_APP_KEY": Self.ddAppKey]
    let masker = Masker()
    let created = try await ContractTests.run(
      try ContractTests.action("datadog.api-key.create"), ["name": "ci (replaced)"], env: env, masker: masker)
    #expect(created.outputs["new-id"] == "new-1")
    #expect(created.outputs["key"] == .string(minted))
    #expect(!masker.mask("new key \(minted)").contains(minted), "masked the moment it arrived")
    let sent = try datadog.recorded("/api/v2/api_keys")
    #expect(sent.map(\.method) == ["POST"])
    #expect(sent.allSatisfy { $0.contract == nil })
    // Broken on purpose: the create without its `type` (the description requires data.type).
    await Self.expectRefused(
      [
        "method": "POST", "url": .string(datadog.url + "/api/v2/api_keys"),
        "json": ["data": ["attributes": ["name": "x"]]], "expect": [201],
      ], naming: "'type' is a required property")
  }

  @Test func openAIAdminKeyCreationMatchesOpenAIsDescriptionAndMasksTheKey() async throws {
    let openai = try Receiver(provider: "openai", spec: "openai.json")
    let minted = "sk-admin-" + String(repeating: "n3w0", count: 15) + "T3BlbkFJ" + String(repeating: "k3y0", count: 15)
    try openai.script(
      "/v1/organization/admin_api_keys",
      #"[{"status": 200, "body": {"object": "organization.admin_api_key", "id": "key_new", "name": "replaces key_abc", "redacted_value": "sk-admin...y0", "created_at": 1764756000, "expires_at": null, "owner": {"type": "user", "object": "organization.user", "id": "user_1", "name": "Ops", "created_at": 1711471533, "role": "owner"}, "value": "\#(minted)"}}]"#
    )
    let env = ["OPENAI_BASE_URL": openai.url + "/v1", "OPENAI_ADMIN_KEY": Self.adminKey]
    let masker = Masker()
    let created = try await ContractTests.run(
      try ContractTests.action("openai.admin-key.create"), ["name": "replaces key_abc"], env: env, masker: masker)
    #expect(created.outputs["new-id"] == "key_new")
    #expect(!masker.mask("new key \(minted)").contains(minted), "masked the moment it arrived")
    #expect(try openai.recorded("/v1/organization/admin_api_keys").allSatisfy { $0.contract == nil })
    // Broken on purpose: the create without the required `name`.
    await Self.expectRefused(
      [
        "method": "POST", "url": .string(openai.url + "/v1/organization/admin_api_keys"),
        "auth": ["type": "bearer", "token": .string(Self.adminKey)], "json": ["expires_in_seconds": 60],
        "expect": [200],
      ], naming: "'name' is a required property")
  }

  @Test func gitlabRunnerResetAndVerifyMatchGitLabsReference() async throws {
    let gitlab = try Receiver(provider: "gitlab", spec: "gitlab.json")
    let leaked = "glrt-" + String(repeating: "Rn", count: 12)
    let minted = "glrt-" + String(repeating: "Nw", count: 12)
    try gitlab.script(
      "/api/v4/runners/reset_authentication_token",
      #"[{"status": 201, "body": {"token": "\#(minted)", "token_expires_at": null}}]"#)
    try gitlab.script("/api/v4/runners/verify", #"[{"status": 403, "body": {"message": "403 Forbidden"}}]"#)
    let env = ["GITLAB_URL": gitlab.url]
    let masker = Masker()
    let reset = try await ContractTests.run(
      try ContractTests.action("gitlab.runner.reset-token"), ["token": .string(leaked)], env: env, masker: masker)
    #expect(reset.outputs["status"] == 201)
    #expect(!masker.mask("new token \(minted)").contains(minted), "masked the moment it arrived")
    let verified = try await Self.run("gitlab.runner.verify", ["token": .string(leaked)], env: env)
    #expect(verified.outputs["status"] == 403)
    for path in ["/api/v4/runners/reset_authentication_token", "/api/v4/runners/verify"] {
      let sent = try gitlab.recorded(path)
      #expect(sent.map(\.method) == ["POST"])
      #expect(sent.allSatisfy { $0.contract == nil }, "\(path)")
    }
    // Broken on purpose: the reset without the token (the reference requires it).
    await Self.expectRefused(
      [
        "method": "POST", "url": .string(gitlab.url + "/api/v4/runners/reset_authentication_token"),
        "json": ["id": 1], "expect": [201],
      ], naming: "'token' is a required property")
  }
}
