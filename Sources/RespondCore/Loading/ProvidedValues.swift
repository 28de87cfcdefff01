import Foundation

/// What a provider part hands the runbook that hosts it: named values (`provides:`), read by the
/// host as `${{ provider.NAME }}`, and report facts of its own. The host never names a provider's
/// step: `provider.owner` becomes, at load time, "the dispatched provider's `owner`", so a new
/// provider is still one folder and the host's text stays the same.
package struct ProvidedValue: Sendable {
  package var name: String
  /// One expression, or for a mapping an object of its leaves (`Node.object`).
  package var expression: Expression
  package var location: SourceLocation
  /// Each leaf's expression where it is written (a scalar value is its own one leaf): what the
  /// host's checks read and locate, so a mistake deep in a mapping points at its line.
  package var leaves: [(expression: Expression, location: SourceLocation)]
}

extension RunbookLoader {
  /// Checks the parts' provided values and facts against the host, then resolves every
  /// `provider.NAME` the runbook reads. A name the host declares (`provided:`) but no part
  /// provides reads null; a name nobody declares or provides stays, and the validator reports it
  /// where it is read.
  func composeProvided(_ runbook: inout Runbook, parts: [ProviderPart]) -> [Diagnostic] {
    var problems: [Diagnostic] = []
    let ids = Set(runbook.steps.map(\.id))
    var table: [String: [(provider: String, expression: Expression)]] = [:]
    for name in runbook.providedNames?.map(\.name) ?? [] { table[name] = [] }
    for part in parts {
      for value in part.provides {
        if let declared = runbook.providedNames, !declared.contains(where: { $0.name == value.name }) {
          let known = declared.map(\.name).joined(separator: ", ")
          problems.append(
            Diagnostic(
              value.location, "runbook '\(runbook.name)' reads no provided value '\(value.name)'; it declares: \(known)"
            ))
          continue
        }
        for leaf in value.leaves {
          for ref in leaf.expression.references where ref.path.count >= 2 && ref.path[0] == "steps" {
            if !ids.contains(ref.path[1]) {
              problems.append(Diagnostic(leaf.location.advanced(by: ref.offset), "unknown step '\(ref.path[1])'"))
            }
          }
        }
        table[value.name, default: []].append((part.provider, value.expression))
      }
      problems += composeFacts(&runbook.report, runbook: runbook.name, part: part)
    }
    guard let dispatch = runbook.dispatch, let test = try? Expression.parse(dispatch.source) else { return problems }
    let resolve = { (value: TemplateValue) in value.resolvingProvided(table, dispatch: test) }
    runbook.phases = runbook.phases.map { phase, steps in
      (phase, steps.map { $0.resolvingProvided(table, dispatch: test) })
    }
    runbook.onStop = runbook.onStop.map { $0.resolvingProvided(table, dispatch: test) }
    runbook.report.facts = runbook.report.facts.map { ($0.0, resolve($0.1)) }
    runbook.report.partFacts = runbook.report.partFacts.map { ($0.provider, $0.slot, $0.label, resolve($0.value)) }
    return problems
  }
}

extension RunbookLoader {
  /// A part's facts joined to the report's, each slot one the runbook places and each label not
  /// already one of the runbook's.
  func composeFacts(_ report: inout ReportSpec, runbook: String, part: ProviderPart) -> [Diagnostic] {
    var problems: [Diagnostic] = []
    let placed = Set(report.factSlots.map(\.name))
    for slot in part.factSlots where !placed.contains(slot.name) {
      let known = report.factSlots.map(\.name).filter { !$0.isEmpty }.sorted().joined(separator: ", ")
      problems.append(
        Diagnostic(
          slot.location,
          "unknown fact slot '\(slot.name)'; runbook '\(runbook)' places: \(known.isEmpty ? "none" : known)"))
    }
    for (slot, label, value) in part.facts where placed.contains(slot) || slot.isEmpty {
      let location = value.templates.first?.1 ?? SourceLocation(file: part.file, line: 1, column: 1)
      if report.facts.contains(where: { $0.0 == label }) {
        problems.append(Diagnostic(location, "fact '\(label)' is already one of the runbook's report facts"))
        continue
      }
      report.partFacts.append((part.provider, slot, label, value))
    }
    return problems
  }
}

extension Step {
  /// The step with `provider.NAME` resolved in its condition, parameters and undo.
  func resolvingProvided(
    _ table: [String: [(provider: String, expression: Expression)]], dispatch: Expression
  ) -> Step {
    var out = self
    out.with = with.map { ($0.0, $0.1.resolvingProvided(table, dispatch: dispatch)) }
    out.when = when?.resolvingProvided(table, dispatch: dispatch)
    out.undo?.with = undo?.with.map { ($0.0, $0.1.resolvingProvided(table, dispatch: dispatch)) } ?? []
    return out
  }
}

extension TemplateValue {
  func resolvingProvided(
    _ table: [String: [(provider: String, expression: Expression)]], dispatch: Expression
  ) -> TemplateValue {
    switch self {
    case .literal: return self
    case .template(let t, let location): return .template(t.resolvingProvided(table, dispatch: dispatch), location)
    case .list(let items): return .list(items.map { $0.resolvingProvided(table, dispatch: dispatch) })
    case .map(let pairs): return .map(pairs.map { ($0.0, $0.1.resolvingProvided(table, dispatch: dispatch)) })
    }
  }
}

extension Template {
  func resolvingProvided(
    _ table: [String: [(provider: String, expression: Expression)]], dispatch: Expression
  ) -> Template {
    let resolved = parts.map { part -> Part in
      guard case .expression(let e, let offset) = part else { return part }
      return .expression(e.resolvingProvided(table, dispatch: dispatch), offset: offset)
    }
    return Template(source: source, parts: resolved)
  }
}

extension Expression {
  /// The expression with each known `provider.NAME` replaced by a choice on the dispatch. Its
  /// text stays as written (plans and messages show `provider.owner`); its references become the
  /// dispatch's and every provider's value's, at the offset of `provider.NAME`, so the validator
  /// checks they have run by then and the runner knows which steps it reads.
  func resolvingProvided(
    _ table: [String: [(provider: String, expression: Expression)]], dispatch: Expression
  ) -> Expression {
    guard references.contains(where: { $0.path.first == "provider" }) else { return self }
    var refs: [Reference] = []
    for ref in references {
      guard ref.path.first == "provider", ref.path.count >= 2, let cases = table[ref.path[1]] else {
        refs.append(ref)
        continue
      }
      for r in dispatch.references + cases.flatMap(\.expression.references) {
        refs.append(Reference(path: r.path, offset: ref.offset))
      }
    }
    let nodes = table.mapValues { cases in
      Node.provided(dispatch: dispatch.root, cases: cases.map { ($0.provider, $0.expression.root) })
    }
    return Expression(source: source, references: refs, root: root.resolvingProvided(nodes))
  }
}

extension Node {
  /// The node with every `provider.NAME` found in `nodes` replaced by its node.
  func resolvingProvided(_ nodes: [String: Node]) -> Node {
    func segments(_ list: [Segment]) -> [Segment] {
      list.map { segment in
        guard case .index(let node, let offset) = segment else { return segment }
        return .index(node.resolvingProvided(nodes), offset: offset)
      }
    }
    switch self {
    case .literal, .root: return self
    case .access(let base, let list):
      if case .root(.provider) = base, case .name(let name)? = list.first, let node = nodes[name] {
        let rest = segments(Array(list.dropFirst()))
        return rest.isEmpty ? node : .access(node, rest)
      }
      return .access(base.resolvingProvided(nodes), segments(list))
    case .not(let operand): return .not(operand.resolvingProvided(nodes))
    case .and(let operands): return .and(operands.map { $0.resolvingProvided(nodes) })
    case .or(let operands): return .or(operands.map { $0.resolvingProvided(nodes) })
    case .chain(let first, let rest):
      return .chain(
        first.resolvingProvided(nodes), rest.map { ($0.op, $0.operand.resolvingProvided(nodes), $0.offset) })
    case .call(let function, let arguments, let offset):
      return .call(function, arguments.map { $0.resolvingProvided(nodes) }, offset: offset)
    case .provided(let dispatch, let cases):
      return .provided(dispatch: dispatch, cases: cases.map { ($0.provider, $0.value.resolvingProvided(nodes)) })
    case .object(let pairs): return .object(pairs.map { ($0.key, $0.value.resolvingProvided(nodes)) })
    }
  }
}

extension NodeReader {
  /// `provides: { owner: ${{ steps.x.login }} }`: each value one expression, or a mapping whose
  /// leaves are each one (`fields: { token: ${{ steps.x.token }} }`, an object to the host),
  /// reading no other provided value (a part's value is its own steps', never another part's).
  mutating func provides(_ node: YAMLNode) -> [ProvidedValue] {
    var out: [ProvidedValue] = []
    for (name, keyNode, value) in mapping(node, what: "'provides'", allowed: nil) ?? [] {
      if !isIdentifier(name) { error(keyNode, "provided name '\(name)' must be lower-case letters, digits and '-'") }
      var leaves: [(expression: Expression, location: SourceLocation)] = []
      guard let (root, source) = providedNode(value, name: name, leaves: &leaves), let first = leaves.first else {
        continue
      }
      guard case .mapping = value else {
        out.append(ProvidedValue(name: name, expression: first.expression, location: first.location, leaves: leaves))
        continue
      }
      let expression = Expression(source: source, references: leaves.flatMap(\.expression.references), root: root)
      out.append(ProvidedValue(name: name, expression: expression, location: loc(value), leaves: leaves))
    }
    return out
  }

  /// One provided value's node and its text (a mapping's reads `{ token: steps.x.token }`): an
  /// expression, or an object of a mapping's leaves (mappings may nest). Nil after reporting
  /// where it is wrong; every leaf is appended to `leaves`.
  private mutating func providedNode(
    _ node: YAMLNode, name: String, leaves: inout [(expression: Expression, location: SourceLocation)]
  ) -> (Node, String)? {
    if case .mapping = node {
      guard let pairs = mapping(node, what: "provided value '\(name)'", allowed: nil) else { return nil }
      if pairs.isEmpty { error(node, "provided value '\(name)' is an empty map: name its fields, each one expression") }
      var fields: [(key: String, value: Node)] = []
      var texts: [String] = []
      for (key, _, leaf) in pairs {
        guard let (field, text) = providedNode(leaf, name: "\(name).\(key)", leaves: &leaves) else { continue }
        fields.append((key, field))
        texts.append("\(key): \(text)")
      }
      guard fields.count == pairs.count, !pairs.isEmpty else { return nil }
      return (.object(fields), "{ " + texts.joined(separator: ", ") + " }")
    }
    guard case .template(let template, let location) = templateValue(node),
      let (expression, offset) = template.soleExpression
    else {
      error(node, "provided value '\(name)' must be one expression, e.g. ${{ steps.lookup.owner }}")
      return nil
    }
    let at = location.advanced(by: offset)
    if let ref = expression.references.first(where: { $0.path.first == "provider" }) {
      error(at.advanced(by: ref.offset), "a provided value cannot read another provided value")
      return nil
    }
    leaves.append((expression, at))
    return (expression.root, expression.source.trimmingCharacters(in: .whitespaces))
  }

  /// `provided: [owner, replacement-id]` in a runbook: the names its provider parts may provide.
  mutating func providedNames(_ node: YAMLNode) -> [(name: String, location: SourceLocation)] {
    (sequence(node, what: "'provided'") ?? []).compactMap { item in
      guard let name = string(item, what: "a provided name") else { return nil }
      if !isIdentifier(name) { error(item, "provided name '\(name)' must be lower-case letters, digits and '-'") }
      return (name, loc(item))
    }
  }
}
