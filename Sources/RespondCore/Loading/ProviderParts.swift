import Foundation
import Yams

/// One provider folder's part of a composed response (`Runbooks/providers/<name>/response.yaml`):
/// per slot, ordinary runbook steps, plus the inputs and env they need. A runbook that places
/// slots (`- provider-steps: contain`) and names its `dispatch` gets every folder's steps there,
/// so adding a provider's response is a folder, with no list of providers to keep anywhere else.
package struct ProviderPart: Sendable {
  package var provider: String
  package var file: String
  package var digest: String
  package var inputs: [InputSpec]
  package var env: [EnvSpec]
  /// Per slot, in file order: its name, where it is declared, and its steps.
  package var slots: [(name: String, location: SourceLocation, steps: [Step])]
  /// Values the host reads as `${{ provider.NAME }}` when this provider is dispatched.
  package var provides: [ProvidedValue] = []
  /// Report facts shown only when this provider is dispatched, each in its slot (`facts:
  /// { activity: { Label: ... } }`; "" for a fact written directly under `facts:`).
  package var facts: [(slot: String, label: String, value: TemplateValue)] = []
  /// The fact slots the part fills, where each is named (for an unknown slot's diagnostic).
  package var factSlots: [(name: String, location: SourceLocation)] = []
}

extension RunbookLoader {
  /// The `response.yaml` of every folder under `folder`, sorted by folder name, with every
  /// problem located in its file. A part with any error is left out, never half-placed.
  package func loadProviderParts(folder: String) -> ([ProviderPart], [Diagnostic]) {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    var parts: [ProviderPart] = []
    var diagnostics: [Diagnostic] = []
    for name in names.sorted() where !name.hasPrefix(".") {
      let path = folder + "/" + name + "/response.yaml"
      guard FileManager.default.fileExists(atPath: path) else { continue }
      let (part, problems) = loadProviderPart(path: path, provider: name)
      diagnostics += problems
      if let part, !problems.hasErrors { parts.append(part) }
    }
    return (parts, diagnostics)
  }

  /// One `response.yaml`.
  func loadProviderPart(path: String, provider: String) -> (ProviderPart?, [Diagnostic]) {
    switch Self.composeFile(path, what: "provider responses") {
    case .problem(let problem): return (nil, [problem])
    case .composed(let node, let data, var reader):
      let part = reader.providerPart(node, provider: provider, digest: sha256Hex(data))
      return (part, reader.diagnostics)
    }
  }

  /// Places every part's steps at the runbook's `provider-steps` entries, each step made to run
  /// only for its provider, and merges the parts' inputs and env. Step ids keep their names (the
  /// journal, resume and reports name them); a clash is an error in the part's file. The digest
  /// then covers the parts too: resume refuses a run whose provider steps changed under it.
  func compose(_ runbook: inout Runbook, parts: [ProviderPart]) -> [Diagnostic] {
    var problems: [Diagnostic] = []
    var placed: [String: SourceLocation] = [:]
    for slot in runbook.providerSlots {
      if let first = placed[slot.name] {
        problems.append(Diagnostic(slot.location, "provider steps '\(slot.name)' are already placed at \(first)"))
      }
      placed[slot.name] = placed[slot.name] ?? slot.location
    }
    for part in parts {
      for slot in part.slots where placed[slot.name] == nil {
        let known = placed.keys.sorted().joined(separator: ", ")
        problems.append(
          Diagnostic(slot.location, "unknown slot '\(slot.name)'; runbook '\(runbook.name)' places: \(known)"))
      }
    }
    problems += mergeDeclarations(&runbook, parts: parts)
    var ids = Set(runbook.steps.map(\.id) + runbook.onStop.map(\.id))
    var inserted: [Phase: [(index: Int, steps: [Step])]] = [:]
    for slot in runbook.providerSlots where placed[slot.name] == slot.location {
      var steps: [Step] = []
      for part in parts {
        for partSlot in part.slots where partSlot.name == slot.name {
          for var step in partSlot.steps {
            guard ids.insert(step.id).inserted else {
              problems.append(
                Diagnostic(step.location, "step id '\(step.id)' is already used by the runbook or another provider"))
              continue
            }
            step.phase = slot.phase
            switch Self.dispatched(step, provider: part.provider, dispatch: runbook.dispatch) {
            case .step(let conditioned): steps.append(conditioned)
            case .problem(let problem): problems.append(problem)
            }
          }
        }
      }
      inserted[slot.phase, default: []].append((slot.index, steps))
    }
    runbook.phases = runbook.phases.map { phase, own in (phase, Self.insert(inserted[phase] ?? [], into: own)) }
    for (phase, _) in inserted where !runbook.phases.contains(where: { $0.0 == phase }) {
      runbook.phases.append((phase, Self.insert(inserted[phase] ?? [], into: [])))
    }
    runbook.phases.sort { $0.0 < $1.0 }
    if !parts.isEmpty {
      let all = runbook.digest + parts.map { "\n\($0.provider):\($0.digest)" }.joined()
      runbook.digest = sha256Hex(Array(all.utf8))
    }
    return problems + composeProvided(&runbook, parts: parts)
  }

  /// The phase's own steps with each slot's steps at its index, in file order. Later slots go
  /// in first, which keeps the earlier indexes valid; of two slots written one after the other
  /// (the same index) the later one first, so the earlier one's steps end up before it.
  static func insert(_ slots: [(index: Int, steps: [Step])], into own: [Step]) -> [Step] {
    var out = own
    let latestFirst = slots.enumerated().sorted { ($0.element.index, $0.offset) > ($1.element.index, $1.offset) }
    for (_, slot) in latestFirst { out.insert(contentsOf: slot.steps, at: slot.index) }
    return out
  }

  /// The parts' inputs and env join the runbook's (so `--help` lists them); one already declared
  /// the same way is shared, one declared differently is an error where the part declares it.
  func mergeDeclarations(_ runbook: inout Runbook, parts: [ProviderPart]) -> [Diagnostic] {
    var problems: [Diagnostic] = []
    for part in parts {
      for input in part.inputs {
        guard let existing = runbook.input(input.name) else {
          runbook.inputs.append(input)
          continue
        }
        let same =
          existing.description == input.description && existing.required == input.required
          && existing.defaultValue == input.defaultValue && existing.secret == input.secret
          && existing.pattern == input.pattern
        if !same {
          problems.append(
            Diagnostic(input.location, "input '\(input.name)' is already declared differently at \(existing.location)"))
        }
      }
      for env in part.env {
        guard let existing = runbook.env.first(where: { $0.name == env.name }) else {
          runbook.env.append(env)
          continue
        }
        if existing.secret != env.secret || existing.description != env.description {
          problems.append(
            Diagnostic(env.location, "env '\(env.name)' is already declared differently at \(existing.location)"))
        }
      }
    }
    return problems
  }

  /// A placed step, or why it cannot be placed.
  enum Dispatched {
    case step(Step)
    case problem(Diagnostic)
  }

  /// `step` made to run only when the runbook's dispatch names `provider`: its condition becomes
  /// `dispatch == '<provider>' && (its own)`, its own references keeping their locations.
  static func dispatched(_ step: Step, provider: String, dispatch: (source: String, location: SourceLocation)?)
    -> Dispatched
  {
    guard let dispatch else { return .problem(Diagnostic(step.location, "the runbook names no 'dispatch'")) }
    let shown = "\(dispatch.source) == '\(provider)'"
    guard let test = try? Expression.parse("(\(dispatch.source)) == '\(provider)'") else {
      return .problem(Diagnostic(dispatch.location, "'dispatch' is not a valid expression"))
    }
    // The dispatch's references are checked where it is written, once: here they count for
    // what the step reads (its dependencies), located at the start of its condition.
    let dispatchReferences = test.references.map { Reference(path: $0.path, offset: 0) }
    var out = step
    guard let when = step.when else {
      let expression = Expression(source: test.source, references: dispatchReferences, root: test.root)
      out.when = Template(source: "${{ \(shown) }}", parts: [.expression(expression, offset: 0)])
      out.whenSource = "${{ \(shown) }}"
      out.whenLocation = step.location
      return .step(out)
    }
    guard let (own, offset) = when.soleExpression else {
      return .problem(Diagnostic(step.whenLocation ?? step.location, "a provider step's 'when' must be one expression"))
    }
    let ownText = own.source.trimmingCharacters(in: .whitespaces)
    let combined = Expression(
      source: "\(test.source) && (\(ownText))", references: dispatchReferences + own.references,
      root: .and([test.root, own.root]))
    out.when = Template(source: when.source, parts: [.expression(combined, offset: offset)])
    out.whenSource = "${{ \(shown) && (\(ownText)) }}"
    return .step(out)
  }
}

extension NodeReader {
  mutating func providerPart(_ node: YAMLNode, provider: String, digest: String) -> ProviderPart? {
    let allowed = ["provider", "inputs", "env", "steps", "provides", "facts"]
    guard let pairs = mapping(node, what: "provider response", allowed: allowed) else { return nil }
    var part = ProviderPart(provider: provider, file: file, digest: digest, inputs: [], env: [], slots: [])
    for (key, _, value) in pairs {
      switch key {
      case "provider":
        let name = string(value, what: "'provider'") ?? ""
        if name != provider { error(value, "provider '\(name)' must be named as its folder ('\(provider)')") }
      case "inputs": part.inputs = inputs(value)
      case "env": part.env = envSpecs(value)
      case "provides": part.provides = provides(value)
      case "facts": (part.facts, part.factSlots) = partFacts(value)
      default:
        for (slot, keyNode, list) in mapping(value, what: "'steps'", allowed: nil) ?? [] {
          if !isIdentifier(slot) { error(keyNode, "slot name '\(slot)' must be lower-case letters, digits and '-'") }
          let steps = (sequence(list, what: "slot '\(slot)'") ?? []).compactMap { step($0, phase: .contain) }
          part.slots.append((slot, loc(keyNode), steps))
        }
      }
    }
    if !pairs.contains(where: { $0.0 == "steps" }) { error(node, "missing required key 'steps' (slot: [steps])") }
    return part
  }

  /// A part's `facts:`: a label with its value is a fact of no slot; a slot name with a map of
  /// labels places those facts where the host writes `provider-facts.<slot>:`.
  mutating func partFacts(_ node: YAMLNode) -> (
    [(slot: String, label: String, value: TemplateValue)], [(name: String, location: SourceLocation)]
  ) {
    var facts: [(slot: String, label: String, value: TemplateValue)] = []
    var slots: [(name: String, location: SourceLocation)] = []
    for (key, keyNode, value) in mapping(node, what: "'facts'", allowed: nil) ?? [] {
      guard case .mapping = value else {
        facts.append(("", key, templateValue(value)))
        continue
      }
      if !isIdentifier(key) { error(keyNode, "fact slot name '\(key)' must be lower-case letters, digits and '-'") }
      slots.append((key, loc(keyNode)))
      facts += parameters(value, what: "fact slot '\(key)'").0.map { (key, $0.0, $0.1) }
    }
    return (facts, slots)
  }

  /// `- provider-steps: <slot>` in a phase's list, or nil for any other entry (a step).
  mutating func providerSlot(_ node: YAMLNode, phase: Phase, index: Int) -> ProviderSlot? {
    guard case .mapping(let m) = node, m.count == 1, let (key, value) = m.first, key.string == "provider-steps"
    else { return nil }
    guard let name = string(value, what: "'provider-steps'") else { return nil }
    if !isIdentifier(name) { error(value, "slot name '\(name)' must be lower-case letters, digits and '-'") }
    return ProviderSlot(name: name, phase: phase, index: index, location: loc(value))
  }

  /// `dispatch: ${{ expression }}`: one expression, kept as text to compare with each folder's name.
  mutating func dispatch(_ node: YAMLNode) -> (source: String, location: SourceLocation)? {
    guard let text = string(node, what: "'dispatch'") else { return nil }
    let start = valueStart(node)
    guard let template = template(text.contains("${{") ? text : "${{ \(text) }}", at: start, shift: 0) else {
      return nil
    }
    guard let (expression, offset) = template.soleExpression else {
      error(node, "'dispatch' must be one expression, e.g. ${{ steps.identify.provider }}")
      return nil
    }
    return (expression.source.trimmingCharacters(in: .whitespaces), start.advanced(by: offset))
  }
}
