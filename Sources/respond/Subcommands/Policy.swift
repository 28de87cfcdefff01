import ArgumentParser
import Foundation
import RespondActions
import RespondCore

/// `respond policy RUNBOOK`: the least-privilege IAM policy and Vault/OpenBao policy the
/// runbook's steps need, so the responder's role exists before the incident.
struct Policy: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "policy",
    abstract: "Print the least-privilege IAM policy (JSON) and Vault/OpenBao policy (HCL) a runbook needs.",
    discussion: """
      Every step the runbook could run is covered (all branches, on-stop steps, undos): read-only
      calls and changes are separate statements, one per purpose. Inputs narrow what they name
      (--vault-path secret/ci/aws allows that secret only, not every KV secret).

      Create the responder's AWS role from it, before an incident:
        respond policy key-compromised --iam > respond-policy.json
        aws iam create-policy --policy-name respond-responder \\
          --policy-document file://respond-policy.json
        aws iam create-role --role-name respond-responder \\
          --assume-role-policy-document file://trust.json   (who may assume it: your on-call group)
        aws iam attach-role-policy --role-name respond-responder \\
          --policy-arn arn:aws:iam::ACCOUNT_ID:policy/respond-responder
      then respond with that role's credentials (AWS_PROFILE with role_arn, or aws sts assume-role).
      The policy includes iam:SimulatePrincipalPolicy: before a live run changes anything, its
      preflight asks IAM whether the caller may make each call; without that permission the
      preflight says "unknown" and goes on.

      For a batch of keys of many accounts (--from FILE --accounts MAP): create that role in every
      account, trusting the account respond runs in with an sts:ExternalId condition, map each
      account to it (role-arn, external-id), and allow respond's own credentials sts:AssumeRole on
      those roles (arn:aws:iam::*:role/respond-responder). No other permission is needed for it.

      And the Vault/OpenBao token:
        respond policy key-compromised --vault --vault-path secret/ci/aws > respond.hcl
        bao policy write respond-responder respond.hcl      (or: vault policy write ...)
        bao token create -policy=respond-responder -period=24h
      """)

  @Argument(help: "Runbook name or file.")
  var runbook: String

  @Flag(help: "Print only the IAM policy document (JSON).")
  var iam = false

  @Flag(help: "Print only the Vault/OpenBao policy (HCL).")
  var vault = false

  @Argument(parsing: .captureForPassthrough, help: "The runbook's inputs as --name VALUE, to narrow the policy.")
  var inputs: [String] = []

  func run() async throws {
    // The passthrough arguments also catch this command's own flags when they follow the runbook.
    let onlyIAM = iam || inputs.contains("--iam")
    let onlyVault = vault || inputs.contains("--vault")
    let invocation: RunbookInvocation
    do {
      invocation = try RunbookInvocation.parse(inputs.filter { $0 != "--iam" && $0 != "--vault" }, inputs: nil)
    } catch {
      Frontend.error("\(error)")
      throw ExitCode(2)
    }
    let catalog = RunbookCatalog(explicit: invocation.runbooks)
    guard let path = catalog.locate(runbook) else {
      Frontend.error("no runbook '\(runbook)' (looked in \(catalog.searched))")
      throw ExitCode(2)
    }
    let (registry, loaded) = StandardActions.loadRunbook(path: path)
    let rb: Runbook
    switch loaded {
    case .failure(let invalid):
      FileHandle.standardError.write(Data((invalid.description + "\n").utf8))
      throw ExitCode(2)
    case .success(let r): rb = r
    }
    for name in invocation.inputs.keys where rb.input(name) == nil {
      Frontend.error("unknown option --\(name)")
      throw ExitCode(2)
    }
    let policy = ResponderPolicy.build(rb, registry: registry, inputs: invocation.inputs)
    for step in policy.undeclared {
      Frontend.note("step \(step) declares no permissions: add what it needs by hand")
    }
    let both = onlyIAM == onlyVault
    if onlyIAM || both {
      if policy.statements.isEmpty {
        Frontend.note("\(rb.name) makes no AWS call: no IAM policy needed")
      } else {
        if both { print("# IAM policy (JSON): aws iam create-policy --policy-document file://...") }
        print(policy.iamJSON)
      }
    }
    if onlyVault || both {
      if policy.vault.isEmpty {
        Frontend.note("\(rb.name) makes no Vault/OpenBao request: no Vault policy needed")
      } else {
        if both { print("") }
        print(policy.vaultHCL)
      }
    }
  }
}
