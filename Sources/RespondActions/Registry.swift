import Foundation
import RespondCore

/// Every action respond ships, in one registry: the Swift families (each lives in its own folder
/// and lists its actions) plus the YAML-defined ones found in an `actions/` folder beside the
/// runbooks (`Runbooks/actions/*.yaml`), which is how simple REST providers are added.
package enum StandardActions {
  /// The Swift actions only.
  package static func registry() -> ActionRegistry {
    ActionRegistry(swiftActions())
  }

  /// The Swift actions plus the definitions in `<runbooksFolder>/actions`; problems in those
  /// files come back as diagnostics (a bad definition is left out, never half-loaded).
  package static func registry(runbooksFolder: String?) -> (ActionRegistry, [Diagnostic]) {
    var registry = ActionRegistry(swiftActions())
    guard let folder = runbooksFolder else { return (registry, []) }
    var (definitions, diagnostics) = RunbookLoader().loadActions(folder: folder + "/actions")
    // Each provider folder's credential formats and playbook reach `key.identify` here, and its
    // `actions.yaml` joins the shared action files.
    let (providers, providerProblems) = RunbookLoader().loadProviders(folder: folder + "/providers")
    registry.register(KeyIdentifyAction(providers: ProviderFormats(providers)))
    for path in providerActionFiles(folder + "/providers") {
      let (more, problems) = RunbookLoader().loadActions(path: path)
      definitions += more
      diagnostics += problems
    }
    var extra: [Diagnostic] = providerProblems
    for d in definitions {
      if registry.action(named: d.name) != nil {
        extra.append(Diagnostic(d.location, "action '\(d.name)' is already defined"))
        continue
      }
      registry.register(DefinedAction(d))
    }
    return (registry, diagnostics + extra)
  }

  /// `<providers>/<name>/actions.yaml` of every provider folder that has one, sorted by name.
  static func providerActionFiles(_ providers: String) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: providers)) ?? []
    return names.sorted().filter { !$0.hasPrefix(".") }.map { providers + "/" + $0 + "/actions.yaml" }.filter {
      FileManager.default.fileExists(atPath: $0)
    }
  }

  /// The registry for a runbook file: its folder's `actions/` definitions included.
  package static func registry(forRunbook path: String) -> (ActionRegistry, [Diagnostic]) {
    registry(
      runbooksFolder: (path as NSString).deletingLastPathComponent.isEmpty
        ? "." : (path as NSString).deletingLastPathComponent)
  }

  /// A runbook file and the registry it runs with (its folder's definitions included), loaded
  /// side by side and validated: the runbook, or every problem found in it and its actions.
  package static func loadRunbook(path: String, alongside: (@Sendable () -> Void)? = nil)
    -> (ActionRegistry, Result<Runbook, RunbookInvalid>)
  {
    loadValidRunbook(path: path, makeRegistry: { registry(forRunbook: path) }, alongside: alongside)
  }

  static func swiftActions() -> [any Action] {
    [ManualAction(), IncidentReportAction(), CheckAction()]
      + KeyActions.all() + HTTPActions.all() + AWSActions.all() + VaultActions.all() + GitHubActions.all()
      + NotifyActions.all()
  }
}
