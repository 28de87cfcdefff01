/// Checks a loaded runbook against the actions it names, before anything runs: unknown actions,
/// duplicate ids, parameters (missing, unknown, wrong type), and every reference inside every
/// expression (undefined input, undeclared env, a step that has not run yet, an output the
/// step's action does not have). Returns every problem, each located.
package struct RunbookValidator {
  package var registry: ActionRegistry

  package init(registry: ActionRegistry) {
    self.registry = registry
  }

  /// Fields of `incident` expressions can read.
  /// `verdict` and `verdict-reason` are the containment verdict so far (empty in a drill or before
  /// any contain step ran); the `stop` fields say why the run stopped and how to continue, for
  /// `on-stop` steps (empty while the run goes on).
  package static let incidentFields = [
    "id", "runbook", "started-at", "mode", "directory", "verdict", "verdict-reason", "stopped-at", "stop-reason",
    "resume-command",
  ]

  package func validate(_ runbook: Runbook) -> [Diagnostic] {
    var out: [Diagnostic] = []
    let steps = runbook.steps
    if steps.isEmpty && !runbook.phases.isEmpty {
      out.append(Diagnostic(SourceLocation(file: runbook.file, line: 1, column: 1), "runbook has no steps"))
    }

    // Duplicate ids: every occurrence after the first.
    var firstSeen: [String: SourceLocation] = [:]
    for step in steps + runbook.onStop {
      if let first = firstSeen[step.id] {
        out.append(Diagnostic(step.location, "duplicate step id '\(step.id)' (first defined at line \(first.line))"))
      } else {
        firstSeen[step.id] = step.location
      }
    }

    let order = Dictionary(steps.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    let byID = Dictionary(steps.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })

    for (index, step) in steps.enumerated() {
      let action = registry.action(named: step.action)
      if action == nil && !step.action.isEmpty {
        out.append(Diagnostic(step.actionLocation, unknownActionMessage(step.action)))
      }
      if let action {
        out += checkParameters(
          step.with, locations: step.parameterLocations, fallback: step.location,
          descriptor: action.descriptor, stepID: step.id)
      }
      // References: `with` and `when` may only read steps that ran before this one.
      var templates = step.with.flatMap(\.1.templates)
      if let when = step.when, let loc = step.whenLocation { templates.append((when, loc)) }
      for (template, location) in templates {
        out += checkReferences(template, at: location, runbook: runbook, before: index, order: order, byID: byID)
      }
      if let undo = step.undo {
        if let undoAction = registry.action(named: undo.action) {
          out += checkParameters(
            undo.with, locations: [:], fallback: undo.location,
            descriptor: undoAction.descriptor, stepID: step.id)
        } else if !undo.action.isEmpty {
          out.append(Diagnostic(undo.location, unknownActionMessage(undo.action)))
        }
        // The undo runs after the step itself succeeded, so it may read the step's own outputs.
        for (template, location) in undo.with.flatMap(\.1.templates) {
          out += checkReferences(template, at: location, runbook: runbook, before: index + 1, order: order, byID: byID)
        }
      }
    }
    out += checkContainmentVerification(steps, byID: byID, order: order)
    out += checkConcurrentGroups(runbook)  // ConcurrentGroupChecks.swift
    // On-stop steps run after the run stopped: any step may be read (one that did not run reads
    // as null).
    for step in runbook.onStop {
      if let action = registry.action(named: step.action) {
        out += checkParameters(
          step.with, locations: step.parameterLocations, fallback: step.location,
          descriptor: action.descriptor, stepID: step.id)
      } else if !step.action.isEmpty {
        out.append(Diagnostic(step.actionLocation, unknownActionMessage(step.action)))
      }
      var templates = step.with.flatMap(\.1.templates)
      if let when = step.when, let loc = step.whenLocation { templates.append((when, loc)) }
      for (template, location) in templates {
        out += checkReferences(template, at: location, runbook: runbook, before: steps.count, order: order, byID: byID)
      }
    }
    // Report facts are computed at the end: any step may be read.
    let facts = runbook.report.facts.map(\.1) + runbook.report.partFacts.map(\.value)
    for (template, location) in facts.flatMap(\.templates) {
      out += checkReferences(template, at: location, runbook: runbook, before: steps.count, order: order, byID: byID)
    }
    return out
  }

  /// CONTAINED must rest on proof: every contain-phase change (a mutating action other than a
  /// `manual` instruction) is named by a later read-only contain step's `verifies:`, and every
  /// `verifies:` names such a change. Without this a runbook could report a revocation the provider
  /// accepted (HTTP 202) but never carried out as containment.
  private func checkContainmentVerification(
    _ steps: [Step], byID: [String: Step], order: [String: Int]
  ) -> [Diagnostic] {
    var out: [Diagnostic] = []
    var verified: Set<String> = []
    for step in steps where !step.verifies.isEmpty {
      let at = step.verifiesLocation ?? step.location
      if step.phase != .contain {
        out.append(Diagnostic(at, "step '\(step.id)': 'verifies' belongs on a contain-phase step"))
      }
      if registry.action(named: step.action)?.descriptor.mutates == true {
        out.append(Diagnostic(at, "step '\(step.id)': a verification must only read (\(step.action) changes state)"))
      }
      for target in step.verifies {
        guard let changed = byID[target] else {
          let hint = closest(target, among: Array(byID.keys)).map { "; did you mean '\($0)'?" } ?? ""
          out.append(Diagnostic(at, "step '\(step.id)' verifies unknown step '\(target)'\(hint)"))
          continue
        }
        if (order[target] ?? 0) >= (order[step.id] ?? 0) {
          out.append(Diagnostic(at, "step '\(step.id)' verifies '\(target)', which runs after it"))
        }
        if changed.phase != .contain || !isContainmentChange(changed) {
          out.append(Diagnostic(at, "step '\(step.id)' verifies '\(target)', which is not a contain-phase change"))
        }
        verified.insert(target)
      }
    }
    for step in steps where step.phase == .contain && isContainmentChange(step) && !verified.contains(step.id) {
      out.append(
        Diagnostic(
          step.actionLocation,
          "contain step '\(step.id)' changes state but no step verifies it: add a read or 'check' step after it "
            + "with 'verifies: \(step.id)' that proves the credential is dead"))
    }
    return out
  }

  /// A change respond makes itself: mutating and not an instruction left for a human.
  func isContainmentChange(_ step: Step) -> Bool {
    step.action != "manual" && (registry.action(named: step.action)?.descriptor.mutates ?? false)
  }

  private func unknownActionMessage(_ name: String) -> String {
    var msg = "unknown action '\(name)'"
    if let near = closest(name, among: registry.names) { msg += "; did you mean '\(near)'?" }
    return msg + " (`respond actions` lists them)"
  }

  // MARK: - Parameters

  private func checkParameters(
    _ with: [(String, TemplateValue)], locations: [String: SourceLocation], fallback: SourceLocation,
    descriptor: ActionDescriptor, stepID: String
  ) -> [Diagnostic] {
    var out: [Diagnostic] = []
    let given = Set(with.map(\.0))
    for spec in descriptor.parameters where spec.required && !given.contains(spec.name) {
      out.append(Diagnostic(fallback, "step '\(stepID)': action \(descriptor.name) requires parameter '\(spec.name)'"))
    }
    for (name, value) in with {
      let loc = locations[name] ?? fallback
      guard let spec = descriptor.parameter(name) else {
        if !descriptor.acceptsExtraParameters {
          var msg = "step '\(stepID)': action \(descriptor.name) has no parameter '\(name)'"
          if let near = closest(name, among: descriptor.parameters.map(\.name)) { msg += "; did you mean '\(near)'?" }
          out.append(Diagnostic(loc, msg))
        }
        continue
      }
      guard let literal = value.literalValue, !literal.isNull else { continue }
      if let problem = typeProblem(literal, spec.type) {
        out.append(Diagnostic(loc, "step '\(stepID)': parameter '\(name)' of \(descriptor.name) must be \(problem)"))
      } else if let allowed = spec.allowed, let s = literal.stringValue, !allowed.contains(s) {
        out.append(
          Diagnostic(
            loc,
            "step '\(stepID)': parameter '\(name)' of \(descriptor.name) must be one of \(allowed.joined(separator: ", ")), found '\(s)'"
          ))
      }
    }
    return out
  }

  /// Nil when the literal fits the type, else "a string, found a list" style text.
  private func typeProblem(_ v: Value, _ type: ParameterType) -> String? {
    let ok: Bool
    switch type {
    case .any: ok = true
    case .string: ok = v.stringValue != nil
    case .integer: ok = v.intValue != nil
    case .number: ok = v.numberValue != nil
    case .boolean: ok = v.boolValue != nil || ["true", "false"].contains(v.stringValue ?? "")
    case .list: ok = v.arrayValue != nil
    case .map: ok = v.objectValue != nil
    }
    if ok { return nil }
    let article = type == .integer ? "an" : "a"
    let name = type == .integer ? "integer" : type == .map ? "map" : type == .list ? "list" : type.rawValue
    return "\(article) \(name), found \(v.typeName == "list" || v.typeName == "map" ? "a " : "")\(v.typeName)"
  }

  // MARK: - References

  private func checkReferences(
    _ template: Template, at location: SourceLocation, runbook: Runbook, before index: Int,
    order: [String: Int], byID: [String: Step]
  ) -> [Diagnostic] {
    var out: [Diagnostic] = []
    for ref in template.references {
      let loc = location.advanced(by: ref.offset)
      if let problem = CredentialEndpoints.runbookReadProblem(ref, env: runbook.env) {
        out.append(Diagnostic(loc, problem))
        continue
      }
      guard ref.path.count >= 2 else { continue }
      let name = ref.path[1]
      switch ref.path[0] {
      case "inputs":
        if runbook.input(name) == nil {
          var msg = "undefined input '\(name)'"
          if let near = closest(name, among: runbook.inputs.map(\.name)) { msg += "; did you mean '\(near)'?" }
          out.append(Diagnostic(loc, msg))
        }
      case "env", "configured":
        if !runbook.env.contains(where: { $0.name == name }) {
          out.append(Diagnostic(loc, "env '\(name)' is not declared in the runbook's 'env' list"))
        }
      case "incident":
        if !RunbookValidator.incidentFields.contains(name) {
          out.append(
            Diagnostic(
              loc,
              "unknown incident field '\(name)'; fields are \(RunbookValidator.incidentFields.joined(separator: ", "))")
          )
        }
      case "provider":
        // Loading resolved every name a provider part provides; what is left nobody provides.
        var msg = "no provider part provides '\(name)'"
        if let declared = runbook.providedNames?.map(\.name) {
          msg = "unknown provided value '\(name)'; the runbook declares: \(declared.joined(separator: ", "))"
        }
        out.append(Diagnostic(loc, msg))
      case "steps":
        guard let position = order[name], let target = byID[name] else {
          var msg = "unknown step '\(name)'"
          if let near = closest(name, among: Array(order.keys)) { msg += "; did you mean '\(near)'?" }
          out.append(Diagnostic(loc, msg))
          continue
        }
        if position >= index {
          out.append(
            Diagnostic(
              loc, "step '\(name)' has not run yet at this point (it runs later, in phase \(target.phase.rawValue))"))
          continue
        }
        if ref.path.count >= 3, let action = registry.action(named: target.action) {
          let output = ref.path[2]
          let names = outputNames(of: target, descriptor: action.descriptor)
          if !names.contains(output) && !action.descriptor.acceptsExtraParameters {
            out.append(
              Diagnostic(
                loc,
                "step '\(name)' (\(target.action)) has no output '\(output)'; its outputs are \(names.sorted().joined(separator: ", "))"
              ))
          }
        }
      default:
        break
      }
    }
    return out
  }

  /// The outputs a step can have: its action's, plus names the step itself declares through an
  /// `outputs` map (the generic `http` action extracts named outputs by JSON pointer).
  private func outputNames(of step: Step, descriptor: ActionDescriptor) -> Set<String> {
    var names = Set(descriptor.outputs.map(\.name))
    if let declared = step.with.first(where: { $0.0 == "outputs" })?.1, case .map(let pairs) = declared {
      names.formUnion(pairs.map(\.0))
    }
    return names
  }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
package func closest(_ name: String, among candidates: [String]) -> String? {
  func distance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    for i in 1...a.count {
      var cur = [i] + Array(repeating: 0, count: b.count)
      for j in 1...b.count {
        cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      prev = cur
    }
    return prev[b.count]
  }
  let a = Array(name)
  let scored = candidates.map { ($0, distance(a, Array($0))) }.filter { $0.1 <= max(2, name.count / 3) }
  return scored.min { $0.1 < $1.1 }?.0
}
