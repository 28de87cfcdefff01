import Foundation

/// Reads the resources a CloudTrail record names, and says how to undo a persistence event.
/// Only named fields are read: an AssumeRole answer also carries the session token, which must
/// never be copied into an output.
package enum CloudTrailResources {
  /// Request fields naming a resource, and the kind each names.
  static let requestFields: [(field: String, kind: String)] = [
    ("userName", "user"), ("roleName", "role"), ("groupName", "group"), ("policyArn", "policy"),
    ("policyName", "inline-policy"), ("instanceProfileName", "instance-profile"), ("secretId", "secret"),
    ("functionName", "function"), ("detectorId", "detector"), ("trailName", "trail"), ("roleArn", "role"),
    ("keyId", "kms-key"), ("logGroupName", "log-group"), ("versionId", "policy-version"),
    ("accessKeyId", "access-key"),
  ]

  /// Every resource the record names, `kind:name`, in a stable order, without repeats.
  package static func named(_ record: Value) -> [String] {
    var out: [String] = []
    func add(_ kind: String, _ name: String?) {
      guard let name, !name.isEmpty else { return }
      let item = "\(kind):\(name)"
      if !out.contains(item) { out.append(item) }
    }
    let source = record["eventSource"]?.stringValue ?? ""
    let request = record["requestParameters"]
    let response = record["responseElements"]
    // CreatePolicy's policyName is a managed policy's, everywhere else an inline policy's.
    let managed = record["eventName"]?.stringValue == "CreatePolicy"
    for (field, kind) in requestFields {
      add(field == "policyName" && managed ? "managed-policy" : kind, request?[field]?.stringValue)
    }
    // `name` means a different thing per service.
    switch source {
    case "ssm.amazonaws.com": add("parameter", request?["name"]?.stringValue)
    case "cloudtrail.amazonaws.com": add("trail", request?["name"]?.stringValue)
    default: break
    }
    for name in request?["names"]?.arrayValue ?? [] { add("parameter", name.stringValue) }
    for id in request?["secretIdList"]?.arrayValue ?? [] { add("secret", id.stringValue) }
    if let path = request?["path"]?.stringValue, source == "ssm.amazonaws.com" { add("parameter-path", path) }
    if let bucket = request?["bucketName"]?.stringValue {
      add("s3", request?["key"]?.stringValue.map { "\(bucket)/\($0)" } ?? bucket)
    }
    // A key made for the signing user itself names its user only in the answer.
    add("user", response?["accessKey"]?["userName"]?.stringValue)
    add("access-key", response?["accessKey"]?["accessKeyId"]?.stringValue)
    add("session-key", response?["credentials"]?["accessKeyId"]?.stringValue)
    for item in response?["instancesSet"]?["items"]?.arrayValue ?? [] {
      add("instance", item["instanceId"]?.stringValue)
    }
    for resource in record["resources"]?.arrayValue ?? [] {
      add("arn", resource["ARN"]?.stringValue ?? resource["arn"]?.stringValue)
    }
    return out
  }

  /// The role name in a role ARN (`arn:aws:iam::123:role/path/name` → `name`).
  package static func roleName(_ arn: String) -> String? {
    guard let range = arn.range(of: ":role/") else { return nil }
    let rest = arn[range.upperBound...]
    return rest.split(separator: "/").last.map(String.init)
  }

  /// What a person must remove to undo one persistence event that took effect, naming the
  /// resource exactly. Nil only for a call whose record names nothing to act on.
  package static func removal(name: String, request: Value?, response: Value?) -> String? {
    func q(_ field: String) -> String? { request?[field]?.stringValue }
    let user = q("userName")
    let role = q("roleName")
    let group = q("groupName")
    let holder = user.map { "user `\($0)`" } ?? role.map { "role `\($0)`" } ?? group.map { "group `\($0)`" }
    switch name {
    case "CreateUser":
      guard let u = user ?? response?["user"]?["userName"]?.stringValue else { return nil }
      return "Disable the IAM user `\(u)` the attacker created: deactivate its access keys, delete its login "
        + "profile, detach and delete its policies, remove it from groups; delete it once the evidence is kept"
    case "CreateAccessKey":
      let id = response?["accessKey"]?["accessKeyId"]?.stringValue
      return "Deactivate the access key \(id.map { "`\($0)`" } ?? "created") of user `\(user ?? "the signing user")`"
    case "UpdateAccessKey":
      return "Deactivate again the access key `\(q("accessKeyId") ?? "?")` the attacker reactivated"
    case "CreateLoginProfile":
      return "Delete the console password (login profile) of user `\(user ?? "?")`"
    case "UpdateLoginProfile":
      return "Reset or delete the console password (login profile) of user `\(user ?? "?")`: the attacker changed it"
    case "AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy":
      return "Detach the managed policy `\(q("policyArn") ?? "?")` from \(holder ?? "its principal")"
    case "PutUserPolicy", "PutRolePolicy", "PutGroupPolicy":
      return "Delete the inline policy `\(q("policyName") ?? "?")` of \(holder ?? "its principal")"
    case "CreatePolicyVersion", "SetDefaultPolicyVersion":
      return
        "Restore the earlier default version of policy `\(q("policyArn") ?? "?")` and delete the version the attacker set"
    case "AddUserToGroup":
      return "Remove user `\(user ?? "?")` from group `\(group ?? "?")`"
    case "CreateRole":
      return "Delete the role `\(role ?? "?")` the attacker created (detach its policies first)"
    case "UpdateAssumeRolePolicy":
      return "Restore the trust policy of role `\(role ?? "?")`: the attacker changed who may assume it"
    case "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary", "DeleteRolePermissionsBoundary":
      return "Restore the permissions boundary of \(holder ?? "its principal")"
    default:
      let named = named(["requestParameters": request ?? .null, "responseElements": response ?? .null])
      return "Undo \(name)" + (named.isEmpty ? "" : " on " + named.joined(separator: ", "))
    }
  }
}

/// All of a key's classified events, grouped, from one or several audit sources. The same event
/// found twice (CloudTrail and its copy in CloudWatch Logs) counts once, by event id.
package struct ActivityClassification: Sendable, Equatable {
  /// How many events of the `other` group are kept as outputs (the others are counted): the
  /// groups that need action are never cut.
  package static let otherKept = 50

  package private(set) var events: [ClassifiedEvent] = []
  package private(set) var counts: [ActivityCategory: Int] = [:]
  private var seen: Set<String> = []

  package init() {}

  /// Adds one classified event unless its event id was seen already.
  package mutating func add(_ event: ClassifiedEvent) {
    if let id = event.eventID, !seen.insert(id).inserted { return }
    counts[event.category, default: 0] += 1
    if event.category == .other && counts[.other, default: 0] > Self.otherKept { return }
    events.append(event)
  }

  /// Reads back the `activity` output of an audit step (null when that step did not run).
  package mutating func add(output: Value) {
    for category in ActivityCategory.allCases {
      for item in output[category.rawValue]?.arrayValue ?? [] {
        if let event = ClassifiedEvent(item) { add(event) }
      }
    }
  }

  /// The events of one group, oldest first.
  package func group(_ category: ActivityCategory) -> [ClassifiedEvent] {
    // Ties keep the order found, so the same journal always renders the same list.
    events.enumerated().filter { $0.element.category == category }
      .sorted { a, b in
        let (ta, tb) = (a.element.time ?? .distantPast, b.element.time ?? .distantPast)
        return ta != tb ? ta < tb : a.offset < b.offset
      }
      .map(\.element)
  }

  /// One follow-up per persistence event that took effect, naming what to remove and the event
  /// that proves it; an attempt that failed is listed too, to check nothing was left.
  package var followUps: [String] {
    group(.persistence).map { e in
      let evidence =
        "\(e.name)\(e.eventID.map { ", event id \($0)" } ?? "")"
        + "\(e.time.map { ", \(ISO8601.string($0))" } ?? "")\(e.sourceIP.map { ", from \($0)" } ?? "")"
      if let code = e.errorCode {
        return "Check that the attacker's failed \(e.name) (\(code)) left nothing behind: "
          + (e.resources.isEmpty ? "no resource named" : e.resources.joined(separator: ", ")) + " (\(evidence))"
      }
      return (e.removal ?? "Review and undo \(e.name)") + " (\(evidence))"
    }
  }

  /// The roles the key assumed (their sessions outlive the key's deactivation), sorted.
  package var assumedRoles: [String] { Array(Set(events.compactMap(\.assumedRole))).sorted() }

  /// The `activity` output: a list per group, the counts, follow-ups and assumed roles.
  package var value: Value {
    var o: [String: Value] = [:]
    for category in ActivityCategory.allCases {
      o[category.rawValue] = .array(group(category).map(\.value))
    }
    o["counts"] = .object(
      Dictionary(
        uniqueKeysWithValues: ActivityCategory.allCases.map { ($0.rawValue, .number(Double(counts[$0] ?? 0))) }))
    return .object(o)
  }

  /// "persistence 3 (CreateUser, CreateAccessKey, AttachUserPolicy), secret reads 1 (GetSecretValue)…"
  package var summary: String {
    let parts = ActivityCategory.allCases.compactMap { c -> String? in
      guard let n = counts[c], n > 0 else { return nil }
      var names: [String] = []
      for e in group(c) where !names.contains(e.name) { names.append(e.name) }
      let shown = names.prefix(4).joined(separator: ", ") + (names.count > 4 ? "…" : "")
      return "\(c.title) \(n) (\(shown))"
    }
    return parts.isEmpty ? "no events to classify" : parts.joined(separator: "; ")
  }
}
