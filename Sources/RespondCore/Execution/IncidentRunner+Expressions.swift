import Foundation

/// What the runner evaluates: a step's `with:` and condition context, and the report's facts.
extension IncidentRunner {
  /// The runbook's report facts, evaluated now and masked ([label, value] pairs).
  func evaluateFacts() -> [[String]] {
    let ctx = evaluationContext()
    let dispatched = runbook.dispatch.flatMap { try? Expression.parse($0.source).evaluate(ctx) }
    return runbook.report.facts(dispatched: dispatched).compactMap { label, template in
      guard let v = try? template.evaluate(ctx), !v.isNull, !(v.stringValue?.isEmpty ?? false) else {
        return [label, IncidentRunner.unknownFact(template, state: state)]
      }
      return [label, masker.mask(v.description)]
    }
  }

  /// What a fact without a value says. Empty (shown as n/a) when nothing produced it, but a
  /// fact read from a step that failed says so: "n/a" beside "Audit events (CloudTrail)" would
  /// read as "nothing found" when the lookup never answered.
  static func unknownFact(_ value: TemplateValue, state: IncidentState) -> String {
    let failed = StepPolicy.dependencies(in: value.templates.map(\.0)).filter { state.steps[$0]?.outcome == .failed }
    guard !failed.isEmpty else { return "" }
    return "not known: step " + failed.joined(separator: ", ") + " failed"
  }

  package var incidentDirectory: String {
    state.incident?.directory ?? ((journal?.path as NSString?)?.deletingLastPathComponent ?? "")
  }

  func evaluationContext() -> EvaluationContext {
    let (state, liveOutputs) = shared.withLock { (stateStorage, liveOutputStorage) }
    var steps: [String: [String: Value]] = [:]
    for (id, s) in state.steps { steps[id] = s.outputs }
    for (id, o) in liveOutputs { steps[id] = o }
    var env: [String: String] = [:]
    var configured: [String: Bool] = [:]
    for spec in runbook.env {
      let value = environment[spec.name]
      configured[spec.name] = !(value ?? "").isEmpty
      // A credential's value never enters an expression: only the actions owning it read it.
      if let value, !CredentialEndpoints.isCredential(spec.name, declaredSecret: spec.secret) { env[spec.name] = value }
    }
    let info = state.incident
    let verdict = options.mode.isDry ? nil : ContainmentVerdict.decide(state)
    let incident: [String: Value] = [
      "id": .string(info?.id ?? ""), "runbook": .string(runbook.name),
      "started-at": .string(info.map { ISO8601.string($0.startedAt) } ?? ""),
      "mode": .string(options.mode.rawValue), "directory": .string(info?.directory ?? ""),
      "verdict": .string(verdict?.verdict.rawValue ?? ""), "verdict-reason": .string(verdict?.reason ?? ""),
      "stopped-at": .string(stopNotice?.stoppedAt ?? ""), "stop-reason": .string(stopNotice?.reason ?? ""),
      "resume-command": .string(stopNotice?.resumeCommand ?? ""),
    ]
    return EvaluationContext(inputs: inputValues, steps: steps, env: env, configured: configured, incident: incident)
  }

  /// Resolves a step's `with`; each parameter's values are encoded as its action declares
  /// (a URL path segment, Slack text), here where every step's templates are evaluated.
  func evaluate(_ with: [(String, TemplateValue)], action: String? = nil) throws -> [String: Value] {
    let ctx = evaluationContext()
    let specs = action.flatMap { registry.action(named: $0)?.descriptor.parameters } ?? []
    var out: [String: Value] = [:]
    for (k, v) in with {
      let interpolation = specs.first { $0.name == k }?.interpolation ?? .plain
      do {
        out[k] = try v.evaluate(ctx, interpolation: interpolation)
      } catch {
        throw ActionError.badParameter(name: k, reason: "could not be evaluated: \(error.message)")
      }
    }
    return out
  }

  func resolveParameters(_ step: Step) throws -> [String: Value] {
    let params = try evaluate(step.with, action: step.action)
    if let action = registry.action(named: step.action) {
      for spec in action.descriptor.parameters where spec.secret {
        if let v = params[spec.name] { masker.register(v) }
      }
    }
    return params
  }
}
