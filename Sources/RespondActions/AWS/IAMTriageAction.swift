import Foundation
import RespondCore

/// `aws.iam.triage`: how bad is this leak? Read-only. The account (decoded from the key id
/// offline, confirmed by STS), the owner (root or an IAM user), what its attached, inline and
/// group policies allow, whether it can sign in to the console and with MFA, its other keys,
/// and whether AWS already attached its own quarantine policy. From these, a severity P1–P4 and
/// the rule that decided it (`Severity.decide`). A call the responder may not make (AccessDenied)
/// is a gap listed in the outputs, not a failure: triage must not hold back containment.
struct IAMTriageAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.iam.triage",
      summary: "Triage a leaked access key: account, owner, permissions, console, MFA, other keys, severity P1-P4",
      parameters: [
        ParameterSpec("access-key-id", required: true, "the leaked access key id"),
        ParameterSpec("user-name", .string, "the key's owner (from get-access-key-last-used); empty when unknown"),
      ],
      outputs: [
        OutputSpec("account-from-key-id", "the account decoded from the key id offline (null for older keys)"),
        OutputSpec("account-id", "the key's account as STS GetAccessKeyInfo says (null when it could not ask)"),
        OutputSpec("account-confirmed", "true when STS agrees with the account decoded from the key id"),
        OutputSpec("responder-account", "the account respond's own credentials belong to"),
        OutputSpec("user-name", "the owner"),
        OutputSpec("user-arn", "the owner's ARN"),
        OutputSpec("root-key", "true when the key is the root user's"),
        OutputSpec("policies", "attached, inline and group policies, one line each"),
        OutputSpec("permissions", "what the policies allow, summarised"),
        OutputSpec("administrator", "true when the policies allow every action on every resource"),
        OutputSpec("services", "service prefixes the policies allow, sorted"),
        OutputSpec("console-access", "true when the owner has a console password (login profile)"),
        OutputSpec("mfa", "true when the owner has an MFA device"),
        OutputSpec("other-keys", "the owner's other access keys: {access-key-id, status, create-date}"),
        OutputSpec("quarantined", "true when AWS attached an AWSCompromisedKeyQuarantine policy"),
        OutputSpec("quarantine-policy", "that policy's ARN"),
        OutputSpec("severity", "P1 (the account is at stake) to P4"),
        OutputSpec("severity-rule", "the rule that decided the severity"),
        OutputSpec("pagerduty-severity", "critical, error, warning or info, from the severity"),
        OutputSpec("gaps", "what could not be read (call: error), so the severity may be too low"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: Self.permissions)
  }

  /// Every read triage makes (STS GetCallerIdentity needs no permission). The owner's reads are
  /// made only when the owner is known; a group's and a managed policy's reads touch those
  /// resources, not the user.
  static let permissions: [ProviderPermission] = {
    let owner: [(String, String)] = [
      ("GetUser", IAMResources.user), ("ListAttachedUserPolicies", IAMResources.user),
      ("ListUserPolicies", IAMResources.user), ("GetUserPolicy", IAMResources.user),
      ("ListGroupsForUser", IAMResources.user), ("GetLoginProfile", IAMResources.user),
      ("ListMFADevices", IAMResources.user), ("ListAccessKeys", IAMResources.user),
      ("ListAttachedGroupPolicies", IAMResources.group), ("ListGroupPolicies", IAMResources.group),
      ("GetGroupPolicy", IAMResources.group), ("GetPolicy", IAMResources.policy),
      ("GetPolicyVersion", IAMResources.policy),
    ]
    return [.aws(AWSPermission("sts", "GetAccessKeyInfo", mutates: false, purpose: "Triage"))]
      + owner.map { operation, resource in
        .aws(
          AWSPermission("iam", operation, resource: resource, mutates: false, purpose: "Triage", onlyWith: "user-name"))
      }
  }()

  /// How many managed policy documents are read; more are judged by name only.
  static let policyLimit = 25

  func run(_ context: ActionContext) async throws -> ActionResult {
    let keyID = try context.string("access-key-id")
    let user = context.optionalString("user-name")
    let client = try AWSClient(context)
    let reader = TriageReader(client: client)
    var out: [String: Value] = [:]

    let decoded = AccessKeyAccount.decode(keyID)
    out["account-from-key-id"] = AWSActions.value(decoded)
    var facts = TriageFacts(ownerKnown: user != nil)
    facts.rootKey = user == "root" || user == "<root_account>"
    // Triage runs before containment: the independent reads go out together, so it costs a few
    // round trips rather than one per call.
    async let sts = reader.attempt("STS GetAccessKeyInfo") {
      try await client.query(.sts, "GetAccessKeyInfo", [("AccessKeyId", keyID)], mutates: false)
        .string("GetAccessKeyInfoResult/Account")
    }
    async let caller = reader.attempt("STS GetCallerIdentity") {
      try await client.query(.sts, "GetCallerIdentity", [], mutates: false).string("GetCallerIdentityResult/Account")
    }
    let ownerName = facts.rootKey ? nil : user
    async let ownerFacts = Self.owner(ownerName, keyID: keyID, reader: reader, client: client)
    let stsAccount = (await sts).flatMap { $0 }
    let me = (await caller).flatMap { $0 }
    let owner = await ownerFacts
    out["account-id"] = AWSActions.value(stsAccount ?? decoded)
    out["account-confirmed"] = .bool(decoded != nil && decoded == stsAccount)
    out["responder-account"] = AWSActions.value(me)
    let summary = owner.summary
    let policies = owner.lines
    let quarantine = owner.managedARNs.first { $0.contains(":policy/AWSCompromisedKeyQuarantine") }
    let console = owner.console
    let mfa = owner.mfa
    let others = owner.keys.filter { $0.id != keyID }.map(\.value)
    let arn = owner.arn
    facts.permissions = summary
    facts.quarantined = quarantine != nil
    facts.consoleWithoutMFA = console && !mfa
    let severity = Severity.decide(facts)

    out["user-name"] = AWSActions.value(user)
    out["user-arn"] = AWSActions.value(arn)
    out["root-key"] = .bool(facts.rootKey)
    out["policies"] = .array(policies.map { .string($0) })
    out["permissions"] = .string(facts.rootKey ? "root: everything" : summary.description)
    out["administrator"] = .bool(facts.rootKey || summary.administrator)
    out["services"] = .array(summary.services.sorted().map { .string($0) })
    out["console-access"] = .bool(console)
    out["mfa"] = .bool(mfa)
    out["other-keys"] = .array(others)
    out["quarantined"] = .bool(quarantine != nil)
    out["quarantine-policy"] = AWSActions.value(quarantine)
    out["severity"] = .string(severity.name)
    out["severity-rule"] = .string(severity.rule)
    out["pagerduty-severity"] = .string(severity.pagerDutySeverity)
    out["gaps"] = .array(reader.gaps.map { .string($0) })
    let account = stsAccount ?? decoded ?? "unknown account"
    return ActionResult(
      outputs: out,
      summary: "\(severity.name): \(severity.rule) (\(user ?? "owner unknown") in \(account); \(out["permissions"]!))")
  }
}

/// What triage read about the key's owner.
struct OwnerFacts: Sendable {
  var arn: String?
  var lines: [String] = []
  var summary = PolicySummary()
  var managedARNs: [String] = []
  var console = false
  var mfa = false
  var keys: [IAMAccessKey] = []
}

extension IAMTriageAction {
  /// The owner's reads, all at once; nothing for an unknown owner or the root user.
  static func owner(_ user: String?, keyID: String, reader: TriageReader, client: AWSClient) async -> OwnerFacts {
    guard let user else { return OwnerFacts() }
    async let arn = reader.attempt("IAM GetUser") {
      try await client.query(.iam, "GetUser", [("UserName", user)], mutates: false).string("GetUserResult/User/Arn")
    }
    async let owned = reader.policies(user: user)
    async let console = reader.hasLoginProfile(user)
    async let mfa = reader.mfaCount(user)
    async let keys = reader.attempt("IAM ListAccessKeys") { try await IAMKeys.list(client, userName: user) }
    let policies = await owned
    return OwnerFacts(
      arn: (await arn).flatMap { $0 }, lines: policies.lines, summary: policies.summary,
      managedARNs: policies.managedARNs, console: await console, mfa: await mfa > 0, keys: await keys ?? [])
  }
}

/// The IAM reads of triage, each allowed to fail into a gap. Reads run concurrently, so the gaps
/// are kept under a lock; it lives within one action run.
final class TriageReader: @unchecked Sendable {
  let client: AWSClient
  private let lock = NSLock()
  private var found: [String] = []

  init(client: AWSClient) { self.client = client }

  /// What could not be read, sorted (reads finish in any order).
  var gaps: [String] { lock.withLock { found.sorted() } }

  private func gap(_ text: String) { lock.withLock { found.append(text) } }

  /// Runs one read; a provider error becomes a gap and nil.
  func attempt<T>(_ what: String, _ body: () async throws -> T) async -> T? {
    do {
      return try await body()
    } catch let error as ActionError {
      gap("\(what): \(error.awsCode ?? String(describing: error))")
      return nil
    } catch {
      gap("\(what): \(error)")
      return nil
    }
  }

  /// Every `member` of a Query list, following Marker pages.
  func members(_ operation: String, _ params: [(String, String)], list: String) async -> [AWSXMLNode] {
    var out: [AWSXMLNode] = []
    var marker: String?
    var pages = 0
    repeat {
      let page = await attempt("IAM \(operation)") {
        try await client.query(.iam, operation, params + (marker.map { [("Marker", $0)] } ?? []), mutates: false)
      }
      guard let result = page?.path("\(operation)Result") else { return out }
      out += result.path(list)?.children("member") ?? []
      pages += 1
      marker = result.string("IsTruncated") == "true" ? result.string("Marker") : nil
    } while marker != nil && pages < 20
    return out
  }

  /// A policy document as IAM returns it: URL-encoded JSON.
  static func document(_ raw: String?) -> Value? {
    guard let raw else { return nil }
    return Value.parseJSON(raw.removingPercentEncoding ?? raw)
  }

  /// The user's attached, inline and group policies, read and summarised.
  func policies(user: String) async -> (lines: [String], summary: PolicySummary, managedARNs: [String]) {
    var lines: [String] = []
    var summary = PolicySummary()
    var managed: [(arn: String, via: String)] = []
    for m in await members("ListAttachedUserPolicies", [("UserName", user)], list: "AttachedPolicies") {
      if let arn = m.string("PolicyArn") { managed.append((arn, "attached")) }
    }
    for m in await members("ListUserPolicies", [("UserName", user)], list: "PolicyNames") {
      let name = m.text
      lines.append("inline: \(name)")
      let doc = await attempt("IAM GetUserPolicy \(name)") {
        try await client.query(.iam, "GetUserPolicy", [("UserName", user), ("PolicyName", name)], mutates: false)
          .string("GetUserPolicyResult/PolicyDocument")
      }
      if let d = Self.document(doc ?? nil) { summary.add(document: d) }
    }
    for g in await members("ListGroupsForUser", [("UserName", user)], list: "Groups") {
      guard let group = g.string("GroupName") else { continue }
      for m in await members("ListAttachedGroupPolicies", [("GroupName", group)], list: "AttachedPolicies") {
        if let arn = m.string("PolicyArn") { managed.append((arn, "group \(group)")) }
      }
      for m in await members("ListGroupPolicies", [("GroupName", group)], list: "PolicyNames") {
        let name = m.text
        lines.append("group \(group) inline: \(name)")
        let doc = await attempt("IAM GetGroupPolicy \(name)") {
          try await client.query(.iam, "GetGroupPolicy", [("GroupName", group), ("PolicyName", name)], mutates: false)
            .string("GetGroupPolicyResult/PolicyDocument")
        }
        if let d = Self.document(doc ?? nil) { summary.add(document: d) }
      }
    }
    // The managed policies' documents, read together (two calls each), added in order.
    let documents = await withTaskGroup(of: (Int, Value?).self) { group in
      for (i, policy) in managed.prefix(IAMTriageAction.policyLimit).enumerated() {
        group.addTask { (i, await self.managedDocument(policy.arn)) }
      }
      var out: [Int: Value] = [:]
      for await (i, doc) in group { out[i] = doc }
      return out
    }
    for (i, policy) in managed.enumerated() {
      lines.append("\(policy.via): \(policy.arn)")
      summary.add(managedPolicyARN: policy.arn)
      if let d = documents[i] { summary.add(document: d) }
    }
    return (lines, summary, managed.map(\.arn))
  }

  /// The default version's document of a managed policy.
  func managedDocument(_ arn: String) async -> Value? {
    let version = await attempt("IAM GetPolicy") {
      try await client.query(.iam, "GetPolicy", [("PolicyArn", arn)], mutates: false)
        .string("GetPolicyResult/Policy/DefaultVersionId")
    }
    guard let version = version ?? nil else { return nil }
    let doc = await attempt("IAM GetPolicyVersion") {
      try await client.query(.iam, "GetPolicyVersion", [("PolicyArn", arn), ("VersionId", version)], mutates: false)
        .string("GetPolicyVersionResult/PolicyVersion/Document")
    }
    return Self.document(doc ?? nil)
  }

  /// Whether the user has a console password; NoSuchEntity means none.
  func hasLoginProfile(_ user: String) async -> Bool {
    do {
      _ = try await client.query(.iam, "GetLoginProfile", [("UserName", user)], mutates: false)
      return true
    } catch let error as ActionError where error.awsCode == "NoSuchEntity" {
      return false
    } catch {
      gap("IAM GetLoginProfile: \((error as? ActionError)?.awsCode ?? String(describing: error))")
      return false
    }
  }

  /// How many MFA devices the user has.
  func mfaCount(_ user: String) async -> Int {
    await members("ListMFADevices", [("UserName", user)], list: "MFADevices").count
  }
}
