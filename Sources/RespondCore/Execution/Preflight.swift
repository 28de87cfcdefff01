/// Before a live run changes anything: which steps will run for these inputs, and whether each
/// can work here (its configuration, its credentials, its AWS permissions). A problem that would
/// stop containment stops the run before the first change; a step that cannot work as configured
/// and is not needed for containment (a notification with half its settings) is skipped at its
/// turn and listed as a follow-up, instead of failing a contained incident at its very end. Pure:
/// the CLI runs the offline steps and asks AWS, this decides.
package struct Preflight: Sendable {
  /// Whether a step runs for these inputs.
  package enum Reach: String, Sendable, Equatable {
    /// Its condition holds already (or it has none).
    case will = "will run"
    /// Its condition reads what earlier steps find: it may run.
    case may = "may run"
    /// Its condition is already false.
    case wont = "will not run"
  }

  /// One step as the preflight sees it, with the AWS calls it would make.
  package struct StepPlan: Sendable {
    package var step: Step
    package var reach: Reach
    package var awsCalls: [AWSPermission]
    /// The Vault/OpenBao paths it would use and the capabilities each needs, where the paths can
    /// be told before the run.
    package var vaultNeeds: [(path: String, capabilities: [String])] = []
  }

  package var steps: [StepPlan]

  /// Which steps run, from the inputs and what the offline steps (key.identify) found (`known`:
  /// their outputs). A step whose condition cannot be decided before the run counts as may-run;
  /// a step decided not to run reads as null to the steps after it.
  package static func plan(
    _ runbook: Runbook, registry: ActionRegistry, inputs: [String: Value], known: [String: [String: Value]],
    environment: [String: String]
  ) -> Preflight {
    var decided = known
    var unknown: Set<String> = []
    var configured: [String: Bool] = [:]
    var env: [String: String] = [:]
    for spec in runbook.env {
      let value = environment[spec.name]
      configured[spec.name] = !(value ?? "").isEmpty
      if let value, !CredentialEndpoints.isCredential(spec.name, declaredSecret: spec.secret) { env[spec.name] = value }
    }
    var out: [StepPlan] = []
    for step in runbook.steps {
      let context = EvaluationContext(inputs: inputs, steps: decided, env: env, configured: configured)
      let reach: Reach
      if known[step.id] != nil {
        reach = .will
      } else if let when = step.when {
        switch when.decide(context, unknownSteps: unknown) {
        case nil: reach = .may
        case let v?: reach = v.isTruthy ? .will : .wont
        }
      } else {
        reach = .will
      }
      if reach == .wont {
        decided[step.id] = [:]
      } else if known[step.id] == nil {
        unknown.insert(step.id)
      }
      var calls: [AWSPermission] = []
      if reach != .wont, let permissions = registry.action(named: step.action)?.descriptor.permissions {
        for case .aws(let p) in permissions {
          guard let name = p.onlyWith else {
            calls.append(p)
            continue
          }
          // A call made only with a parameter the step never passes is never made; one whose
          // value is not known yet may be.
          guard let given = step.with.first(where: { $0.0 == name })?.1 else { continue }
          guard let value = decide(given, context, unknownSteps: unknown) else {
            calls.append(p)
            continue
          }
          if p.isMade(with: [name: value]) == true { calls.append(p) }
        }
      }
      var needs: [(path: String, capabilities: [String])] = []
      if reach != .wont, let permissions = registry.action(named: step.action)?.descriptor.permissions {
        func value(_ name: String) -> Value? {
          guard let given = step.with.first(where: { $0.0 == name })?.1 else { return nil }
          return decide(given, context, unknownSteps: unknown)
        }
        for case .vault(let p) in permissions {
          // A request made only with a parameter the step does not pass is never made.
          if let only = p.onlyWith, value(only) == nil || value(only)?.isNull == true { continue }
          needs += p.concrete(value) ?? []
        }
      }
      out.append(StepPlan(step: step, reach: reach, awsCalls: calls, vaultNeeds: needs))
    }
    return Preflight(steps: out)
  }

  /// A parameter's value when it can be decided now (a literal, or what it reads is known).
  private static func decide(_ value: TemplateValue, _ context: EvaluationContext, unknownSteps: Set<String>)
    -> Value?
  {
    if let literal = value.literalValue { return literal }
    guard case .template(let t, _) = value else { return nil }
    return t.decide(context, unknownSteps: unknownSteps)
  }

  /// The IAM actions of every call the steps that will or may run would make, sorted, once each.
  package var awsActions: [String] {
    Array(Set(steps.filter { $0.reach != .wont }.flatMap { $0.awsCalls.map(\.iamAction) })).sorted()
  }

  /// The same calls grouped by the resource pattern they touch, for the permission simulation:
  /// a policy narrowed to IAM users (what `respond policy` prints) does not allow the same
  /// action on every resource (`*`), so each group is simulated on its own resource.
  package var awsQuestions: [(resource: String, actions: [String])] {
    var groups: [String: Set<String>] = [:]
    for call in running.flatMap(\.awsCalls) { groups[call.resource, default: []].insert(call.iamAction) }
    return groups.keys.sorted().map { ($0, groups[$0]!.sorted()) }
  }

  /// Every Vault/OpenBao path the steps that will or may run would use, sorted, once each.
  package var vaultPaths: [String] { Array(Set(running.flatMap { $0.vaultNeeds.map(\.path) })).sorted() }

  /// The steps that will or may run.
  package var running: [StepPlan] { steps.filter { $0.reach != .wont } }
}

// MARK: - What AWS said

extension Preflight {
  /// The answer to "may the caller make these calls?" (IAM SimulatePrincipalPolicy).
  package enum AWSAnswers: Sendable, Equatable {
    /// Not asked: no step makes an AWS call, or there are no credentials to ask with.
    case notAsked
    /// The simulation could not be run (not allowed, not reachable): say so and go on.
    case unknown(String)
    /// The caller (`principal`) and, per IAM action, its decision (`allowed`, `implicitDeny`,
    /// `explicitDeny`).
    case decided(principal: String, decisions: [String: String])
  }

  /// The answer to "may the Vault/OpenBao token use these paths?" (sys/capabilities-self).
  package enum VaultAnswers: Sendable, Equatable {
    case notAsked
    case unknown(String)
    /// Path → the token's capabilities on it (`deny` when none, `root` when all).
    case decided([String: [String]])
  }

  /// The capabilities a request needs that the token lacks (empty: it may). A KV write needs
  /// `create` for a new secret or `update` for an existing one: either will do here.
  package static func missing(_ needed: [String], granted: [String]) -> [String] {
    if granted.contains("root") { return [] }
    var missing = needed.filter { !granted.contains($0) }
    if needed.contains("create") && needed.contains("update")
      && (granted.contains("create") || granted.contains("update"))
    {
      missing.removeAll { $0 == "create" || $0 == "update" }
    }
    return missing
  }
}
