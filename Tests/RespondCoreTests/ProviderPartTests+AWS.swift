import Foundation
import RespondTestSupport
import Testing

@testable import RespondCore

/// AWS's part of key-compromised is a folder like any other (Runbooks/providers/aws), and moving
/// it there changed nothing a run does: the steps run in the order they always have, in the same
/// concurrent groups (the containment benchmark counts round trips), and the report's AWS rows
/// sit where they always have.
extension ProviderPartTests {
  /// The host's and AWS's steps in the order key-compromised ran them when AWS's were inline
  /// (plus lift-quarantine and restore-console, added after the move).
  static let awsRunOrder = """
    identify owner store-read secrets-manager-read ssm-read page-slack page-pagerduty
    deactivate deny-user-sessions key-not-found verify-inactive user-sessions-denied check-inactive
    check-user-sessions-denied triage minted-cloudtrail minted-logs minted-archive deny-role-sessions
    role-sessions-denied check-role-sessions-denied quarantine quarantined check-quarantined disable-console
    console-after check-console-disabled deny-sessions sessions-denied check-sessions-denied
    session-owner-unknown not-automated page-severity where-stored secrets-manager-copies ssm-copies
    cloudtrail logs trail-archive activity eradicate persistence-followups rotate-read-secrets
    secret-followups create store-vault store-secrets-manager store-ssm store-github replace-vault-copies
    replace-secrets-manager-copies replace-ssm-copies vault-copies-left secrets-manager-copies-left
    ssm-copies-left verify-new-key delete-leaked verify-deleted check-deleted lift-quarantine
    restore-console rotation-skipped slack pagerduty report email siem pagerduty-resolve
    """.split(whereSeparator: \.isWhitespace).map(String.init)

  static func shippedKeyCompromised() throws -> (Runbook, [ProviderPart]) {
    let folder = TestServices.repositoryRoot() + "/Runbooks"
    let (loaded, problems) = RunbookLoader().load(path: folder + "/key-compromised.yaml")
    #expect(!problems.hasErrors, "\(problems)")
    return (try #require(loaded), RunbookLoader().loadProviderParts(folder: folder + "/providers").0)
  }

  @Test func awsStepsRunInTheOrderAndGroupsTheyAlwaysHave() throws {
    let (rb, parts) = try Self.shippedKeyCompromised()
    let aws = try #require(parts.first { $0.provider == "aws" })
    let awsIDs = aws.slots.flatMap(\.steps).map(\.id)
    #expect(awsIDs.first == "owner" && awsIDs.last == "rotation-skipped" && awsIDs.contains("create"))
    let others = Set(parts.filter { $0.provider != "aws" }.flatMap { $0.slots.flatMap(\.steps) }.map(\.id))
    #expect(rb.steps.map(\.id).filter { !others.contains($0) } == Self.awsRunOrder)
    let groups = ConcurrentGroups(rb).concurrentGroups.map { $0.map(\.id) }
    for expected in [
      ["page-slack", "page-pagerduty"], ["deactivate", "deny-user-sessions"],
      ["verify-inactive", "user-sessions-denied"], ["minted-cloudtrail", "minted-logs", "minted-archive"],
      ["where-stored", "secrets-manager-copies", "ssm-copies", "cloudtrail", "logs", "trail-archive"],
    ] {
      #expect(groups.contains(expected), "\(groups)")
    }
    for id in Self.awsRunOrder where aws.slots.flatMap(\.steps).contains(where: { $0.id == id }) {
      let when = try #require(rb.step(id)?.whenSource, "\(id)")
      #expect(when.hasPrefix("${{ steps.identify.provider == 'aws'"), "\(id) runs only for AWS: \(when)")
    }
  }

  /// The AWS report keeps its rows' order: the part's `credential` facts after the owner, its
  /// `activity` facts after the stores. Vault's audit count now sits beside AWS's (`activity`).
  @Test func awsFactsKeepTheirPlaceInTheReport() throws {
    let (rb, _) = try Self.shippedKeyCompromised()
    let labels = rb.report.facts(dispatched: .string("aws")).map(\.0)
    let owner = try #require(labels.firstIndex(of: "Owner"))
    #expect(
      Array(labels[owner...].prefix(7)) == [
        "Owner", "Severity", "AWS account", "Permissions", "Console access", "Last used", "Replacement key",
      ])
    let stored = try #require(labels.firstIndex(of: "Stored in Parameter Store"))
    #expect(
      Array(labels[(stored + 1)...].prefix(5)) == [
        "Audit events (CloudWatch Logs)", "Audit events (CloudTrail)", "Audit events (CloudTrail archive)",
        "What the key did", "Also stored at (Vault/OpenBao)",
      ])
    let vault = rb.report.facts(dispatched: .string("vault")).map(\.0)
    #expect(!vault.contains("Severity") && !vault.contains("What the key did"), "AWS's rows are AWS's only")
    let audit = try #require(vault.firstIndex(of: "Audit events (Vault)"))
    #expect(vault[audit - 1] == "Stored in Parameter Store" && vault[audit + 1] == "Also stored at (Vault/OpenBao)")
  }

  /// What the host's pages read from AWS's part: the owner, the severity, how it was contained.
  @Test func theHostsPagesReadAWSThroughProvidedValues() throws {
    let (rb, _) = try Self.shippedKeyCompromised()
    let severity = try #require(rb.step("page-severity"))
    var steps: [String: [String: Value]] = [
      "identify": ["provider": "aws", "kind": "access-key", "display": "AKIA…"],
      "owner": ["found": true, "user-name": "ci-deploy"], "check-inactive": ["passed": true],
      "triage": ["severity": "P2", "severity-rule": "can read secrets", "pagerduty-severity": "error"],
    ]
    let context = { EvaluationContext(steps: steps, configured: ["PAGERDUTY_ROUTING_KEY": true]) }
    let with = Dictionary(severity.with, uniquingKeysWith: { a, _ in a })
    #expect(try severity.when?.evaluate(context()).isTruthy == true)
    #expect(try with["severity"]?.evaluate(context()) == "error")
    #expect(try with["summary"]?.evaluate(context()).stringValue?.contains("P2 leaked aws") == true)
    #expect(try with["summary"]?.evaluate(context()).stringValue?.contains("deactivated, triaged") == true)
    steps["identify"] = ["provider": "gitlab", "kind": "personal-access-token"]
    #expect(try severity.when?.evaluate(context()).isTruthy == false, "no other provider provides a severity")
  }
}
