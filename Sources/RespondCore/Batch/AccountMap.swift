import Foundation
import Yams

/// `--accounts FILE` (or `RESPOND_ACCOUNTS`): which AWS credentials a batch uses for the keys of
/// each account. A leaked key can only be deactivated from inside its own account, so a batch
/// holding keys of several accounts needs one set of credentials per account; the account comes
/// from the key id itself (`AccessKeyAccount.decode`), offline, before any call.
///
///     "111111111111": { profile: prod }                 # a profile of the shared config
///     "222222222222":
///       role-arn: arn:aws:iam::222222222222:role/respond
///       external-id: respond-7f3c                       # sts:ExternalId of the role's trust policy
///       session-name: respond                           # optional (default `respond`)
///       source-profile: security                        # optional: who assumes it (default: the environment)
///     "333333333333": { environment: true }             # the credentials of the environment
///     default: { role-arn: "arn:aws:iam::{account}:role/respond" }   # every other account
///
/// JSON is YAML, so the same file may be written as JSON. Account ids are read as written (a
/// quoted or unquoted `012345678901` keeps its leading zero). The file holds no secret.
package struct AccountMap: Sendable, Equatable {
  /// Where one account's credentials come from.
  package enum Source: Sendable, Equatable {
    /// The process's own credentials (`AWS_ACCESS_KEY_ID`..., or `AWS_PROFILE`).
    case environment
    /// A profile of the shared config and credentials files.
    case profile(String)
    /// A role assumed with STS AssumeRole, from the environment's credentials or `sourceProfile`'s.
    case role(arn: String, externalID: String?, sessionName: String, sourceProfile: String?)
  }

  /// Account id (12 digits) → its credentials.
  package var accounts: [String: Source]
  /// The `default` entry: for accounts not listed and keys whose id encodes no account.
  package var fallback: Source?
  /// The file it was read from (named in every message that asks for a change to it).
  package var file: String

  package init(accounts: [String: Source], fallback: Source? = nil, file: String) {
    self.accounts = accounts
    self.fallback = fallback
    self.file = file
  }

  /// The session name used when an entry names none: CloudTrail shows it on every call made.
  package static let defaultSessionName = "respond"

  /// The largest mapping file read (a mapping of thousands of accounts is a few hundred KB).
  package static let maxFileSize = 4 << 20
}

// MARK: - Choosing

extension AccountMap {
  /// What a batch does with one key's credentials.
  package enum Choice: Sendable, Equatable {
    /// Run with `source`; `account` is the decoded account (nil: the key id encodes none).
    case use(account: String?, Source)
    /// No credentials for this key's account: its own line in the summary, saying what to add.
    case unmapped(account: String?, reason: String)
    /// Not an AWS access key id: no AWS account to choose for; it runs with the environment.
    case notAWS
  }

  /// The credentials for `secret` (the batch's key): the entry of the account decoded from the
  /// key id, else the `default` entry (its `{account}` filled in), else unmapped. Pure.
  package func choose(_ secret: String) -> Choice {
    guard AccessKeyAccount.isAccessKeyID(secret) else { return .notAWS }
    let account = AccessKeyAccount.decode(secret)
    if let account, let source = accounts[account] { return .use(account: account, source) }
    guard let fallback else {
      guard let account else {
        return .unmapped(
          account: nil,
          reason:
            "the key id encodes no account (a key issued before 2019) and \(file) has no `default` entry: "
            + "add `default: { profile: NAME }` or `default: { role-arn: ARN }`, or respond to it on its own")
      }
      return .unmapped(
        account: account,
        reason:
          "no credentials for account \(account) in \(file): add `\"\(account)\": { profile: NAME }` "
          + "or `\"\(account)\": { role-arn: arn:aws:iam::\(account):role/NAME, external-id: ID }`")
    }
    guard case .role(let arn, let externalID, let session, let sourceProfile) = fallback, arn.contains("{account}")
    else { return .use(account: account, fallback) }
    guard let account else {
      return .unmapped(
        account: nil,
        reason:
          "the key id encodes no account (a key issued before 2019), so the `default` role \(arn) of \(file) "
          + "cannot be filled in: respond to it on its own with that account's credentials")
    }
    let filled = arn.replacingOccurrences(of: "{account}", with: account)
    return .use(
      account: account, .role(arn: filled, externalID: externalID, sessionName: session, sourceProfile: sourceProfile))
  }

  /// How a choice is shown on the key's progress and in its incident (never a secret: profile
  /// names, role ARNs and external ids are not credentials).
  package static func describe(_ source: Source, account: String?) -> String {
    let which = account.map { "account \($0)" } ?? "a key whose id encodes no account"
    switch source {
    case .environment: return "\(which): the environment's AWS credentials"
    case .profile(let name): return "\(which): AWS profile '\(name)'"
    case .role(let arn, let externalID, let session, let sourceProfile):
      return "\(which): role \(arn) (session \(session)\(externalID == nil ? "" : ", with an external id")"
        + ", assumed with \(sourceProfile.map { "profile '\($0)'" } ?? "the environment's credentials"))"
    }
  }
}

// MARK: - Reading

extension AccountMap {
  /// Reads the mapping file; every problem is reported at once, located (`file:line:column: error:`).
  package static func read(path: String) throws -> AccountMap {
    switch BoundedFile.read(path, limit: maxFileSize) {
    case .success(let data): return try parse(String(decoding: data, as: UTF8.self), file: path)
    case .failure(let why): throw UsageError("cannot read --accounts \(path): \(why)")
    }
  }

  /// Parses the mapping's text (YAML or JSON).
  package static func parse(_ text: String, file: String) throws -> AccountMap {
    var reader = NodeReader(file: file)
    let root: YAMLNode?
    do {
      root = try Yams.compose(yaml: text, PlainScalar.resolver)
    } catch let error as YamlError {
      throw UsageError(reader.diagnostic(for: error).description)
    }
    guard let root, case .mapping(let mapping) = root else {
      let at = root.map(reader.loc) ?? SourceLocation(file: file, line: 1, column: 1)
      throw UsageError(
        Diagnostic(at, "an accounts file maps account ids to credentials, e.g. \"111111111111\": { profile: prod }")
          .description)
    }
    var map = AccountMap(accounts: [:], file: file)
    for (keyNode, valueNode) in mapping {
      let key = keyNode.scalar?.string ?? ""
      guard key == "default" || (key.count == 12 && key.allSatisfy(\.isASCIIDigit)) else {
        reader.error(keyNode, "'\(key)' is not an AWS account id (12 digits) or `default`")
        continue
      }
      guard let source = entry(valueNode, account: key == "default" ? nil : key, reader: &reader) else { continue }
      if key == "default" { map.fallback = source } else { map.accounts[key] = source }
    }
    if !reader.diagnostics.isEmpty {
      throw UsageError(reader.diagnostics.sorted().map(\.description).joined(separator: "\n"))
    }
    return map
  }

  static let entryKeys: Set<String> = [
    "profile", "role-arn", "external-id", "session-name", "source-profile", "environment",
  ]

  /// One account's entry: exactly one of `profile`, `role-arn`, `environment: true`.
  static func entry(_ node: YAMLNode, account: String?, reader: inout NodeReader) -> Source? {
    guard case .mapping(let fields) = node else {
      reader.error(node, "an account's entry is a mapping: { profile: NAME } or { role-arn: ARN, external-id: ID }")
      return nil
    }
    var values: [String: (String, YAMLNode)] = [:]
    for (k, v) in fields {
      let name = k.scalar?.string ?? ""
      guard entryKeys.contains(name) else {
        reader.error(k, "unknown setting '\(name)' (known: \(entryKeys.sorted().joined(separator: ", ")))")
        continue
      }
      guard let text = v.scalar?.string, !text.isEmpty else {
        reader.error(v, "'\(name)' needs a value")
        continue
      }
      values[name] = (text, v)
    }
    let kinds = ["profile", "role-arn", "environment"].filter { values[$0] != nil }
    guard kinds.count == 1 else {
      reader.error(node, "give exactly one of profile, role-arn or environment: true (found \(kinds.count))")
      return nil
    }
    let roleOnly = ["external-id", "session-name", "source-profile"].filter { values[$0] != nil }
    if kinds[0] != "role-arn", let extra = roleOnly.first {
      reader.error(values[extra]!.1, "'\(extra)' applies only with role-arn")
      return nil
    }
    switch kinds[0] {
    case "profile": return .profile(values["profile"]!.0)
    case "environment":
      guard PlainScalar.bool(values["environment"]!.0) == true else {
        reader.error(values["environment"]!.1, "environment takes only `true` (leave the account out instead)")
        return nil
      }
      return .environment
    default: return role(values, account: account, reader: &reader)
    }
  }

  /// A role entry, checked against AWS's own limits so a typo fails here, not at the first key.
  static func role(_ values: [String: (String, YAMLNode)], account: String?, reader: inout NodeReader) -> Source? {
    let (arn, arnNode) = values["role-arn"]!
    let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
    let arnAccount = parts.count == 6 ? parts[4] : ""
    guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "iam", parts[5].hasPrefix("role/")
    else {
      reader.error(arnNode, "'\(arn)' is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
      return nil
    }
    if let account, arnAccount != account {
      reader.error(arnNode, "the role \(arn) is not in account \(account): a key is deactivated from its own account")
      return nil
    }
    if account == nil, arnAccount != "{account}", !(arnAccount.count == 12 && arnAccount.allSatisfy(\.isASCIIDigit)) {
      reader.error(arnNode, "the default role's account is 12 digits or {account} (filled in from each key id)")
      return nil
    }
    let external = values["external-id"]
    if let e = external, !(2...1224).contains(e.0.count) || !e.0.allSatisfy(isRoleNameCharacter) {
      reader.error(e.1, "an external id is 2 to 1224 characters of letters, digits and +=,.@:/-")
      return nil
    }
    let session = values["session-name"]?.0 ?? defaultSessionName
    if let node = values["session-name"]?.1,
      !(2...64).contains(session.count) || !session.allSatisfy(isSessionCharacter)
    {
      reader.error(node, "a session name is 2 to 64 characters of letters, digits and +=,.@-")
      return nil
    }
    return .role(arn: arn, externalID: external?.0, sessionName: session, sourceProfile: values["source-profile"]?.0)
  }

  static func isRoleNameCharacter(_ c: Character) -> Bool {
    c.isASCII && (c.isLetter || c.isNumber || "_+=,.@:/-".contains(c))
  }

  static func isSessionCharacter(_ c: Character) -> Bool {
    c.isASCII && (c.isLetter || c.isNumber || "_+=,.@-".contains(c))
  }

  /// Takes `--accounts FILE` (or `--accounts=FILE`) out of a command line.
  package static func extractFlag(_ args: [String]) throws -> (path: String?, rest: [String]) {
    var path: String?
    var rest: [String] = []
    var i = 0
    while i < args.count {
      let arg = args[i]
      if arg == "--accounts" || arg.hasPrefix("--accounts=") {
        guard path == nil else { throw UsageError("--accounts given twice") }
        if arg == "--accounts" {
          guard i + 1 < args.count else { throw UsageError("--accounts needs a file") }
          path = args[i + 1]
          i += 2
        } else {
          path = String(arg.dropFirst("--accounts=".count))
          i += 1
        }
        continue
      }
      rest.append(arg)
      i += 1
    }
    return (path, rest)
  }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
