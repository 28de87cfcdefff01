import Foundation
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

@testable import RespondActions

/// Triage, session denial and eradication against a real moto server (SigV4 checked), each
/// result read back with separate calls.
@Suite struct AWSTriageMotoTests {
  let moto: AWSMotoTests

  init() throws { moto = try AWSMotoTests() }

  func iam(_ op: String, _ params: [(String, String)]) async throws -> AWSXMLNode {
    try await moto.admin().query(.iam, op, params, mutates: !op.hasPrefix("List") && !op.hasPrefix("Get"))
  }

  func policy(_ name: String, _ actions: [String]) async throws -> String {
    let doc: Value = [
      "Version": "2012-10-17",
      "Statement": [["Effect": "Allow", "Action": .array(actions.map { .string($0) }), "Resource": "*"]],
    ]
    let xml = try await iam("CreatePolicy", [("PolicyName", name), ("PolicyDocument", doc.jsonString())])
    return try #require(xml.string("CreatePolicyResult/Policy/Arn"))
  }

  @Test func triageReadsPoliciesGroupsConsoleAndKeys() async throws {
    let user = AWSMotoTests.unique("triage")
    let leaked = try moto.fixture.createUser(user)
    let other = try moto.fixture.createKey(for: user)
    let group = AWSMotoTests.unique("devs")
    _ = try await iam("CreateGroup", [("GroupName", group)])
    _ = try await iam("AddUserToGroup", [("GroupName", group), ("UserName", user)])
    let iamWriter = try await policy(AWSMotoTests.unique("users"), ["iam:CreateUser", "iam:ListUsers"])
    _ = try await iam("AttachGroupPolicy", [("GroupName", group), ("PolicyArn", iamWriter)])
    let reads: Value = [
      "Version": "2012-10-17", "Statement": [["Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"]],
    ]
    _ = try await iam(
      "PutUserPolicy", [("UserName", user), ("PolicyName", "reads"), ("PolicyDocument", reads.jsonString())])
    _ = try await iam("CreateLoginProfile", [("UserName", user), ("Password", "Aa1!" + UUID().uuidString)])

    let r = try await moto.run(
      "aws.iam.triage", ["access-key-id": .string(leaked.id), "user-name": .string(user)])
    let o = r.outputs
    #expect(o["account-from-key-id"] == "123456789012", "moto's key ids encode its account as AWS's do")
    #expect(o["account-confirmed"] == true)
    #expect(o["severity"] == "P1")
    #expect(
      o["severity-rule"] == "can change IAM (users, keys or policies): a path to administrator and to persistence")
    #expect(o["pagerduty-severity"] == "critical")
    #expect(o["administrator"] == false)
    #expect(o["services"] == ["iam", "s3"])
    #expect(o["policies"] == [.string("inline: reads"), .string("group \(group): \(iamWriter)")])
    #expect(o["console-access"] == true && o["mfa"] == false)
    #expect(o["other-keys"]?.arrayValue?.map { $0["access-key-id"] } == [.string(other.id)])
    #expect(o["quarantined"] == false)
    #expect(o["gaps"] == [])
  }

  @Test func aNarrowUserIsP3AndAWSsQuarantineIsSeen() async throws {
    let user = AWSMotoTests.unique("narrow")
    let leaked = try moto.fixture.createUser(user)
    let sqs = try await policy(AWSMotoTests.unique("queue"), ["sqs:SendMessage"])
    _ = try await iam("AttachUserPolicy", [("UserName", user), ("PolicyArn", sqs)])
    var r = try await moto.run("aws.iam.triage", ["access-key-id": .string(leaked.id), "user-name": .string(user)])
    #expect(r.outputs["severity"] == "P3")
    #expect(r.outputs["pagerduty-severity"] == "warning")
    // AWS attaches AWSCompromisedKeyQuarantineV3 when it finds a key in public; moto has no AWS
    // managed policies loaded here, so a customer policy of that name stands in for it.
    let quarantine = try await policy("AWSCompromisedKeyQuarantineV3", ["sqs:ListQueues"])
    _ = try await iam("AttachUserPolicy", [("UserName", user), ("PolicyArn", quarantine)])
    r = try await moto.run("aws.iam.triage", ["access-key-id": .string(leaked.id), "user-name": .string(user)])
    #expect(r.outputs["quarantined"] == true)
    #expect(r.outputs["quarantine-policy"] == .string(quarantine))
    #expect(r.outputs["severity"] == "P2")
    // A key IAM does not know here: P2, its owner's permissions cannot be judged.
    r = try await moto.run("aws.iam.triage", ["access-key-id": "AKIAIOSFODNN7EXAMPLE"])
    #expect(r.outputs["severity"] == "P2" && r.outputs["account-from-key-id"] == .null)
  }

  @Test func theSessionsAKeyMintedAreFoundInCloudWatchLogs() async throws {
    #expect(
      FilterLogEventsAction.filterPattern("AKIA1", only: ["GetSessionToken", "AssumeRole"])
        == "{ ($.userIdentity.accessKeyId = \"AKIA1\") && (($.eventName = \"AssumeRole\") || ($.eventName = \"GetSessionToken\")) }"
    )
    let user = AWSMotoTests.unique("minted")
    let leaked = try moto.fixture.createUser(user)
    let group = AWSMotoTests.unique("trail")
    try moto.fixture.trail(group: group, key: leaked.id, decoys: [])
    // moto ignores JSON filter patterns: the names are checked again on every record.
    let only = try await moto.run(
      "aws.logs.filter-log-events",
      ["log-group": .string(group), "access-key-id": .string(leaked.id), "event-names": ["CreateUser"]])
    #expect(only.outputs["event-count"] == 1 && only.outputs["event-names"] == ["CreateUser"])
    await #expect(throws: ActionError.self) {
      _ = try await moto.run(
        "aws.logs.filter-log-events",
        ["log-group": .string(group), "access-key-id": .string(leaked.id), "event-names": ["x\" || true"]])
    }
  }

  @Test func sessionsOfEveryAssumedRoleAreDeniedReadBackAndUndone() async throws {
    let roles = [AWSMotoTests.unique("r1"), AWSMotoTests.unique("r2")]
    for role in roles { try moto.fixture.createRole(role) }
    let arns: Value = [
      [.string("arn:aws:iam::123456789012:role/\(roles[0])")], .null,
      [.string("arn:aws:iam::123456789012:role/ops/\(roles[1])"), "arn:aws:iam::999999999999:role/elsewhere"],
    ]
    let denied = try await moto.run(
      "aws.iam.deny-sessions-before",
      ["role-names": arns, "account-id": "123456789012", "before": "2026-11-23T13:09:39Z"])
    #expect(denied.outputs["principals"] == [.string("role/\(roles[0])"), .string("role/\(roles[1])")])
    #expect(denied.outputs["skipped"] == ["arn:aws:iam::999999999999:role/elsewhere"])
    for role in roles {
      #expect(
        try moto.fixture.rolePolicy(role: role, policy: "AWSRevokeOlderSessions").contains("2026-11-23T13:09:39Z"))
    }
    let read: [String: Value] = [
      "role-names": denied.outputs["principals"]!, "policy-name": "AWSRevokeOlderSessions",
      "expect": "2026-11-23T13:09:39Z",
    ]
    #expect(try await moto.run("aws.iam.get-inline-policy", read).outputs["all-match"] == true)
    var stale = read
    stale["expect"] = "2026-11-24T00:00:00Z"
    let mismatch = try await moto.run("aws.iam.get-inline-policy", stale)
    #expect(mismatch.outputs["all-match"] == false && mismatch.outputs["all-found"] == true)
    // The undo removes it from both; reading back finds none.
    let undone = try await moto.run(
      "aws.iam.delete-inline-policy",
      ["role-names": denied.outputs["principals"]!, "policy-name": "AWSRevokeOlderSessions"])
    #expect(undone.outputs["deleted"]?.arrayValue?.count == 2)
    let after = try await moto.run("aws.iam.get-inline-policy", read)
    #expect(after.outputs["all-found"] == false && after.outputs["missing"]?.arrayValue?.count == 2)
  }

  @Test func eradicationDisablesDetachesAndLeavesTheDeletionToAPerson() async throws {
    let backdoor = AWSMotoTests.unique("backdoor")
    let key = try moto.fixture.createUser(backdoor)
    let admin = try await policy(AWSMotoTests.unique("admin"), ["*"])
    _ = try await iam("AttachUserPolicy", [("UserName", backdoor), ("PolicyArn", admin)])
    _ = try await iam("CreateLoginProfile", [("UserName", backdoor), ("Password", "Aa1!" + UUID().uuidString)])
    func event(_ name: String, _ resources: [String], id: String, error: String? = nil) -> Value {
      ClassifiedEvent(
        category: .persistence, name: name, source: "iam.amazonaws.com", eventID: id, errorCode: error,
        resources: resources
      ).value
    }
    let persistence: Value = [
      event("CreateUser", ["user:\(backdoor)"], id: "e1"),
      event("CreateAccessKey", ["user:\(backdoor)", "access-key:\(key.id)"], id: "e2"),
      event("AttachUserPolicy", ["user:\(backdoor)", "policy:\(admin)"], id: "e3"),
      event("CreateLoginProfile", ["user:\(backdoor)"], id: "e4"),
      event("CreatePolicyVersion", ["policy:\(admin)"], id: "e5"),
      event("AddUserToGroup", ["user:\(backdoor)", "group:admins"], id: "e6", error: "AccessDenied"),
    ]
    let r = try await moto.run("aws.iam.eradicate-persistence", ["persistence": persistence])
    #expect(try moto.fixture.keys(of: backdoor).first?.status == "Inactive")
    let attached = try await iam("ListAttachedUserPolicies", [("UserName", backdoor)])
    #expect(attached.path("ListAttachedUserPoliciesResult/AttachedPolicies")?.children("member").isEmpty == true)
    await #expect(throws: ActionError.self) { _ = try await iam("GetLoginProfile", [("UserName", backdoor)]) }
    let inline = try await iam("GetUserPolicy", [("UserName", backdoor), ("PolicyName", "RespondQuarantineDenyAll")])
    #expect(inline.string("GetUserPolicyResult/PolicyName") == "RespondQuarantineDenyAll")
    // The user itself is kept (evidence), and every change read back as holding.
    let changes = r.outputs["changes"]?.arrayValue ?? []
    #expect(!changes.isEmpty && changes.allSatisfy { $0["verified"] == true })
    #expect(changes.allSatisfy { ($0["undo"]?.stringValue ?? "").hasPrefix("aws iam ") })
    // One change per artefact: the key and password disabled with their user are not undone
    // again for CreateAccessKey and CreateLoginProfile; each change names every event it undid.
    let names = changes.compactMap { $0["change"]?.stringValue }
    #expect(Set(names).count == names.count, "a change listed twice: \(names)")
    let byChange = Dictionary(changes.map { ($0["change"]?.stringValue ?? "", $0["event-id"]?.stringValue) }) { a, _ in
      a
    }
    #expect(byChange["deactivated access key \(key.id) of user \(backdoor)"] == "e1, e2")
    #expect(byChange["deleted the console password of user \(backdoor)"] == "e1, e4")
    let left = (r.outputs["left"]?.arrayValue ?? []).compactMap(\.stringValue)
    #expect(left.count == 3)
    #expect(left.contains { $0.hasPrefix("Delete the IAM user `\(backdoor)` the attacker created") })
    #expect(
      left.contains {
        $0.hasPrefix("Restore the earlier default version of policy") || $0.contains("CreatePolicyVersion")
      })
    #expect(
      left.contains { $0.hasPrefix("Check that the failed AddUserToGroup (AccessDenied, AddUserToGroup, event id e6)") }
    )
    // Again: idempotent, nothing fails on what is already undone.
    let again = try await moto.run("aws.iam.eradicate-persistence", ["persistence": persistence])
    #expect((again.outputs["changes"]?.arrayValue ?? []).allSatisfy { $0["verified"] == true })
  }
}
