import Foundation
import RespondCore

/// One access key as ListAccessKeys describes it.
package struct IAMAccessKey: Sendable, Equatable {
  package var id: String
  package var status: String
  package var createDate: Date?
  package var userName: String?

  /// `{access-key-id, status, create-date}` for outputs.
  var value: Value {
    ["access-key-id": .string(id), "status": .string(status), "create-date": AWSActions.value(createDate)]
  }
}

/// IAM calls shared by the access-key actions.
enum IAMKeys {
  /// Every key of a user (or of the signer when `userName` is nil), following Marker pages.
  static func list(_ client: AWSClient, userName: String?) async throws -> [IAMAccessKey] {
    var keys: [IAMAccessKey] = []
    var marker: String?
    var pages = 0
    repeat {
      var params: [(String, String)] = []
      if let userName { params.append(("UserName", userName)) }
      if let marker { params.append(("Marker", marker)) }
      let xml = try await client.query(.iam, "ListAccessKeys", params, mutates: false)
      let result = xml.path("ListAccessKeysResult")
      for member in result?.path("AccessKeyMetadata")?.children("member") ?? [] {
        guard let id = member.string("AccessKeyId") else { continue }
        keys.append(
          IAMAccessKey(
            id: id, status: member.string("Status") ?? "",
            createDate: member.string("CreateDate").flatMap(ISO8601.parse),
            userName: member.string("UserName")))
      }
      pages += 1
      let truncated = result?.string("IsTruncated")?.lowercased() == "true"
      marker = truncated ? nonEmpty(result?.string("Marker")) : nil
    } while marker != nil && pages < 100
    return keys
  }

  /// Deletes a key; false when it was already gone (NoSuchEntity).
  @discardableResult
  static func delete(_ client: AWSClient, id: String, userName: String?) async throws -> Bool {
    var params = [("AccessKeyId", id)]
    if let userName { params.append(("UserName", userName)) }
    do {
      _ = try await client.query(.iam, "DeleteAccessKey", params, mutates: true)
      return true
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
      return false
    }
  }
}

// MARK: - get-access-key-last-used

/// `aws.iam.get-access-key-last-used`: who owns a key and when it was last used. An unknown key
/// is an answer (`found: false`), not a failure: detection must go on.
struct GetAccessKeyLastUsedAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.get-access-key-last-used",
      summary: "Find an access key's owner and its last use (IAM GetAccessKeyLastUsed)",
      parameters: [ParameterSpec("access-key-id", required: true, "the access key id (AKIA…/ASIA…)")],
      outputs: [
        OutputSpec("found", "false when IAM does not know the key (NoSuchEntity)"),
        OutputSpec("user-name", "the IAM user owning the key"),
        OutputSpec("last-used-date", "ISO-8601 UTC time of last use, null when IAM has none recorded"),
        OutputSpec("last-used-service", "service of the last use, null if none"),
        OutputSpec("last-used-region", "region of the last use, null if none"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(
          AWSPermission(
            "iam", "GetAccessKeyLastUsed", resource: IAMResources.user, mutates: false, purpose: "AccessKeys"))
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let id = try context.string("access-key-id")
    let client = try AWSClient(context)
    let xml: AWSXMLNode
    do {
      xml = try await client.query(.iam, "GetAccessKeyLastUsed", [("AccessKeyId", id)], mutates: false)
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
      return ActionResult(
        outputs: [
          "found": false, "user-name": .null, "last-used-date": .null, "last-used-service": .null,
          "last-used-region": .null,
        ],
        summary: "\(id) is not known to IAM (NoSuchEntity)")
    }
    let result = xml.path("GetAccessKeyLastUsedResult")
    let lastUsed = result?.path("AccessKeyLastUsed")
    func known(_ s: String?) -> String? { (s == nil || s == "N/A" || s!.isEmpty) ? nil : s }
    let user = known(result?.string("UserName"))
    let date = known(lastUsed?.string("LastUsedDate")).flatMap(ISO8601.parse)
    let service = known(lastUsed?.string("ServiceName"))
    let region = known(lastUsed?.string("Region"))
    let usage =
      date.map { "last used \(ISO8601.string($0)) (\(service ?? "?") in \(region ?? "?"))" } ?? "no use recorded by IAM"
    return ActionResult(
      outputs: [
        "found": true, "user-name": AWSActions.value(user), "last-used-date": AWSActions.value(date),
        "last-used-service": AWSActions.value(service), "last-used-region": AWSActions.value(region),
      ],
      summary: "\(id) belongs to \(user ?? "an unknown user"), \(usage)")
  }
}

// MARK: - list-access-keys

/// `aws.iam.list-access-keys`: a user's keys and their status; with `access-key-id`, that key's
/// status (`absent` when it is not among them: deleted, or another user's).
struct ListAccessKeysAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.list-access-keys",
      summary: "List an IAM user's access keys and their status (IAM ListAccessKeys, all pages)",
      parameters: [
        ParameterSpec("user-name", .string, "the IAM user (default: the signing user)"),
        ParameterSpec("access-key-id", .string, "a key whose status to report in the `status` output"),
      ],
      outputs: [
        OutputSpec("keys", "list of {access-key-id, status, create-date}"),
        OutputSpec("count", "number of keys"),
        OutputSpec("active-count", "number of Active keys"),
        OutputSpec("status", "Active, Inactive or absent for access-key-id (null when not given)"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(AWSPermission("iam", "ListAccessKeys", resource: IAMResources.user, mutates: false, purpose: "AccessKeys"))
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let user = context.optionalString("user-name")
    let wanted = context.optionalString("access-key-id")
    let client = try AWSClient(context)
    let keys = try await IAMKeys.list(client, userName: user)
    let active = keys.filter { $0.status == "Active" }.count
    var status: Value = .null
    if let wanted { status = .string(keys.first { $0.id == wanted }?.status ?? "absent") }
    var summary = "\(user ?? "signing user") has \(keys.count) key(s), \(active) active"
    if let wanted { summary += "; \(wanted) is \(status)" }
    return ActionResult(
      outputs: [
        "keys": .array(keys.map(\.value)), "count": .number(Double(keys.count)),
        "active-count": .number(Double(active)), "status": status,
      ],
      summary: summary)
  }
}

// MARK: - update-access-key

/// `aws.iam.update-access-key`: deactivate (or reactivate) a key: the reversible first
/// containment step.
struct UpdateAccessKeyAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.update-access-key",
      summary: "Set an access key Active or Inactive (IAM UpdateAccessKey)",
      parameters: [
        ParameterSpec("access-key-id", required: true, "the key to change"),
        ParameterSpec("status", required: true, allowed: ["Active", "Inactive"], "Active or Inactive"),
        ParameterSpec("user-name", .string, "the owning user (required when signing with temporary credentials)"),
      ],
      outputs: [OutputSpec("access-key-id", "the key changed"), OutputSpec("status", "its new status")],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(AWSPermission("iam", "UpdateAccessKey", resource: IAMResources.user, mutates: true, purpose: "AccessKeys"))
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let id = try context.string("access-key-id")
    let status = try context.string("status")
    guard status == "Active" || status == "Inactive" else {
      throw ActionError.badParameter(name: "status", reason: "must be Active or Inactive, got '\(status)'")
    }
    var params = [("AccessKeyId", id), ("Status", status)]
    if let user = context.optionalString("user-name") { params.append(("UserName", user)) }
    let client = try AWSClient(context)
    _ = try await client.query(.iam, "UpdateAccessKey", params, mutates: true)
    return ActionResult(
      outputs: ["access-key-id": .string(id), "status": .string(status)], summary: "\(id) is now \(status)")
  }
}

// MARK: - create-access-key

/// `aws.iam.create-access-key`: mints the replacement key. Not idempotent: each call makes a key,
/// so a lost attempt is reconciled (its orphan deleted) before any re-run. The new secret is
/// registered with the masker the moment it is parsed.
struct CreateAccessKeyAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.create-access-key",
      summary: "Create a new access key for an IAM user (IAM CreateAccessKey)",
      parameters: [
        ParameterSpec("user-name", required: true, "the IAM user to create the key for"),
        ParameterSpec(
          "make-room-by-deleting", .string,
          "a key id (the leaked one) to delete if the user already has 2 keys, only if it is Inactive"),
        ParameterSpec(
          "replaces", .string,
          "the leaked key id: mint nothing when the user's tag respond:replaces:<id> names a key still listed, and tag the user with the new key's id"
        ),
      ],
      outputs: [
        OutputSpec("access-key-id", "the new key id"),
        OutputSpec("secret-access-key", secret: true, "the new secret (shown once)"),
        OutputSpec("create-date", "ISO-8601 UTC creation time"),
        OutputSpec("user-name", "the owning user"),
        OutputSpec("deleted-to-make-room", "the key deleted to make room, or null"),
        OutputSpec(
          "already-replaced-by",
          "with replaces: the key respond minted for it earlier, still listed (nothing minted), else null"),
      ],
      mutates: true, idempotent: false, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(
          AWSPermission("iam", "CreateAccessKey", resource: IAMResources.user, mutates: true, purpose: "AccessKeys")),
        .aws(
          AWSPermission(
            "iam", "ListAccessKeys", resource: IAMResources.user, mutates: false, purpose: "AccessKeys",
            onlyWith: "make-room-by-deleting")),
        .aws(
          AWSPermission(
            "iam", "DeleteAccessKey", resource: IAMResources.user, mutates: true, purpose: "AccessKeys",
            onlyWith: "make-room-by-deleting")),
      ] + IAMReplacementTag.permissions)
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let user = try context.string("user-name")
    let client = try AWSClient(context)
    // Incidents of one batch rotating keys of the same user (both its keys leaked) take turns:
    // otherwise one's create can take the slot the other's "make room" just freed.
    return try await context.limiters.exclusive(Self.slots(user, client)) {
      guard let leaked = context.optionalString("replaces") else {
        return try await create(context, client: client, user: user)
      }
      if let existing = try await guardRerun(context, client: client, user: user, leaked: leaked) {
        return Self.alreadyReplaced(user: user, leaked: leaked, by: existing)
      }
      try await IAMReplacementTag.write(client, user: user, leaked: leaked, value: IAMReplacementTag.minting(Date()))
      var result = try await create(context, client: client, user: user, handOut: false)
      let id = result.outputs["access-key-id"]?.stringValue ?? ""
      // Until this tag is written the marker says an attempt is in flight: if it fails, the step
      // fails and the next attempt (or run) deletes this key as a lost attempt's (its secret
      // dies with this step's outputs), so it is handed to the run only once tagged.
      try await IAMReplacementTag.write(client, user: user, leaked: leaked, value: id)
      Self.handedOut.insert(id)
      result.summary = (result.summary ?? "created \(id)") + "; tagged \(user) \(IAMReplacementTag.key(leaked))=\(id)"
      return result
    }
  }

  /// The rerun guard: the replacement respond minted for `leaked` if the user's tag names one
  /// still listed. A tag left by an attempt that died between CreateAccessKey and TagUser means
  /// a key nobody holds the secret of may exist: it is deleted here, before minting again.
  private func guardRerun(_ context: ActionContext, client: AWSClient, user: String, leaked: String) async throws
    -> String?
  {
    let tags = try await IAMReplacementTag.read(client, user: user)
    guard let tag = tags[IAMReplacementTag.key(leaked)] else { return nil }
    let keys = try await IAMKeys.list(client, userName: user)
    switch IAMReplacementTag.finding(tag: tag, listed: keys) {
    case .none:
      return nil
    case .replacedBy(let id):
      return id
    case .lostAttempt(let since):
      let orphans = IAMReplacementTag.orphans(
        of: keys, since: since, window: Self.attemptWindow, leaked: leaked, tags: tags,
        handedOut: { Self.handedOut.contains($0) })
      for key in orphans {
        try await IAMKeys.delete(client, id: key.id, userName: user)
        context.log(
          "deleted \(key.id), created by an attempt that died before tagging it (its secret was never recorded)")
      }
      return nil
    }
  }

  /// Nothing minted: the outputs say which key already replaces the leaked one.
  private static func alreadyReplaced(user: String, leaked: String, by id: String) -> ActionResult {
    ActionResult(
      outputs: [
        "access-key-id": .null, "secret-access-key": .null, "create-date": .null, "user-name": .string(user),
        "deleted-to-make-room": .null, "already-replaced-by": .string(id),
      ],
      summary:
        "minted nothing: \(user)'s tag \(IAMReplacementTag.key(leaked)) names \(id), respond's replacement, still listed"
    )
  }

  /// The turn-taking key for one user's key slots at one account and endpoint.
  private static func slots(_ user: String, _ client: AWSClient) -> String {
    "aws:iam:access-key-slots:\(user)|\(client.configuration.credentials.accessKeyID)|"
      + ((try? client.configuration.endpoint(for: .iam).url) ?? "")
  }

  /// Keys this process created and handed to a run (which holds their secret): never another
  /// incident's orphan. When both keys of one user leaked and a batch resumes both incidents, one
  /// may mint its replacement inside the other's interrupted window.
  private static let handedOut = HandedOutKeys()

  /// A process-wide set of key ids, safe from any thread.
  private final class HandedOutKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: Set<String> = []
    func insert(_ id: String) { lock.withLock { _ = ids.insert(id) } }
    func contains(_ id: String) -> Bool { lock.withLock { ids.contains(id) } }
  }

  /// How long after its start an interrupted attempt can have created a key: the HTTP request
  /// is bounded by the transport's 30 s limit; the rest is margin for the provider's clock.
  static let attemptWindow: TimeInterval = 60

  private func create(_ context: ActionContext, client: AWSClient, user: String, handOut: Bool = true) async throws
    -> ActionResult
  {
    let makeRoom = context.optionalString("make-room-by-deleting")
    var deleted: String?
    var xml: AWSXMLNode
    do {
      xml = try await client.query(.iam, "CreateAccessKey", [("UserName", user)], mutates: true)
    } catch let error as ActionError where error.awsCode == "LimitExceeded" {
      guard let makeRoom else { throw error }
      let keys = try await IAMKeys.list(client, userName: user)
      guard let key = keys.first(where: { $0.id == makeRoom }) else {
        throw ActionError.failed(
          "\(user) already has the maximum number of access keys (\(keys.map(\.id).joined(separator: ", "))) and \(makeRoom) is not one of them: delete one by hand, then resume"
        )
      }
      guard key.status == "Inactive" else {
        throw ActionError.failed(
          "\(user) already has the maximum number of access keys, and \(makeRoom) is still \(key.status): it was not deleted to make room (deactivate it first)"
        )
      }
      context.log("\(user) has no room for a new key: deleting the Inactive key \(makeRoom) first")
      try await IAMKeys.delete(client, id: makeRoom, userName: user)
      deleted = makeRoom
      xml = try await client.query(.iam, "CreateAccessKey", [("UserName", user)], mutates: true)
    }
    let key = xml.path("CreateAccessKeyResult/AccessKey")
    guard let secret = key?.string("SecretAccessKey"), !secret.isEmpty else {
      throw ActionError.failed("IAM CreateAccessKey answered without a SecretAccessKey for \(user)")
    }
    context.masker.register(secret)
    guard let id = key?.string("AccessKeyId") else {
      throw ActionError.failed("IAM CreateAccessKey answered without an AccessKeyId for \(user)")
    }
    if handOut { Self.handedOut.insert(id) }
    let created = key?.string("CreateDate").flatMap(ISO8601.parse)
    return ActionResult(
      outputs: [
        "access-key-id": .string(id), "secret-access-key": .string(secret), "create-date": AWSActions.value(created),
        "user-name": .string(key?.string("UserName") ?? user), "deleted-to-make-room": AWSActions.value(deleted),
        "already-replaced-by": .null,
      ],
      summary: "created \(id) for \(user)" + (deleted.map { " (deleted Inactive \($0) to make room)" } ?? ""))
  }

  /// The lost attempt may have created a key nobody recorded (its secret is gone with the
  /// process): every key of the user created within the attempt's window (from the step's start,
  /// less 2 s of clock skew, to `attemptWindow` after it) that no run of this process holds is
  /// such an orphan and is deleted; the leaked key is older and is kept.
  func reconcileInterrupted(_ context: ActionContext, startedAt: Date) async throws -> InterruptedDecision {
    guard let user = context.optionalString("user-name") else {
      return .needsOperator(
        "step '\(context.stepID)' (aws.iam.create-access-key) was interrupted and has no user-name to check: list the user's keys and delete any created by the lost attempt"
      )
    }
    let makeRoom = context.optionalString("make-room-by-deleting")
    let client = try AWSClient(context)
    let span = IAMReplacementTag.attemptWindow(since: startedAt, length: Self.attemptWindow)
    // In turn with creates for the same user, so a key another incident is minting right now is
    // either not there yet or already known as handed out.
    let orphans = try await context.limiters.exclusive(Self.slots(user, client)) {
      let found = IAMReplacementTag.orphans(
        of: try await IAMKeys.list(client, userName: user), since: startedAt, window: Self.attemptWindow,
        leaked: makeRoom, tags: [:], handedOut: { Self.handedOut.contains($0) })
      for key in found {
        try await IAMKeys.delete(client, id: key.id, userName: user)
        context.log("deleted \(key.id), created by the interrupted attempt (its secret was never recorded)")
      }
      return found
    }
    if orphans.isEmpty {
      return .safeToRerun(
        note:
          "the interrupted attempt created no key for \(user) (none created between \(ISO8601.string(span.lowerBound)) and \(ISO8601.string(span.upperBound)))"
      )
    }
    return .safeToRerun(
      note: "deleted \(orphans.map(\.id).joined(separator: ", ")) created for \(user) by the interrupted attempt")
  }
}

// MARK: - delete-access-key

/// `aws.iam.delete-access-key`: removes a key for good. Already gone counts as done.
struct DeleteAccessKeyAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.delete-access-key",
      summary: "Delete an access key (IAM DeleteAccessKey); an already deleted key counts as done",
      parameters: [
        ParameterSpec("access-key-id", required: true, "the key to delete"),
        ParameterSpec("user-name", .string, "the owning user (required when signing with temporary credentials)"),
      ],
      outputs: [
        OutputSpec("access-key-id", "the key deleted"),
        OutputSpec("already-deleted", "true when IAM no longer knew the key (NoSuchEntity)"),
      ],
      mutates: true, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [
        .aws(AWSPermission("iam", "DeleteAccessKey", resource: IAMResources.user, mutates: true, purpose: "AccessKeys"))
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let id = try context.string("access-key-id")
    let client = try AWSClient(context)
    let deleted = try await IAMKeys.delete(client, id: id, userName: context.optionalString("user-name"))
    return ActionResult(
      outputs: ["access-key-id": .string(id), "already-deleted": .bool(!deleted)],
      summary: deleted ? "deleted \(id)" : "\(id) was already deleted")
  }
}
