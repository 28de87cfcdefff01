import Foundation

/// The six phases, always run in this order whatever order the file lists them in.
package enum Phase: String, CaseIterable, Codable, Sendable, Comparable {
  case detect, contain, investigate, recover, notify, document

  package static func < (a: Phase, b: Phase) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// Where something is in a runbook file: 1-based line and column.
package struct SourceLocation: Sendable, Equatable, Hashable, Comparable, Codable, CustomStringConvertible {
  package var file: String
  package var line: Int
  package var column: Int

  package init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  package static func < (a: SourceLocation, b: SourceLocation) -> Bool {
    (a.file, a.line, a.column) < (b.file, b.line, b.column)
  }

  package var description: String { "\(file):\(line):\(column)" }

  /// The location `offset` characters further along the same line (for errors inside a scalar).
  package func advanced(by offset: Int) -> SourceLocation {
    SourceLocation(file: file, line: line, column: column + offset)
  }
}

/// A declared runbook input; each becomes a `--<name>` flag.
package struct InputSpec: Sendable {
  package var name: String
  package var description: String
  package var required: Bool
  package var defaultValue: String?
  /// Secret inputs are registered with the masker before anything is written.
  package var secret: Bool
  /// A regular expression the whole value must match.
  package var pattern: String?
  package var location: SourceLocation
}

/// An environment variable the runbook may read as `env.NAME`. Secret ones are masked.
package struct EnvSpec: Sendable {
  package var name: String
  package var secret: Bool
  package var description: String
  package var location: SourceLocation
}

/// A parameter value as written: templates inside strings, lists and maps kept in their shape.
package indirect enum TemplateValue: Sendable {
  case literal(Value)
  case template(Template, SourceLocation)
  case list([TemplateValue])
  case map([(String, TemplateValue)])

  /// Every template inside, with where it sits in the file.
  package var templates: [(Template, SourceLocation)] {
    switch self {
    case .literal: return []
    case .template(let t, let loc): return [(t, loc)]
    case .list(let items): return items.flatMap(\.templates)
    case .map(let pairs): return pairs.flatMap(\.1.templates)
    }
  }

  /// The literal value, when nothing in it depends on an expression.
  package var literalValue: Value? {
    switch self {
    case .literal(let v): return v
    case .template(let t, _): return t.isLiteral ? (try? t.evaluate(EvaluationContext())) : nil
    case .list(let items):
      var out: [Value] = []
      for i in items {
        guard let v = i.literalValue else { return nil }
        out.append(v)
      }
      return .array(out)
    case .map(let pairs):
      var out: [String: Value] = [:]
      for (k, v) in pairs {
        guard let lv = v.literalValue else { return nil }
        out[k] = lv
      }
      return .object(out)
    }
  }

  /// Resolves the value for a parameter that declares how spliced values are encoded (a URL, a
  /// Slack message): a template at the top encodes what it splices; lists and maps inside are
  /// resolved as they are (the action encodes their entries itself, e.g. query values).
  package func evaluate(_ context: EvaluationContext, interpolation: Interpolation) throws(ExpressionError) -> Value {
    guard case .template(let t, _) = self else { return try evaluate(context) }
    return try t.evaluate(context, interpolation: interpolation)
  }

  /// Resolves every template against the context.
  package func evaluate(_ context: EvaluationContext) throws(ExpressionError) -> Value {
    switch self {
    case .literal(let v): return v
    case .template(let t, _): return try t.evaluate(context)
    case .list(let items):
      var out: [Value] = []
      for i in items { out.append(try i.evaluate(context)) }
      return .array(out)
    case .map(let pairs):
      var out: [String: Value] = [:]
      for (k, v) in pairs { out[k] = try v.evaluate(context) }
      return .object(out)
    }
  }
}

/// The compensation for a step: what resume runs to take back a step whose secret outputs were
/// lost with the process (e.g. delete a created key nobody stored), before running it again.
package struct UndoSpec: Sendable {
  package var action: String
  package var with: [(String, TemplateValue)]
  package var location: SourceLocation
}

/// A `- provider-steps: <slot>` entry of a phase: every provider folder's steps for that slot
/// (`response.yaml`) go there, folders in name order, at `index` among the phase's own steps.
package struct ProviderSlot: Sendable {
  package var name: String
  package var phase: Phase
  package var index: Int
  package var location: SourceLocation
}

/// One step of a phase.
package struct Step: Sendable {
  package var id: String
  package var phase: Phase
  /// A human title for progress and the report (defaults to the id).
  package var name: String?
  package var action: String
  package var with: [(String, TemplateValue)]
  package var when: Template?
  /// The condition as written, for plans and reports.
  package var whenSource: String?
  package var retry: RetryPolicy?
  package var timeout: Duration?
  package var continueOnError: Bool
  package var approvalRequired: Bool
  /// `approval: two-person`: two different people must approve (four eyes), not one.
  package var twoPersonApproval = false
  package var undo: UndoSpec?
  /// The contain-phase changes this step proves took hold (`verifies: deactivate`): a read or a
  /// `check` whose success is the evidence that the credential is dead. The verdict CONTAINED
  /// rests on such a step having succeeded, never on a change merely being accepted.
  package var verifies: [String] = []
  package var verifiesLocation: SourceLocation?
  /// `concurrent: true`: the step may run at the same time as the adjacent concurrent steps of
  /// its phase (one group, `ConcurrentGroups`); where the key sits, for diagnostics.
  package var concurrent = false
  package var concurrentLocation: SourceLocation?
  package var location: SourceLocation
  package var actionLocation: SourceLocation
  package var whenLocation: SourceLocation?
  /// Where each `with:` key sits, for diagnostics.
  package var parameterLocations: [String: SourceLocation]

  package var title: String { name ?? id }

  /// How many different people must approve before the step runs: 0, 1 or 2.
  package var approvers: Int { approvalRequired ? (twoPersonApproval ? 2 : 1) : 0 }

  /// Every expression the step evaluates when it runs: its parameters' templates and its condition.
  package var templates: [Template] {
    var all = with.flatMap(\.1.templates).map(\.0)
    if let when { all.append(when) }
    return all
  }
}

/// What the report's header says about the incident, computed from step outputs.
package struct ReportSpec: Sendable {
  /// Ordered label → template, e.g. "Leaked key" → `${{ steps.identify.display }}`.
  package var facts: [(String, TemplateValue)]
  package var title: String?
  /// Where the runbook places the dispatched part's facts (`provider-facts.<slot>:` among its
  /// own, `provider-facts:` for a part's facts of no slot): each slot's facts go before the
  /// runbook fact at `index`, so a provider's rows sit where a reader looks for them.
  package var factSlots: [(name: String, index: Int, location: SourceLocation)] = []
  /// Facts a provider part adds (`facts:` in its response.yaml), shown only in a run that
  /// dispatched that provider (another provider's facts are not this run's): at their slot's
  /// marker, or after the runbook's own when they name no slot and the runbook places none.
  package var partFacts: [(provider: String, slot: String, label: String, value: TemplateValue)] = []

  /// The facts a run shows: the runbook's, with the dispatched provider's own at their slots
  /// (none when the dispatch names no part or is not known).
  package func facts(dispatched: Value?) -> [(String, TemplateValue)] {
    let own = partFacts.filter { dispatched == .string($0.provider) }
    let placed = { (slot: String) in own.filter { $0.slot == slot }.map { ($0.label, $0.value) } }
    var out: [(String, TemplateValue)] = []
    var next = 0
    // In the order written (slots are kept so; two markers in a row share an index).
    for slot in factSlots {
      out += facts[next..<slot.index]
      out += placed(slot.name)
      next = slot.index
    }
    out += facts[next...]
    if !factSlots.contains(where: { $0.name == "" }) { out += placed("") }
    return out
  }
}

/// A whole runbook, as loaded and checked.
package struct Runbook: Sendable {
  package var name: String
  package var description: String
  package var file: String
  /// SHA-256 of the file's bytes, journaled so resume can tell if the runbook changed.
  package var digest: String
  package var inputs: [InputSpec]
  package var env: [EnvSpec]
  package var phases: [(Phase, [Step])]
  package var report: ReportSpec
  /// `on-stop:` notify steps run when a run stops at an approval gate or fails, so a stuck
  /// response pages someone with the exact resume command. Never part of `steps`: the conductor
  /// does not schedule them and they never change how the run ends.
  package var onStop: [Step] = []
  /// `drill: target:`: how long the containment path may take, for scoring drills (DrillScore).
  package var drillTarget: Duration? = nil
  /// `dispatch: ${{ steps.identify.provider }}`: the expression naming the provider whose part
  /// of the response runs; each placed provider step runs only when it equals its folder's name.
  package var dispatch: (source: String, location: SourceLocation)? = nil
  /// `provided: [owner, ...]`: the values the runbook reads from the dispatched provider's part
  /// (`${{ provider.owner }}`); nil when it does not declare them (any name a part provides).
  package var providedNames: [(name: String, location: SourceLocation)]? = nil
  /// Where the file places the provider folders' parts (`- provider-steps: contain`), in file order.
  package var providerSlots: [ProviderSlot] = []

  /// All steps in run order.
  package var steps: [Step] { phases.sorted { $0.0 < $1.0 }.flatMap(\.1) }

  package func step(_ id: String) -> Step? { steps.first { $0.id == id } }
  package func input(_ name: String) -> InputSpec? { inputs.first { $0.name == name } }
}
