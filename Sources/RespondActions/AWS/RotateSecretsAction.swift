import Foundation
import RespondCore

/// `aws.secretsmanager.rotate-read-secrets`: rotates every Secrets Manager secret the leaked key
/// read whose rotation is configured (DescribeSecret says RotationEnabled), with RotateSecret:
/// the value the attacker holds stops being the current one. Each rotation is read back (the
/// new version holds AWSCURRENT); everything else the key read (SSM parameters, KMS keys, S3
/// objects, secrets without rotation, a rotation that did not finish) is left as a precise
/// follow-up naming the secret and the events proving the read.
struct RotateReadSecretsAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.secretsmanager.rotate-read-secrets",
      summary: "Rotate the Secrets Manager secrets a leaked key read, where rotation is configured (RotateSecret)",
      parameters: [
        ParameterSpec("reads", .list, required: true, "the `secrets-read` output of aws.activity.classify"),
        ParameterSpec("checks", .integer, "read-backs while a rotation is still pending (default 5, 2 s apart)"),
      ],
      outputs: [
        OutputSpec("changes", "each rotation: {secret, region, version-id, verified, last-rotated, event-ids, undo}"),
        OutputSpec("rotated-count", "rotations started"),
        OutputSpec("verified-count", "rotations read back as finished (the new version is AWSCURRENT)"),
        OutputSpec("left", "what a person must still rotate, one line per secret, naming it and the read"),
      ],
      // A rotation already started under this incident's token is read back, never started again.
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: true),
      permissions: [
        .aws(
          AWSPermission(
            "secretsmanager", "DescribeSecret", resource: IAMResources.secret, mutates: false, purpose: "SecretRotation"
          )
        ),
        .aws(
          AWSPermission(
            "secretsmanager", "RotateSecret", resource: IAMResources.secret, mutates: true, purpose: "SecretRotation")),
        // RotateSecret runs the secret's rotation function as the caller (botocore's documentation).
        .aws(
          AWSPermission(
            "lambda", "Invoke", iamAction: "lambda:InvokeFunction", resource: "arn:aws:lambda:*:*:function:*",
            mutates: true, purpose: "SecretRotation")),
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    guard let items = context.parameters["reads"]?.arrayValue else {
      throw ActionError.badParameter(name: "reads", reason: "must be the list aws.activity.classify outputs")
    }
    let checks = max(1, min(context.parameters["checks"]?.intValue ?? 5, 30))
    let rotator = SecretRotator(
      client: try AWSClient(context), incident: context.incident.id, step: context.stepID, checks: checks)
    for item in items {
      guard let read = SecretRead(item) else { continue }
      guard read.kind == .secretsManager else {
        rotator.left.append(read.followUp)
        continue
      }
      await rotator.rotate(read)
    }
    let verified = rotator.changes.filter { $0["verified"]?.boolValue == true }.count
    return ActionResult(
      outputs: [
        "changes": .array(rotator.changes), "rotated-count": .number(Double(rotator.changes.count)),
        "verified-count": .number(Double(verified)), "left": .array(rotator.left.map { .string($0) }),
      ],
      summary:
        "\(rotator.changes.count) secret(s) rotated, \(verified) verified; \(rotator.left.count) left for a person")
  }
}

/// Rotates and reads back one secret at a time, collecting the changes and what is left. A
/// class: they accumulate across the awaits of one action run.
final class SecretRotator {
  let client: AWSClient
  let incident: String
  let step: String
  let checks: Int
  private(set) var changes: [Value] = []
  var left: [String] = []

  init(client: AWSClient, incident: String, step: String, checks: Int) {
    self.client = client
    self.incident = incident
    self.step = step
    self.checks = checks
  }

  /// The version id respond asks for: the same secret in the same step of the same incident
  /// always gets the same one, so a resume finds the rotation it started instead of another.
  func token(_ read: SecretRead) -> String {
    PutSecretValueAction.clientRequestToken(incident: incident, step: step, value: "\(read.region ?? "")\n\(read.name)")
  }

  /// DescribeSecret, or nil when the secret no longer exists.
  func describe(_ read: SecretRead) async throws -> Value? {
    do {
      return try await client.json(
        .secretsManager, target: "secretsmanager.DescribeSecret", ["SecretId": .string(read.name)], mutates: false,
        region: read.region)
    } catch let error as ActionError where error.awsCode == "ResourceNotFoundException" {
      return nil
    }
  }

  /// The staging labels of one version, from a DescribeSecret answer.
  static func stages(_ answer: Value?, _ version: String) -> [String] {
    (answer?["VersionIdsToStages"]?[version]?.arrayValue ?? []).compactMap(\.stringValue)
  }

  /// Rotates one secret that was read, if its rotation is configured; never throws (one secret
  /// that cannot be rotated must not leave the others as they are).
  func rotate(_ read: SecretRead) async {
    do {
      guard let before = try await describe(read) else {
        left.append(read.followUp + "; the secret no longer exists (deleted since?): check where its value was used")
        return
      }
      guard before["RotationEnabled"]?.boolValue == true else {
        left.append(read.followUp + "; it has no rotation configured, so respond did not rotate it")
        return
      }
      let version = token(read)
      // Resumed after the call: the version exists already; read it back, do not start another.
      if Self.stages(before, version).isEmpty {
        _ = try await client.json(
          .secretsManager, target: "secretsmanager.RotateSecret",
          ["SecretId": .string(read.name), "ClientRequestToken": .string(version)], mutates: true,
          region: read.region)
      }
      try await readBack(read, version: version)
    } catch {
      left.append(read.followUp + "; respond's rotation failed: \(error)")
    }
  }

  /// Reads the secret until the new version is AWSCURRENT (the rotation function finished) or
  /// the checks run out; records the change, verified or not.
  func readBack(_ read: SecretRead, version: String) async throws {
    var after: Value?
    for attempt in 0..<checks {
      if attempt > 0 { try await Task.sleep(for: .seconds(2)) }
      after = try await describe(read)
      if Self.stages(after, version).contains("AWSCURRENT") { break }
    }
    let stages = Self.stages(after, version)
    let verified = stages.contains("AWSCURRENT")
    let lastRotated = after?["LastRotatedDate"]?.numberValue.map { Date(timeIntervalSince1970: $0) }
    changes.append([
      "secret": .string(read.name), "region": AWSActions.value(read.region), "version-id": .string(version),
      "verified": .bool(verified), "stages": .array(stages.map { .string($0) }),
      "last-rotated": AWSActions.value(lastRotated), "event-ids": .array(read.eventIDs.map { .string($0) }),
      "change": .string("rotated Secrets Manager secret \(read.name) (new version \(version))"),
      // The version before holds the value the attacker read: putting it back is no undo.
      "undo": .string("none: the previous version (AWSPREVIOUS) holds the value the leaked key read"),
    ])
    if !verified {
      let state = stages.isEmpty ? "does not exist" : "is \(stages.joined(separator: ", "))"
      left.append(
        "Check the rotation of Secrets Manager secret `\(read.name)` finished: its new version \(version) \(state), "
          + "not AWSCURRENT (see the rotation function's logs); until then the value read (\(read.evidence)) is current"
      )
    }
  }
}
