import Foundation

extension Preflight {
  /// Runs the steps that need nothing but their inputs (key.identify), with no network, so the
  /// preflight knows which branch these inputs take. A step runs here only when its condition
  /// and parameters can be decided from the inputs and earlier offline results; the outputs of
  /// the steps that ran are returned by step id. Secret outputs stay in memory; nothing here is journaled.
  package static func runOfflineSteps(
    _ runbook: Runbook, registry: ActionRegistry, inputs: [String: Value], masker: Masker
  ) async -> [String: [String: Value]] {
    var known: [String: [String: Value]] = [:]
    var ran: [String: [String: Value]] = [:]
    var unknown: Set<String> = []
    for step in runbook.steps {
      let context = EvaluationContext(inputs: inputs, steps: known)
      if let when = step.when {
        guard let holds = when.decide(context, unknownSteps: unknown, incidentUnknown: true) else {
          unknown.insert(step.id)
          continue
        }
        if !holds.isTruthy {
          known[step.id] = [:]
          continue
        }
      }
      guard let action = registry.action(named: step.action), action.descriptor.offline else {
        unknown.insert(step.id)
        continue
      }
      var parameters: [String: Value] = [:]
      var decided = true
      for (name, value) in step.with {
        if let literal = value.literalValue {
          parameters[name] = literal
        } else if case .template(let t, _) = value, let v = t.decide(context, unknownSteps: unknown) {
          parameters[name] = v
        } else {
          decided = false
        }
      }
      guard decided else {
        unknown.insert(step.id)
        continue
      }
      let actionContext = ActionContext(
        stepID: step.id, parameters: parameters, environment: [:], transport: NoNetwork(), masker: masker,
        incident: IncidentInfo(id: "preflight", runbook: runbook.name, startedAt: Date(), mode: .dryRun, directory: ""))
      if let result = try? await action.run(actionContext) {
        known[step.id] = result.outputs
        ran[step.id] = result.outputs
      } else {
        unknown.insert(step.id)
      }
    }
    return ran
  }
}

/// Offline steps promise not to use the network: anything they send is refused.
private struct NoNetwork: HTTPTransport {
  func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    throw TransportError.refused(url: request.url, reason: "the preflight's offline steps send nothing")
  }
}
