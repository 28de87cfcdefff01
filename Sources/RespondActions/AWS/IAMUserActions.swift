import Foundation
import RespondCore

/// `aws.iam.quarantine-user`: an inline policy denying every action to a user, for a leak bad
/// enough (P1) that nothing the user can do should work until people have looked: its other
/// keys, its console sessions and any key it still holds. Reversible (delete the policy), so it
/// is a containment step with an undo, behind approval.
struct QuarantineUserAction: Action {
  static let policyName = "RespondQuarantineDenyAll"

  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.quarantine-user",
      summary: "Deny every action to an IAM user (inline policy RespondQuarantineDenyAll)",
      parameters: [ParameterSpec("user-name", required: true, "the user to quarantine")],
      outputs: [
        OutputSpec("policy-name", "RespondQuarantineDenyAll"),
        OutputSpec("user-name", "the user quarantined"),
      ],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(AWSPermission("iam", "PutUserPolicy", resource: IAMResources.user, mutates: true, purpose: "Quarantine"))
      ])
  }

  /// Deny * on *: explicit denies win over every allow, AWS's own quarantine policies included.
  static let document: Value = [
    "Version": "2012-10-17",
    "Statement": [["Sid": "RespondQuarantine", "Effect": "Deny", "Action": ["*"], "Resource": ["*"]]],
  ]

  func run(_ context: ActionContext) async throws -> ActionResult {
    let user = try context.string("user-name")
    let client = try AWSClient(context)
    _ = try await client.query(
      .iam, "PutUserPolicy",
      [("UserName", user), ("PolicyName", Self.policyName), ("PolicyDocument", Self.document.jsonString())],
      mutates: true)
    return ActionResult(
      outputs: ["policy-name": .string(Self.policyName), "user-name": .string(user)],
      summary: "\(user) is denied every action (inline policy \(Self.policyName))")
  }
}

/// `aws.iam.get-login-profile`: whether a user has a console password. NoSuchEntity is the
/// answer "no", not a failure.
struct GetLoginProfileAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.get-login-profile",
      summary: "Whether an IAM user can sign in to the console (IAM GetLoginProfile)",
      parameters: [ParameterSpec("user-name", required: true, "the user")],
      outputs: [
        OutputSpec("exists", "true when the user has a console password"),
        OutputSpec("create-date", "when it was created, ISO-8601 UTC"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(AWSPermission("iam", "GetLoginProfile", resource: IAMResources.user, mutates: false, purpose: "Console"))
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let user = try context.string("user-name")
    let client = try AWSClient(context)
    do {
      let xml = try await client.query(.iam, "GetLoginProfile", [("UserName", user)], mutates: false)
      let created = xml.string("GetLoginProfileResult/LoginProfile/CreateDate").flatMap(ISO8601.parse)
      return ActionResult(
        outputs: ["exists": true, "create-date": AWSActions.value(created)],
        summary: "\(user) has a console password")
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
      return ActionResult(outputs: ["exists": false, "create-date": .null], summary: "\(user) has no console password")
    }
  }
}

/// `aws.iam.delete-login-profile`: removes a user's console password, ending its way in through
/// the console. Cannot be undone (the password is gone; a new one can be set), so a runbook
/// puts it behind approval. Already gone counts as done.
struct DeleteLoginProfileAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.delete-login-profile",
      summary: "Delete an IAM user's console password (IAM DeleteLoginProfile)",
      parameters: [ParameterSpec("user-name", required: true, "the user")],
      outputs: [OutputSpec("already-deleted", "true when the user had no console password")],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(AWSPermission("iam", "DeleteLoginProfile", resource: IAMResources.user, mutates: true, purpose: "Console"))
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let user = try context.string("user-name")
    let client = try AWSClient(context)
    do {
      _ = try await client.query(.iam, "DeleteLoginProfile", [("UserName", user)], mutates: true)
      return ActionResult(outputs: ["already-deleted": false], summary: "deleted the console password of \(user)")
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
      return ActionResult(outputs: ["already-deleted": true], summary: "\(user) had no console password")
    }
  }
}
