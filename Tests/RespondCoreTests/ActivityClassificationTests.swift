import Foundation
import Testing

@testable import RespondCore

/// What the leaked key did, sorted into what a responder acts on. Records are CloudTrail's own
/// shapes (as in the CloudTrail user guide's IAM, STS, SSM and EC2 examples).
@Suite struct ActivityClassificationTests {
  static func record(
    _ name: String, _ source: String, request: Value = .null, response: Value = .null, id: String? = nil,
    error: String? = nil, time: String = "2026-11-23T13:09:39Z"
  ) -> Value {
    var o: [String: Value] = [
      "eventVersion": "1.08", "eventTime": .string(time), "eventSource": .string(source),
      "eventName": .string(name), "awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.23",
      "userAgent": "aws-cli/2.15.0", "eventID": .string(id ?? UUID().uuidString.lowercased()),
      "requestParameters": request, "responseElements": response,
      "userIdentity": ["type": "IAMUser", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "ci"],
    ]
    if let error { o["errorCode"] = .string(error) }
    return .object(o)
  }

  @Test func categoriesFollowTheCallAndItsParameters() {
    func cat(_ name: String, _ source: String, _ request: Value = .null) -> ActivityCategory {
      CloudTrailClassifier.category(source: source, name: name, requestParameters: request)
    }
    #expect(cat("GetSecretValue", "secretsmanager.amazonaws.com") == .secretReads)
    #expect(cat("Decrypt", "kms.amazonaws.com") == .secretReads)
    #expect(cat("GetObject", "s3.amazonaws.com") == .secretReads)
    // A SecureString read without decryption is still ciphertext: not a secret read.
    #expect(cat("GetParameter", "ssm.amazonaws.com", ["name": "/db/pw", "withDecryption": true]) == .secretReads)
    #expect(cat("GetParameters", "ssm.amazonaws.com", ["names": ["/a"], "withDecryption": false]) == .other)
    for name in [
      "CreateUser", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "AttachUserPolicy",
      "PutRolePolicy", "CreatePolicyVersion", "AddUserToGroup", "CreateRole", "UpdateAssumeRolePolicy",
    ] {
      #expect(cat(name, "iam.amazonaws.com") == .persistence, "\(name)")
    }
    // The same name at another service is not IAM persistence.
    #expect(cat("CreateUser", "mq.amazonaws.com") == .other)
    #expect(cat("UpdateAccessKey", "iam.amazonaws.com", ["accessKeyId": "AKIA1", "status": "Active"]) == .persistence)
    #expect(cat("UpdateAccessKey", "iam.amazonaws.com", ["accessKeyId": "AKIA1", "status": "Inactive"]) == .other)
    #expect(cat("StopLogging", "cloudtrail.amazonaws.com") == .defenceEvasion)
    #expect(cat("DeleteTrail", "cloudtrail.amazonaws.com") == .defenceEvasion)
    #expect(cat("PutEventSelectors", "cloudtrail.amazonaws.com") == .defenceEvasion)
    #expect(cat("DeleteDetector", "guardduty.amazonaws.com") == .defenceEvasion)
    #expect(cat("CreateIPSet", "guardduty.amazonaws.com") == .defenceEvasion)
    #expect(cat("ListDetectors", "guardduty.amazonaws.com") == .other)
    #expect(cat("RunInstances", "ec2.amazonaws.com") == .compute)
    #expect(cat("CreateFunction20150331", "lambda.amazonaws.com") == .compute)
    #expect(cat("DescribeInstances", "ec2.amazonaws.com") == .other)
    #expect(cat("GetCallerIdentity", "sts.amazonaws.com") == .other)
  }

  @Test func anEventKeepsWhereWhenWhoAndWhatItNamed() {
    let r = Self.record(
      "CreateAccessKey", "iam.amazonaws.com", request: ["userName": "backdoor"],
      response: [
        "accessKey": [
          "accessKeyId": "AKIAI44QH8DHBEXAMPLE", "status": "Active", "userName": "backdoor",
          "createDate": "Nov 23, 2026 1:09:39 PM",
        ]
      ], id: "e1")
    let e = CloudTrailClassifier.classify(r)
    #expect(e.category == .persistence)
    #expect(e.region == "eu-west-1")
    #expect(e.time == ISO8601.parse("2026-11-23T13:09:39Z"))
    #expect(e.sourceIP == "198.51.100.23")
    #expect(e.userAgent == "aws-cli/2.15.0")
    #expect(e.eventID == "e1")
    #expect(e.resources == ["user:backdoor", "access-key:AKIAI44QH8DHBEXAMPLE"])
    #expect(e.removal == "Deactivate the access key `AKIAI44QH8DHBEXAMPLE` of user `backdoor`")
    // The output form reads back to the same event (merging sources relies on it).
    #expect(ClassifiedEvent(e.value) == e)
  }

  @Test func anAssumeRoleNamesTheRoleButNeverCopiesTheSessionToken() {
    let token = "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN"
    let r = Self.record(
      "AssumeRole", "sts.amazonaws.com",
      request: ["roleArn": "arn:aws:iam::123456789012:role/ops/deployer", "roleSessionName": "x"],
      response: [
        "credentials": [
          "accessKeyId": "ASIAIOSFODNN7EXAMPLE", "sessionToken": .string(token), "expiration": "Nov 23, 2026",
        ]
      ])
    let e = CloudTrailClassifier.classify(r)
    #expect(e.assumedRole == "arn:aws:iam::123456789012:role/ops/deployer")
    #expect(CloudTrailResources.roleName(e.assumedRole!) == "deployer")
    #expect(e.resources.contains("session-key:ASIAIOSFODNN7EXAMPLE"))
    #expect(!e.value.jsonString().contains(token))
    // A refused AssumeRole minted no session: nothing to deny.
    #expect(
      CloudTrailClassifier.classify(
        Self.record(
          "AssumeRole", "sts.amazonaws.com", request: ["roleArn": "arn:aws:iam::1:role/r"], error: "AccessDenied")
      ).assumedRole == nil)
  }

  @Test func everyPersistenceEventBecomesAFollowUpNamingWhatToRemove() throws {
    var all = ActivityClassification()
    let records: [Value] = [
      Self.record("CreateUser", "iam.amazonaws.com", request: ["userName": "backdoor"], id: "u1"),
      Self.record(
        "AttachUserPolicy", "iam.amazonaws.com",
        request: ["userName": "backdoor", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"], id: "p1"),
      Self.record("CreateLoginProfile", "iam.amazonaws.com", request: ["userName": "backdoor"], id: "l1"),
      Self.record(
        "AddUserToGroup", "iam.amazonaws.com", request: ["userName": "mallory", "groupName": "admins"], id: "g1",
        error: "AccessDenied"),
      Self.record("GetSecretValue", "secretsmanager.amazonaws.com", request: ["secretId": "prod/db"], id: "s1"),
      Self.record("GetCallerIdentity", "sts.amazonaws.com", id: "o1"),
    ]
    for r in records { all.add(CloudTrailClassifier.classify(r)) }
    // The same event from a second source (CloudWatch Logs copy) counts once.
    all.add(CloudTrailClassifier.classify(records[0]))
    #expect(all.counts[.persistence] == 4)
    #expect(all.counts[.secretReads] == 1)
    #expect(all.counts[.other] == 1)
    let f = all.followUps
    try #require(f.count == 4)
    #expect(f[0].hasPrefix("Disable the IAM user `backdoor` the attacker created"))
    #expect(f[0].contains("event id u1"))
    #expect(
      f[1].hasPrefix("Detach the managed policy `arn:aws:iam::aws:policy/AdministratorAccess` from user `backdoor`"))
    #expect(f[2].hasPrefix("Delete the console password (login profile) of user `backdoor`"))
    #expect(f[3].hasPrefix("Check that the attacker's failed AddUserToGroup (AccessDenied) left nothing behind"))
    // Round trip through the output, as the merge step reads it.
    var merged = ActivityClassification()
    merged.add(output: all.value)
    #expect(merged.followUps == f)
    #expect(all.summary.hasPrefix("reads of secrets 1 (GetSecretValue); persistence 4 (CreateUser"))
    #expect(
      CloudTrailClassifier.classify(Self.record("CreatePolicy", "iam.amazonaws.com", request: ["policyName": "p"]))
        .resources == ["managed-policy:p"])
  }

  @Test func theOtherGroupIsCountedInFullButKeptShort() {
    var all = ActivityClassification()
    for i in 0..<(ActivityClassification.otherKept + 10) {
      all.add(CloudTrailClassifier.classify(Self.record("ListBuckets", "s3.amazonaws.com", id: "x\(i)")))
    }
    all.add(CloudTrailClassifier.classify(Self.record("CreateRole", "iam.amazonaws.com", request: ["roleName": "r"])))
    #expect(all.counts[.other] == ActivityClassification.otherKept + 10)
    #expect(all.group(.other).count == ActivityClassification.otherKept)
    #expect(all.group(.persistence).count == 1)
  }
}
