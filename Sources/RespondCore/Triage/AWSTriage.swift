import Foundation

/// The AWS account an access key id belongs to, read from the id itself (no call, no
/// credentials): keys AWS has issued since 2019 encode it. After the 4-letter prefix, the
/// base32 text's first 6 bytes hold, under the mask 0x7fffffffff80, the account id shifted left
/// by 7; the top bit is set on every such key (ids of older keys, like AKIAIOSFODNN7EXAMPLE,
/// have it clear and encode nothing). Used to route the incident before any call; STS
/// `GetAccessKeyInfo` confirms it.
package enum AccessKeyAccount {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
  /// The 4-letter prefixes of access key ids (long-term, session, and their older forms).
  static let prefixes: Set<String> = ["AKIA", "ASIA", "ABIA", "ACCA"]

  /// Whether `value` is shaped like an AWS access key id (a known 4-letter prefix and 16 base32
  /// characters): the batch routes only those to an account's credentials.
  package static func isAccessKeyID(_ value: String) -> Bool {
    let chars = Array(value)
    guard chars.count == 20, prefixes.contains(String(chars[0..<4])) else { return false }
    return chars[4...].allSatisfy { alphabet.contains($0) }
  }

  /// The 12-digit account id, or nil when the id encodes none (an older key, or not a key id).
  package static func decode(_ keyID: String) -> String? {
    let chars = Array(keyID)
    guard chars.count >= 20, prefixes.contains(String(chars[0..<4])) else { return nil }
    // 10 base32 characters are 50 bits: enough for the 48 the account sits in.
    var bits: UInt64 = 0
    for c in chars[4..<14] {
      guard let v = alphabet.firstIndex(of: c) else { return nil }
      bits = bits << 5 | UInt64(v)
    }
    let first48 = bits >> 2
    guard first48 & (1 << 47) != 0 else { return nil }
    let account = (first48 & 0x7fff_ffff_ff80) >> 7
    return String(format: "%012llu", account)
  }
}

/// What IAM policies allow, summarised for a person deciding how bad a leak is: administrator
/// or not, which services, and the three abilities that make a leak worse (changing IAM,
/// reading secrets, launching compute). Only `Allow` statements count; conditions and denies
/// are not evaluated, so the summary errs towards more access, never less.
package struct PolicySummary: Sendable, Equatable {
  package var administrator = false
  /// Service prefixes granted (`*` when every service is).
  package var services: Set<String> = []
  package var changesIAM = false
  package var readsSecrets = false
  package var launchesCompute = false

  package init() {}

  /// Action prefixes (lowercase) of each ability; a wildcard action grants those it covers.
  static let iamWrites = ["iam:create", "iam:attach", "iam:put", "iam:update", "iam:add", "iam:passrole", "iam:set"]
  static let secretReads = [
    "secretsmanager:getsecretvalue", "secretsmanager:batchgetsecretvalue", "ssm:getparameter", "kms:decrypt",
    "s3:getobject",
  ]
  static let computeLaunches = [
    "ec2:runinstances", "ec2:requestspot", "ec2:createfleet", "lambda:createfunction", "ecs:runtask",
    "ecs:createservice", "batch:submitjob", "sagemaker:create", "eks:create",
  ]

  /// Whether an action (`iam:CreateUser`, `iam:*`, `s3:Get*`, lowercased) grants any of `prefixes`.
  static func grants(_ action: String, _ prefixes: [String]) -> Bool {
    guard action.hasSuffix("*") else { return prefixes.contains { action.hasPrefix($0) } }
    let stem = String(action.dropLast())
    return prefixes.contains { $0.hasPrefix(stem) || stem.hasPrefix($0) }
  }

  /// Adds one policy document (JSON text as IAM returns it, URL-decoded, or a parsed value).
  package mutating func add(document: Value) {
    let statements = document["Statement"]?.arrayValue ?? (document["Statement"].map { [$0] } ?? [])
    for statement in statements where statement["Effect"]?.stringValue == "Allow" {
      let actions = Self.strings(statement["Action"])
      let resources = Self.strings(statement["Resource"])
      // NotAction allows everything but the listed: treat it as broad access.
      if statement["NotAction"] != nil { add(action: "*", resources: resources.isEmpty ? ["*"] : resources) }
      for action in actions.map({ $0.lowercased() }) { add(action: action, resources: resources) }
    }
  }

  mutating func add(action: String, resources: [String]) {
    if action == "*" {
      services.insert("*")
      changesIAM = true
      readsSecrets = true
      launchesCompute = true
      if resources.contains("*") { administrator = true }
      return
    }
    if let service = action.split(separator: ":").first { services.insert(String(service)) }
    if Self.grants(action, Self.iamWrites) { changesIAM = true }
    if Self.grants(action, Self.secretReads) { readsSecrets = true }
    if Self.grants(action, Self.computeLaunches) { launchesCompute = true }
  }

  /// A managed policy known by name: AWS's administrator policy grants everything.
  package mutating func add(managedPolicyARN arn: String) {
    if arn.hasSuffix(":policy/AdministratorAccess") { add(action: "*", resources: ["*"]) }
  }

  static func strings(_ v: Value?) -> [String] {
    guard let v else { return [] }
    if let s = v.stringValue { return [s] }
    return (v.arrayValue ?? []).compactMap(\.stringValue)
  }

  /// "administrator (every service)" / "3 services: ec2, s3, sts; can change IAM"
  package var description: String {
    if administrator { return "administrator (every action on every resource)" }
    if services.isEmpty { return "no permissions found" }
    var s =
      services.contains("*")
      ? "every service" : "\(services.count) service(s): " + services.sorted().joined(separator: ", ")
    let abilities = [
      (changesIAM, "can change IAM"), (readsSecrets, "can read secrets"), (launchesCompute, "can launch compute"),
    ]
    .filter(\.0).map(\.1)
    if !abilities.isEmpty { s += "; " + abilities.joined(separator: ", ") }
    return s
  }
}

/// The facts triage found, for the severity decision.
package struct TriageFacts: Sendable, Equatable {
  package var ownerKnown: Bool
  package var rootKey: Bool
  package var permissions: PolicySummary
  package var quarantined: Bool
  package var consoleWithoutMFA: Bool

  package init(
    ownerKnown: Bool, rootKey: Bool = false, permissions: PolicySummary = PolicySummary(), quarantined: Bool = false,
    consoleWithoutMFA: Bool = false
  ) {
    self.ownerKnown = ownerKnown
    self.rootKey = rootKey
    self.permissions = permissions
    self.quarantined = quarantined
    self.consoleWithoutMFA = consoleWithoutMFA
  }
}

/// How urgent a leaked AWS key is, P1 (the account is at stake) to P4 (little can be done with
/// it), and the rule that decided it, shown in the report so a person can disagree with it.
package struct Severity: Sendable, Equatable {
  package var level: Int
  package var rule: String

  package var name: String { "P\(level)" }

  /// PagerDuty's event severity for the level: how loudly to page.
  package var pagerDutySeverity: String { ["critical", "error", "warning", "info"][level - 1] }

  /// The first rule that holds decides; the order is from worst to least. Pure: facts in,
  /// decision out.
  package static func decide(_ f: TriageFacts) -> Severity {
    let p = f.permissions
    if f.rootKey {
      return Severity(level: 1, rule: "the root user's key: full control of the account, no policy limits it")
    }
    if p.administrator { return Severity(level: 1, rule: "administrator access: every action on every resource") }
    if p.changesIAM {
      return Severity(
        level: 1, rule: "can change IAM (users, keys or policies): a path to administrator and to persistence")
    }
    if !f.ownerKnown {
      return Severity(level: 2, rule: "the key's owner is not in this account: its permissions cannot be judged here")
    }
    if p.readsSecrets || p.launchesCompute {
      let what = [(p.readsSecrets, "read secrets"), (p.launchesCompute, "launch compute")].filter(\.0).map(\.1)
      return Severity(level: 2, rule: "can " + what.joined(separator: " and ") + " with the key")
    }
    if f.quarantined {
      return Severity(level: 2, rule: "AWS attached its quarantine policy: the key is known to be public")
    }
    if f.consoleWithoutMFA {
      return Severity(level: 3, rule: "limited permissions, but the owner signs in to the console without MFA")
    }
    if !p.services.isEmpty {
      return Severity(level: 3, rule: "limited permissions: " + p.description)
    }
    return Severity(level: 4, rule: "no permissions found for the key's owner")
  }
}
