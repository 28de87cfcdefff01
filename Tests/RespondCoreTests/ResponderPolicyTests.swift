import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

/// Issue 13 item 4: `respond policy` derives the responder's least-privilege IAM and Vault
/// policies from the permissions the runbook's actions declare.
@Suite struct ResponderPolicyTests {
  static let root = TestServices.repositoryRoot()

  static func shipped(_ name: String = "key-compromised") throws -> (Runbook, ActionRegistry) {
    let (registry, loaded) = StandardActions.loadRunbook(path: root + "/Runbooks/\(name).yaml")
    return (try loaded.get(), registry)
  }

  static func statement(_ policy: ResponderPolicy, _ sid: String) -> ResponderPolicy.Statement? {
    policy.statements.first { $0.sid == sid }
  }

  /// The policy for key-compromised comes from its steps: losing one action's declaration (or a
  /// step) changes it, and a step whose action declares nothing is named, never silently left out.
  @Test func keyCompromisedPolicyIsDerivedFromTheRunbook() throws {
    let (rb, registry) = try Self.shipped()
    let policy = ResponderPolicy.build(rb, registry: registry)
    #expect(policy.undeclared.isEmpty, "steps without declared permissions: \(policy.undeclared)")
    let byAction = Dictionary(
      policy.statements.flatMap { s in s.actions.map { ($0, s) } }, uniquingKeysWith: { a, _ in a })
    // Containment, rotation and deletion are changes; the lookups are reads.
    for change in [
      "iam:UpdateAccessKey", "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:PutRolePolicy", "iam:PutUserPolicy",
      "secretsmanager:PutSecretValue", "secretsmanager:RotateSecret", "lambda:InvokeFunction", "ssm:PutParameter",
      "kms:Encrypt",
    ] {
      #expect(byAction[change]?.mutates == true, "\(change) missing or not a change")
    }
    for read in [
      "iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:GetRolePolicy", "iam:GetUserPolicy",
      "secretsmanager:GetSecretValue", "logs:FilterLogEvents", "cloudtrail:LookupEvents", "s3:ListBucket",
      "s3:GetObject", "iam:SimulatePrincipalPolicy", "secretsmanager:DescribeSecret", "ssm:GetParameter",
      "ssm:DescribeParameters", "kms:Decrypt",
    ] {
      #expect(byAction[read]?.mutates == false, "\(read) missing or not read-only")
    }
    // sts:GetCallerIdentity needs no permission; nothing the runbook does not call is allowed.
    #expect(byAction["sts:GetCallerIdentity"] == nil)
    // Parameter Store (issue 15 item 5): DescribeParameters has no resource-level permissions.
    // in a statement of its own, so the parameter reads stay on parameter ARNs.
    #expect(Self.statement(policy, "ReadSecretStoreKeys")?.resources == ["*"])
    #expect(byAction["ssm:GetParameter"]?.resources.contains("*") == false)
    // Exactly what the runbook's steps declare (a call made only with a parameter counts when the
    // step passes it), plus the preflight's simulation: derived, so a step added or moved keeps
    // the check true, and an action dropping a declaration fails it.
    #expect(Set(byAction.keys) == Self.declaredCalls(rb, registry).union(["iam:SimulatePrincipalPolicy"]))
    // Triage, quarantine, the console password and eradication (issue 16) are covered.
    for change in ["iam:DeleteLoginProfile", "iam:DeleteUserPolicy", "iam:DetachUserPolicy", "iam:TagUser"] {
      #expect(byAction[change]?.mutates == true, "\(change) missing or not a change")
    }
    for read in ["sts:GetAccessKeyInfo", "iam:GetLoginProfile", "iam:ListMFADevices", "iam:GetPolicyVersion"] {
      #expect(byAction[read]?.mutates == false, "\(read) missing or not read-only")
    }
    #expect(Self.statement(policy, "ReadTriageIAM")?.resources.contains("arn:aws:iam::*:policy/*") == true)
    #expect(
      Self.statement(policy, "ChangeAccessKeys")?.actions == [
        "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:TagUser", "iam:UpdateAccessKey",
      ])
    // create's rerun guard (issue 16): it reads the owner's respond:replaces tag, and writes it.
    #expect(Self.statement(policy, "ReadAccessKeys")?.actions.contains("iam:ListUserTags") == true)
    #expect(Self.statement(policy, "ChangeAccessKeys")?.resources == ["arn:aws:iam::*:user/*"])
    #expect(
      Self.statement(policy, "ChangeAccessKeys")?.steps == ["deactivate", "create", "create (undo)", "delete-leaked"])
    // CloudTrail LookupEvents has no resource-level permissions: its statement is on *.
    #expect(Self.statement(policy, "ReadAuditLogsCloudTrail")?.resources == ["*"])
    #expect(Self.statement(policy, "ReadAuditLogsLogs")?.resources == ["arn:aws:logs:*:*:log-group:*"])
    // Read-only statements come before changes, each with a Sid.
    let firstChange = policy.statements.firstIndex { $0.mutates } ?? policy.statements.count
    #expect(policy.statements[..<firstChange].allSatisfy { !$0.mutates })
    #expect(policy.statements[firstChange...].allSatisfy { $0.mutates })
  }

  /// The IAM actions the runbook's steps (undos and on-stop steps included) declare, a call made
  /// only with a parameter counted when the step passes that parameter.
  static func declaredCalls(_ rb: Runbook, _ registry: ActionRegistry) -> Set<String> {
    var calls: [(action: String, with: [(String, TemplateValue)])] = []
    for step in rb.steps + rb.onStop {
      calls.append((step.action, step.with))
      if let undo = step.undo { calls.append((undo.action, undo.with)) }
    }
    var out: Set<String> = []
    for call in calls {
      for case .aws(let p) in registry.action(named: call.action)?.descriptor.permissions ?? [] {
        if let only = p.onlyWith, !call.with.contains(where: { $0.0 == only }) { continue }
        out.insert(p.iamAction)
      }
    }
    return out
  }

  /// The document is the JSON IAM takes: version 2012-10-17, sorted actions, one Sid each.
  @Test func theIAMDocumentIsValidJSONInIAMsGrammar() throws {
    let (rb, registry) = try Self.shipped()
    let policy = ResponderPolicy.build(rb, registry: registry)
    let doc = try #require(Value.parseJSON(policy.iamJSON)?.objectValue)
    #expect(doc["Version"]?.stringValue == "2012-10-17")
    let statements = try #require(doc["Statement"]?.arrayValue)
    #expect(statements.count == policy.statements.count)
    var sids: Set<String> = []
    for s in statements {
      let sid = try #require(s["Sid"]?.stringValue)
      #expect(sid.allSatisfy { $0.isLetter || $0.isNumber }, "Sid \(sid) must be alphanumeric")
      #expect(sids.insert(sid).inserted, "Sid \(sid) twice")
      #expect(s["Effect"]?.stringValue == "Allow")
      let actions = s["Action"]?.arrayValue?.compactMap(\.stringValue) ?? [s["Action"]?.stringValue ?? ""]
      #expect(actions == actions.sorted())
    }
  }

  /// Every IAM action names a real operation of its service in botocore's service model (the
  /// exceptions, S3 ListObjectsV2 authorised by s3:ListBucket and Lambda Invoke by
  /// lambda:InvokeFunction, are declared as such).
  @Test func everyDeclaredAWSCallExistsInBotocoresServiceModel() throws {
    let registry = StandardActions.registry()
    var byService: [String: Set<String>] = [:]
    var checked = 0
    for action in registry.all {
      for case .aws(let p) in action.descriptor.permissions ?? [] {
        byService[p.service, default: []].insert(p.operation)
        let renamed = ["s3:ListObjectsV2": "s3:ListBucket", "lambda:Invoke": "lambda:InvokeFunction"]
        #expect(p.iamAction == renamed["\(p.service):\(p.operation)"] ?? "\(p.service):\(p.operation)")
        checked += 1
      }
    }
    #expect(checked >= 18)
    for (service, operations) in byService {
      let json = try runProgram(
        "/usr/bin/env", ["python3", Self.root + "/Tests/Support/botocore_model.py", "operations", service])
      let known = Set(Value.parseJSON(json)?.arrayValue?.compactMap(\.stringValue) ?? [])
      #expect(known.count > 5, "botocore has no model for \(service)")
      for op in operations.sorted() {
        #expect(known.contains(op), "\(service) has no operation \(op) in botocore")
      }
    }
  }

  /// Every action that talks to AWS or Vault declares what it needs (an empty list is a
  /// declaration: STS GetCallerIdentity needs no permission).
  @Test func everyAWSAndVaultActionDeclaresItsPermissions() {
    for action in StandardActions.registry().all {
      let name = action.descriptor.name
      guard name.hasPrefix("aws.") || name.hasPrefix("vault.") else { continue }
      #expect(action.descriptor.permissions != nil, "\(name) declares no permissions")
    }
  }

  /// The Vault policy covers every Vault request; inputs narrow the KV paths they name.
  @Test func vaultPolicyIsNarrowedByTheInputsGiven() throws {
    let (rb, registry) = try Self.shipped()
    let wide = ResponderPolicy.build(rb, registry: registry).vaultHCL
    #expect(wide.contains("path \"auth/token/revoke\" {\n  capabilities = [\"update\"]\n}"))
    #expect(wide.contains("path \"auth/token/lookup\" {"))
    #expect(wide.contains("path \"sys/audit-hash/+\" {"))
    #expect(wide.contains("path \"+/data/*\" {\n  capabilities = [\"create\", \"read\", \"update\"]\n}"))
    #expect(wide.contains("# any mount and path: ${{ inputs.vault-path }} is not known here"))
    let narrow = ResponderPolicy.build(
      rb, registry: registry, inputs: ["vault-path": "secret/ci/aws", "search-path": "secret/ci"]
    ).vaultHCL
    #expect(narrow.contains("path \"secret/data/ci/aws\" {\n  capabilities = [\"create\", \"read\", \"update\"]\n}"))
    #expect(narrow.contains("path \"secret/metadata/ci/*\" {\n  capabilities = [\"list\"]\n}"))
    // The copies found there are rewritten too (replace-vault-copies): read and update, no wider.
    #expect(narrow.contains("path \"secret/data/ci/*\" {\n  capabilities = [\"read\", \"update\"]\n}"))
    #expect(!narrow.contains("+/data/*"))
  }
}
