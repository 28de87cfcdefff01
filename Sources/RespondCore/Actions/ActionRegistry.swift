/// The actions a run can use, by name. Built once at start-up from the Swift actions and the
/// YAML-defined ones; an unknown name in a runbook is a located validation error.
package struct ActionRegistry: Sendable {
  private var actions: [String: any Action] = [:]

  package init(_ actions: [any Action] = []) {
    for a in actions { register(a) }
  }

  package mutating func register(_ action: any Action) {
    actions[action.descriptor.name] = action
  }

  package func action(named name: String) -> (any Action)? { actions[name] }

  /// All actions, sorted by name (for `respond actions`).
  package var all: [any Action] { actions.values.sorted { $0.descriptor.name < $1.descriptor.name } }

  package var names: [String] { actions.keys.sorted() }
}
