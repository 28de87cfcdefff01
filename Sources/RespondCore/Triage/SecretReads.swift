import Foundation

/// A secret the leaked credential read: its value is in the attacker's hands, so it must be
/// rotated (and whatever uses it updated), however well the key itself was contained.
package struct SecretRead: Sendable, Equatable {
  /// Where the secret lives; the follow-up's wording and whether respond can rotate it follow.
  package enum Kind: String, Sendable, CaseIterable {
    case secretsManager = "secretsmanager-secret"
    case ssmParameter = "ssm-parameter"
    case ssmParameterPath = "ssm-parameter-path"
    case kmsKey = "kms-key"
    case s3Object = "s3-object"
    case vaultPath = "vault-path"
    /// A read that named no secret (BatchGetSecretValue by filters): a person finds which.
    case unnamed
  }

  package var kind: Kind
  /// The secret's id as the audit record names it (secret name or ARN, parameter name, key ARN,
  /// `bucket/key`, Vault request path).
  package var name: String
  package var region: String?
  package var firstRead: Date?
  /// The event (or Vault request) ids that prove the read, oldest first.
  package var eventIDs: [String]
  /// The call that read it (`GetSecretValue`, `read`).
  package var call: String

  package init(
    kind: Kind, name: String, region: String? = nil, firstRead: Date? = nil, eventIDs: [String] = [],
    call: String
  ) {
    self.kind = kind
    self.name = name
    self.region = region
    self.firstRead = firstRead
    self.eventIDs = eventIDs
    self.call = call
  }

  /// The read as a step output (and so in report.json).
  package var value: Value {
    var o: [String: Value] = [
      "kind": .string(kind.rawValue), "name": .string(name), "call": .string(call),
      "event-ids": .array(eventIDs.map { .string($0) }), "follow-up": .string(followUp),
    ]
    if let region { o["region"] = .string(region) }
    if let firstRead { o["first-read"] = .string(ISO8601.string(firstRead)) }
    return .object(o)
  }

  /// Reads one back from its output form (the rotation step gets the list from `activity`).
  package init?(_ v: Value) {
    guard let kind = v["kind"]?.stringValue.flatMap(Kind.init(rawValue:)), let name = v["name"]?.stringValue else {
      return nil
    }
    self.init(
      kind: kind, name: name, region: v["region"]?.stringValue,
      firstRead: v["first-read"]?.stringValue.flatMap(ISO8601.parse),
      eventIDs: (v["event-ids"]?.arrayValue ?? []).compactMap(\.stringValue), call: v["call"]?.stringValue ?? "?")
  }

  /// The evidence part of a follow-up: when, and which events prove it.
  package var evidence: String {
    let when = firstRead.map { " at \(ISO8601.string($0))" } ?? ""
    let ids: String
    switch eventIDs.count {
    case 0: ids = ""
    case 1: ids = ", event \(eventIDs[0])"
    default: ids = ", events \(eventIDs.joined(separator: ", "))"
    }
    return "\(call)\(when)\(ids)"
  }

  /// What a person must do about this read, naming the secret and the proof.
  package var followUp: String {
    let at = region.map { " (\($0))" } ?? ""
    switch kind {
    case .secretsManager:
      return "Rotate Secrets Manager secret `\(name)`\(at) and update what uses it: "
        + "read by the leaked key (\(evidence))"
    case .ssmParameter:
      return "Rotate SSM parameter `\(name)`\(at) and update what uses it: "
        + "read decrypted by the leaked key (\(evidence))"
    case .ssmParameterPath:
      return "Rotate every SSM parameter under `\(name)`\(at): read decrypted by path by the leaked key (\(evidence))"
    case .kmsKey:
      return "Treat what KMS key `\(name)`\(at) protects as exposed (rotate the secrets it encrypts): "
        + "the leaked key decrypted with it (\(evidence))"
    case .s3Object:
      return "Rotate any secret held in S3 object `\(name)`\(at): read by the leaked key (\(evidence))"
    case .vaultPath:
      return "Rotate the secret at Vault path `\(name)` and update what uses it: read by the leaked token (\(evidence))"
    case .unnamed:
      return "Find and rotate the secrets \(call) returned\(at): the call named none (\(evidence))"
    }
  }
}

/// Lists each distinct secret a leaked credential read, with the events proving it. Pure: the
/// classified CloudTrail events (or the Vault audit log's requests) in, one entry per secret out,
/// so that every follow-up names one secret and the runbook rotates what it can.
package enum SecretReadListing {
  /// One entry per secret read by a CloudTrail event of the `secret-reads` group that succeeded
  /// (a refused read exposed nothing; it stays in the activity section), oldest first.
  package static func list(_ events: [ClassifiedEvent]) -> [SecretRead] {
    var reads: [SecretRead] = []
    let ordered = events.enumerated().sorted { a, b in
      let (ta, tb) = (a.element.time ?? .distantPast, b.element.time ?? .distantPast)
      return ta != tb ? ta < tb : a.offset < b.offset
    }
    for (_, e) in ordered where e.category == .secretReads && e.errorCode == nil {
      for (kind, name) in named(e) {
        add(&reads, SecretRead(kind: kind, name: name, region: e.region, firstRead: e.time, call: e.name), e.eventID)
      }
    }
    return reads
  }

  /// The secrets one read event names, by kind.
  static func named(_ e: ClassifiedEvent) -> [(SecretRead.Kind, String)] {
    func values(_ kind: String) -> [String] {
      e.resources.filter { $0.hasPrefix(kind + ":") }.map { String($0.dropFirst(kind.count + 1)) }
    }
    var out: [(SecretRead.Kind, String)] = []
    switch (e.source ?? "", e.name) {
    case ("secretsmanager.amazonaws.com", _):
      out = values("secret").map { (.secretsManager, $0) }
    case ("ssm.amazonaws.com", _):
      out = values("parameter").map { (.ssmParameter, $0) } + values("parameter-path").map { (.ssmParameterPath, $0) }
    case ("kms.amazonaws.com", _):
      // The key is named in the record's resources (its ARN); keyId only when the caller gave one.
      let arns = values("arn").filter { $0.contains(":kms:") }
      out = (arns.isEmpty ? values("kms-key") : arns).map { (.kmsKey, $0) }
    case ("s3.amazonaws.com", _):
      out = values("s3").map { (.s3Object, $0) }
    default: break
    }
    return out.isEmpty ? [(.unnamed, e.name)] : out
  }

  /// Adds a read, or the event id to the entry for the same secret (same kind, name, region).
  static func add(_ reads: inout [SecretRead], _ read: SecretRead, _ eventID: String?) {
    if let i = reads.firstIndex(where: { $0.kind == read.kind && $0.name == read.name && $0.region == read.region }) {
      if let eventID, !reads[i].eventIDs.contains(eventID) { reads[i].eventIDs.append(eventID) }
      return
    }
    var read = read
    read.eventIDs = eventID.map { [$0] } ?? []
    reads.append(read)
  }

  /// One Vault/OpenBao audit request: the facts the listing needs.
  package struct VaultRequest: Sendable, Equatable {
    package var time: Date?
    package var operation: String
    package var path: String
    package var id: String?
    package var failed: Bool

    package init(time: Date?, operation: String, path: String, id: String?, failed: Bool) {
      self.time = time
      self.operation = operation
      self.path = path
      self.id = id
      self.failed = failed
    }
  }

  /// Paths whose reads return no secret of anyone else's: the token's own metadata and
  /// cubbyhole (gone with the token), Vault's own configuration, identities.
  static let notSecretPrefixes = ["sys/", "auth/", "identity/", "cubbyhole/"]

  /// One entry per Vault path the token read successfully (a `read` of a secret engine's path:
  /// a KV secret, or dynamic credentials minted for it), oldest first.
  package static func vault(_ requests: [VaultRequest]) -> [SecretRead] {
    var reads: [SecretRead] = []
    let ordered = requests.enumerated().sorted { a, b in
      let (ta, tb) = (a.element.time ?? .distantPast, b.element.time ?? .distantPast)
      return ta != tb ? ta < tb : a.offset < b.offset
    }
    for (_, r) in ordered where r.operation == "read" && !r.failed {
      guard !r.path.isEmpty, !notSecretPrefixes.contains(where: { r.path.hasPrefix($0) }) else { continue }
      add(&reads, SecretRead(kind: .vaultPath, name: r.path, firstRead: r.time, call: "read"), r.id)
    }
    return reads
  }
}
