import Foundation
import RespondCore
import RespondTestSupport
import Testing

@testable import RespondActions

/// `aws.secretsmanager.rotate-read-secrets` on a recorded transport, for what moto cannot show:
/// AWS runs a rotation function asynchronously, so a rotation still AWSPENDING is not verified
/// and stays a follow-up; a resume finds the rotation it started and starts no other. Every
/// request and every canned answer is checked against botocore's secretsmanager model.
@Suite struct RotateSecretsTests {
  static let read = SecretRead(
    kind: .secretsManager, name: "prod/db", region: "eu-west-1", firstRead: ISO8601.parse("2026-11-23T13:09:39Z"),
    eventIDs: ["e1"], call: "GetSecretValue")

  /// The version the leaked key read (a version id is 32-64 characters in botocore's model).
  static let readVersion = "a1b2c3d4-5678-40ab-8def-111111111111"

  /// The version id respond asks for in the suite's incident and step.
  static let token = PutSecretValueAction.clientRequestToken(
    incident: "20261123T130939Z-key-compromised", step: "step1", value: "eu-west-1\nprod/db")

  static func botocore(_ check: String, _ operation: String, _ body: Value) -> Bool {
    let args = [TestServices.repositoryRoot() + "/Tests/Support/botocore_model.py", check, "secretsmanager"]
    return (try? runProgram("/usr/bin/env", ["python3"] + args + [operation, body.jsonString()])) != nil
  }

  static func describe(rotation: Bool = true, _ stages: [String: [String]]) -> Value {
    var o: [String: Value] = [
      "ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", "Name": "prod/db",
      "VersionIdsToStages": .object(stages.mapValues { .array($0.map { .string($0) }) }),
    ]
    if rotation {
      o["RotationEnabled"] = true
      o["RotationLambdaARN"] = "arn:aws:lambda:eu-west-1:123456789012:function:rotate-db"
      o["LastRotatedDate"] = 1_795_000_000
    }
    return .object(o)
  }

  /// Answers DescribeSecret with `answers` in turn (the last one again), RotateSecret as AWS does.
  static func transport(_ answers: [Value]) -> RecordedTransport {
    let t = RecordedTransport()
    let count = AnswerTurns()
    t.on { req in
      let target = req.header("X-Amz-Target") ?? ""
      let body = Value.parseJSON(req.body) ?? .null
      #expect(botocore("check-json-request", String(target.split(separator: ".").last ?? ""), body), "\(body)")
      switch target {
      case "secretsmanager.DescribeSecret":
        #expect(!req.mutates)
        let answer = answers[min(count.next(), answers.count - 1)]
        #expect(botocore("check-json-response", "DescribeSecret", answer))
        return HTTPResponse(status: 200, body: Data(answer.jsonString().utf8))
      case "secretsmanager.RotateSecret":
        #expect(req.mutates)
        let answer: Value = [
          "ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf",
          "Name": "prod/db", "VersionId": body["ClientRequestToken"] ?? .null,
        ]
        #expect(botocore("check-json-response", "RotateSecret", answer))
        return HTTPResponse(status: 200, body: Data(answer.jsonString().utf8))
      default: return nil
      }
    }
    return t
  }

  static func targets(_ t: RecordedTransport) -> [String] {
    t.requests.compactMap { $0.header("X-Amz-Target")?.split(separator: ".").last.map(String.init) }
  }

  @Test func aRotationStillPendingIsNotVerifiedAndStaysAFollowUp() async throws {
    let t = Self.transport([
      Self.describe([Self.readVersion: ["AWSCURRENT"]]),
      Self.describe([Self.readVersion: ["AWSCURRENT"], Self.token: ["AWSPENDING"]]),
    ])
    let result = try await AWSActionsTests.run(
      "aws.secretsmanager.rotate-read-secrets", t, ["reads": [Self.read.value], "checks": 1])
    #expect(Self.targets(t) == ["DescribeSecret", "RotateSecret", "DescribeSecret"])
    #expect(AWSActionsTests.json(t.requests[1]) == ["SecretId": "prod/db", "ClientRequestToken": .string(Self.token)])
    #expect(result.outputs["rotated-count"] == 1 && result.outputs["verified-count"] == 0)
    let change = try #require(result.outputs["changes"]?.arrayValue?.first)
    #expect(change["verified"] == false && change["stages"] == ["AWSPENDING"])
    #expect(
      result.outputs["left"] == [
        .string(
          "Check the rotation of Secrets Manager secret `prod/db` finished: its new version \(Self.token) is "
            + "AWSPENDING, not AWSCURRENT (see the rotation function's logs); until then the value read "
            + "(GetSecretValue at 2026-11-23T13:09:39Z, event e1) is current")
      ])
  }

  /// Resumed after RotateSecret was sent: the version is there, so it is read back, not asked again.
  @Test func aResumeReadsBackTheRotationItStartedAndStartsNoOther() async throws {
    let t = Self.transport([Self.describe([Self.readVersion: ["AWSPREVIOUS"], Self.token: ["AWSCURRENT"]])])
    let result = try await AWSActionsTests.run(
      "aws.secretsmanager.rotate-read-secrets", t, ["reads": [Self.read.value]])
    #expect(Self.targets(t) == ["DescribeSecret", "DescribeSecret"])
    #expect(result.outputs["verified-count"] == 1 && result.outputs["left"] == [])
    #expect(
      result.outputs["changes"]?.arrayValue?.first?["last-rotated"]
        == .string(ISO8601.string(Date(timeIntervalSince1970: 1_795_000_000))))
  }

  /// Without rotation configured nothing is sent but reads; every other kind of read is left as is.
  @Test func whatCannotBeRotatedIsLeftNamingIt() async throws {
    let t = Self.transport([Self.describe(rotation: false, [Self.readVersion: ["AWSCURRENT"]])])
    var parameter = Self.read
    parameter.kind = .ssmParameter
    parameter.name = "/prod/token"
    let result = try await AWSActionsTests.run(
      "aws.secretsmanager.rotate-read-secrets", t, ["reads": [Self.read.value, parameter.value]])
    #expect(Self.targets(t) == ["DescribeSecret"])
    #expect(result.outputs["rotated-count"] == 0)
    #expect(
      result.outputs["left"] == [
        .string(Self.read.followUp + "; it has no rotation configured, so respond did not rotate it"),
        .string(parameter.followUp),
      ])
  }
}

/// A thread-safe counter for answers given in turn.
final class AnswerTurns: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0
  func next() -> Int {
    lock.withLock {
      defer { value += 1 }
      return value
    }
  }
}
