import Foundation
import RespondCore

// MARK: - What the AWS copy searches share

/// The AWS searches for every copy of a leaked secret (Secrets Manager under a name prefix,
/// Parameter Store under a path): bounded by `max-items` secrets read and paced at `per-second`
/// requests, values compared by digest and dropped at once; only names are outputs.
enum CopySearch {
  static let parameters: [ParameterSpec] = [
    ParameterSpec("value", required: true, secret: true, "the leaked value to look for"),
    ParameterSpec(
      "max-items", .integer, "read at most this many secrets (default \(CopySearchBounds.defaultMaxItems))"),
    ParameterSpec(
      "per-second", .number,
      "at most this many requests a second to each API (default \(Int(CopySearchBounds.defaultPerSecond)), at most 50)"),
    ParameterSpec("region", .string, "the region searched (default: the configured region)"),
  ]

  static let outputs: [OutputSpec] = [
    OutputSpec("matches", "list of {path, field} where the value was found (field empty: the whole value)"),
    OutputSpec("paths", "the distinct names that hold the value"),
    OutputSpec("count", "number of matching fields"),
    OutputSpec("scanned", "number of secrets read"),
    OutputSpec("unreadable", "names that could not be read (permission denied, scheduled for deletion)"),
    OutputSpec("complete", "false when max-items stopped the search or some secrets were unreadable"),
    OutputSpec("stopped", "why the search stopped early (the bound that was hit), null when it did not"),
  ]

  static func bounds(_ context: ActionContext) throws -> CopySearchBounds {
    var perSecond: Double?
    if let v = context.parameters["per-second"], !v.isNull {
      guard let n = v.numberValue, n > 0 else {
        throw ActionError.badParameter(name: "per-second", reason: "must be a positive number")
      }
      perSecond = n
    }
    return CopySearchBounds(maxItems: try context.int("max-items"), perSecond: perSecond)
  }

  /// One search's result, names only.
  static func result(
    store: String, root: String, matches: [SecretCopy], scanned: Int, unreadable: [String], stopped: String?
  ) -> ActionResult {
    let sorted = matches.sorted { ($0.path, $0.field) < ($1.path, $1.field) }
    let paths = Array(Set(sorted.map(\.path))).sorted()
    var summary = "found the value in \(paths.count) \(store) secret(s) of \(scanned) read under \(root)"
    if !unreadable.isEmpty { summary += "; \(unreadable.count) unreadable" }
    if let stopped { summary += "; \(stopped)" }
    return ActionResult(
      outputs: [
        "matches": .array(sorted.map { ["path": .string($0.path), "field": .string($0.field)] }),
        "paths": .array(paths.map(Value.string)), "count": .number(Double(sorted.count)),
        "scanned": .number(Double(scanned)), "unreadable": .array(unreadable.sorted().map(Value.string)),
        "complete": .bool(stopped == nil && unreadable.isEmpty), "stopped": stopped.map(Value.string) ?? .null,
      ],
      summary: summary)
  }
}

// MARK: - aws.secretsmanager.find-copies

/// `aws.secretsmanager.find-copies`: every Secrets Manager secret under a name prefix whose value
/// (whole, or a JSON field) is the leaked secret. ListSecrets then GetSecretValue, one at a time.
struct FindSecretCopiesAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.secretsmanager.find-copies",
      summary: "Find every Secrets Manager secret under a name prefix that holds a given value",
      parameters: [ParameterSpec("prefix", required: true, "the secret names' prefix, e.g. ci/")]
        + CopySearch.parameters,
      outputs: CopySearch.outputs, mutates: false, idempotent: true,
      requirements: AWSActions.requirements(regional: true),
      permissions: [
        .aws(AWSPermission("secretsmanager", "ListSecrets", mutates: false, purpose: "SecretCopies")),
        .aws(
          AWSPermission(
            "secretsmanager", "GetSecretValue", resource: IAMResources.secret, mutates: false,
            purpose: "SecretStores")),
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let prefix = try context.string("prefix")
    let needle = try context.string("value")
    context.masker.register(needle)
    let matcher = SecretDigestMatcher(needle)
    let bounds = try CopySearch.bounds(context)
    let client = try AWSClient(context)
    let region = context.optionalString("region")
    var names: [String] = []
    var token: String?
    repeat {
      var body: [String: Value] = ["Filters": [["Key": "name", "Values": [.string(prefix)]]], "MaxResults": 100]
      if let token { body["NextToken"] = .string(token) }
      let page = try await client.json(
        .secretsManager, target: "secretsmanager.ListSecrets", .object(body), mutates: false, region: region,
        perSecond: bounds.perSecond)
      names += (page["SecretList"]?.arrayValue ?? []).compactMap { $0["Name"]?.stringValue }
        .filter { $0.hasPrefix(prefix) }
      token = page["NextToken"]?.stringValue
    } while token != nil && names.count <= bounds.maxItems
    let stopped = names.count > bounds.maxItems || token != nil
    names = Array(names.prefix(bounds.maxItems))
    var matches: [SecretCopy] = []
    var unreadable: [String] = []
    for name in names {
      do {
        let answer = try await client.json(
          .secretsManager, target: "secretsmanager.GetSecretValue", ["SecretId": .string(name)], mutates: false,
          region: region, perSecond: bounds.perSecond)
        let fields = matcher.fields(inText: answer["SecretString"]?.stringValue ?? "")
        matches += fields.map { SecretCopy(store: "secrets-manager", path: name, field: $0) }
      } catch let error as ActionError where error.awsCode != nil {
        unreadable.append(name)
      }
    }
    return CopySearch.result(
      store: "Secrets Manager", root: prefix, matches: matches, scanned: names.count - unreadable.count,
      unreadable: unreadable,
      stopped: stopped ? bounds.stopped(store: "Secrets Manager", scanned: names.count) : nil)
  }
}

// MARK: - aws.ssm.find-copies

/// `aws.ssm.find-copies`: every Parameter Store parameter under a path (recursively) whose value,
/// decrypted, is the leaked secret or holds it in a JSON field (GetParametersByPath).
struct FindParameterCopiesAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.ssm.find-copies",
      summary: "Find every Parameter Store parameter under a path that holds a given value (decrypted)",
      parameters: [ParameterSpec("path", required: true, "the parameters' path, e.g. /ci")] + CopySearch.parameters,
      outputs: CopySearch.outputs, mutates: false, idempotent: true,
      requirements: AWSActions.requirements(regional: true),
      permissions: [
        .aws(
          AWSPermission(
            "ssm", "GetParametersByPath", resource: IAMResources.parameter, mutates: false, purpose: "SecretStores")),
        ParameterStore.kms[0],
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    var path = try context.string("path")
    if !path.hasPrefix("/") { path = "/" + path }
    let needle = try context.string("value")
    context.masker.register(needle)
    let matcher = SecretDigestMatcher(needle)
    let bounds = try CopySearch.bounds(context)
    let client = try AWSClient(context)
    var matches: [SecretCopy] = []
    var scanned = 0
    var token: String?
    repeat {
      var body: [String: Value] = [
        "Path": .string(path), "Recursive": true, "WithDecryption": true,
        "MaxResults": .number(Double(min(10, bounds.maxItems - scanned))),
      ]
      if let token { body["NextToken"] = .string(token) }
      let page = try await client.json(
        .ssm, target: "AmazonSSM.GetParametersByPath", .object(body), mutates: false,
        region: context.optionalString("region"), perSecond: bounds.perSecond)
      for p in page["Parameters"]?.arrayValue ?? [] {
        guard let name = p["Name"]?.stringValue else { continue }
        scanned += 1
        matches += matcher.fields(inText: p["Value"]?.stringValue ?? "").map {
          SecretCopy(store: "ssm", path: name, field: $0)
        }
      }
      token = page["NextToken"]?.stringValue
    } while token != nil && scanned < bounds.maxItems
    return CopySearch.result(
      store: "Parameter Store", root: path, matches: matches, scanned: scanned, unreadable: [],
      stopped: token != nil ? bounds.stopped(store: "Parameter Store", scanned: scanned) : nil)
  }
}

// MARK: - Replacing the copies

/// `aws.secretsmanager.replace-copies`: writes the replacement into every Secrets Manager copy a
/// find-copies step found (a new version each, idempotent by client request token), reading each
/// back; copies it cannot rewrite are listed for a person.
struct ReplaceSecretCopiesAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.secretsmanager.replace-copies",
      summary: "Replace a leaked value in every Secrets Manager copy found, and read each back",
      parameters: SecretCopyReplacer.parameters + [ParameterSpec("region", .string, "the secrets' region")],
      outputs: SecretCopyReplacer.outputs, mutates: true, idempotent: true,
      requirements: AWSActions.requirements(regional: true),
      permissions: [
        .aws(
          AWSPermission(
            "secretsmanager", "GetSecretValue", resource: IAMResources.secret, mutates: false,
            purpose: "SecretStores")),
        .aws(
          AWSPermission(
            "secretsmanager", "PutSecretValue", resource: IAMResources.secret, mutates: true, purpose: "SecretStores")),
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let input = try SecretCopyReplacer.inputs(context)
    let client = try AWSClient(context)
    let region = context.optionalString("region")
    let replacer = SecretCopyReplacer(
      store: "secrets-manager",
      read: { name in
        do {
          let answer = try await client.json(
            .secretsManager, target: "secretsmanager.GetSecretValue", ["SecretId": .string(name)], mutates: false,
            region: region)
          return answer["SecretString"]
        } catch let error as ActionError where error.awsCode == "ResourceNotFoundException" {
          return nil
        }
      },
      write: { name, value in
        let text = value.stringValue ?? value.jsonString()
        let token = PutSecretValueAction.clientRequestToken(
          incident: context.incident.id, step: context.stepID + "/" + name, value: text)
        _ = try await client.json(
          .secretsManager, target: "secretsmanager.PutSecretValue",
          ["SecretId": .string(name), "SecretString": .string(text), "ClientRequestToken": .string(token)],
          mutates: true, region: region)
      })
    let outcome = await replacer.run(
      paths: input.paths, matcher: input.matcher, replacement: input.replacement, companions: input.companions,
      context: context)
    return SecretCopyReplacer.result(outcome, store: "Secrets Manager")
  }
}

/// `aws.ssm.replace-copies`: writes the replacement into every Parameter Store copy found,
/// keeping each parameter's type and KMS key, and reads each back (decrypted).
struct ReplaceParameterCopiesAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.ssm.replace-copies",
      summary: "Replace a leaked value in every Parameter Store copy found (keeping type and KMS key)",
      parameters: SecretCopyReplacer.parameters + [ParameterSpec("region", .string, "the parameters' region")],
      outputs: SecretCopyReplacer.outputs, mutates: true, idempotent: true,
      requirements: AWSActions.requirements(regional: true),
      permissions: ParameterStore.writePermissions)
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let input = try SecretCopyReplacer.inputs(context)
    let store = ParameterStore(client: try AWSClient(context), region: context.optionalString("region"))
    let replacer = SecretCopyReplacer(
      store: "ssm",
      read: { name in try await store.get(name).map { .string($0.value) } },
      write: { name, value in
        let existing = try await store.describe(name)
        let type = existing?.type ?? "SecureString"
        _ = try await store.put(
          name, value: value.stringValue ?? value.jsonString(), type: type, keyID: existing?.keyID, overwrite: true)
      })
    let outcome = await replacer.run(
      paths: input.paths, matcher: input.matcher, replacement: input.replacement, companions: input.companions,
      context: context)
    return SecretCopyReplacer.result(outcome, store: "Parameter Store")
  }
}
