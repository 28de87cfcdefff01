/// Which steps run together. Adjacent steps of one phase marked `concurrent: true` form one
/// group; every other step is a group of its own. Pure: the runbook goes in, groups come out,
/// so the conductor, `respond plan` and the validator all see the same groups.
///
/// Why only adjacent steps of one phase: the runbook's order stays the order a reader follows
/// (a group starts where its first member is written and ends where its last one is), phases
/// keep their meaning (nothing of `investigate` overlaps `contain`), and a step after a group
/// can read every member's outputs, as it could read the steps before it.
package struct ConcurrentGroups: Sendable {
  /// Every step, in run order, in its group (a group of one for a step that is not concurrent).
  package let groups: [[Step]]
  /// Step id → index into `groups`.
  private let groupOf: [String: Int]

  package init(_ runbook: Runbook) {
    self.init(phases: runbook.phases.sorted { $0.0 < $1.0 })
  }

  package init(phases: [(Phase, [Step])]) {
    var groups: [[Step]] = []
    for (_, steps) in phases {
      var open = false
      for step in steps {
        if step.concurrent && open {
          groups[groups.count - 1].append(step)
        } else {
          groups.append([step])
        }
        open = step.concurrent
      }
    }
    self.groups = groups
    var index: [String: Int] = [:]
    for (i, group) in groups.enumerated() { for s in group where index[s.id] == nil { index[s.id] = i } }
    groupOf = index
  }

  /// The groups of two or more steps: the ones that really run together.
  package var concurrentGroups: [[Step]] { groups.filter { $0.count > 1 } }

  /// The whole group `stepID` belongs to, in file order (just the step when it runs alone).
  package func group(of stepID: String) -> [Step] {
    guard let i = groupOf[stepID] else { return [] }
    return groups[i]
  }

  /// Whether `stepID` runs together with other steps.
  package func runsTogether(_ stepID: String) -> Bool { group(of: stepID).count > 1 }

  /// The ids of the steps of `step`'s group whose outputs `step` reads (`steps.<id>...` in its
  /// parameters or condition), with where each read sits: a member cannot read another's
  /// outputs, as neither is sure to have finished.
  package func readsWithinGroup(_ step: Step) -> [(id: String, location: SourceLocation)] {
    let others = Set(group(of: step.id).map(\.id)).subtracting([step.id])
    guard !others.isEmpty else { return [] }
    var templates = step.with.flatMap(\.1.templates)
    if let when = step.when, let at = step.whenLocation { templates.append((when, at)) }
    var out: [(id: String, location: SourceLocation)] = []
    for (template, at) in templates {
      for ref in template.references where ref.path.count >= 2 && ref.path[0] == "steps" && others.contains(ref.path[1])
      {
        out.append((ref.path[1], at.advanced(by: ref.offset)))
      }
    }
    return out
  }
}
