import Foundation
import RespondActions
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

/// Issue 15 item 4: respond's real provider actions (the shipped YAML, over libcurl) against the
/// test receiver with contract checking on, so every request is checked against the provider's
/// own OpenAPI description (Tests/Support/openapi, openapi-core) and every canned answer against
/// its response schema. A request the provider would reject comes back 400 with the checker's
/// reason, which fails the action: these tests pass only while respond sends what GitHub,
/// SendGrid and Twilio publish.
@Suite struct ContractTests {
  static let githubToken = "ghp_" + String(repeating: "C0ntr4ct", count: 4) + "xyzw"
  static let sendgridAdmin = "SG." + String(repeating: "a", count: 22) + "." + String(repeating: "B", count: 43)
  static let accountSID = "AC" + String(repeating: "0a", count: 16)
  static let twilioToken = String(repeating: "f3", count: 16)
  static let keySID = "SK" + String(repeating: "9b", count: 16)

  /// A fresh prefix on the shared receiver, with `provider` checked against `spec` under it.
  struct Receiver {
    let base: String
    let prefix: String

    init(provider: String, spec: String) throws {
      base = try TestServices.load().receiverURL
      prefix = "/contract-\(UUID().uuidString.prefix(8))/\(provider)"
      try Self.post(base + "/_control/contract", #"{"prefix": "\#(prefix)", "spec": "\#(spec)"}"#)
    }

    var url: String { base + prefix }

    /// Answers `path` (under the prefix) with `responses` in order.
    func script(_ path: String, _ responses: String) throws {
      try Self.post(base + "/_control/script", #"{"path": "\#(prefix + path)", "responses": \#(responses)}"#)
    }

    /// What the receiver recorded under `path`: method and the checker's complaint, if any.
    func recorded(_ path: String) throws -> [(method: String, contract: String?)] {
      let text = try runProgram("/usr/bin/curl", ["-sS", "--fail", base + "/_control/requests?path=" + prefix + path])
      return (Value.parseJSON(text)?.arrayValue ?? []).map {
        ($0["method"]?.stringValue ?? "", $0["contract"]?.stringValue)
      }
    }

    static func post(_ url: String, _ body: String) throws {
      _ = try runProgram("/usr/bin/curl", ["-sS", "--fail", "-X", "POST", "--data-binary", body, url])
    }
  }

  /// The shipped registry: Runbooks/actions and the provider folders' actions.
  static func action(_ name: String) throws -> any Action {
    let (registry, problems) = StandardActions.registry(runbooksFolder: TestServices.repositoryRoot() + "/Runbooks")
    #expect(problems.isEmpty)
    return try #require(registry.action(named: name))
  }

  static func run(
    _ action: any Action, _ parameters: [String: Value], env: [String: String], masker: Masker = Masker()
  ) async throws -> ActionResult {
    try await action.run(
      ActionContext(
        stepID: "contract", parameters: parameters, environment: env, transport: CurlTransport(), masker: masker,
        incident: IncidentInfo(id: "t", runbook: "t", startedAt: Date(), mode: .live, directory: "/tmp")))
  }

  @Test func githubRevocationAndTokenCheckMatchGitHubsDescription() async throws {
    let github = try Receiver(provider: "github", spec: "github.json")
    try github.script("/credentials/revoke", #"[{"status": 202, "body": {}}]"#)
    try github.script(
      "/user",
      #"[{"status": 401, "headers": {"Content-Type": "application/json"}, "body": {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}}]"#
    )
    let env = ["GITHUB_API_URL": github.url]
    let revoked = try await Self.run(
      try Self.action("github.credentials.revoke"), ["token": .string(Self.githubToken)], env: env)
    #expect(revoked.outputs["status"] == 202)
    let check = try await Self.run(
      try Self.action("github.token.check"), ["token": .string(Self.githubToken)], env: env)
    #expect(check.outputs["status"] == 401)
    #expect(try github.recorded("/credentials/revoke").map(\.method) == ["POST"])
    #expect(try github.recorded("/user").allSatisfy { $0.contract == nil })
  }

  @Test func sendgridKeyDeleteAndLookupMatchSendGridsDescription() async throws {
    let sendgrid = try Receiver(provider: "sendgrid", spec: "sendgrid.json")
    try sendgrid.script(
      "/v3/api_keys/leakedKeyId1234567890a",
      #"[{"status": 204, "body": ""}, {"status": 404, "headers": {"Content-Type": "application/json"}, "body": {"errors": [{"message": "unable to find API Key"}]}}]"#
    )
    let env = ["SENDGRID_API_URL": sendgrid.url, "SENDGRID_API_KEY": Self.sendgridAdmin]
    let deleted = try await Self.run(
      try Self.action("sendgrid.key.delete"), ["key-id": "leakedKeyId1234567890a"], env: env)
    #expect(deleted.outputs["status"] == 204)
    let after = try await Self.run(try Self.action("sendgrid.key.get"), ["key-id": "leakedKeyId1234567890a"], env: env)
    #expect(after.outputs["status"] == 404)
    #expect(try sendgrid.recorded("/v3/api_keys/leakedKeyId1234567890a").map(\.method) == ["DELETE", "GET"])
  }

  @Test func twilioKeyDeleteAndLookupMatchTwiliosDescription() async throws {
    let twilio = try Receiver(provider: "twilio", spec: "twilio.json")
    let path = "/2010-04-01/Accounts/\(Self.accountSID)/Keys/\(Self.keySID).json"
    try twilio.script(
      path,
      #"[{"status": 200, "body": {"sid": "\#(Self.keySID)", "friendly_name": "ci", "date_created": "Mon, 13 Jun 2016 22:50:08 +0000", "date_updated": "Mon, 13 Jun 2016 22:50:08 +0000"}}, {"status": 204, "body": ""}, {"status": 404, "body": {"code": 20404, "message": "not found", "status": 404}}]"#
    )
    let env = [
      "TWILIO_API_URL": twilio.url, "TWILIO_ACCOUNT_SID": Self.accountSID, "TWILIO_AUTH_TOKEN": Self.twilioToken,
    ]
    let masker = Masker()
    let before = try await Self.run(try Self.action("twilio.key.get"), ["sid": .string(Self.keySID)], env: env)
    #expect(before.outputs["friendly-name"] == "ci")
    let deleted = try await Self.run(
      try Self.action("twilio.key.delete"), ["sid": .string(Self.keySID)], env: env, masker: masker)
    #expect(deleted.outputs["status"] == 204)
    let after = try await Self.run(try Self.action("twilio.key.get"), ["sid": .string(Self.keySID)], env: env)
    #expect(after.outputs["status"] == 404)
    #expect(try twilio.recorded(path).map(\.method) == ["GET", "DELETE", "GET"])
    // The auth token is a credential bound to Twilio's endpoint, and masked once it was sent.
    #expect(CredentialEndpoints.provider(of: "TWILIO_AUTH_TOKEN")?.name == "twilio")
    #expect(!masker.mask("token \(Self.twilioToken)").contains(Self.twilioToken))
  }

  /// The check can fail: a request the description does not have (PUT on the revocation
  /// endpoint) and one missing what it requires (SendGrid without its bearer key) are refused,
  /// and the action reports the checker's reason.
  @Test func aRequestTheProviderWouldRejectFailsTheContract() async throws {
    let github = try Receiver(provider: "github", spec: "github.json")
    try github.script("/credentials/revoke", #"[{"status": 202, "body": {}}]"#)
    let put = HTTPAction()
    await #expect {
      _ = try await Self.run(
        put,
        [
          "method": "PUT", "url": .string(github.url + "/credentials/revoke"),
          "json": ["credentials": [.string(Self.githubToken)]], "expect": [202],
        ], env: [:])
    } throws: { error in
      guard case .provider(let problem) = error as? ActionError else { return false }
      return problem.status == 400 && problem.message.contains("OperationNotFound")
    }
    #expect(try github.recorded("/credentials/revoke").first?.contract?.contains("NO MATCH: PUT") == true)

    let sendgrid = try Receiver(provider: "sendgrid", spec: "sendgrid.json")
    try sendgrid.script("/v3/api_keys/abc", #"[{"status": 204, "body": ""}]"#)
    await #expect {
      _ = try await Self.run(
        HTTPAction(), ["method": "DELETE", "url": .string(sendgrid.url + "/v3/api_keys/abc"), "expect": [204]],
        env: [:])
    } throws: { error in
      guard case .provider(let problem) = error as? ActionError else { return false }
      return problem.status == 400 && problem.message.contains("Security")
    }
  }

  /// Canned answers are checked too: one that breaks GitHub's `/user` schema comes back as a 500
  /// naming the mismatch, so a test cannot pass on an answer GitHub would never give.
  @Test func aCannedAnswerOutsideTheResponseSchemaIsRefused() async throws {
    let github = try Receiver(provider: "github", spec: "github.json")
    try github.script("/user", #"[{"status": 200, "body": [1, 2]}]"#)
    await #expect {
      _ = try await Self.run(
        try Self.action("github.token.check"), ["token": .string(Self.githubToken)],
        env: ["GITHUB_API_URL": github.url])
    } throws: { error in
      guard case .provider(let problem) = error as? ActionError else { return false }
      return problem.status == 500 && problem.message.contains("RESPONSE MISMATCH")
    }
  }
}
