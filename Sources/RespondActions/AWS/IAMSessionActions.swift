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
      summary: "Deny every session issued before a time, for a role or user (inline policy AWSRevokeOlderSessions)",
      parameters: [
        ParameterSpec("role-name", .string, "the role whose older sessions to deny (or user-name)"),
        ParameterSpec("user-name", .string, "the user whose older session tokens to deny (or role-name)"),
        ParameterSpec("before", .string, "ISO-8601 UTC time; sessions issued before it are denied (default: now)"),
      ],
      outputs: [
        OutputSpec("policy-name", "AWSRevokeOlderSessions"),
        OutputSpec("principal", "role/<name> or user/<name>"),
        OutputSpec("before", "the cut-off time, ISO-8601 UTC"),
      ],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(
          AWSPermission(
            "iam", "PutRolePolicy", resource: IAMResources.role, mutates: true, purpose: "Sessions",
            onlyWith: "role-name")),
        .aws(
          AWSPermission(
            "iam", "PutUserPolicy", resource: IAMResources.user, mutates: true, purpose: "Sessions",
            onlyWith: "user-name")),
      ])
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
    let role = context.optionalString("role-name")
    let user = context.optionalString("user-name")
    let before = try AWSActions.date(context, "before") ?? Date()
    let (operation, nameField, name, principal): (String, String, String, String)
    switch (role, user) {
    case (let r?, nil): (operation, nameField, name, principal) = ("PutRolePolicy", "RoleName", r, "role/\(r)")
    case (nil, let u?): (operation, nameField, name, principal) = ("PutUserPolicy", "UserName", u, "user/\(u)")
    case (nil, nil): throw ActionError.badParameter(name: "role-name", reason: "or user-name is required")
    default: throw ActionError.badParameter(name: "role-name", reason: "and user-name cannot both be given")
    }
    let client = try AWSClient(context)
    _ = try await client.query(
      .iam, operation,
      [(nameField, name), ("PolicyName", Self.policyName), ("PolicyDocument", Self.policyDocument(before: before))],
      mutates: true)
    return ActionResult(
      outputs: [
        "policy-name": .string(Self.policyName), "principal": .string(principal),
        "before": .string(ISO8601.string(before)),
      ],
      summary: "sessions of \(principal) issued before \(ISO8601.string(before)) are denied")
  }
}

/// `aws.iam.get-inline-policy`: reads an inline policy of a role or user back (GetRolePolicy /
/// GetUserPolicy), so a runbook can prove a deny it wrote is in place rather than trusting that
/// IAM accepted the write. A missing policy is an answer (`found: false`), not a failure.
struct GetInlinePolicyAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.get-inline-policy",
      summary: "Read an inline policy of a role or user (IAM GetRolePolicy / GetUserPolicy)",
      parameters: [
        ParameterSpec("role-name", .string, "the role holding the policy (or user-name)"),
        ParameterSpec("user-name", .string, "the user holding the policy (or role-name)"),
        ParameterSpec("policy-name", .string, required: true, "the inline policy's name"),
      ],
      outputs: [
        OutputSpec("found", "false when IAM has no such policy on the principal (NoSuchEntity)"),
        OutputSpec("document", "the policy document as IAM returns it, URL-decoded; empty when not found"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(
          AWSPermission(
            "iam", "GetRolePolicy", resource: IAMResources.role, mutates: false, purpose: "Sessions",
            onlyWith: "role-name")),
        .aws(
          AWSPermission(
            "iam", "GetUserPolicy", resource: IAMResources.user, mutates: false, purpose: "Sessions",
            onlyWith: "user-name")),
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let role = context.optionalString("role-name")
    let user = context.optionalString("user-name")
    let policy = try context.string("policy-name")
    let (operation, nameField, name, resultName): (String, String, String, String)
    switch (role, user) {
    case (let r?, nil):
      (operation, nameField, name, resultName) = ("GetRolePolicy", "RoleName", r, "GetRolePolicyResult")
    case (nil, let u?):
      (operation, nameField, name, resultName) = ("GetUserPolicy", "UserName", u, "GetUserPolicyResult")
    case (nil, nil): throw ActionError.badParameter(name: "role-name", reason: "or user-name is required")
    default: throw ActionError.badParameter(name: "role-name", reason: "and user-name cannot both be given")
    }
    let client = try AWSClient(context)
    let xml: AWSXMLNode
    do {
      xml = try await client.query(.iam, operation, [(nameField, name), ("PolicyName", policy)], mutates: false)
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
      return ActionResult(
        outputs: ["found": false, "document": ""], summary: "\(name) has no inline policy \(policy)")
    }
    let raw = xml.path(resultName)?.string("PolicyDocument") ?? ""
    let document = raw.removingPercentEncoding ?? raw
    return ActionResult(
      outputs: ["found": .bool(!raw.isEmpty), "document": .string(document)],
      summary: raw.isEmpty ? "\(name): IAM returned no document for \(policy)" : "\(name) holds inline policy \(policy)"
    )
  }
}
