import Foundation
import RespondActions
import RespondCore
import RespondHTTP

#if canImport(Glibc)
  import Glibc
#endif

/// Wires the preflight (RespondCore's `Preflight`) to the real world: runs the offline steps,
/// asks AWS about the caller's permissions and Vault/OpenBao about the token's capabilities, prints the findings on stderr before the first
/// change (with --yes too), and stops (exit 2, nothing changed) when containment cannot work.
enum PreflightCheck {
  enum Outcome {
    /// Go on, with these decisions for the runner.
    case go(notConfigured: [String: String], note: String, denied: [String: [String]])
    /// Stop before anything is created or changed, with this exit status.
    case stop(Int32)
  }

  static func run(
    runbook: Runbook, registry: ActionRegistry, inputs given: [String: String], mode: RunMode, assumeYes: Bool,
    masker: Masker
  ) async -> Outcome {
    let env = Frontend.environment
    IncidentRunner.registerCredentialVariables(env, runbook: runbook, masker: masker)
    var inputs: [String: Value] = [:]
    for spec in runbook.inputs {
      guard let v = given[spec.name] ?? spec.defaultValue else { continue }
      if spec.secret { masker.register(v) }
      inputs[spec.name] = .string(v)
    }
    let known = await Preflight.runOfflineSteps(runbook, registry: registry, inputs: inputs, masker: masker)
    let plan = Preflight.plan(runbook, registry: registry, inputs: inputs, known: known, environment: env)
    // Its own transport: the preflight's two requests are no step's, and test hooks that count a
    // run's responses must not count them.
    let aws = await AWSPermissionProbe.check(
      plan.awsQuestions, environment: env, transport: CurlTransport(timeout: Frontend.httpTimeout),
      masker: masker)
    let vault = await VaultPermissionProbe.check(
      paths: plan.vaultPaths, environment: env, transport: CurlTransport(timeout: Frontend.httpTimeout),
      masker: masker)
    var satisfied: Set<String> = []
    if AWSConfiguration.isConfigured(env) { satisfied.insert(AWSConfiguration.credentialsRequirement.what) }
    if AWSConfiguration.isConfigured(env, for: .cloudtrail) {
      satisfied.insert(AWSConfiguration.regionRequirement.what)
    }
    let decision = plan.decide(
      registry: registry, environment: env, satisfied: satisfied, aws: aws, vault: vault,
      host: ProcessInfo.processInfo.hostName,
      runbook: runbook.name)
    let lines = decision.lines
    for line in lines { FileHandle.standardError.write(Data((masker.mask(line) + "\n").utf8)) }
    let note = masker.mask(lines.joined(separator: "\n"))
    // A drill or dry run changes nothing: it shows the findings, and its readiness table lists them.
    guard mode == .live else { return .go(notConfigured: [:], note: note, denied: decision.denied) }
    if !decision.blocking.isEmpty {
      Frontend.error(
        "preflight: \(decision.blocking.count) problem(s) would stop containment; nothing was changed. "
          + "Fix them (see fix: above), then run again")
      return .stop(2)
    }
    if !decision.warnings.isEmpty, !assumeYes, let approver = Frontend.approver() {
      guard await approver.ask("The preflight found problems (above) that do not stop containment. Go on?") == true
      else {
        Frontend.error("stopped after the preflight, as asked; nothing was changed")
        return .stop(2)
      }
    }
    return .go(notConfigured: decision.notConfigured, note: note, denied: [:])
  }
}
