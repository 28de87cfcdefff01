import Crypto
import Foundation
import RespondCore

/// `aws.secretsmanager.put-secret-value`: writes the replacement credential into a Secrets
/// Manager secret, either as a whole `secret-string` or as `fields` merged into the secret's
/// existing JSON (other fields kept). The ClientRequestToken is derived from the incident, the
/// step and the value, so a retry or resume of the same write is recognised by Secrets Manager
/// as the same version instead of creating another.
struct PutSecretValueAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.secretsmanager.put-secret-value",
      summary: "Write a new version of a Secrets Manager secret, whole or by JSON fields (PutSecretValue)",
      parameters: [
        ParameterSpec("secret-id", required: true, "the secret's name or ARN"),
        ParameterSpec("secret-string", secret: true, "the whole new value (or fields)"),
        ParameterSpec("fields", .map, secret: true, "fields to set in the secret's JSON object, others kept"),
        ParameterSpec("region", .string, "the secret's region (default: the configured region)"),
      ],
      outputs: [
        OutputSpec("version-id", "the new version's id (the client request token)"),
        OutputSpec("arn", "the secret's ARN"),
        OutputSpec("name", "the secret's name"),
        OutputSpec("fields", "names of the fields written (when fields was given)"),
      ],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: true),
      permissions: [
        .aws(
          AWSPermission(
            "secretsmanager", "GetSecretValue", resource: IAMResources.secret, mutates: false, purpose: "SecretStores",
            onlyWith: "fields")),
        .aws(
          AWSPermission(
            "secretsmanager", "PutSecretValue", resource: IAMResources.secret, mutates: true, purpose: "SecretStores")),
      ])
  }

  /// A UUID (version 5 layout) from SHA-256 of incident id, step id and the value's hash: the
  /// same write in the same step of the same incident always gets the same token.
  static func clientRequestToken(incident: String, step: String, value: String) -> String {
    let valueHash = SigV4.sha256Hex(Data(value.utf8))
    var bytes = Array(SHA256.hash(data: Data("\(incident)\n\(step)\n\(valueHash)".utf8)).prefix(16))
    bytes[6] = (bytes[6] & 0x0f) | 0x50
    bytes[8] = (bytes[8] & 0x3f) | 0x80
    let hex = SigV4.hex(bytes)
    let i = hex.startIndex
    func cut(_ a: Int, _ b: Int) -> Substring { hex[hex.index(i, offsetBy: a)..<hex.index(i, offsetBy: b)] }
    return "\(cut(0, 8))-\(cut(8, 12))-\(cut(12, 16))-\(cut(16, 20))-\(cut(20, 32))"
  }

  /// Rephrases "not found" so the operator knows which secret, where.
  static func notFound(_ error: ActionError, secretID: String, region: String) -> ActionError {
    guard case .provider(var e) = error, e.code == "ResourceNotFoundException" else { return error }
    e.message =
      "secret '\(secretID)' does not exist in \(region) (\(e.message)): check secret-id and region; respond does not create secrets"
    return .provider(e)
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let secretID = try context.string("secret-id")
    let whole = context.optionalString("secret-string")
    let fieldsValue = context.parameters["fields"].flatMap { $0.isNull ? nil : $0 }
    if let whole { context.masker.register(whole) }
    if let fieldsValue { context.masker.register(fieldsValue) }
    let client = try AWSClient(context)
    let regionOverride = context.optionalString("region")
    let region = try client.configuration.region(for: .secretsManager, override: regionOverride)

    var newString: String
    var fieldNames: [String] = []
    switch (whole, fieldsValue) {
    case (let s?, nil):
      newString = s
    case (nil, let f?):
      guard let fields = f.objectValue, !fields.isEmpty else {
        throw ActionError.badParameter(name: "fields", reason: "must be a non-empty map of field names to values")
      }
      fieldNames = fields.keys.sorted()
      let current: Value
      do {
        current = try await client.json(
          .secretsManager, target: "secretsmanager.GetSecretValue", ["SecretId": .string(secretID)], mutates: false,
          region: regionOverride)
      } catch let error as ActionError {
        throw Self.notFound(error, secretID: secretID, region: region)
      }
      guard let existing = current["SecretString"]?.stringValue else {
        throw ActionError.failed(
          "secret '\(secretID)' holds binary data, not a JSON string: pass secret-string to replace it whole")
      }
      context.masker.register(existing)
      guard let object = Value.parseJSON(existing)?.objectValue else {
        throw ActionError.failed(
          "secret '\(secretID)' does not hold a JSON object, so fields cannot be merged into it: pass secret-string to replace it whole"
        )
      }
      context.masker.register(.object(object))
      newString = Value.object(object.merging(fields) { _, new in new }).jsonString()
    case (nil, nil):
      throw ActionError.badParameter(name: "secret-string", reason: "or fields is required")
    default:
      throw ActionError.badParameter(name: "secret-string", reason: "and fields cannot both be given")
    }
    context.masker.register(newString)

    let token = Self.clientRequestToken(incident: context.incident.id, step: context.stepID, value: newString)
    let answer: Value
    do {
      answer = try await client.json(
        .secretsManager, target: "secretsmanager.PutSecretValue",
        ["SecretId": .string(secretID), "SecretString": .string(newString), "ClientRequestToken": .string(token)],
        mutates: true, region: regionOverride)
    } catch let error as ActionError {
      throw Self.notFound(error, secretID: secretID, region: region)
    }
    let version = answer["VersionId"]?.stringValue ?? token
    let what = fieldNames.isEmpty ? "new value" : "fields \(fieldNames.joined(separator: ", "))"
    return ActionResult(
      outputs: [
        "version-id": .string(version), "arn": AWSActions.value(answer["ARN"]?.stringValue),
        "name": AWSActions.value(answer["Name"]?.stringValue),
        "fields": fieldNames.isEmpty ? .null : .array(fieldNames.map { .string($0) }),
      ],
      summary: "wrote \(what) to secret \(secretID) (version \(version))")
  }
}

/// `aws.secretsmanager.get-secret-value`: reads a Secrets Manager secret so that every value it
/// holds is registered with the masker before anything else of the incident is written (an event's
/// user agent may carry the leaked secret). Nothing of the value is an output.
struct GetSecretValueAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.secretsmanager.get-secret-value",
      summary: "Read a Secrets Manager secret and mask every value it holds (GetSecretValue)",
      parameters: [
        ParameterSpec("secret-id", required: true, "the secret's name or ARN"),
        ParameterSpec("region", .string, "the secret's region (default: the configured region)"),
      ],
      outputs: [
        OutputSpec("found", "false when the secret does not exist"),
        OutputSpec("fields", "the names of the secret's JSON fields (values are never outputs)"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: true),
      permissions: [
        .aws(
          AWSPermission(
            "secretsmanager", "GetSecretValue", resource: IAMResources.secret, mutates: false, purpose: "SecretStores"))
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let secretID = try context.string("secret-id")
    let client = try AWSClient(context)
    let current: Value
    do {
      current = try await client.json(
        .secretsManager, target: "secretsmanager.GetSecretValue", ["SecretId": .string(secretID)], mutates: false,
        region: context.optionalString("region"))
    } catch let error as ActionError where error.awsCode == "ResourceNotFoundException" {
      return ActionResult(outputs: ["found": false, "fields": .array([])], summary: "no secret \(secretID)")
    }
    let text = current["SecretString"]?.stringValue ?? ""
    context.masker.register(text)
    let object = Value.parseJSON(text)?.objectValue ?? [:]
    context.masker.register(.object(object))
    return ActionResult(
      outputs: ["found": true, "fields": .array(object.keys.sorted().map { .string($0) })],
      summary: "read secret \(secretID) (\(object.count) field(s)); its values are masked from now on")
  }
}
