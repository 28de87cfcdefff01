import Foundation
import RespondCore

/// `aws.iam.eradicate-persistence`: undoes what an attacker left behind with the leaked key,
/// from the persistence events `aws.activity.classify` found, without destroying evidence:
/// keys it created or reactivated are deactivated, console passwords it set are deleted,
/// policies it attached are detached, group memberships it added are removed, and users and
/// roles it created are disabled (keys off, password gone, a deny-all inline policy, a tag),
/// never deleted. Every change is read back; what respond cannot undo safely (a policy version,
/// a trust policy, an inline policy's earlier text) or could not verify is left as a precise
/// instruction in `left`, which the runbook makes follow-ups.
struct EradicatePersistenceAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.eradicate-persistence",
      summary: "Undo an attacker's IAM persistence (deactivate, detach, disable; never delete evidence)",
      parameters: [
        ParameterSpec("persistence", .list, required: true, "the `persistence` output of aws.activity.classify"),
        ParameterSpec("keep-access-keys", .list, "access key ids never to deactivate (the replacement key)"),
      ],
      outputs: [
        OutputSpec(
          "changes", "each change made once: {event-id (every event it undid, comma-separated), change, verified, undo}"
        ),
        OutputSpec("verified-count", "changes read back as holding"),
        OutputSpec("left", "what a person must still do, one line per artefact, naming it"),
      ],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: Self.permissions)
  }

  /// Every call an undo or its read-back makes; which ones a run makes depends on the events.
  static let permissions: [ProviderPermission] = {
    let (user, role, group) = (IAMResources.user, IAMResources.role, IAMResources.group)
    let changes: [(String, String)] = [
      ("UpdateAccessKey", user), ("DeleteLoginProfile", user), ("DetachUserPolicy", user),
      ("DetachRolePolicy", role), ("DetachGroupPolicy", group), ("RemoveUserFromGroup", group),
      ("PutUserPolicy", user), ("PutRolePolicy", role), ("TagUser", user), ("TagRole", role),
    ]
    let reads: [(String, String)] = [
      ("ListAccessKeys", user), ("GetLoginProfile", user), ("ListAttachedUserPolicies", user),
      ("ListAttachedRolePolicies", role), ("ListAttachedGroupPolicies", group), ("ListGroupsForUser", user),
      ("GetUserPolicy", user), ("GetRolePolicy", role),
    ]
    return changes.map { .aws(AWSPermission("iam", $0.0, resource: $0.1, mutates: true, purpose: "Eradication")) }
      + reads.map { .aws(AWSPermission("iam", $0.0, resource: $0.1, mutates: false, purpose: "Eradication")) }
  }()

  func run(_ context: ActionContext) async throws -> ActionResult {
    guard let items = context.parameters["persistence"]?.arrayValue else {
      throw ActionError.badParameter(name: "persistence", reason: "must be the list aws.activity.classify outputs")
    }
    let keep = Set(try AWSActions.stringList(context, "keep-access-keys") ?? [])
    let iam = Eradicator(client: try AWSClient(context), keep: keep, incident: context.incident.id)
    for item in items {
      guard let event = ClassifiedEvent(item), event.category == .persistence else { continue }
      await iam.undo(event)
    }
    let verified = iam.changes.filter { $0["verified"]?.boolValue == true }.count
    return ActionResult(
      outputs: [
        "changes": .array(iam.changes.map(Value.object)), "verified-count": .number(Double(verified)),
        "left": .array(iam.left.map { .string($0) }),
      ],
      summary: "\(iam.changes.count) change(s), \(verified) verified; \(iam.left.count) left for a person")
  }
}

/// Carries out and verifies one persistence event's undo at a time; collects the changes and
/// what is left. A class: the changes accumulate across async calls within one action run.
final class Eradicator {
  let client: AWSClient
  let keep: Set<String>
  let incident: String
  private(set) var changes: [[String: Value]] = []
  private(set) var left: [String] = []

  init(client: AWSClient, keep: Set<String>, incident: String) {
    self.client = client
    self.keep = keep
    self.incident = incident
  }

  /// `kind:name` resources of the event, by kind.
  func named(_ e: ClassifiedEvent, _ kind: String) -> String? {
    e.resources.first { $0.hasPrefix(kind + ":") }.map { String($0.dropFirst(kind.count + 1)) }
  }

  func evidence(_ e: ClassifiedEvent) -> String {
    "\(e.name)\(e.eventID.map { ", event id \($0)" } ?? "")"
  }

  /// Undoes one event; failures become lines in `left`, never a thrown error (one artefact that
  /// cannot be changed must not leave the others in place).
  func undo(_ e: ClassifiedEvent) async {
    if let code = e.errorCode {
      left.append("Check that the failed \(e.name) (\(code), \(evidence(e))) left nothing behind")
      return
    }
    let user = named(e, "user")
    let role = named(e, "role")
    let group = named(e, "group")
    do {
      if try await !undoKnown(e, user: user, role: role, group: group) {
        left.append((e.removal ?? "Review and undo \(e.name)") + " (\(evidence(e)); respond does not undo this itself)")
      }
    } catch {
      left.append((e.removal ?? "Undo \(e.name)") + " (\(evidence(e))): respond's attempt failed: \(error)")
    }
  }

  /// Undoes the events respond knows how to undo safely; false for any other.
  private func undoKnown(_ e: ClassifiedEvent, user: String?, role: String?, group: String?) async throws -> Bool {
    switch e.name {
    case "CreateUser":
      guard let user else { return false }
      try await disableUser(user, e)
    case "CreateAccessKey", "UpdateAccessKey":
      guard let key = named(e, "access-key"), let user else { return false }
      try await deactivate(key: key, user: user, e)
    case "CreateLoginProfile", "UpdateLoginProfile":
      guard let user else { return false }
      try await deleteLoginProfile(user, e)
    case "AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy":
      guard let arn = named(e, "policy"), let holder = Holder(user: user, role: role, group: group) else {
        return false
      }
      try await detach(arn, from: holder, e)
    case "AddUserToGroup":
      guard let user, let group else { return false }
      try await removeFromGroup(user, group, e)
    case "CreateRole":
      guard let role else { return false }
      try await quarantine(.role(role), e)
      left.append(
        "Delete the role `\(role)` the attacker created once the evidence is kept (respond denied it every action; \(evidence(e)))"
      )
    default:
      return false
    }
    return true
  }

  /// A user, role or group a policy is attached to.
  enum Holder {
    case user(String)
    case role(String)
    case group(String)

    init?(user: String?, role: String?, group: String?) {
      if let user {
        self = .user(user)
      } else if let role {
        self = .role(role)
      } else if let group {
        self = .group(group)
      } else {
        return nil
      }
    }

    var kind: String {
      switch self {
      case .user: return "User"
      case .role: return "Role"
      case .group: return "Group"
      }
    }
    var name: String {
      switch self {
      case .user(let n), .role(let n), .group(let n): return n
      }
    }
    var label: String { "\(kind.lowercased()) `\(name)`" }
  }

  /// Whether `change` was already made for an earlier event, adding this event's id to it.
  /// Disabling a user the attacker created deactivates its key and deletes its password, which
  /// its later CreateAccessKey and CreateLoginProfile events would undo again: one change, listed
  /// once with both events, and the same call not sent twice.
  func alreadyMade(_ change: String, for e: ClassifiedEvent) -> Bool {
    guard let i = changes.firstIndex(where: { $0["change"]?.stringValue == change }) else { return false }
    if let id = e.eventID, !id.isEmpty {
      let ids = changes[i]["event-id"]?.stringValue ?? ""
      if !ids.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == id }) {
        changes[i]["event-id"] = .string(ids.isEmpty ? id : ids + ", " + id)
      }
    }
    return true
  }

  func record(_ e: ClassifiedEvent, _ change: String, verified: Bool, undo: String) {
    changes.append([
      "event-id": .string(e.eventID ?? ""), "change": .string(change), "verified": .bool(verified),
      "undo": .string(undo),
    ])
    if !verified { left.append("Check by hand: \(change) did not read back as done (\(evidence(e)))") }
  }

  func deactivate(key: String, user: String, _ e: ClassifiedEvent) async throws {
    let change = "deactivated access key \(key) of user \(user)"
    guard !keep.contains(key), !alreadyMade(change, for: e) else { return }
    _ = try await client.query(
      .iam, "UpdateAccessKey", [("UserName", user), ("AccessKeyId", key), ("Status", "Inactive")], mutates: true)
    let status = try await IAMKeys.list(client, userName: user).first { $0.id == key }?.status
    record(
      e, change, verified: status != "Active",
      undo: "aws iam update-access-key --user-name \(user) --access-key-id \(key) --status Active")
  }

  func deleteLoginProfile(_ user: String, _ e: ClassifiedEvent) async throws {
    let change = "deleted the console password of user \(user)"
    guard !alreadyMade(change, for: e) else { return }
    do {
      _ = try await client.query(.iam, "DeleteLoginProfile", [("UserName", user)], mutates: true)
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {}
    var gone = false
    do {
      _ = try await client.query(.iam, "GetLoginProfile", [("UserName", user)], mutates: false)
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
      gone = true
    }
    record(
      e, change, verified: gone,
      undo: "aws iam create-login-profile --user-name \(user) --password-reset-required (a new password)")
  }

  func detach(_ arn: String, from h: Holder, _ e: ClassifiedEvent) async throws {
    do {
      _ = try await client.query(
        .iam, "Detach\(h.kind)Policy", [("\(h.kind)Name", h.name), ("PolicyArn", arn)], mutates: true)
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {}
    let xml = try await client.query(
      .iam, "ListAttached\(h.kind)Policies", [("\(h.kind)Name", h.name)], mutates: false)
    let attached =
      xml.path("ListAttached\(h.kind)PoliciesResult/AttachedPolicies")?.children("member")
      .compactMap { $0.string("PolicyArn") } ?? []
    record(
      e, "detached \(arn) from \(h.kind.lowercased()) \(h.name)", verified: !attached.contains(arn),
      undo: "aws iam attach-\(h.kind.lowercased())-policy --\(h.kind.lowercased())-name \(h.name) --policy-arn \(arn)")
  }

  func removeFromGroup(_ user: String, _ group: String, _ e: ClassifiedEvent) async throws {
    do {
      _ = try await client.query(
        .iam, "RemoveUserFromGroup", [("UserName", user), ("GroupName", group)], mutates: true)
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {}
    let xml = try await client.query(.iam, "ListGroupsForUser", [("UserName", user)], mutates: false)
    let groups =
      xml.path("ListGroupsForUserResult/Groups")?.children("member").compactMap { $0.string("GroupName") } ?? []
    record(
      e, "removed user \(user) from group \(group)", verified: !groups.contains(group),
      undo: "aws iam add-user-to-group --user-name \(user) --group-name \(group)")
  }

  /// A deny-all inline policy and a tag: the principal can do nothing, and says why.
  func quarantine(_ h: Holder, _ e: ClassifiedEvent) async throws {
    let name = QuarantineUserAction.policyName
    _ = try await client.query(
      .iam, "Put\(h.kind)Policy",
      [
        ("\(h.kind)Name", h.name), ("PolicyName", name), ("PolicyDocument", QuarantineUserAction.document.jsonString()),
      ],
      mutates: true)
    _ = try await client.query(
      .iam, "Tag\(h.kind)",
      [("\(h.kind)Name", h.name), ("Tags.member.1.Key", "respond:disabled-by"), ("Tags.member.1.Value", incident)],
      mutates: true)
    let doc = try await GetInlinePolicyAction.read(
      client, IAMPrincipal(isRole: h.kind == "Role", name: h.name), policy: name)
    record(
      e, "denied every action to \(h.kind.lowercased()) \(h.name) (inline policy \(name), tag respond:disabled-by)",
      verified: doc?.contains("\"Deny\"") == true,
      undo: "aws iam delete-\(h.kind.lowercased())-policy --\(h.kind.lowercased())-name \(h.name) --policy-name \(name)"
    )
  }

  /// A user the attacker created: every key off, no console password, deny-all, tagged. Kept
  /// for the evidence; a person deletes it.
  func disableUser(_ user: String, _ e: ClassifiedEvent) async throws {
    for key in try await IAMKeys.list(client, userName: user) where key.status == "Active" {
      try await deactivate(key: key.id, user: user, e)
    }
    try await deleteLoginProfile(user, e)
    try await quarantine(.user(user), e)
    left.append(
      "Delete the IAM user `\(user)` the attacker created once the evidence is kept (respond disabled it: keys "
        + "Inactive, no console password, deny-all policy; \(evidence(e)))")
  }
}
