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
    let (definitions, diagnostics) = RunbookLoader().loadActions(folder: folder + "/actions")
    // Each provider folder's credential formats and playbook reach `key.identify` here.
    let (providers, providerProblems) = RunbookLoader().loadProviders(folder: folder + "/providers")
    registry.register(KeyIdentifyAction(providers: ProviderFormats(providers)))
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
      + KeyActions.all() + HTTPActions.all() + AWSActions.all() + VaultActions.all() + NotifyActions.all()
  }
}
