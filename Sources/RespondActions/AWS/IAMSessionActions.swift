import Foundation
import RespondCore

/// `aws.iam.deny-sessions-before`: the console's "Revoke active sessions". Temporary
/// credentials (ASIA…) cannot be deactivated, so an inline policy named
/// `AWSRevokeOlderSessions` denies everything to sessions issued before a time. Put on the role
/// (PutRolePolicy) or on the user whose session tokens leaked (PutUserPolicy). The policy is
/// written by name, so running it again just moves the time.
struct DenySessionsBeforeAction: Action {
  static let policyName = "AWSRevokeOlderSessions"

  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.deny-sessions-before",
      summary: "Deny every session issued before a time, for roles or a user (inline policy AWSRevokeOlderSessions)",
      parameters: [
        ParameterSpec("role-name", .string, "the role whose older sessions to deny (or user-name)"),
        ParameterSpec("user-name", .string, "the user whose older session tokens to deny (or role-name)"),
        ParameterSpec(
          "role-names", .list,
          "several roles (names or ARNs, lists nested or not): every role a leaked key assumed"),
        ParameterSpec("account-id", .string, "roles given by ARN in another account are skipped (listed in skipped)"),
        ParameterSpec("before", .string, "ISO-8601 UTC time; sessions issued before it are denied (default: now)"),
      ],
      outputs: [
        OutputSpec("policy-name", "AWSRevokeOlderSessions"),
        OutputSpec("principal", "role/<name> or user/<name> (the first, when several)"),
        OutputSpec("principals", "every principal denied: role/<name> or user/<name>"),
        OutputSpec("skipped", "roles not denied because they are in another account (cannot be changed from here)"),
        OutputSpec("before", "the cut-off time, ISO-8601 UTC"),
      ],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: IAMPrincipal.permissions("Put", mutates: true))
  }

  /// The policy document: Deny * on * when aws:TokenIssueTime is before the cut-off.
  static func policyDocument(before: Date) -> String {
    let statement: Value = [
      "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
      "Condition": ["DateLessThan": ["aws:TokenIssueTime": .string(ISO8601.string(before))]],
    ]
    let doc: Value = ["Version": "2012-10-17", "Statement": [statement]]
    return doc.jsonString()
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let (principals, skipped) = try IAMPrincipal.resolve(context)
    let before = try AWSActions.date(context, "before") ?? Date()
    let client = try AWSClient(context)
    let document = Self.policyDocument(before: before)
    for p in principals {
      _ = try await client.query(
        .iam, p.isRole ? "PutRolePolicy" : "PutUserPolicy",
        [(p.nameField, p.name), ("PolicyName", Self.policyName), ("PolicyDocument", document)], mutates: true)
    }
    var outputs: [String: Value] = [
      "policy-name": .string(Self.policyName), "principal": .string(principals[0].label),
      "before": .string(ISO8601.string(before)),
    ]
    if principals.count > 1 || !skipped.isEmpty || context.parameters["role-names"] != nil {
      outputs["principals"] = .array(principals.map { .string($0.label) })
      outputs["skipped"] = .array(skipped.map { .string($0) })
    }
    let who = principals.map(\.label).joined(separator: ", ")
    return ActionResult(
      outputs: outputs,
      summary: "sessions of \(who) issued before \(ISO8601.string(before)) are denied"
        + (skipped.isEmpty ? "" : "; skipped (another account): \(skipped.joined(separator: ", "))"))
  }
}

/// A role or user an inline policy goes on, from the `role-name`, `user-name` and `role-names`
/// parameters the session actions share.
struct IAMPrincipal: Equatable {
  var isRole: Bool
  var name: String

  var label: String { (isRole ? "role/" : "user/") + name }

  /// The calls on an inline policy (`Get`, `Delete`): on roles when `role-name` or `role-names`
  /// is given, on the user when `user-name` is.
  static func permissions(_ verb: String, mutates: Bool) -> [ProviderPermission] {
    [
      AWSPermission(
        "iam", "\(verb)RolePolicy", resource: IAMResources.role, mutates: mutates, purpose: "Sessions",
        onlyWith: "role-name"),
      AWSPermission(
        "iam", "\(verb)RolePolicy", resource: IAMResources.role, mutates: mutates, purpose: "Sessions",
        onlyWith: "role-names"),
      AWSPermission(
        "iam", "\(verb)UserPolicy", resource: IAMResources.user, mutates: mutates, purpose: "Sessions",
        onlyWith: "user-name"),
    ].map { .aws($0) }
  }
  var nameField: String { isRole ? "RoleName" : "UserName" }

  /// The principals named, in order, without repeats; roles given by ARN in an account other
  /// than `account-id` are returned as skipped. One of the parameters is required; `role-name`
  /// and `user-name` together are refused (one step, one kind of principal).
  static func resolve(_ context: ActionContext) throws -> (principals: [IAMPrincipal], skipped: [String]) {
    let role = context.optionalString("role-name")
    let user = context.optionalString("user-name")
    if role != nil && user != nil {
      throw ActionError.badParameter(name: "role-name", reason: "and user-name cannot both be given")
    }
    var out: [IAMPrincipal] = []
    var skipped: [String] = []
    func add(_ p: IAMPrincipal) { if !out.contains(p) { out.append(p) } }
    if let role { add(IAMPrincipal(isRole: true, name: role)) }
    if let user { add(IAMPrincipal(isRole: false, name: user)) }
    let account = context.optionalString("account-id")
    for item in flatten(context.parameters["role-names"]) {
      if item.hasPrefix("arn:") {
        guard let name = CloudTrailResources.roleName(item) else {
          throw ActionError.badParameter(name: "role-names", reason: "'\(item)' is not a role ARN")
        }
        let parts = item.split(separator: ":", omittingEmptySubsequences: false)
        if let account, parts.count > 4, parts[4] != account {
          skipped.append(item)
          continue
        }
        add(IAMPrincipal(isRole: true, name: name))
      } else {
        // `role/<name>` is how the `principals` output names a role: an undo reads it back.
        add(IAMPrincipal(isRole: true, name: item.hasPrefix("role/") ? String(item.dropFirst(5)) : item))
      }
    }
    guard !out.isEmpty || !skipped.isEmpty else {
      throw ActionError.badParameter(name: "role-name", reason: "or user-name or role-names is required")
    }
    guard !out.isEmpty else {
      throw ActionError.failed(
        "every role given is in another account (\(skipped.joined(separator: ", "))): deny their sessions there")
    }
    return (out, skipped)
  }

  /// Strings of a list that may hold lists (one per audit source) and nulls.
  static func flatten(_ v: Value?) -> [String] {
    switch v {
    case .string(let s)?:
      return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    case .array(let items)?: return items.flatMap { flatten($0) }
    default: return []
    }
  }
}

/// `aws.iam.get-inline-policy`: reads an inline policy of a role or user back (GetRolePolicy /
/// GetUserPolicy), so a runbook can prove a deny it wrote is in place rather than trusting that
/// IAM accepted the write. A missing policy is an answer (`found: false`), not a failure. With
/// several principals (`role-names`), `all-match` says whether every one holds it and contains
/// `expect` (the cut-off time written).
struct GetInlinePolicyAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.get-inline-policy",
      summary: "Read an inline policy of roles or a user (IAM GetRolePolicy / GetUserPolicy)",
      parameters: [
        ParameterSpec("role-name", .string, "the role holding the policy (or user-name)"),
        ParameterSpec("user-name", .string, "the user holding the policy (or role-name)"),
        ParameterSpec("role-names", .list, "several roles (names or ARNs, lists nested or not)"),
        ParameterSpec("account-id", .string, "roles given by ARN in another account are not read"),
        ParameterSpec("policy-name", .string, required: true, "the inline policy's name"),
        ParameterSpec("expect", .string, "text every document must contain for all-match (e.g. the cut-off time)"),
      ],
      outputs: [
        OutputSpec("found", "false when IAM has no such policy on the (first) principal (NoSuchEntity)"),
        OutputSpec("document", "the (first) policy document as IAM returns it, URL-decoded; empty when not found"),
        OutputSpec("all-found", "true when every principal holds the policy"),
        OutputSpec("all-match", "true when every principal holds the policy and each contains `expect`"),
        OutputSpec("missing", "principals without the policy, or whose policy lacks `expect`"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: IAMPrincipal.permissions("Get", mutates: false))
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let (principals, _) = try IAMPrincipal.resolve(context)
    let policy = try context.string("policy-name")
    let expect = context.optionalString("expect")
    let client = try AWSClient(context)
    var documents: [String?] = []
    for p in principals {
      documents.append(try await Self.read(client, p, policy: policy))
    }
    let missing = zip(principals, documents).filter { _, doc in
      guard let doc else { return true }
      return expect.map { !doc.contains($0) } ?? false
    }.map(\.0.label)
    let first = documents[0]
    let summary =
      principals.count == 1
      ? (first == nil
        ? "\(principals[0].name) has no inline policy \(policy)"
        : "\(principals[0].name) holds inline policy \(policy)")
      : (missing.isEmpty
        ? "all \(principals.count) principals hold \(policy)"
        : "\(policy) missing or different on \(missing.joined(separator: ", "))")
    return ActionResult(
      outputs: [
        "found": .bool(first != nil), "document": .string(first ?? ""),
        "all-found": .bool(!documents.contains(nil)), "all-match": .bool(missing.isEmpty),
        "missing": .array(missing.map { .string($0) }),
      ],
      summary: summary)
  }

  /// One principal's policy document, URL-decoded; nil when it has none (NoSuchEntity, or empty).
  static func read(_ client: AWSClient, _ p: IAMPrincipal, policy: String) async throws -> String? {
    let xml: AWSXMLNode
    do {
      xml = try await client.query(
        .iam, p.isRole ? "GetRolePolicy" : "GetUserPolicy", [(p.nameField, p.name), ("PolicyName", policy)],
        mutates: false)
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
      return nil
    }
    let raw = xml.string(p.isRole ? "GetRolePolicyResult/PolicyDocument" : "GetUserPolicyResult/PolicyDocument") ?? ""
    return raw.isEmpty ? nil : (raw.removingPercentEncoding ?? raw)
  }
}

/// `aws.iam.delete-inline-policy`: removes an inline policy from roles or a user (DeleteRolePolicy
/// / DeleteUserPolicy): the undo of a session deny or a quarantine respond wrote. Already gone
/// (NoSuchEntity) counts as done.
struct DeleteInlinePolicyAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.delete-inline-policy",
      summary: "Delete an inline policy of roles or a user (IAM DeleteRolePolicy / DeleteUserPolicy)",
      parameters: [
        ParameterSpec("role-name", .string, "the role holding the policy (or user-name)"),
        ParameterSpec("user-name", .string, "the user holding the policy (or role-name)"),
        ParameterSpec("role-names", .list, "several roles (names or ARNs, lists nested or not)"),
        ParameterSpec("account-id", .string, "roles given by ARN in another account are left alone"),
        ParameterSpec("policy-name", .string, required: true, "the inline policy's name"),
      ],
      outputs: [OutputSpec("deleted", "principals the policy was deleted from (not those where it was gone)")],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: IAMPrincipal.permissions("Delete", mutates: true))
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let (principals, _) = try IAMPrincipal.resolve(context)
    let policy = try context.string("policy-name")
    let client = try AWSClient(context)
    var deleted: [String] = []
    for p in principals {
      do {
        _ = try await client.query(
          .iam, p.isRole ? "DeleteRolePolicy" : "DeleteUserPolicy", [(p.nameField, p.name), ("PolicyName", policy)],
          mutates: true)
        deleted.append(p.label)
      } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
        continue
      }
    }
    return ActionResult(
      outputs: ["deleted": .array(deleted.map { .string($0) })],
      summary: deleted.isEmpty ? "\(policy) was not there" : "deleted \(policy) from \(deleted.joined(separator: ", "))"
    )
  }
}
