import Foundation
import RespondCore
import RespondTestSupport
import Testing

@testable import RespondActions

/// A batch key's credentials from its account's entry, on a recorded transport: the AssumeRole
/// request (role, session name, external id), one call per account however many keys, the
/// answer's secrets masked, and credentials of another account refused.
@Suite struct AccountCredentialsTests {
  static let env = [
    "AWS_ACCESS_KEY_ID": "AKIAADMINADMINADMIN1", "AWS_SECRET_ACCESS_KEY": "adminsecret-123", "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "HOME": "/nonexistent", "AWS_PROFILE": "ignored-by-keys",
  ]
  static let role = "arn:aws:iam::222222222222:role/respond"

  static func assumeAnswer(account: String = "222222222222") -> String {
    """
    <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
    <Credentials><AccessKeyId>ASIAEXAMPLEASSUMED01</AccessKeyId><SecretAccessKey>assumed-secret-xyz</SecretAccessKey>
    <SessionToken>FQoGZXIvYXdzEBYaDsessiontoken</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
    <AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:respond</AssumedRoleId>
    <Arn>arn:aws:sts::\(account):assumed-role/respond/batch-1</Arn></AssumedRoleUser>
    </AssumeRoleResult></AssumeRoleResponse>
    """
  }

  @Test func aRoleIsAssumedOnceWithItsExternalIdAndItsSecretsMasked() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "127.0.0.1", bodyContaining: "Action=AssumeRole", reply: Self.assumeAnswer())
    let masker = Masker()
    let credentials = AccountCredentials(
      environment: Self.env, transport: transport, masker: masker, limiters: RateLimiters())
    let source = AccountMap.Source.role(
      arn: Self.role, externalID: "respond-7f3c", sessionName: "batch-1", sourceProfile: nil)
    async let first = credentials.environment(for: source, account: "222222222222")
    async let second = credentials.environment(for: source, account: "222222222222")
    let (a, b) = try await (first, second)
    #expect(a == b)
    #expect(a["AWS_ACCESS_KEY_ID"] == "ASIAEXAMPLEASSUMED01")
    #expect(a["AWS_SECRET_ACCESS_KEY"] == "assumed-secret-xyz")
    #expect(a["AWS_SESSION_TOKEN"] == "FQoGZXIvYXdzEBYaDsessiontoken")
    #expect(a["AWS_ENDPOINT_URL"] == Self.env["AWS_ENDPOINT_URL"] && a["AWS_REGION"] == "us-east-1")
    // Two keys of one account: one AssumeRole, signed with the environment's key.
    #expect(transport.requests.count == 1)
    let request = try #require(transport.requests.first)
    let body = String(decoding: request.body, as: UTF8.self)
    #expect(body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Frespond"), "\(body)")
    #expect(body.contains("RoleSessionName=batch-1") && body.contains("ExternalId=respond-7f3c"), "\(body)")
    let authorization = request.headers.first { $0.0.lowercased() == "authorization" }?.1 ?? ""
    #expect(authorization.contains("Credential=AKIAADMINADMINADMIN1/"))
    // The assumed secrets are masked from the moment they arrive.
    #expect(!masker.mask("s=assumed-secret-xyz t=FQoGZXIvYXdzEBYaDsessiontoken").contains("assumed-secret-xyz"))
    #expect(!masker.mask("FQoGZXIvYXdzEBYaDsessiontoken").contains("sessiontoken"))
  }

  @Test func aRoleWithoutExternalIdSendsNone() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "127.0.0.1", bodyContaining: "Action=AssumeRole", reply: Self.assumeAnswer())
    let credentials = AccountCredentials(
      environment: Self.env, transport: transport, masker: Masker(), limiters: RateLimiters())
    _ = try await credentials.environment(
      for: .role(arn: Self.role, externalID: nil, sessionName: "respond", sourceProfile: nil),
      account: "222222222222")
    let body = String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
    #expect(!body.contains("ExternalId") && body.contains("RoleSessionName=respond"))
  }

  @Test func aSessionInAnotherAccountIsRefused() async throws {
    let transport = RecordedTransport()
    transport.on(
      urlContaining: "127.0.0.1", bodyContaining: "Action=AssumeRole",
      reply: Self.assumeAnswer(account: "999999999999"))
    let credentials = AccountCredentials(
      environment: Self.env, transport: transport, masker: Masker(), limiters: RateLimiters())
    await #expect(throws: (any Error).self) {
      try await credentials.environment(
        for: .role(arn: Self.role, externalID: nil, sessionName: "respond", sourceProfile: nil),
        account: "222222222222")
    }
  }

  @Test func aProfileReplacesTheEnvironmentsKeys() {
    let env = AccountCredentials.profileEnvironment(Self.env, "prod")
    #expect(env["AWS_PROFILE"] == "prod")
    #expect(env["AWS_ACCESS_KEY_ID"] == nil && env["AWS_SECRET_ACCESS_KEY"] == nil && env["AWS_SESSION_TOKEN"] == nil)
    #expect(env["AWS_ENDPOINT_URL"] == Self.env["AWS_ENDPOINT_URL"])
  }

  @Test func aProfileThatAssumesARoleIsThatRole() throws {
    let dir = NSTemporaryDirectory() + "respond-accounts-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try """
    [profile b]
    role_arn = arn:aws:iam::222222222222:role/respond
    source_profile = security
    external_id = ext-1
    [profile c]
    role_arn = arn:aws:iam::333333333333:role/respond
    """.write(toFile: dir + "/config", atomically: true, encoding: .utf8)
    let env = ["AWS_CONFIG_FILE": dir + "/config"]
    #expect(
      try AccountCredentials.profileRole(env, "b")
        == .role(
          arn: "arn:aws:iam::222222222222:role/respond", externalID: "ext-1", sessionName: "respond",
          sourceProfile: "security"))
    #expect(throws: (any Error).self) { try AccountCredentials.profileRole(env, "c") }
    #expect(try AccountCredentials.profileRole(env, "missing") == nil)
  }
}
