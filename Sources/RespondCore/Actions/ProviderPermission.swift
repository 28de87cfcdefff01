import Foundation

/// What an action needs to be allowed to do at its provider, beyond holding a credential: the
/// exact IAM action for every AWS API call it makes, the Vault/OpenBao path capabilities for every
/// Vault request. `respond policy` builds the responder's least-privilege policies from these, and
/// the preflight asks AWS whether the caller may make each call before the first change.
package enum ProviderPermission: Sendable, Equatable {
  case aws(AWSPermission)
  case vault(VaultPermission)
}

/// One AWS API call and the IAM action that authorises it (usually `service:Operation`, but not
/// always: S3 ListObjectsV2 is authorised by `s3:ListBucket`).
package struct AWSPermission: Sendable, Equatable, Hashable {
  /// botocore's service name (`iam`, `secretsmanager`, `logs`), which is also the IAM prefix.
  package var service: String
  /// The API operation as botocore's service model names it (`UpdateAccessKey`).
  package var operation: String
  /// The IAM action name (`iam:UpdateAccessKey`).
  package var iamAction: String
  /// The resource ARN pattern the call touches (`arn:aws:iam::*:user/*`), `*` where the API has
  /// no resource-level permissions.
  package var resource: String
  /// Whether the call changes anything: read-only calls and changes go to separate statements.
  package var mutates: Bool
  /// What the call is for, the Sid's stem (`AccessKeys`, `AuditLogs`).
  package var purpose: String
  /// The call is made only when this parameter is given (deny-sessions: `role-name` → PutRolePolicy).
  package var onlyWith: String?
  /// ... and only when that parameter's value starts with this (`s3://` for an archive in S3).
  package var valuePrefix: String?

  package init(
    _ service: String, _ operation: String, iamAction: String? = nil, resource: String = "*", mutates: Bool,
    purpose: String, onlyWith: String? = nil, valuePrefix: String? = nil
  ) {
    self.valuePrefix = valuePrefix
    self.service = service
    self.operation = operation
    self.iamAction = iamAction ?? "\(service):\(operation)"
    self.resource = resource
    self.mutates = mutates
    self.purpose = purpose
    self.onlyWith = onlyWith
  }
}

extension AWSPermission {
  /// Whether the call is made with these parameters: nil when they are not known yet (the call
  /// may be made).
  package func isMade(with parameters: [String: Value]?) -> Bool? {
    guard let onlyWith else { return true }
    guard let parameters else { return nil }
    guard let v = parameters[onlyWith], !v.isNull else { return false }
    if let s = v.stringValue, s.isEmpty { return false }
    guard let valuePrefix else { return true }
    return v.stringValue?.hasPrefix(valuePrefix) ?? false
  }
}

/// A Vault/OpenBao path and the capabilities a request on it needs.
package struct VaultPermission: Sendable, Equatable {
  /// Where the path comes from.
  package enum Path: Sendable, Equatable {
    /// A fixed API path (`auth/token/revoke`).
    case fixed(String)
    /// The KV v2 data path of the secret named by this parameter (`secret/ci/aws` → `secret/data/ci/aws`).
    case kvData(parameter: String)
    /// Every secret under the KV v2 prefix named by this parameter, listed through its metadata
    /// (when the capabilities include `list`) and read or written through its data paths.
    case kvTree(parameter: String)
  }

  package var path: Path
  /// `create`, `read`, `update`, `delete`, `list`, `sudo` (a POST is `update`, or `create` for a
  /// new KV secret).
  package var capabilities: [String]
  package var purpose: String
  /// The request is made only when this parameter is given (token lookup: `accessor`).
  package var onlyWith: String?

  package init(_ path: Path, _ capabilities: [String], purpose: String, onlyWith: String? = nil) {
    self.path = path
    self.capabilities = capabilities
    self.purpose = purpose
    self.onlyWith = onlyWith
  }

  /// A KV v2 location as the KV actions read it: the first segment is the mount unless `mount`
  /// is given (`secret/ci/aws` → `secret`, `ci/aws`).
  package static func kvLocation(_ raw: String, mount: String?) -> (mount: String, path: String)? {
    let trimmed = raw.trimmingCharacters(in: CharacterSet(charactersIn: "/ "))
    if let m = mount?.trimmingCharacters(in: CharacterSet(charactersIn: "/ ")), !m.isEmpty {
      let inside = trimmed.hasPrefix(m + "/") ? String(trimmed.dropFirst(m.count + 1)) : trimmed
      return (m, inside == m ? "" : inside)
    }
    let parts = trimmed.split(separator: "/", maxSplits: 1).map(String.init)
    guard let first = parts.first, !first.isEmpty else { return nil }
    return (first, parts.count > 1 ? parts[1] : "")
  }

  /// The concrete paths and capabilities a request needs, from its parameters' values (`value`
  /// gives a parameter's value, nil when it is not known); nil when they cannot be told.
  package func concrete(_ value: (String) -> Value?) -> [(path: String, capabilities: [String])]? {
    switch path {
    case .fixed(let p):
      return p.contains("+") || p.contains("*") ? nil : [(p, capabilities)]
    case .kvData(let parameter):
      guard let raw = value(parameter)?.stringValue,
        let (mount, inside) = Self.kvLocation(raw, mount: value("mount")?.stringValue), !inside.isEmpty
      else { return nil }
      return [("\(mount)/data/\(inside)", capabilities)]
    case .kvTree(let parameter):
      guard capabilities.contains("list"), let raw = value(parameter)?.stringValue,
        let (mount, inside) = Self.kvLocation(raw, mount: value("mount")?.stringValue)
      else { return nil }
      return [("\(mount)/metadata/\(inside.isEmpty ? "" : inside + "/")", ["list"])]
    }
  }
}
