extension Preflight {
  /// One thing the preflight found.
  package struct Finding: Sendable, Equatable {
    package enum Kind: String, Sendable, Equatable {
      /// The step can run as configured.
      case ok
      /// Runs, with a default said aloud (the sender of the e-mail).
      case note
      /// Cannot work as configured and is not needed for containment: skipped at its turn,
      /// listed as a follow-up.
      case notConfigured = "not configured"
      /// Will fail at its turn (after containment): shown, the responder decides.
      case willFail = "will fail"
      /// Containment cannot work: the run stops before the first change.
      case blocking = "BLOCKING"
      /// Could not be checked (the permission simulation was refused): said, and the run goes on.
      case unknown
    }

    package var kind: Kind
    /// The steps it concerns (empty for the run as a whole).
    package var steps: [String]
    package var message: String
    package var fix: String?

    package init(kind: Kind, steps: [String], message: String, fix: String?) {
      self.kind = kind
      self.steps = steps
      self.message = message
      self.fix = fix
    }
  }

  /// What the preflight decided.
  package struct Decision: Sendable, Equatable {
    package var findings: [Finding]
    /// Steps skipped as "not configured" at their turn, with why.
    package var notConfigured: [String: String]
    /// How many steps will or may run, and who the AWS caller is when it was asked.
    package var running: Int
    package var principal: String?
    /// Per step, the calls AWS said it may not make: a drill's readiness table lists them.
    package var denied: [String: [String]] = [:]

    package var blocking: [Finding] { findings.filter { $0.kind == .blocking } }
    /// Problems worth a pause that do not stop the run.
    package var warnings: [Finding] { findings.filter { [.notConfigured, .willFail, .unknown].contains($0.kind) } }
  }

  /// Checks every step that will or may run. A step is needed for containment when it is in the
  /// contain phase, or before it and not `continue-on-error` (its failure stops the run before
  /// containment): a missing credential or permission there is blocking. Elsewhere a half-set
  /// configuration, or any missing one on a `continue-on-error` step, is "not configured"; what
  /// is left will fail at its turn. `satisfied` names requirements met in ways variables cannot
  /// show (an AWS profile in ~/.aws). `host` builds defaults such as the e-mail sender.
  package func decide(
    registry: ActionRegistry, environment env: [String: String], satisfied: Set<String> = [], aws: AWSAnswers,
    vault: VaultAnswers = .notAsked, host: String, runbook: String
  ) -> Decision {
    var findings: [Finding] = []
    var skipped: [String: String] = [:]
    var denied: [String: [String]] = [:]
    func add(_ kind: Finding.Kind, _ step: String, _ message: String, _ fix: String?) {
      if let i = findings.firstIndex(where: { $0.kind == kind && $0.message == message && $0.fix == fix }) {
        if !findings[i].steps.contains(step) { findings[i].steps.append(step) }
      } else {
        findings.append(Finding(kind: kind, steps: [step], message: message, fix: fix))
      }
    }
    for plan in running {
      let step = plan.step
      guard let descriptor = registry.action(named: step.action)?.descriptor, !descriptor.offline else { continue }
      let critical = step.phase == .contain || (step.phase < .contain && !step.continueOnError)
      var problems = 0
      for req in descriptor.requirements {
        if req.isMet(in: env) || satisfied.contains(req.what) {
          for (name, d) in req.defaults.sorted(by: { $0.key < $1.key }) where (env[name] ?? "").isEmpty {
            add(
              .note, step.id, "\(name) is not set: using \(d.value(environment: env, host: host))",
              "set \(name) to choose another")
          }
          continue
        }
        problems += 1
        let half = req.isHalfSet(in: env)
        let unset = req.unset(in: env)
        let message =
          half
          ? "\(req.what): half configured, \(unset.joined(separator: " and ")) not set"
          : "\(req.what): not configured"
        let fix = half ? "set \(unset.joined(separator: " and "))" : req.missingDescription
        if critical {
          add(.blocking, step.id, message, fix)
        } else if half || step.continueOnError {
          add(.notConfigured, step.id, message, fix + "; until then the step is skipped and listed as a follow-up")
          skipped[step.id] = "\(message) (\(fix))"
        } else {
          add(.willFail, step.id, message, fix)
        }
      }
      guard problems == 0 else { continue }
      for (message, fix) in Self.refusals(plan, aws: aws, vault: vault, runbook: runbook) {
        add(critical ? .blocking : .willFail, step.id, message, fix)
        denied[step.id, default: []].append(message)
      }
    }
    var principal: String?
    switch aws {
    case .unknown(let why):
      findings.append(
        Finding(
          kind: .unknown, steps: [], message: "AWS permissions could not be checked (\(why)); going on",
          fix: "allow iam:SimulatePrincipalPolicy on the responder itself to have them checked"))
    case .decided(let p, _): principal = p
    case .notAsked: break
    }
    if case .unknown(let why) = vault {
      findings.append(
        Finding(
          kind: .unknown, steps: [], message: "Vault/OpenBao permissions could not be checked (\(why)); going on",
          fix: nil))
    }
    return Decision(
      findings: findings, notConfigured: skipped, running: running.count, principal: principal, denied: denied)
  }
}

extension Preflight {
  /// What the provider said this step may not do: Vault paths the token lacks a capability on,
  /// AWS calls IAM would refuse. Each with the fix.
  fileprivate static func refusals(_ plan: StepPlan, aws: AWSAnswers, vault: VaultAnswers, runbook: String)
    -> [(message: String, fix: String)]
  {
    var out: [(message: String, fix: String)] = []
    if case .decided(let capabilities) = vault {
      for need in plan.vaultNeeds {
        let granted = capabilities[need.path] ?? ["deny"]
        let lacking = missing(need.capabilities, granted: granted)
        guard !lacking.isEmpty else { continue }
        let wanted = need.capabilities.map { "\"\($0)\"" }.joined(separator: ", ")
        out.append(
          (
            "the Vault/OpenBao token may not \(lacking.joined(separator: " or ")) \(need.path) "
              + "(it has: \(granted.joined(separator: ", ")))",
            "add to the token's policy: path \"\(need.path)\" { capabilities = [\(wanted)] } "
              + "(`respond policy \(runbook) --vault` prints them all)"
          ))
      }
    }
    if case .decided(let principal, let decisions) = aws {
      for call in plan.awsCalls {
        guard let decision = decisions[call.iamAction.lowercased()], decision != "allowed" else { continue }
        out.append(
          (
            "\(principal) may not call \(call.iamAction) (\(decision))",
            "allow \(call.iamAction) for it (`respond policy \(runbook)` prints every permission the runbook needs)"
          ))
      }
    }
    return out
  }
}

extension Preflight.Decision {
  /// The lines shown on stderr before the first change.
  package var lines: [String] {
    var head = "preflight: \(running) step(s) will or may run; checked their configuration, credentials"
    head += principal.map { " and AWS permissions (as \($0))" } ?? ""
    var out = [head]
    let order: [Preflight.Finding.Kind] = [.blocking, .willFail, .notConfigured, .unknown, .note]
    for kind in order {
      for f in findings where f.kind == kind {
        let steps = f.steps.isEmpty ? "" : "step \(f.steps.joined(separator: ", ")): "
        out.append("  " + kind.rawValue.padding(16) + steps + f.message)
        if let fix = f.fix { out.append("  " + "".padding(16) + "fix: " + fix) }
      }
    }
    if out.count == 1 { out.append("  ok: every step can run as configured") }
    return out
  }
}
