import Foundation

/// Which steps run for these inputs, decided offline before anything is sent: the one answer
/// `respond plan` and the preflight share. Only steps that need nothing but their inputs run here
/// (offline actions such as key.identify); their outputs decide the conditions after them.
package enum OfflineSteps {
  /// What the inputs and the offline results so far say of one step.
  package enum Decision: Sendable, Equatable {
    /// Its condition is already false: it will not run, and reads as null to the steps after it.
    case skipped
    /// It runs offline now, with these parameters.
    case run([String: Value])
    /// Neither can be told offline: its condition or a parameter reads what is not known yet
    /// (a step that did not run here, the environment, the incident), or its action is not offline.
    case unknown
  }

  /// What the offline pass found.
  package struct Outcome: Sendable {
    /// The outputs of the steps that ran, by step id (secret ones too: nothing is journaled).
    package var ran: [String: [String: Value]] = [:]
    /// The steps decided not to run, in runbook order.
    package var skipped: [String] = []

    /// What later conditions can read: the steps that ran, and every skipped one as null outputs.
    package var known: [String: [String: Value]] {
      ran.merging(skipped.map { ($0, [:]) }) { ran, _ in ran }
    }
  }

  /// Decides one step from the inputs and the offline results so far (`known`), with the steps
  /// in `unknown` not known yet. The environment is not read offline (`plan` has none to read,
  /// and the preflight decides it later), so a condition on `env` or `configured` is unknown. Pure.
  package static func decide(
    _ step: Step, offline: Bool, inputs: [String: Value], known: [String: [String: Value]], unknown: Set<String>
  ) -> Decision {
    let context = EvaluationContext(inputs: inputs, steps: known)
    if let when = step.when {
      let readsEnvironment = when.references.contains { $0.path.first == "env" || $0.path.first == "configured" }
      guard !readsEnvironment, let holds = when.decide(context, unknownSteps: unknown, incidentUnknown: true) else {
        return .unknown
      }
      if !holds.isTruthy { return .skipped }
    }
    guard offline else { return .unknown }
    var parameters: [String: Value] = [:]
    for (name, value) in step.with {
      if let literal = value.literalValue {
        parameters[name] = literal
      } else if case .template(let t, _) = value, let v = t.decide(context, unknownSteps: unknown) {
        parameters[name] = v
      } else {
        return .unknown
      }
    }
    return .run(parameters)
  }

  /// Walks the runbook once, running each step `decide` says runs offline through `transport`
  /// (one that sends nothing). A step whose action fails here counts as unknown.
  package static func run(
    _ runbook: Runbook, registry: ActionRegistry, inputs: [String: Value], masker: Masker,
    transport: any HTTPTransport, incidentID: String
  ) async -> Outcome {
    var outcome = Outcome()
    var unknown: Set<String> = []
    for step in runbook.steps {
      let action = registry.action(named: step.action)
      let decision = decide(
        step, offline: action?.descriptor.offline ?? false, inputs: inputs, known: outcome.known, unknown: unknown)
      switch decision {
      case .skipped:
        outcome.skipped.append(step.id)
      case .unknown:
        unknown.insert(step.id)
      case .run(let parameters):
        let context = ActionContext(
          stepID: step.id, parameters: parameters, environment: [:], transport: transport, masker: masker,
          incident: IncidentInfo(
            id: incidentID, runbook: runbook.name, startedAt: Date(), mode: .dryRun, directory: ""))
        if let action, let result = try? await action.run(context) {
          outcome.ran[step.id] = result.outputs
        } else {
          unknown.insert(step.id)
        }
      }
    }
    return outcome
  }
}
