import RespondCore

/// Every action respond ships, in one registry. Each family lives in its own folder and lists
/// its actions; adding a family means adding it here.
package enum StandardActions {
  package static func registry() -> ActionRegistry {
    var all: [any Action] = [ManualAction(), IncidentReportAction(), CheckAction()]
    all += families()
    return ActionRegistry(all)
  }

  static func families() -> [any Action] {
    KeyActions.all() + AWSActions.all() + VaultActions.all() + NotifyActions.all()
  }
}
