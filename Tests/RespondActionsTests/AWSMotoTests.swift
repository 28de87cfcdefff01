import Foundation
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

@testable import RespondActions

/// The AWS actions against a real moto server (signature checking on: only the admin key from
/// services.env, and keys moto issued, sign successfully), over the real libcurl transport.
/// Each test makes its own user or resources; results are checked independently through boto3
/// (`MotoFixture`) or read back with separate calls.
@Suite struct AWSMotoTests {
  let services: TestServices
  let fixture: MotoFixture

  init() throws {
    services = try TestServices.load()
    fixture = MotoFixture(services)
  }

  var env: [String: String] {
    var e = services.awsEnvironment
    e["HOME"] = NSTemporaryDirectory()
    return e
  }

  static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

  func context(
    _ parameters: [String: Value] = [:], env: [String: String]? = nil, masker: Masker = Masker(),
    step: String = "step"
  ) -> ActionContext {
    ActionContext(
      stepID: step, parameters: parameters, environment: env ?? self.env, transport: CurlTransport(), masker: masker,
      incident: IncidentInfo(
        id: Self.unique("incident"), runbook: "key-compromised", startedAt: Date(), mode: .live, directory: "/tmp"))
  }

  func run(_ name: String, _ parameters: [String: Value], env: [String: String]? = nil, masker: Masker = Masker())
    async throws -> ActionResult
  {
    let action = try #require(AWSActions.all().first { $0.descriptor.name == name })
    return try await AWSRetryPolicy.$current.withValue(.fast) {
      try await action.run(context(parameters, env: env, masker: masker))
    }
  }

  /// Our own client with the admin key, for setting up and reading back resources.
  func admin() throws -> AWSClient { try AWSClient(context()) }

  // MARK: - IAM keys

  @Test func listUpdateCreateDeleteKeys() async throws {
    let user = Self.unique("respond-keys")
    let leaked = try fixture.createUser(user)

    let listed = try await run(
      "aws.iam.list-access-keys", ["user-name": .string(user), "access-key-id": .string(leaked.id)])
    #expect(listed.outputs["count"] == 1 && listed.outputs["active-count"] == 1 && listed.outputs["status"] == "Active")

    let updated = try await run(
      "aws.iam.update-access-key",
      ["access-key-id": .string(leaked.id), "status": "Inactive", "user-name": .string(user)])
    #expect(updated.outputs["status"] == "Inactive")
    #expect(try fixture.keys(of: user).map(\.status) == ["Inactive"])

    let masker = Masker()
    let created = try await run("aws.iam.create-access-key", ["user-name": .string(user)], masker: masker)
    let newID = try #require(created.outputs["access-key-id"]?.stringValue)
    let newSecret = try #require(created.outputs["secret-access-key"]?.stringValue)
    #expect(masker.mask(newSecret) != newSecret)
    #expect(fixture.authenticates(newID, newSecret))
    #expect(Set(try fixture.keys(of: user).map(\.id)) == [leaked.id, newID])

    let deleted = try await run(
      "aws.iam.delete-access-key", ["access-key-id": .string(leaked.id), "user-name": .string(user)])
    #expect(deleted.outputs["already-deleted"] == false)
    #expect(try fixture.keys(of: user).map(\.id) == [newID])
    let again = try await run(
      "aws.iam.delete-access-key", ["access-key-id": .string(leaked.id), "user-name": .string(user)])
    #expect(again.outputs["already-deleted"] == true)

    let after = try await run(
      "aws.iam.list-access-keys", ["user-name": .string(user), "access-key-id": .string(leaked.id)])
    #expect(after.outputs["status"] == "absent")
  }

  @Test func createMakesRoomByDeletingTheInactiveLeakedKey() async throws {
    let user = Self.unique("respond-room")
    let leaked = try fixture.createUser(user)
    _ = try await run("aws.iam.create-access-key", ["user-name": .string(user)])  // now at the quota of 2
    let refused = try await run("aws.iam.list-access-keys", ["user-name": .string(user)])
    #expect(refused.outputs["count"] == 2)
    await #expect {
      _ = try await run(
        "aws.iam.create-access-key", ["user-name": .string(user), "make-room-by-deleting": .string(leaked.id)])
    } throws: { "\($0)".contains("is still Active: it was not deleted to make room") }
    _ = try await run(
      "aws.iam.update-access-key",
      ["access-key-id": .string(leaked.id), "status": "Inactive", "user-name": .string(user)])
    let created = try await run(
      "aws.iam.create-access-key", ["user-name": .string(user), "make-room-by-deleting": .string(leaked.id)])
    #expect(created.outputs["deleted-to-make-room"] == .string(leaked.id))
    let ids = try fixture.keys(of: user).map(\.id)
    #expect(ids.count == 2 && !ids.contains(leaked.id))
  }

  @Test func reconcileDeletesTheOrphanOfALostCreate() async throws {
    let user = Self.unique("respond-orphan")
    let leaked = try fixture.createUser(user)
    try await Task.sleep(for: .milliseconds(2500))  // the leaked key is older than the step (beyond the 2 s skew)
    let startedAt = Date()
    // The lost attempt: IAM made the key, the process that asked died before recording it (made
    // here by another client, since keys this process minted itself belong to a live run).
    let orphan = try fixture.createKey(for: user).id
    let action = try #require(AWSActions.all().first { $0.descriptor.name == "aws.iam.create-access-key" })
    let decision = try await action.reconcileInterrupted(context(["user-name": .string(user)]), startedAt: startedAt)
    #expect(decision == .safeToRerun(note: "deleted \(orphan) created for \(user) by the interrupted attempt"))
    #expect(try fixture.keys(of: user).map(\.id) == [leaked.id])
  }

  @Test func accessKeyLastUsedFoundAndNotFound() async throws {
    let user = Self.unique("respond-lastused")
    let key = try fixture.createUser(user)
    _ = fixture.authenticates(key.id, key.secret)
    let found = try await run("aws.iam.get-access-key-last-used", ["access-key-id": .string(key.id)])
    #expect(found.outputs["found"] == true)
    #expect(found.outputs["user-name"] == .string(user))
    let missing = try await run("aws.iam.get-access-key-last-used", ["access-key-id": "AKIAZZZZZZZZZZZZZZZZ"])
    #expect(missing.outputs["found"] == false && missing.outputs["user-name"] == .null)
  }

  // MARK: - STS

  @Test func callerIdentityOfANewKey() async throws {
    let user = Self.unique("respond-sts")
    let key = try fixture.createUser(user)
    let masker = Masker()
    let result = try await run(
      "aws.sts.get-caller-identity", ["access-key-id": .string(key.id), "secret-access-key": .string(key.secret)],
      masker: masker)
    #expect(result.outputs["arn"]?.stringValue?.hasSuffix(":user/\(user)") == true)
    #expect(result.outputs["account"]?.stringValue?.count == 12)
    #expect(masker.containsSecret(key.secret))
    let me = try await run("aws.sts.get-caller-identity", [:])
    #expect(me.outputs["access-key-id"] == .string(services.awsAccessKeyID))
  }

  @Test func wrongSecretKeyIsAClearError() async throws {
    let user = Self.unique("respond-wrong")
    let key = try fixture.createUser(user)
    await #expect {
      _ = try await run(
        "aws.sts.get-caller-identity",
        ["access-key-id": .string(key.id), "secret-access-key": "definitely-not-the-secret"])
    } throws: { error in
      let text = "\(error)"
      return text.contains("AWS STS GetCallerIdentity failed: HTTP 403 SignatureDoesNotMatch")
        && !text.contains("definitely-not-the-secret")
    }
    var env = self.env
    env["AWS_SECRET_ACCESS_KEY"] = "wrong-admin-secret"
    await #expect {
      _ = try await run("aws.iam.list-access-keys", ["user-name": .string(user)], env: env)
    } throws: { ($0 as? ActionError)?.awsCode == "SignatureDoesNotMatch" }
  }

  // MARK: - Sessions

  @Test func denySessionsBeforeOnARole() async throws {
    let role = Self.unique("respond-role")
    let trust: Value = [
      "Version": "2012-10-17",
      "Statement": [["Effect": "Allow", "Principal": ["Service": "ec2.amazonaws.com"], "Action": "sts:AssumeRole"]],
    ]
    let client = try admin()
    _ = try await client.query(
      .iam, "CreateRole", [("RoleName", role), ("AssumeRolePolicyDocument", trust.jsonString())], mutates: true)
    let result = try await run(
      "aws.iam.deny-sessions-before", ["role-name": .string(role), "before": "2026-11-23T13:09:39Z"])
    #expect(result.outputs["principal"] == .string("role/\(role)"))
    let read = try await client.query(
      .iam, "GetRolePolicy", [("RoleName", role), ("PolicyName", "AWSRevokeOlderSessions")], mutates: false)
    let raw = try #require(read.string("GetRolePolicyResult/PolicyDocument"))
    let doc = try #require(Value.parseJSON(raw.removingPercentEncoding ?? raw))
    #expect(doc.pointer("/Statement/0/Effect") == "Deny")
    #expect(doc.pointer("/Statement/0/Condition/DateLessThan/aws:TokenIssueTime") == "2026-11-23T13:09:39Z")
    // Again with another time: the same policy is overwritten (idempotent by name).
    _ = try await run("aws.iam.deny-sessions-before", ["role-name": .string(role), "before": "2026-11-23T14:00:00Z"])
    let listed = try await client.query(.iam, "ListRolePolicies", [("RoleName", role)], mutates: false)
    #expect(
      listed.path("ListRolePoliciesResult/PolicyNames")?.children("member").map(\.text) == ["AWSRevokeOlderSessions"])
  }

  // MARK: - Secret stores

  @Test func secretsManagerPutMergesFieldsAndIsIdempotent() async throws {
    let name = Self.unique("respond/ci/aws")
    let client = try admin()
    let original: Value = [
      "access_key_id": "AKIAOLDOLDOLDOLDOLD1", "secret_access_key": "old-secret-1234", "region": "eu-west-1",
    ]
    _ = try await client.json(
      .secretsManager, target: "secretsmanager.CreateSecret",
      ["Name": .string(name), "SecretString": .string(original.jsonString())], mutates: true)
    let masker = Masker()
    let params: [String: Value] = [
      "secret-id": .string(name),
      "fields": ["access_key_id": "AKIANEWNEWNEWNEWNEW1", "secret_access_key": "new-secret-5678"],
    ]
    let action = try #require(AWSActions.all().first { $0.descriptor.name == "aws.secretsmanager.put-secret-value" })
    let ctx = context(params, masker: masker, step: "write-secret")
    let first = try await action.run(ctx)
    let second = try await action.run(ctx)  // a retry or resume of the same step
    #expect(first.outputs["version-id"] == second.outputs["version-id"])
    #expect(first.outputs["arn"]?.stringValue?.contains(":secret:\(name)") == true)
    let read = try await client.json(
      .secretsManager, target: "secretsmanager.GetSecretValue", ["SecretId": .string(name)], mutates: false)
    #expect(read["VersionId"] == first.outputs["version-id"])
    #expect(
      Value.parseJSON(read["SecretString"]?.stringValue ?? "") == [
        "access_key_id": "AKIANEWNEWNEWNEWNEW1", "secret_access_key": "new-secret-5678", "region": "eu-west-1",
      ])
    #expect(masker.containsSecret("old-secret-1234") && masker.containsSecret("new-secret-5678"))

    await #expect {
      _ = try await run(
        "aws.secretsmanager.put-secret-value", ["secret-id": "respond/does-not-exist", "secret-string": "x-123456"])
    } throws: {
      "\($0)".contains("ResourceNotFoundException: secret 'respond/does-not-exist' does not exist in us-east-1")
    }
  }

  @Test func ssmPutParameter() async throws {
    let name = "/" + Self.unique("respond") + "/aws-secret"
    let first = try await run("aws.ssm.put-parameter", ["name": .string(name), "value": "param-value-1"])
    #expect(first.outputs["version"] == 1)
    let second = try await run("aws.ssm.put-parameter", ["name": .string(name), "value": "param-value-2"])
    #expect(second.outputs["version"] == 2)
    let read = try await admin().json(
      .ssm, target: "AmazonSSM.GetParameter", ["Name": .string(name), "WithDecryption": true], mutates: false)
    #expect(read.pointer("/Parameter/Value") == "param-value-2")
    #expect(read.pointer("/Parameter/Type") == "SecureString")
    await #expect {
      _ = try await run("aws.ssm.put-parameter", ["name": .string(name), "value": "v3-value", "overwrite": false])
    } throws: { ($0 as? ActionError)?.awsCode == "ParameterAlreadyExists" }
  }

  /// Issue 15 item 5: a SecureString under the team's own KMS key gets its new fields written,
  /// the others kept, under the same key (checked through boto3), and the read masks every value.
  @Test func ssmParameterAsASecretStore() async throws {
    let name = "/" + Self.unique("respond") + "/aws"
    let key = try fixture.kmsKey()
    try fixture.putParameter(
      name, #"{"access_key_id":"AKIAOLD","secret_access_key":"old-ssm-secret-1","note":"kept"}"#, keyID: key)
    let masker = Masker()
    let read = try await run("aws.ssm.get-parameter", ["name": .string(name)], masker: masker)
    #expect(read.outputs["found"] == true && read.outputs["type"] == "SecureString")
    #expect(read.outputs["fields"] == ["access_key_id", "note", "secret_access_key"])
    #expect(masker.containsSecret("old-ssm-secret-1"))
    let written = try await run(
      "aws.ssm.put-parameter",
      ["name": .string(name), "fields": ["access_key_id": "AKIANEW", "secret_access_key": "new-ssm-secret-2"]])
    #expect(written.outputs["verified"] == true && written.outputs["key-id"] == .string(key))
    let now = try fixture.parameter(name)
    #expect(now.keyID == key && now.type == "SecureString" && now.version == 2)
    let fields = Value.parseJSON(now.value)
    #expect(fields?["access_key_id"] == "AKIANEW" && fields?["note"] == "kept")
    #expect(fields?["secret_access_key"] == "new-ssm-secret-2")
    let missing = try await run("aws.ssm.get-parameter", ["name": .string(name + "-missing")])
    #expect(missing.outputs["found"] == false)
  }

  /// The copy searches stay under their prefix, stop at max-items (saying so) and keep to
  /// per-second; the replacement rewrites each copy and reads it back.
  @Test func findAndReplaceCopiesInSecretsManagerAndParameterStore() async throws {
    let tag = Self.unique("copies")
    let leaked = "AKIA" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16)).uppercased()
    for i in 0..<3 { try fixture.createSecret("\(tag)/s\(i)", json: #"{"id":"\#(leaked)","secret_access_key":"x"}"#) }
    try fixture.createSecret("\(tag)/clean", json: "nothing")
    try fixture.putParameter("/\(tag)/p", leaked)
    let all = try await run(
      "aws.secretsmanager.find-copies", ["prefix": .string(tag + "/"), "value": .string(leaked)])
    #expect(all.outputs["paths"] == .array((0..<3).map { .string("\(tag)/s\($0)") }))
    #expect(all.outputs["complete"] == true && all.outputs["stopped"] == .null && all.outputs["scanned"] == 4)
    let started = Date()
    let bounded = try await run(
      "aws.secretsmanager.find-copies",
      ["prefix": .string(tag + "/"), "value": .string(leaked), "max-items": 2, "per-second": 2])
    #expect(Date().timeIntervalSince(started) >= 0.45, "two reads paced at 2 a second take half a second")
    #expect(bounded.outputs["complete"] == false && bounded.outputs["scanned"] == 2)
    #expect(bounded.outputs["stopped"]?.stringValue?.contains("stopped at max-items 2") == true)
    let ssm = try await run("aws.ssm.find-copies", ["path": .string("/" + tag), "value": .string(leaked)])
    #expect(ssm.outputs["matches"] == [["path": .string("/\(tag)/p"), "field": ""]])
    let replaced = try await run(
      "aws.secretsmanager.replace-copies",
      [
        "matches": all.outputs["matches"]!, "value": .string(leaked), "replacement": "AKIANEWNEWNEWNEW0000",
        "companions": ["secret_access_key": "new-secret-value-1"],
      ])
    #expect(replaced.outputs["count"] == 3 && replaced.outputs["left"] == [])
    let now = Value.parseJSON(try fixture.secretString("\(tag)/s1"))
    #expect(now == ["id": "AKIANEWNEWNEWNEW0000", "secret_access_key": "new-secret-value-1"])
    let again = try await run(
      "aws.ssm.replace-copies",
      ["matches": ssm.outputs["matches"]!, "value": .string(leaked), "replacement": "AKIANEWNEWNEWNEW0000"])
    #expect(again.outputs["replaced"] == [.string("ssm /\(tag)/p")])
    #expect(try fixture.parameter("/\(tag)/p").value == "AKIANEWNEWNEWNEW0000")
  }

  // MARK: - Audit logs

  @Test func filterLogEventsKeepsOnlyTheKeysEvents() async throws {
    let group = Self.unique("respond-trail")
    let target = "AKIATARGETTARGETTARG"
    let other = "AKIAOTHEROTHEROTHER1"
    let client = try admin()
    _ = try await client.json(
      .logs, target: "Logs_20140328.CreateLogGroup", ["logGroupName": .string(group)], mutates: true)
    _ = try await client.json(
      .logs, target: "Logs_20140328.CreateLogStream", ["logGroupName": .string(group), "logStreamName": "trail"],
      mutates: true)
    let now = Date()
    var events: [Value] = []
    for i in 0..<6 {
      let time = now.addingTimeInterval(Double(i - 10) * 60)
      let key = i.isMultiple(of: 2) ? target : other
      let record: Value = [
        "eventTime": .string(ISO8601.string(time)),
        "eventName": .string(key == target ? "ListBuckets\(i)" : "Other\(i)"),
        "sourceIPAddress": .string(key == target ? "203.0.113.\(i)" : "198.51.100.\(i)"), "userAgent": "aws-cli/2",
        "eventID": .string(UUID().uuidString),
        "userIdentity": ["type": "IAMUser", "accessKeyId": .string(key), "arn": "arn:aws:iam::123456789012:user/u"],
      ]
      events.append([
        "timestamp": .number((time.timeIntervalSince1970 * 1000).rounded()), "message": .string(record.jsonString()),
      ])
    }
    _ = try await client.json(
      .logs, target: "Logs_20140328.PutLogEvents",
      ["logGroupName": .string(group), "logStreamName": "trail", "logEvents": .array(events)], mutates: true)

    let result = try await run(
      "aws.logs.filter-log-events", ["log-group": .string(group), "access-key-id": .string(target)])
    #expect(result.outputs["event-count"] == 3)
    #expect(result.outputs["event-names"] == ["ListBuckets0", "ListBuckets2", "ListBuckets4"])
    #expect(result.outputs["source-ips"] == ["203.0.113.0", "203.0.113.2", "203.0.113.4"])
    #expect(result.outputs["first-seen"] == .string(ISO8601.string(now.addingTimeInterval(-600))))
    #expect(result.outputs["last-seen"] == .string(ISO8601.string(now.addingTimeInterval(-360))))
    let evidence = try #require(result.evidence)
    #expect(evidence.endpoint == services.motoURL + "/")
    #expect(evidence.eventCount == 3 && evidence.events.count == 3)

    await #expect {
      _ = try await run(
        "aws.logs.filter-log-events", ["log-group": "respond-no-such-group", "access-key-id": .string(target)])
    } throws: { ($0 as? ActionError)?.awsCode == "ResourceNotFoundException" }
  }

  /// moto does not implement LookupEvents (HTTP 500): a retryable provider error after the
  /// client's bounded retries, which the runbook's continue-on-error step records.
  @Test func lookupEventsUnimplementedByMotoFailsClearly() async throws {
    await #expect {
      _ = try await run(
        "aws.cloudtrail.lookup-events", ["access-key-id": "AKIATARGETTARGETTARG", "regions": "us-east-1,eu-west-1"])
    } throws: { error in
      guard case .provider(let e) = error as? ActionError else { return false }
      return e.status == 500 && e.retryable && e.provider == "AWS CloudTrail" && e.operation == "LookupEvents"
    }
  }
}
