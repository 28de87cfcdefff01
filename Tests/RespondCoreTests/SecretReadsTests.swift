import Foundation
import Testing

@testable import RespondCore

/// Issue 16 item 6: every secret the leaked credential read becomes one follow-up naming it and
/// the events proving the read. Records are CloudTrail's own shapes (GetSecretValue's
/// `secretId`, SSM's `name`/`names`/`path`, KMS Decrypt's `resources`, S3's `bucketName`/`key`).
@Suite struct SecretReadsTests {
  static func event(
    _ name: String, _ source: String, request: Value = .null, id: String, error: String? = nil,
    time: String = "2026-11-23T13:09:39Z", region: String = "eu-west-1", resources: Value? = nil
  ) -> ClassifiedEvent {
    var record = ActivityClassificationTests.record(name, source, request: request, id: id, error: error, time: time)
    if case .object(var o) = record {
      o["awsRegion"] = .string(region)
      if let resources { o["resources"] = resources }
      record = .object(o)
    }
    return CloudTrailClassifier.classify(record)
  }

  @Test func eachDistinctSecretReadIsListedOnceWithEveryEventProvingIt() {
    let kmsARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    let events = [
      Self.event(
        "GetSecretValue", "secretsmanager.amazonaws.com", request: ["secretId": "prod/db"], id: "e2",
        time: "2026-11-23T13:10:00Z"),
      Self.event("GetSecretValue", "secretsmanager.amazonaws.com", request: ["secretId": "prod/db"], id: "e1"),
      Self.event(
        "GetParameter", "ssm.amazonaws.com", request: ["name": "/prod/api-key", "withDecryption": true], id: "e3"),
      Self.event(
        "GetParameters", "ssm.amazonaws.com", request: ["names": ["/a", "/b"], "withDecryption": true], id: "e4"),
      Self.event(
        "GetParametersByPath", "ssm.amazonaws.com", request: ["path": "/prod/", "withDecryption": true], id: "e5"),
      Self.event(
        "Decrypt", "kms.amazonaws.com", request: ["encryptionAlgorithm": "SYMMETRIC_DEFAULT"], id: "e6",
        resources: [["accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": .string(kmsARN)]]),
      Self.event("GetObject", "s3.amazonaws.com", request: ["bucketName": "ci", "key": "deploy/.env"], id: "e7"),
      // Refused: nothing was read. Without decryption: ciphertext only (not a secret read at all).
      Self.event(
        "GetSecretValue", "secretsmanager.amazonaws.com", request: ["secretId": "prod/other"], id: "e8",
        error: "AccessDenied"),
      Self.event("GetParameter", "ssm.amazonaws.com", request: ["name": "/plain", "withDecryption": false], id: "e9"),
      // The same secret's name in another region is another secret.
      Self.event(
        "GetSecretValue", "secretsmanager.amazonaws.com", request: ["secretId": "prod/db"], id: "e10",
        region: "us-east-1"),
    ]
    let reads = SecretReadListing.list(events)
    #expect(
      reads.map { "\($0.kind.rawValue) \($0.name) \($0.region ?? "-") \($0.eventIDs)" } == [
        "secretsmanager-secret prod/db eu-west-1 [\"e1\", \"e2\"]",
        "ssm-parameter /prod/api-key eu-west-1 [\"e3\"]",
        "ssm-parameter /a eu-west-1 [\"e4\"]",
        "ssm-parameter /b eu-west-1 [\"e4\"]",
        "ssm-parameter-path /prod/ eu-west-1 [\"e5\"]",
        "kms-key \(kmsARN) eu-west-1 [\"e6\"]",
        "s3-object ci/deploy/.env eu-west-1 [\"e7\"]",
        "secretsmanager-secret prod/db us-east-1 [\"e10\"]",
      ])
    // The first read's time, every event id: the follow-up a person acts on.
    #expect(
      reads[0].followUp
        == "Rotate Secrets Manager secret `prod/db` (eu-west-1) and update what uses it: read by the leaked key "
        + "(GetSecretValue at 2026-11-23T13:09:39Z, events e1, e2)")
    #expect(
      reads[1].followUp
        == "Rotate SSM parameter `/prod/api-key` (eu-west-1) and update what uses it: read decrypted by the leaked key "
        + "(GetParameter at 2026-11-23T13:09:39Z, event e3)")
    #expect(reads[5].followUp.hasPrefix("Treat what KMS key `\(kmsARN)` (eu-west-1) protects as exposed"))
  }

  /// A read whose record names no secret (BatchGetSecretValue by filters) is still a follow-up.
  @Test func aReadNamingNoSecretIsStillAFollowUp() {
    let e = Self.event(
      "BatchGetSecretValue", "secretsmanager.amazonaws.com",
      request: ["filters": [["key": "tag-key", "values": ["ci"]]]], id: "b1")
    let reads = SecretReadListing.list([e])
    #expect(reads.map(\.kind) == [.unnamed])
    #expect(reads.first?.followUp.contains("Find and rotate the secrets BatchGetSecretValue returned") == true)
    let both = Self.event(
      "BatchGetSecretValue", "secretsmanager.amazonaws.com", request: ["secretIdList": ["a", "b"]], id: "b2")
    #expect(SecretReadListing.list([both]).map(\.name) == ["a", "b"])
  }

  @Test func aReadSurvivesItsOutputForm() throws {
    let read = try #require(
      SecretReadListing.list([
        Self.event("GetSecretValue", "secretsmanager.amazonaws.com", request: ["secretId": "prod/db"], id: "e1")
      ]).first)
    #expect(SecretRead(read.value) == read)
    #expect(read.value["follow-up"]?.stringValue == read.followUp)
  }

  /// The Vault token's reads: successful `read`s of secret engines' paths, each path once with
  /// its request ids; writes, lists, refused reads and Vault's own paths are not secrets read.
  @Test func vaultPathsReadByTheTokenAreListedOnce() {
    func at(_ s: String) -> Date? { ISO8601.parse(s) }
    typealias R = SecretReadListing.VaultRequest
    let requests = [
      R(time: at("2026-11-23T13:12:00Z"), operation: "read", path: "secret/data/ci/aws", id: "r2", failed: false),
      R(time: at("2026-11-23T13:11:00Z"), operation: "read", path: "secret/data/ci/aws", id: "r1", failed: false),
      R(time: at("2026-11-23T13:13:00Z"), operation: "read", path: "database/creds/app", id: "r3", failed: false),
      R(time: at("2026-11-23T13:14:00Z"), operation: "read", path: "secret/data/prod/db", id: "r4", failed: true),
      R(time: at("2026-11-23T13:15:00Z"), operation: "list", path: "secret/metadata/", id: "r5", failed: false),
      R(time: at("2026-11-23T13:16:00Z"), operation: "update", path: "secret/data/x", id: "r6", failed: false),
      R(time: at("2026-11-23T13:10:00Z"), operation: "read", path: "auth/token/lookup-self", id: "r7", failed: false),
      R(time: at("2026-11-23T13:10:30Z"), operation: "read", path: "sys/mounts", id: "r8", failed: false),
      R(time: at("2026-11-23T13:10:40Z"), operation: "read", path: "cubbyhole/mine", id: "r9", failed: false),
    ]
    let reads = SecretReadListing.vault(requests)
    #expect(reads.map(\.name) == ["secret/data/ci/aws", "database/creds/app"])
    #expect(reads.first?.eventIDs == ["r1", "r2"])
    #expect(
      reads.first?.followUp
        == "Rotate the secret at Vault path `secret/data/ci/aws` and update what uses it: read by the leaked token "
        + "(read at 2026-11-23T13:11:00Z, events r1, r2)")
  }
}
