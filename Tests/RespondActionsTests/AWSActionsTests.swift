import Foundation
import RespondCore
import RespondTestSupport
import Testing

@testable import RespondActions

/// The AWS actions on a recorded transport: what they send (shape, signing, mutates flag),
/// how they page, how they read answers, and that secrets are masked the moment they appear.
/// Answers follow the shapes in AWS's API references (and moto's, where it differs).
@Suite struct AWSActionsTests {
  static let env = [
    "AWS_ACCESS_KEY_ID": "AKIAADMINADMINADMIN1", "AWS_SECRET_ACCESS_KEY": "adminsecret-123", "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "HOME": "/nonexistent",
  ]

  static func context(
    _ transport: RecordedTransport, _ parameters: [String: Value], env: [String: String] = env,
    masker: Masker = Masker(),
    step: String = "step1"
  ) -> ActionContext {
    ActionContext(
      stepID: step, parameters: parameters, environment: env, transport: transport, masker: masker,
      incident: IncidentInfo(
        id: "20261123T130939Z-key-compromised", runbook: "key-compromised", startedAt: Date(), mode: .live,
        directory: "/tmp"))
  }

  static func action(_ name: String) throws -> any Action {
    try #require(AWSActions.all().first { $0.descriptor.name == name }, "no action \(name)")
  }

  static func run(
    _ name: String, _ transport: RecordedTransport, _ parameters: [String: Value],
    env: [String: String] = env, masker: Masker = Masker()
  ) async throws -> ActionResult {
    let action = try action(name)
    return try await AWSRetryPolicy.$current.withValue(.fast) {
      try await action.run(context(transport, parameters, env: env, masker: masker))
    }
  }

  /// The form fields of a Query request.
  static func form(_ request: HTTPRequest) -> [String: String] {
    var out: [String: String] = [:]
    for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
      let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
      out[kv[0]] = kv.count > 1 ? kv[1] : ""
    }
    return out
  }

  static func json(_ request: HTTPRequest) -> Value { Value.parseJSON(request.body) ?? .null }

  static func xml(_ op: String, _ inner: String) -> String {
    "<\(op)Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><\(op)Result>\(inner)</\(op)Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></\(op)Response>"
  }

  static func iamError(_ code: String, _ message: String = "m") -> String {
    "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>\(message)</Message></Error><RequestId>r</RequestId></ErrorResponse>"
  }

  // MARK: - Rate limiter keys

  /// One limiter per account (the responder's key id), endpoint, service and region; the APIs
  /// with their own documented quota get one per API. RESPOND_AWS_RATE_LIMITS overrides a rate by
  /// key prefix, the longest prefix winning.
  @Test func limiterKeysAndConfiguredRates() {
    let trail = AWSClient.limiterKey(
      service: "cloudtrail", operation: "LookupEvents", region: "us-east-1", endpoint: "https://e", account: "AKIAA")
    let iam = AWSClient.limiterKey(
      service: "iam", operation: nil, region: "us-east-1", endpoint: "https://e", account: "AKIAA")
    #expect(trail == "aws:cloudtrail:LookupEvents:us-east-1|AKIAA|https://e")
    #expect(
      iam
        != AWSClient.limiterKey(
          service: "iam", operation: nil, region: "us-east-1", endpoint: "https://e", account: "AKIAB"))
    let env = ["RESPOND_AWS_RATE_LIMITS": "cloudtrail=9, cloudtrail:LookupEvents=50,iam=200,bad,sts=x"]
    #expect(AWSClient.configuredRate(trail, environment: env) == 50)
    #expect(AWSClient.configuredRate(iam, environment: env) == 200)
    #expect(AWSClient.configuredRate("aws:cloudtrail:us-east-1|A|u", environment: env) == 9)
    #expect(AWSClient.configuredRate("aws:iamx:us-east-1|A|u", environment: env) == nil)
    #expect(AWSClient.configuredRate(iam, environment: [:]) == nil)
  }

  // MARK: - Descriptors

  @Test func descriptors() {
    let all = AWSActions.all().map(\.descriptor)
    #expect(
      all.map(\.name).sorted() == [
        "aws.activity.classify", "aws.cloudtrail.lookup-events", "aws.cloudtrail.scan-archive",
        "aws.iam.create-access-key", "aws.iam.delete-access-key", "aws.iam.delete-inline-policy",
        "aws.iam.delete-login-profile", "aws.iam.deny-sessions-before", "aws.iam.eradicate-persistence",
        "aws.iam.get-access-key-last-used", "aws.iam.get-inline-policy", "aws.iam.get-login-profile",
        "aws.iam.list-access-keys", "aws.iam.quarantine-user", "aws.iam.triage",
        "aws.iam.update-access-key", "aws.logs.filter-log-events", "aws.secretsmanager.find-copies",
        "aws.secretsmanager.get-secret-value", "aws.secretsmanager.put-secret-value",
        "aws.secretsmanager.replace-copies", "aws.secretsmanager.rotate-read-secrets", "aws.ssm.find-copies",
        "aws.ssm.get-parameter", "aws.ssm.put-parameter", "aws.ssm.replace-copies", "aws.sts.get-caller-identity",
      ])
    let kebab = try! Regex("^[a-z0-9]+(-[a-z0-9]+)*$")
    for d in all {
      #expect(!d.summary.isEmpty)
      for p in d.parameters { #expect(p.name.wholeMatch(of: kebab) != nil, "\(d.name) \(p.name)") }
      for o in d.outputs { #expect(o.name.wholeMatch(of: kebab) != nil, "\(d.name) \(o.name)") }
    }
    let mutating = Set(all.filter(\.mutates).map(\.name))
    #expect(
      mutating == [
        "aws.iam.create-access-key", "aws.iam.delete-access-key", "aws.iam.deny-sessions-before",
        "aws.iam.update-access-key", "aws.secretsmanager.put-secret-value", "aws.ssm.put-parameter",
        "aws.iam.delete-inline-policy", "aws.iam.quarantine-user", "aws.iam.delete-login-profile",
        "aws.iam.eradicate-persistence", "aws.secretsmanager.replace-copies", "aws.ssm.replace-copies",
        "aws.secretsmanager.rotate-read-secrets",
      ])
    #expect(all.filter { !$0.idempotent }.map(\.name) == ["aws.iam.create-access-key"])
    let create = all.first { $0.name == "aws.iam.create-access-key" }!
    #expect(create.output("secret-access-key")?.secret == true)
    #expect(create.output("access-key-id")?.secret == false)
    #expect(all.first { $0.name == "aws.ssm.put-parameter" }!.parameter("value")?.secret == true)
    #expect(all.first { $0.name == "aws.secretsmanager.put-secret-value" }!.parameter("secret-string")?.secret == true)
    #expect(all.first { $0.name == "aws.sts.get-caller-identity" }!.parameter("secret-access-key")?.secret == true)
    #expect(
      all.first { $0.name == "aws.iam.update-access-key" }!.parameter("status")?.allowed == ["Active", "Inactive"])
  }

  // MARK: - IAM

  @Test func updateAccessKeyRequestShape() async throws {
    let t = RecordedTransport()
    t.on(
      urlContaining: "127.0.0.1:5000", bodyContaining: "Action=UpdateAccessKey", reply: Self.xml("UpdateAccessKey", ""))
    let result = try await Self.run(
      "aws.iam.update-access-key", t,
      ["access-key-id": "AKIALEAKEDLEAKEDLEAK", "status": "Inactive", "user-name": "ci bot"])
    #expect(result.outputs["status"] == "Inactive")
    let req = try #require(t.requests.first)
    #expect(req.method == "POST" && req.url == "http://127.0.0.1:5000/" && req.mutates)
    #expect(
      String(decoding: req.body, as: UTF8.self)
        == "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId=AKIALEAKEDLEAKEDLEAK&Status=Inactive&UserName=ci%20bot"
    )
    #expect(req.header("Content-Type") == "application/x-www-form-urlencoded; charset=utf-8")
    #expect(req.header("Host") == "127.0.0.1:5000")
    #expect(req.header("X-Amz-Date")?.count == 16)
    let auth = try #require(req.header("Authorization"))
    #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIAADMINADMINADMIN1/"))
    #expect(auth.contains("/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="))
    #expect(req.operation == "iam:UpdateAccessKey")
  }

  @Test func updateAccessKeyRejectsBadStatus() async throws {
    await #expect {
      _ = try await Self.run(
        "aws.iam.update-access-key", RecordedTransport(), ["access-key-id": "AKIAX", "status": "Off"])
    } throws: { "\($0)" == "parameter 'status' must be Active or Inactive, got 'Off'" }
  }

  @Test func sessionTokenIsSent() async throws {
    var env = Self.env
    env["AWS_SESSION_TOKEN"] = "session-token-xyz"
    let t = RecordedTransport()
    t.on(urlContaining: "/", reply: Self.xml("UpdateAccessKey", ""))
    let masker = Masker()
    _ = try await Self.run(
      "aws.iam.update-access-key", t, ["access-key-id": "AKIAX", "status": "Active"], env: env, masker: masker)
    #expect(t.requests[0].header("X-Amz-Security-Token") == "session-token-xyz")
    #expect(t.requests[0].header("Authorization")?.contains("x-amz-security-token") == true)
    #expect(masker.mask("session-token-xyz adminsecret-123") != "session-token-xyz adminsecret-123")
  }

  @Test func listAccessKeysPagesAndReportsStatus() async throws {
    let t = RecordedTransport()
    t.on { req in
      let form = Self.form(req)
      guard form["Action"] == "ListAccessKeys" else { return nil }
      #expect(!req.mutates)
      #expect(form["UserName"] == "alice")
      if form["Marker"] == nil {
        return HTTPResponse(
          status: 200,
          body: Data(
            Self.xml(
              "ListAccessKeys",
              """
              <AccessKeyMetadata><member><UserName>alice</UserName><AccessKeyId>AKIAONEONEONEONEONE1</AccessKeyId>\
              <Status>Inactive</Status><CreateDate>2026-01-02T03:04:05.123456Z</CreateDate></member></AccessKeyMetadata>\
              <IsTruncated>true</IsTruncated><Marker>page2</Marker>
              """
            ).utf8))
      }
      #expect(form["Marker"] == "page2")
      return HTTPResponse(
        status: 200,
        body: Data(
          Self.xml(
            "ListAccessKeys",
            """
            <AccessKeyMetadata><member><UserName>alice</UserName><AccessKeyId>AKIATWOTWOTWOTWOTWO2</AccessKeyId>\
            <Status>Active</Status><CreateDate>2026-02-02T03:04:05Z</CreateDate></member></AccessKeyMetadata>\
            <IsTruncated>false</IsTruncated>
            """
          ).utf8))
    }
    let result = try await Self.run(
      "aws.iam.list-access-keys", t, ["user-name": "alice", "access-key-id": "AKIAONEONEONEONEONE1"])
    #expect(t.requests.count == 2)
    #expect(result.outputs["count"] == 2)
    #expect(result.outputs["active-count"] == 1)
    #expect(result.outputs["status"] == "Inactive")
    #expect(
      result.outputs["keys"] == [
        ["access-key-id": "AKIAONEONEONEONEONE1", "status": "Inactive", "create-date": "2026-01-02T03:04:05Z"],
        ["access-key-id": "AKIATWOTWOTWOTWOTWO2", "status": "Active", "create-date": "2026-02-02T03:04:05Z"],
      ])
    let absent = try await Self.run(
      "aws.iam.list-access-keys", t, ["user-name": "alice", "access-key-id": "AKIAGONEGONEGONEGONE"])
    #expect(absent.outputs["status"] == "absent")
    let none = try await Self.run("aws.iam.list-access-keys", t, ["user-name": "alice"])
    #expect(none.outputs["status"] == .null)
  }

  @Test func lastUsedFoundAndNotFound() async throws {
    let t = RecordedTransport()
    t.on(
      urlContaining: "/", bodyContaining: "AccessKeyId=AKIAUSEDUSEDUSEDUSED",
      reply: Self.xml(
        "GetAccessKeyLastUsed",
        """
        <UserName>bob</UserName><AccessKeyLastUsed><LastUsedDate>2026-11-20T10:00:00Z</LastUsedDate>\
        <ServiceName>s3</ServiceName><Region>eu-west-1</Region></AccessKeyLastUsed>
        """))
    t.on(
      urlContaining: "/", bodyContaining: "AccessKeyId=AKIANEVERNEVERNEVER1",
      reply: Self.xml(
        "GetAccessKeyLastUsed",
        """
        <UserName>carol</UserName><AccessKeyLastUsed><ServiceName>N/A</ServiceName><Region>N/A</Region></AccessKeyLastUsed>
        """))
    t.on(
      urlContaining: "/", status: 404,
      reply: Self.iamError("NoSuchEntity", "The Access Key with id AKIAX cannot be found"))
    let used = try await Self.run("aws.iam.get-access-key-last-used", t, ["access-key-id": "AKIAUSEDUSEDUSEDUSED"])
    #expect(
      used.outputs == [
        "found": true, "user-name": "bob", "last-used-date": "2026-11-20T10:00:00Z", "last-used-service": "s3",
        "last-used-region": "eu-west-1",
      ])
    #expect(t.requests[0].mutates == false)
    let never = try await Self.run("aws.iam.get-access-key-last-used", t, ["access-key-id": "AKIANEVERNEVERNEVER1"])
    #expect(never.outputs["user-name"] == "carol")
    #expect(never.outputs["last-used-date"] == .null && never.outputs["last-used-service"] == .null)
    let unknown = try await Self.run("aws.iam.get-access-key-last-used", t, ["access-key-id": "AKIAXXXXXXXXXXXXXXXX"])
    #expect(unknown.outputs["found"] == false)
    #expect(unknown.outputs["user-name"] == .null)
  }

  static let createReply = xml(
    "CreateAccessKey",
    """
    <AccessKey><UserName>alice</UserName><AccessKeyId>AKIANEWNEWNEWNEWNEW1</AccessKeyId><Status>Active</Status>\
    <SecretAccessKey>NewSecret/abcdefghijklmnopqrstuvwxyz0123</SecretAccessKey>\
    <CreateDate>2026-11-23T13:10:00Z</CreateDate></AccessKey>
    """)

  @Test func createAccessKeyMasksTheSecretAtOnce() async throws {
    let t = RecordedTransport()
    t.on(urlContaining: "/", bodyContaining: "Action=CreateAccessKey", reply: Self.createReply)
    let masker = Masker()
    let result = try await Self.run("aws.iam.create-access-key", t, ["user-name": "alice"], masker: masker)
    let secret = "NewSecret/abcdefghijklmnopqrstuvwxyz0123"
    #expect(result.outputs["secret-access-key"] == .string(secret))
    #expect(result.outputs["access-key-id"] == "AKIANEWNEWNEWNEWNEW1")
    #expect(result.outputs["create-date"] == "2026-11-23T13:10:00Z")
    #expect(result.outputs["deleted-to-make-room"] == .null)
    #expect(masker.mask(secret) != secret)
    #expect(masker.mask(secret) == Masker.fingerprint(secret))
    #expect(!masker.mask(result.summary ?? "").contains(secret))
    #expect(t.requests.count == 1 && t.requests[0].mutates)
    #expect(Self.form(t.requests[0]) == ["Action": "CreateAccessKey", "Version": "2010-05-08", "UserName": "alice"])
  }

  /// The list the make-room and reconcile paths read.
  static func keysReply(_ keys: [(String, String, String)]) -> String {
    xml(
      "ListAccessKeys",
      "<AccessKeyMetadata>"
        + keys.map {
          "<member><UserName>alice</UserName><AccessKeyId>\($0.0)</AccessKeyId><Status>\($0.1)</Status><CreateDate>\($0.2)</CreateDate></member>"
        }.joined() + "</AccessKeyMetadata><IsTruncated>false</IsTruncated>")
  }

  @Test func createMakesRoomByDeletingTheInactiveLeakedKey() async throws {
    let t = RecordedTransport()
    let creates = AWSErrorTests.Counter()
    t.on { req in
      guard Self.form(req)["Action"] == "CreateAccessKey" else { return nil }
      if creates.next() == 0 {
        return HTTPResponse(
          status: 409, body: Data(Self.iamError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2").utf8))
      }
      return HTTPResponse(status: 200, body: Data(Self.createReply.utf8))
    }
    t.on(
      urlContaining: "/", bodyContaining: "Action=ListAccessKeys",
      reply: Self.keysReply([
        ("AKIALEAKEDLEAKEDLEAK", "Inactive", "2025-01-01T00:00:00Z"),
        ("AKIAOTHEROTHEROTHER1", "Active", "2025-06-01T00:00:00Z"),
      ]))
    t.on(urlContaining: "/", bodyContaining: "Action=DeleteAccessKey", reply: Self.xml("DeleteAccessKey", ""))
    let result = try await Self.run(
      "aws.iam.create-access-key", t, ["user-name": "alice", "make-room-by-deleting": "AKIALEAKEDLEAKEDLEAK"])
    #expect(result.outputs["deleted-to-make-room"] == "AKIALEAKEDLEAKEDLEAK")
    #expect(
      t.requests.map { Self.form($0)["Action"]! } == [
        "CreateAccessKey", "ListAccessKeys", "DeleteAccessKey", "CreateAccessKey",
      ])
    #expect(Self.form(t.requests[2])["AccessKeyId"] == "AKIALEAKEDLEAKEDLEAK")
  }

  @Test func createDoesNotDeleteAnActiveLeakedKey() async throws {
    let t = RecordedTransport()
    t.on(
      urlContaining: "/", bodyContaining: "Action=CreateAccessKey", status: 409, reply: Self.iamError("LimitExceeded"))
    t.on(
      urlContaining: "/", bodyContaining: "Action=ListAccessKeys",
      reply: Self.keysReply([
        ("AKIALEAKEDLEAKEDLEAK", "Active", "2025-01-01T00:00:00Z"),
        ("AKIAOTHEROTHEROTHER1", "Active", "2025-06-01T00:00:00Z"),
      ]))
    await #expect {
      _ = try await Self.run(
        "aws.iam.create-access-key", t, ["user-name": "alice", "make-room-by-deleting": "AKIALEAKEDLEAKEDLEAK"])
    } throws: {
      "\($0)"
        == "alice already has the maximum number of access keys, and AKIALEAKEDLEAKEDLEAK is still Active: it was not deleted to make room (deactivate it first)"
    }
    #expect(!t.requests.contains { Self.form($0)["Action"] == "DeleteAccessKey" })
    // Without make-room-by-deleting, the quota error is the provider's, with its code.
    await #expect {
      _ = try await Self.run("aws.iam.create-access-key", t, ["user-name": "alice"])
    } throws: { ($0 as? ActionError)?.awsCode == "LimitExceeded" }
  }

  @Test func reconcileDeletesOrphansOfTheLostAttempt() async throws {
    let started = try #require(ISO8601.parse("2026-11-23T13:10:00Z"))
    let t = RecordedTransport()
    t.on(
      urlContaining: "/", bodyContaining: "Action=ListAccessKeys",
      reply: Self.keysReply([
        ("AKIALEAKEDLEAKEDLEAK", "Inactive", "2025-01-01T00:00:00Z"),
        ("AKIAORPHANORPHANORP1", "Active", "2026-11-23T13:09:59.500Z"),
      ]))
    t.on(urlContaining: "/", bodyContaining: "Action=DeleteAccessKey", reply: Self.xml("DeleteAccessKey", ""))
    let action = try Self.action("aws.iam.create-access-key")
    let decision = try await AWSRetryPolicy.$current.withValue(.fast) {
      try await action.reconcileInterrupted(
        Self.context(t, ["user-name": "alice", "make-room-by-deleting": "AKIALEAKEDLEAKEDLEAK"]), startedAt: started)
    }
    #expect(decision == .safeToRerun(note: "deleted AKIAORPHANORPHANORP1 created for alice by the interrupted attempt"))
    let deletes = t.requests.filter { Self.form($0)["Action"] == "DeleteAccessKey" }
    #expect(deletes.map { Self.form($0)["AccessKeyId"] } == ["AKIAORPHANORPHANORP1"])
    #expect(deletes.allSatisfy { Self.form($0)["UserName"] == "alice" })

    let clean = RecordedTransport()
    clean.on(
      urlContaining: "/", bodyContaining: "Action=ListAccessKeys",
      reply: Self.keysReply([
        ("AKIALEAKEDLEAKEDLEAK", "Inactive", "2025-01-01T00:00:00Z")
      ]))
    let none = try await action.reconcileInterrupted(Self.context(clean, ["user-name": "alice"]), startedAt: started)
    #expect(
      none
        == .safeToRerun(
          note:
            "the interrupted attempt created no key for alice (none created between 2026-11-23T13:09:58Z and 2026-11-23T13:11:00Z)"
        ))
  }

  /// Both keys of one user leaked and a batch resumes both incidents: the replacement the other
  /// incident just minted (in this process) and keys made after the lost attempt's window are
  /// not orphans of this one.
  @Test func reconcileKeepsKeysThisProcessHandedOutAndKeysAfterTheWindow() async throws {
    let started = try #require(ISO8601.parse("2026-11-23T13:10:00Z"))
    let minted = RecordedTransport()
    minted.on(
      urlContaining: "/", bodyContaining: "Action=CreateAccessKey",
      reply: Self.xml(
        "CreateAccessKey",
        """
        <AccessKey><UserName>alice</UserName><AccessKeyId>AKIAHANDEDOUTHANDED1</AccessKeyId><Status>Active</Status>\
        <SecretAccessKey>OtherSecret/abcdefghijklmnopqrstuvwxyz01</SecretAccessKey>\
        <CreateDate>2026-11-23T13:10:05Z</CreateDate></AccessKey>
        """))
    _ = try await Self.run("aws.iam.create-access-key", minted, ["user-name": "alice"])
    let t = RecordedTransport()
    t.on(
      urlContaining: "/", bodyContaining: "Action=ListAccessKeys",
      reply: Self.keysReply([
        ("AKIAHANDEDOUTHANDED1", "Active", "2026-11-23T13:10:05Z"),
        ("AKIALATERLATERLATER1", "Active", "2026-11-23T13:11:30Z"),
      ]))
    t.on(urlContaining: "/", bodyContaining: "Action=DeleteAccessKey", reply: Self.xml("DeleteAccessKey", ""))
    let action = try Self.action("aws.iam.create-access-key")
    let decision = try await action.reconcileInterrupted(Self.context(t, ["user-name": "alice"]), startedAt: started)
    #expect(
      decision
        == .safeToRerun(
          note:
            "the interrupted attempt created no key for alice (none created between 2026-11-23T13:09:58Z and 2026-11-23T13:11:00Z)"
        ))
    #expect(!t.requests.contains { Self.form($0)["Action"] == "DeleteAccessKey" })
  }

  @Test func deleteAccessKeyTreatsNoSuchEntityAsDone() async throws {
    let t = RecordedTransport()
    t.on(
      urlContaining: "/", bodyContaining: "AccessKeyId=AKIAGONEGONEGONEGONE", status: 404,
      reply: Self.iamError("NoSuchEntity"))
    t.on(urlContaining: "/", bodyContaining: "Action=DeleteAccessKey", reply: Self.xml("DeleteAccessKey", ""))
    let gone = try await Self.run("aws.iam.delete-access-key", t, ["access-key-id": "AKIAGONEGONEGONEGONE"])
    #expect(gone.outputs == ["access-key-id": "AKIAGONEGONEGONEGONE", "already-deleted": true])
    let deleted = try await Self.run(
      "aws.iam.delete-access-key", t, ["access-key-id": "AKIALIVELIVELIVELIVE", "user-name": "u"])
    #expect(deleted.outputs["already-deleted"] == false)
    #expect(
      Self.form(t.requests[1]) == [
        "Action": "DeleteAccessKey", "Version": "2010-05-08", "AccessKeyId": "AKIALIVELIVELIVELIVE", "UserName": "u",
      ])
  }

  @Test func denySessionsBeforePutsTheRevokePolicy() async throws {
    let t = RecordedTransport()
    t.on(urlContaining: "/", reply: Self.xml("PutRolePolicy", ""))
    let result = try await Self.run(
      "aws.iam.deny-sessions-before", t, ["role-name": "deploy", "before": "2026-11-23T13:09:39Z"])
    #expect(
      result.outputs == [
        "policy-name": "AWSRevokeOlderSessions", "principal": "role/deploy", "before": "2026-11-23T13:09:39Z",
      ])
    let form = Self.form(t.requests[0])
    #expect(
      form["Action"] == "PutRolePolicy" && form["RoleName"] == "deploy"
        && form["PolicyName"] == "AWSRevokeOlderSessions")
    let doc = try #require(Value.parseJSON(form["PolicyDocument"] ?? ""))
    #expect(
      doc == [
        "Version": "2012-10-17",
        "Statement": [
          [
            "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
            "Condition": ["DateLessThan": ["aws:TokenIssueTime": "2026-11-23T13:09:39Z"]],
          ]
        ],
      ])
    _ = try await Self.run("aws.iam.deny-sessions-before", t, ["user-name": "alice"])
    let userForm = Self.form(t.requests[1])
    #expect(userForm["Action"] == "PutUserPolicy" && userForm["UserName"] == "alice")
    await #expect(throws: ActionError.self) {
      _ = try await Self.run("aws.iam.deny-sessions-before", t, ["role-name": "a", "user-name": "b"])
    }
    await #expect(throws: ActionError.self) { _ = try await Self.run("aws.iam.deny-sessions-before", t, [:]) }
    await #expect {
      _ = try await Self.run("aws.iam.deny-sessions-before", t, ["role-name": "a", "before": "yesterday"])
    } throws: { "\($0)".hasPrefix("parameter 'before' must be an ISO-8601 UTC time") }
  }

  // MARK: - STS

  @Test func callerIdentityOfANewKeyWaitsForPropagation() async throws {
    let t = RecordedTransport()
    let calls = AWSErrorTests.Counter()
    t.on { req in
      #expect(req.header("Authorization")?.contains("Credential=AKIANEWNEWNEWNEWNEW1/") == true)
      #expect(req.header("Authorization")?.contains("/us-east-1/sts/aws4_request") == true)
      #expect(Self.form(req) == ["Action": "GetCallerIdentity", "Version": "2011-06-15"])
      if calls.next() < 2 {
        return HTTPResponse(
          status: 403,
          body: Data(
            Self.iamError("InvalidClientTokenId", "The security token included in the request is invalid.").utf8))
      }
      return HTTPResponse(
        status: 200,
        body: Data(
          """
          <GetCallerIdentityResponse><GetCallerIdentityResult><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>\
          <Arn>arn:aws:iam::123456789012:user/alice</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>
          """.utf8))
    }
    let masker = Masker()
    let result = try await Self.run(
      "aws.sts.get-caller-identity", t,
      ["access-key-id": "AKIANEWNEWNEWNEWNEW1", "secret-access-key": "brand-new-secret-123"], masker: masker)
    #expect(
      result.outputs == [
        "account": "123456789012", "arn": "arn:aws:iam::123456789012:user/alice", "user-id": "AIDAEXAMPLE",
        "access-key-id": "AKIANEWNEWNEWNEWNEW1",
      ])
    #expect(t.requests.count == 3)
    #expect(masker.containsSecret("brand-new-secret-123"))
  }

  @Test func callerIdentityOfABadKeyFailsWithTheCode() async throws {
    let t = RecordedTransport()
    t.on(
      urlContaining: "/", status: 403,
      reply: Self.iamError("InvalidClientTokenId", "The security token included in the request is invalid."))
    await #expect {
      _ = try await Self.run(
        "aws.sts.get-caller-identity", t, ["access-key-id": "AKIABADBADBADBADBAD1", "secret-access-key": "nope-nope"])
    } throws: { "\($0)".contains("AWS STS GetCallerIdentity failed: HTTP 403 InvalidClientTokenId") }
    #expect(t.requests.count == 5)  // first try + 4 propagation waits
    // The configured credentials are not retried for propagation.
    let once = RecordedTransport()
    once.on(urlContaining: "/", status: 403, reply: Self.iamError("InvalidClientTokenId"))
    await #expect(throws: ActionError.self) { _ = try await Self.run("aws.sts.get-caller-identity", once, [:]) }
    #expect(once.requests.count == 1)
    await #expect(throws: ActionError.self) {
      _ = try await Self.run("aws.sts.get-caller-identity", once, ["access-key-id": "AKIABADBADBADBADBAD1"])
    }
  }

  // MARK: - Secrets Manager and SSM

  @Test func putSecretValueIsDeterministic() async throws {
    let t = RecordedTransport()
    t.on { req in
      guard req.header("X-Amz-Target") == "secretsmanager.PutSecretValue" else { return nil }
      let token = Self.json(req)["ClientRequestToken"]?.stringValue ?? ""
      return HTTPResponse(
        status: 200,
        body: Data(
          #"{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/aws-AbCdEf","Name":"ci/aws","VersionId":"\#(token)"}"#
            .utf8))
    }
    let masker = Masker()
    let params: [String: Value] = ["secret-id": "ci/aws", "secret-string": "whole-new-value-123"]
    let first = try await Self.run("aws.secretsmanager.put-secret-value", t, params, masker: masker)
    let second = try await Self.run("aws.secretsmanager.put-secret-value", t, params)
    let req = t.requests[0]
    #expect(req.header("Content-Type") == "application/x-amz-json-1.1")
    #expect(req.mutates)
    #expect(
      req.header("Authorization")?.contains(
        "/us-east-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target,") == true)
    let body = Self.json(req)
    #expect(body["SecretId"] == "ci/aws" && body["SecretString"] == "whole-new-value-123")
    let token = try #require(body["ClientRequestToken"]?.stringValue)
    #expect(
      token.wholeMatch(of: try Regex("^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")) != nil)
    #expect(Self.json(t.requests[1])["ClientRequestToken"]?.stringValue == token)
    #expect(first.outputs["version-id"] == .string(token) && second.outputs["version-id"] == .string(token))
    #expect(first.outputs["arn"] == "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/aws-AbCdEf")
    #expect(masker.containsSecret("whole-new-value-123"))
    // Another value, step or incident gives another token.
    #expect(
      PutSecretValueAction.clientRequestToken(incident: "a", step: "s", value: "v")
        != PutSecretValueAction.clientRequestToken(incident: "a", step: "s", value: "w"))
    #expect(
      PutSecretValueAction.clientRequestToken(incident: "a", step: "s", value: "v")
        != PutSecretValueAction.clientRequestToken(incident: "a", step: "t", value: "v"))
    #expect(
      PutSecretValueAction.clientRequestToken(incident: "a", step: "s", value: "v")
        == PutSecretValueAction.clientRequestToken(incident: "a", step: "s", value: "v"))
  }

  @Test func putSecretValueMergesFields() async throws {
    let t = RecordedTransport()
    t.on { req in
      guard req.header("X-Amz-Target") == "secretsmanager.GetSecretValue" else { return nil }
      #expect(!req.mutates)
      #expect(Self.json(req) == ["SecretId": "ci/aws"])
      let current =
        #"{"access_key_id":"AKIAOLDOLDOLDOLDOLD1","secret_access_key":"old-secret-987654","region":"eu-west-1"}"#
      let body: Value = ["ARN": "arn:x", "Name": "ci/aws", "SecretString": .string(current)]
      return HTTPResponse(status: 200, body: Data(body.jsonString().utf8))
    }
    t.on(urlContaining: "/", reply: #"{"ARN":"arn:x","Name":"ci/aws","VersionId":"v"}"#)
    let masker = Masker()
    let result = try await Self.run(
      "aws.secretsmanager.put-secret-value", t,
      [
        "secret-id": "ci/aws",
        "fields": ["access_key_id": "AKIANEWNEWNEWNEWNEW1", "secret_access_key": "new-secret-123456"],
      ],
      masker: masker)
    #expect(result.outputs["fields"] == ["access_key_id", "secret_access_key"])
    let put = Self.json(t.requests[1])
    let written = try #require(put["SecretString"]?.stringValue)
    #expect(
      Value.parseJSON(written) == [
        "access_key_id": "AKIANEWNEWNEWNEWNEW1", "secret_access_key": "new-secret-123456", "region": "eu-west-1",
      ])
    #expect(masker.containsSecret("old-secret-987654") && masker.containsSecret("new-secret-123456"))
    #expect(!masker.mask(written).contains("secret-"))
  }

  @Test func putSecretValueNotFoundIsClear() async throws {
    let t = RecordedTransport()
    t.on(
      urlContaining: "/", status: 400,
      reply: #"{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}"#)
    await #expect {
      _ = try await Self.run(
        "aws.secretsmanager.put-secret-value", t, ["secret-id": "nope", "secret-string": "value-123456"])
    } throws: {
      "\($0)"
        == "AWS Secrets Manager PutSecretValue failed: HTTP 400 ResourceNotFoundException: secret 'nope' does not exist in us-east-1 (Secrets Manager can't find the specified secret.): check secret-id and region; respond does not create secrets (http://127.0.0.1:5000/)"
    }
    await #expect {
      _ = try await Self.run("aws.secretsmanager.put-secret-value", t, ["secret-id": "nope", "fields": ["a": "b"]])
    } throws: { "\($0)".contains("GetSecretValue failed") && "\($0)".contains("secret 'nope' does not exist") }
    await #expect(throws: ActionError.self) {
      _ = try await Self.run("aws.secretsmanager.put-secret-value", t, ["secret-id": "x"])
    }
    // A region is needed for a regional service.
    var env = Self.env
    env["AWS_REGION"] = nil
    await #expect {
      _ = try await Self.run(
        "aws.secretsmanager.put-secret-value", t, ["secret-id": "x", "secret-string": "y"], env: env)
    } throws: { "\($0)".hasPrefix("no AWS region for AWS Secrets Manager") }
  }

  /// Answers SSM as a parameter under a customer key would: DescribeParameters names the key,
  /// GetParameter serves `value` (what was written, once written).
  static func ssm(_ t: RecordedTransport, keyID: String?, value: @escaping @Sendable () -> String) {
    t.on { req in
      let target = req.header("X-Amz-Target") ?? ""
      let body: String
      switch target {
      case "AmazonSSM.DescribeParameters":
        let key = keyID.map { #","KeyId":"\#($0)""# } ?? ""
        body = #"{"Parameters":[{"Name":"/ci/aws/secret","Type":"SecureString"\#(key)}]}"#
      case "AmazonSSM.GetParameter":
        body = Value.object(["Parameter": ["Value": .string(value()), "Type": "SecureString", "Version": 3]])
          .jsonString()
      default: body = #"{"Version":3,"Tier":"Standard"}"#
      }
      return HTTPResponse(status: 200, headers: [], body: Data(body.utf8))
    }
  }

  @Test func putParameterKeepsTheKMSKeyAndReadsTheValueBack() async throws {
    let t = RecordedTransport()
    Self.ssm(t, keyID: "alias/team-key") { "param-secret-123" }
    let masker = Masker()
    let result = try await Self.run(
      "aws.ssm.put-parameter", t, ["name": "/ci/aws/secret", "value": "param-secret-123"], masker: masker)
    #expect(result.outputs["version"] == 3 && result.outputs["verified"] == true)
    #expect(result.outputs["key-id"] == "alias/team-key")
    let targets = t.requests.map { $0.header("X-Amz-Target") ?? "" }
    #expect(
      targets == ["AmazonSSM.DescribeParameters", "AmazonSSM.PutParameter", "AmazonSSM.GetParameter"])
    let put = t.requests[1]
    #expect(put.mutates && !t.requests[0].mutates && !t.requests[2].mutates)
    #expect(
      Self.json(put) == [
        "Name": "/ci/aws/secret", "Value": "param-secret-123", "Type": "SecureString", "Overwrite": true,
        "KeyId": "alias/team-key",
      ])
    #expect(Self.json(t.requests[2]) == ["Name": "/ci/aws/secret", "WithDecryption": true])
    #expect(masker.containsSecret("param-secret-123"))
  }

  @Test func putParameterFailsWhenTheValueReadBackDiffers() async throws {
    let t = RecordedTransport()
    Self.ssm(t, keyID: nil) { "something-else-entirely" }
    await #expect {
      _ = try await Self.run("aws.ssm.put-parameter", t, ["name": "/ci/aws/secret", "value": "param-secret-123"])
    } throws: {
      "\($0)" == "parameter '/ci/aws/secret' does not hold the value just written (version 3); check it, then resume"
    }
    // No key id is invented for a parameter under the default key, nor sent for a String.
    #expect(Self.json(t.requests[1])["KeyId"] == nil)
    _ = try? await Self.run(
      "aws.ssm.put-parameter", t,
      ["name": "/p", "value": "v", "type": "String", "overwrite": false, "region": "eu-west-1", "key-id": "k"])
    let put = t.requests.last { $0.header("X-Amz-Target") == "AmazonSSM.PutParameter" }!
    #expect(
      Self.json(put)["Type"] == "String" && Self.json(put)["Overwrite"] == false && Self.json(put)["KeyId"] == nil)
    #expect(put.header("Authorization")?.contains("/eu-west-1/ssm/") == true)
  }

  // MARK: - Audit logs

  static let key = "AKIALEAKEDLEAKEDLEAK"

  static func record(_ name: String, key: String, time: String, ip: String, role: String? = nil) -> String {
    var identity: [String: Value] = [
      "type": role == nil ? "IAMUser" : "AssumedRole", "accessKeyId": .string(key),
      "arn": .string(
        role.map { "arn:aws:sts::123456789012:assumed-role/\($0)/s" } ?? "arn:aws:iam::123456789012:user/alice"),
    ]
    if let role {
      identity["sessionContext"] = ["sessionIssuer": ["type": "Role", "userName": .string(role)]]
    }
    let r: Value = [
      "eventVersion": "1.08", "eventTime": .string(time), "eventName": .string(name), "eventSource": "s3.amazonaws.com",
      "sourceIPAddress": .string(ip), "userAgent": "aws-cli/2.15", "userIdentity": .object(identity),
      "eventID": .string(UUID().uuidString),
    ]
    return r.jsonString()
  }

  @Test func filterLogEventsPagesAndFiltersClientSide() async throws {
    let t = RecordedTransport()
    let pages: [Value] = [
      [
        "events": [
          [
            "timestamp": 1,
            "message": .string(
              Self.record("ListBuckets", key: Self.key, time: "2026-11-20T10:00:00Z", ip: "203.0.113.7")),
          ],
          [
            "timestamp": 2,
            "message": .string(
              Self.record("GetObject", key: "AKIAOTHEROTHEROTHER1", time: "2026-11-20T11:00:00Z", ip: "198.51.100.1")),
          ],
        ], "nextToken": "t1",
      ],
      ["events": [], "nextToken": "t2"],  // empty page, token still set
      [
        "events": [
          [
            "timestamp": 3,
            "message": .string(
              Self.record("AssumeRole", key: Self.key, time: "2026-11-21T09:30:00Z", ip: "203.0.113.8", role: "deploy")),
          ],
          ["timestamp": 4, "message": "not json at all"],
        ]
      ],
    ]
    let calls = AWSErrorTests.Counter()
    t.on { req in
      #expect(req.header("X-Amz-Target") == "Logs_20140328.FilterLogEvents")
      #expect(!req.mutates)
      let n = calls.next()
      return HTTPResponse(status: 200, body: Data(pages[min(n, 2)].jsonString().utf8))
    }
    let result = try await Self.run(
      "aws.logs.filter-log-events", t,
      [
        "log-group": "cloudtrail", "access-key-id": .string(Self.key), "start": "2026-11-01T00:00:00Z",
        "end": "2026-11-23T00:00:00Z",
      ])
    #expect(t.requests.count == 3)
    let first = Self.json(t.requests[0])
    #expect(first["logGroupName"] == "cloudtrail")
    #expect(first["filterPattern"] == .string("{ $.userIdentity.accessKeyId = \"\(Self.key)\" }"))
    #expect(first["startTime"] == .number(1_793_491_200_000) && first["endTime"] == .number(1_795_392_000_000))
    #expect(first["nextToken"] == nil)
    #expect(Self.json(t.requests[1])["nextToken"] == "t1" && Self.json(t.requests[2])["nextToken"] == "t2")
    // Both events are classified (neither is a secret read or persistence: they are "other").
    #expect(result.outputs["activity"]?["counts"]?["other"] == 2)
    #expect(result.outputs["activity"]?["other"]?.arrayValue?.count == 2)
    #expect(result.outputs["assumed-roles"] == [])
    var outputs = result.outputs
    outputs["activity"] = nil
    outputs["assumed-roles"] = nil
    #expect(
      outputs == [
        "event-count": 2, "event-names": ["AssumeRole", "ListBuckets"], "source-ips": ["203.0.113.7", "203.0.113.8"],
        "user-agents": ["aws-cli/2.15"], "first-seen": "2026-11-20T10:00:00Z", "last-seen": "2026-11-21T09:30:00Z",
        "principal-arns": ["arn:aws:iam::123456789012:user/alice", "arn:aws:sts::123456789012:assumed-role/deploy/s"],
        "role-names": ["deploy"],
      ])
    let evidence = try #require(result.evidence)
    #expect(evidence.source == "CloudWatch Logs FilterLogEvents")
    #expect(evidence.endpoint == "http://127.0.0.1:5000/")
    #expect(evidence.query == "log group cloudtrail, filter pattern { $.userIdentity.accessKeyId = \"\(Self.key)\" }")
    #expect(
      evidence.windowStart == ISO8601.parse("2026-11-01T00:00:00Z")
        && evidence.windowEnd == ISO8601.parse("2026-11-23T00:00:00Z"))
    #expect(evidence.eventCount == 2)
    #expect(evidence.events.map(\.name) == ["ListBuckets", "AssumeRole"])
    #expect(evidence.events[0].sourceIP == "203.0.113.7")
    #expect(evidence.tallies["source IPs"] == ["203.0.113.7": 1, "203.0.113.8": 1])
    #expect(evidence.caveats.contains { $0.hasPrefix("1 record(s) returned by the server belonged to other keys") })
    #expect(evidence.caveats.contains("1 message(s) were not CloudTrail JSON and were skipped"))
  }

  @Test func filterLogEventsDefaultWindowIsNinetyDays() async throws {
    let t = RecordedTransport()
    t.on(urlContaining: "/", reply: #"{"events":[]}"#)
    let result = try await Self.run(
      "aws.logs.filter-log-events", t, ["log-group": "g", "access-key-id": .string(Self.key)])
    let body = Self.json(t.requests[0])
    let start = try #require(body["startTime"]?.numberValue)
    let end = try #require(body["endTime"]?.numberValue)
    #expect(abs((end - start) / 1000 - 90 * 86_400) < 2)
    #expect(abs(end / 1000 - Date().timeIntervalSince1970) < 60)
    #expect(result.outputs["event-count"] == 0 && result.outputs["first-seen"] == .null)
    #expect(result.summary == "no events for \(Self.key) in log group g")
    await #expect(throws: ActionError.self) {
      _ = try await Self.run(
        "aws.logs.filter-log-events", t,
        ["log-group": "g", "access-key-id": "k", "start": "2026-11-23T00:00:00Z", "end": "2026-11-01T00:00:00Z"])
    }
  }

  @Test func lookupEventsPagesWithIdenticalParameters() async throws {
    let t = RecordedTransport()
    t.on { req in
      #expect(req.header("X-Amz-Target") == LookupEventsAction.target && !req.mutates)
      let body = Self.json(req)
      let region = req.header("Authorization")?.contains("/eu-west-1/") == true ? "eu-west-1" : "us-east-1"
      if region == "eu-west-1" { return HTTPResponse(status: 200, body: Data(#"{"Events":[]}"#.utf8)) }
      if body["NextToken"] == nil {
        let page: Value = [
          "Events": [
            [
              "EventId": "e1", "EventName": "ConsoleLogin", "EventTime": 1_795_176_000,
              "AccessKeyId": .string(Self.key),
              "CloudTrailEvent": .string(
                Self.record("CreateUser", key: Self.key, time: "2026-11-20T12:00:00Z", ip: "192.0.2.1")),
            ]
          ], "NextToken": "n1",
        ]
        return HTTPResponse(status: 200, body: Data(page.jsonString().utf8))
      }
      let page: Value = [
        "Events": [
          [
            "EventId": "e2", "EventName": "DeleteTrail", "EventTime": 1_795_262_400, "AccessKeyId": .string(Self.key),
          ]
        ]
      ]
      return HTTPResponse(status: 200, body: Data(page.jsonString().utf8))
    }
    let result = try await Self.run(
      "aws.cloudtrail.lookup-events", t,
      [
        "access-key-id": .string(Self.key), "regions": ["us-east-1", "eu-west-1"], "start": "2026-11-01T00:00:00Z",
        "end": "2026-11-23T00:00:00Z",
      ])
    // The regions are read at once: us-east-1's two pages are in order among the three requests.
    #expect(t.requests.count == 3)
    let east = t.requests.filter { $0.header("Authorization")?.contains("/us-east-1/") == true }
    try #require(east.count == 2)
    var a = Self.json(east[0]).objectValue!
    var b = Self.json(east[1]).objectValue!
    #expect(b["NextToken"] == "n1")
    b["NextToken"] = nil
    #expect(a == b)
    a["NextToken"] = nil
    #expect(
      Value.object(a) == [
        "LookupAttributes": [["AttributeKey": "AccessKeyId", "AttributeValue": .string(Self.key)]],
        "StartTime": 1_793_491_200, "EndTime": 1_795_392_000, "MaxResults": 50,
      ])
    #expect(result.outputs["event-count"] == 2)
    #expect(result.outputs["event-names"] == ["CreateUser", "DeleteTrail"])
    #expect(result.outputs["source-ips"] == ["192.0.2.1"])
    #expect(result.outputs["first-seen"] == "2026-11-20T12:00:00Z")
    #expect(result.outputs["last-seen"] == "2026-11-21T12:00:00Z")  // from EventTime (epoch seconds)
    #expect(result.outputs["regions"] == ["us-east-1", "eu-west-1"])
    let evidence = try #require(result.evidence)
    #expect(evidence.source == "CloudTrail LookupEvents")
    #expect(
      evidence.query
        == "LookupAttributes AttributeKey=AccessKeyId, AttributeValue=\(Self.key); regions us-east-1, eu-west-1")
  }

  @Test func lookupEventsServerErrorIsRetriedThenFails() async throws {
    let t = RecordedTransport()
    t.on(urlContaining: "/", status: 500, reply: "<!doctype html><title>500 Internal Server Error</title>")
    await #expect {
      _ = try await Self.run(
        "aws.cloudtrail.lookup-events", t, ["access-key-id": .string(Self.key), "regions": "us-east-1,eu-west-1"])
    } throws: { error in
      // Every region failed: the step fails with the first region's error.
      guard case .provider(let e) = error as? ActionError else { return false }
      return e.status == 500 && e.retryable && e.operation == "LookupEvents" && e.provider == "AWS CloudTrail"
        && e.message.hasSuffix("(after 4 attempts)")
    }
    #expect(t.requests.count == 8)
  }

  @Test func limiterKeysArePerServiceAndRegion() async throws {
    let t = RecordedTransport()
    t.on(urlContaining: "/", reply: #"{"Events":[]}"#)
    let limiters = RateLimiters()
    var ctx = Self.context(t, ["access-key-id": .string(Self.key), "regions": "us-east-1"])
    ctx.limiters = limiters
    let action = try Self.action("aws.cloudtrail.lookup-events")
    let clock = ContinuousClock()
    let started = clock.now
    for _ in 0..<3 { _ = try await action.run(ctx) }
    // 2 requests per second: the third request waits about a second after the first.
    #expect(clock.now - started >= .milliseconds(900))
  }
}
