import Foundation
import RespondCore

// MARK: - The Parameter Store calls the actions share

/// SSM Parameter Store as a secret store: read with decryption, write a new version keeping the
/// parameter's type and KMS key, and read it back. PutParameter with Overwrite and no KeyId
/// re-encrypts a SecureString under the account's default key, so a parameter a team had put
/// under its own key would silently change keys: the key id is read first and sent again.
struct ParameterStore: Sendable {
  let client: AWSClient
  let region: String?

  /// One parameter's current value (decrypted), type and version.
  struct Parameter {
    var value: String
    var type: String
    var version: Int
  }

  /// GetParameter WithDecryption; nil when the parameter does not exist.
  func get(_ name: String) async throws -> Parameter? {
    let answer: Value
    do {
      answer = try await client.json(
        .ssm, target: "AmazonSSM.GetParameter", ["Name": .string(name), "WithDecryption": true], mutates: false,
        region: region)
    } catch let error as ActionError where error.awsCode == "ParameterNotFound" {
      return nil
    }
    let p = answer["Parameter"]
    return Parameter(
      value: p?["Value"]?.stringValue ?? "", type: p?["Type"]?.stringValue ?? "String",
      version: p?["Version"]?.intValue ?? 0)
  }

  /// DescribeParameters for one name: its type and KMS key id (nil when it does not exist).
  func describe(_ name: String) async throws -> (type: String, keyID: String?)? {
    let filter: Value = ["Key": "Name", "Option": "Equals", "Values": [.string(name)]]
    let answer = try await client.json(
      .ssm, target: "AmazonSSM.DescribeParameters", ["ParameterFilters": [filter]], mutates: false, region: region)
    guard let p = answer["Parameters"]?.arrayValue?.first(where: { $0["Name"]?.stringValue == name }) else {
      return nil
    }
    return (p["Type"]?.stringValue ?? "String", p["KeyId"]?.stringValue)
  }

  /// PutParameter; returns the new version.
  func put(_ name: String, value: String, type: String, keyID: String?, overwrite: Bool) async throws -> Int? {
    var body: [String: Value] = [
      "Name": .string(name), "Value": .string(value), "Type": .string(type), "Overwrite": .bool(overwrite),
    ]
    if type == "SecureString", let keyID { body["KeyId"] = .string(keyID) }
    do {
      let answer = try await client.json(
        .ssm, target: "AmazonSSM.PutParameter", .object(body), mutates: true, region: region)
      return answer["Version"]?.intValue
    } catch let error as ActionError where error.awsCode == "ParameterAlreadyExists" {
      guard case .provider(var e) = error else { throw error }
      e.message = "parameter '\(name)' already exists and overwrite is false (\(e.message))"
      throw ActionError.provider(e)
    }
  }

  /// Reads the parameter back and proves it holds `value` (compared by digest): a write the
  /// store acknowledged but does not serve is a failed write.
  func verify(_ name: String, value: String) async throws -> Parameter {
    guard let now = try await get(name) else {
      throw ActionError.verification("parameter '\(name)' is missing right after it was written")
    }
    guard SecretDigestMatcher(value).matches(now.value) else {
      throw ActionError.verification(
        "parameter '\(name)' does not hold the value just written (version \(now.version)); check it, then resume")
    }
    return now
  }

  /// The permissions the actions below declare, by call. DescribeParameters has no
  /// resource-level permissions: its own statement (`*`) keeps the parameter reads narrow.
  static func permission(_ operation: String, mutates: Bool, onlyWith: String? = nil) -> ProviderPermission {
    let describe = operation == "DescribeParameters"
    return .aws(
      AWSPermission(
        "ssm", operation, resource: describe ? "*" : IAMResources.parameter, mutates: mutates,
        purpose: describe ? "SecretStoreKeys" : "SecretStores", onlyWith: onlyWith))
  }

  /// A SecureString under a customer key needs the key too; the default aws/ssm key is granted
  /// through SSM itself.
  static let kms: [ProviderPermission] = [
    .aws(AWSPermission("kms", "Decrypt", resource: IAMResources.kmsKey, mutates: false, purpose: "SecretStores")),
    .aws(AWSPermission("kms", "Encrypt", resource: IAMResources.kmsKey, mutates: true, purpose: "SecretStores")),
  ]

  /// What writing a parameter the way `put` and `verify` do needs (its type and key described,
  /// the new version put, then read back), for every action that writes one: a call added to
  /// that sequence is granted to all of them at once.
  static let writePermissions: [ProviderPermission] =
    [
      permission("DescribeParameters", mutates: false), permission("GetParameter", mutates: false),
      permission("PutParameter", mutates: true),
    ] + kms
}

// MARK: - aws.ssm.get-parameter

/// `aws.ssm.get-parameter`: reads a Parameter Store parameter (decrypted) so every value it holds
/// is registered with the masker before anything else of the incident is written, like the
/// Secrets Manager read. Nothing of the value is an output.
struct GetParameterAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.ssm.get-parameter",
      summary: "Read an SSM Parameter Store parameter (decrypted) and mask every value it holds (GetParameter)",
      parameters: [
        ParameterSpec("name", required: true, "the parameter's name, e.g. /prod/ci/aws"),
        ParameterSpec("region", .string, "the parameter's region (default: the configured region)"),
      ],
      outputs: [
        OutputSpec("found", "false when the parameter does not exist"),
        OutputSpec("type", "SecureString, String or StringList"),
        OutputSpec("version", "the parameter's current version"),
        OutputSpec("fields", "the names of the JSON fields it holds (values are never outputs)"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: true),
      permissions: [ParameterStore.permission("GetParameter", mutates: false), ParameterStore.kms[0]])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let name = try context.string("name")
    let store = ParameterStore(client: try AWSClient(context), region: context.optionalString("region"))
    guard let p = try await store.get(name) else {
      return ActionResult(
        outputs: ["found": false, "type": .null, "version": .null, "fields": .array([])],
        summary: "no parameter \(name)")
    }
    context.masker.register(p.value)
    let object = Value.parseJSON(p.value)?.objectValue ?? [:]
    context.masker.register(.object(object))
    return ActionResult(
      outputs: [
        "found": true, "type": .string(p.type), "version": .number(Double(p.version)),
        "fields": .array(object.keys.sorted().map { .string($0) }),
      ],
      summary: "read \(p.type) parameter \(name) version \(p.version) (\(object.count) field(s)); "
        + "its values are masked from now on")
  }
}

// MARK: - aws.ssm.put-parameter

/// `aws.ssm.put-parameter`: writes the replacement credential into a Parameter Store parameter,
/// whole (`value`) or as `fields` merged into the JSON object it holds (others kept). The type
/// and KMS key of an existing parameter are kept (SecureString for a new one), and the value is
/// read back (decrypted) and compared before the step succeeds. Re-running writes the same
/// value again (a new version with the same content), so it is safe to repeat.
struct PutParameterAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.ssm.put-parameter",
      summary: "Write a value into an SSM Parameter Store parameter, keeping its KMS key, and read it back",
      parameters: [
        ParameterSpec("name", required: true, "the parameter's name, e.g. /prod/ci/aws-secret"),
        ParameterSpec("value", secret: true, "the whole new value (or fields)"),
        ParameterSpec("fields", .map, secret: true, "fields to set in the parameter's JSON object, others kept"),
        ParameterSpec(
          "type", allowed: ["SecureString", "String", "StringList"],
          "SecureString, String or StringList (default: the parameter's own type, SecureString when new)"),
        ParameterSpec("overwrite", .boolean, "replace an existing value (default true)"),
        ParameterSpec("key-id", .string, "KMS key for SecureString (default: the parameter's own key)"),
        ParameterSpec("region", .string, "the parameter's region (default: the configured region)"),
      ],
      outputs: [
        OutputSpec("version", "the parameter's new version"), OutputSpec("name", "the parameter's name"),
        OutputSpec("key-id", "the KMS key the value is encrypted under (SecureString)"),
        OutputSpec("fields", "names of the fields written (when fields was given)"),
        OutputSpec("verified", "true: the value read back (decrypted) is the one written"),
      ],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: true),
      permissions: ParameterStore.writePermissions)
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let name = try context.string("name")
    let whole = context.optionalString("value")
    let fieldsValue = context.parameters["fields"].flatMap { $0.isNull ? nil : $0 }
    if let whole { context.masker.register(whole) }
    if let fieldsValue { context.masker.register(fieldsValue) }
    if let type = context.optionalString("type"), !["SecureString", "String", "StringList"].contains(type) {
      throw ActionError.badParameter(name: "type", reason: "must be SecureString, String or StringList, got '\(type)'")
    }
    let overwrite = try context.bool("overwrite", default: true)
    let store = ParameterStore(client: try AWSClient(context), region: context.optionalString("region"))
    let existing = try await store.describe(name)
    let (value, fieldNames) = try await newValue(name, whole: whole, fields: fieldsValue, store: store, context)
    context.masker.register(value)
    let type = context.optionalString("type") ?? existing?.type ?? "SecureString"
    let keyID = type == "SecureString" ? context.optionalString("key-id") ?? existing?.keyID : nil
    let version = try await store.put(name, value: value, type: type, keyID: keyID, overwrite: overwrite)
    let now = try await store.verify(name, value: value)
    let what = fieldNames.isEmpty ? "" : " (fields \(fieldNames.joined(separator: ", ")))"
    return ActionResult(
      outputs: [
        "version": .number(Double(version ?? now.version)), "name": .string(name),
        "key-id": AWSActions.value(keyID), "verified": true,
        "fields": fieldNames.isEmpty ? .null : .array(fieldNames.map { .string($0) }),
      ],
      summary: "wrote \(type) parameter \(name)\(what) version \(version ?? now.version)"
        + (keyID.map { " under KMS key \($0)" } ?? "") + "; read back and verified")
  }

  /// The value to write: `value` whole, or `fields` merged into the JSON object the parameter holds.
  private func newValue(
    _ name: String, whole: String?, fields: Value?, store: ParameterStore, _ context: ActionContext
  ) async throws -> (String, [String]) {
    switch (whole, fields) {
    case (let s?, nil): return (s, [])
    case (nil, let f?):
      guard let fields = f.objectValue, !fields.isEmpty else {
        throw ActionError.badParameter(name: "fields", reason: "must be a non-empty map of field names to values")
      }
      guard let current = try await store.get(name) else {
        throw ActionError.failed(
          "parameter '\(name)' does not exist, so fields cannot be merged into it: pass value to create it whole")
      }
      context.masker.register(current.value)
      guard let object = Value.parseJSON(current.value)?.objectValue else {
        throw ActionError.failed(
          "parameter '\(name)' does not hold a JSON object, so fields cannot be merged into it: pass value to replace it whole"
        )
      }
      context.masker.register(.object(object))
      return (Value.object(object.merging(fields) { _, new in new }).jsonString(), fields.keys.sorted())
    case (nil, nil):
      throw ActionError.badParameter(name: "value", reason: "or fields is required")
    default:
      throw ActionError.badParameter(name: "value", reason: "and fields cannot both be given")
    }
  }
}
