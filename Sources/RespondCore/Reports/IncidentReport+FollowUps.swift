import Foundation

/// What is left for people, derived from the steps: follow-ups (manual steps, failures the run
/// continued past, what containment could not prove) and the one-line outcome.
extension IncidentReport {
  /// Follow-ups: what a human still has to do.
  static func followUps(_ steps: [StepLine], _ state: IncidentState, decided: ContainmentVerdict?) -> [FollowUp] {
    var follow: [FollowUp] = []
    let dir = state.incident?.directory ?? "<incident folder>"
    switch state.status {
    case .failed?, .interrupted?, nil:
      if let at = state.stoppedAt ?? steps.last(where: { $0.outcome == "failed" || $0.outcome == "interrupted" })?.id {
        follow.append(
          FollowUp(text: "Fix the cause of the failure at step `\(at)`, then run `respond resume \(dir)`", done: false))
      } else if state.status == nil {
        follow.append(
          FollowUp(
            text: "The run did not record its end (the process stopped): run `respond resume \(dir)`", done: false))
      }
    case .stoppedAtApproval?:
      follow.append(
        FollowUp(
          text: "Approve step `\(state.stoppedAt ?? "?")`: run `respond resume \(dir)` at a terminal, or with `--yes`",
          done: false))
    case .needsOperator?:
      follow.append(FollowUp(text: state.stopMessage ?? "Check the interrupted step, then resume", done: false))
    case .completed?:
      break
    }
    for s in steps where s.action == "manual" && s.outcome == StepOutcome.succeeded.rawValue {
      let instruction = s.outputs["instruction"]?.stringValue ?? s.summary ?? s.title
      let done = s.outputs["done"]?.boolValue ?? false
      // A manual step listing items (each resource an attacker left) is one follow-up per item.
      let items = (s.outputs["items"]?.arrayValue ?? []).compactMap(\.stringValue)
      if items.isEmpty {
        follow.append(FollowUp(text: instruction, done: done))
      } else {
        follow += items.map { FollowUp(text: "\(instruction): \($0)", done: done) }
      }
    }
    for s in steps where s.outcome == StepOutcome.failed.rawValue && s.id != state.stoppedAt {
      follow.append(
        FollowUp(text: "Step `\(s.id)` (\(s.action)) failed and the run continued: \(s.error ?? "")", done: false))
    }
    // Steps the preflight found not configured were skipped at their turn (live runs only).
    for s in steps
    where !(state.incident?.mode.isDry ?? false) && s.outcome == StepOutcome.skippedCondition.rawValue
      && !s.missing.isEmpty
    {
      follow.append(
        FollowUp(
          text: "Step `\(s.id)` (\(s.action)) was skipped, not configured: \(s.missing.joined(separator: "; "))",
          done: false))
    }
    if state.incident?.mode.isDry ?? false {
      follow.append(
        FollowUp(text: "This was a drill: nothing was changed. Run without --dry-run to respond for real", done: false))
    } else if let decided, decided.verdict != .contained {
      follow += containmentFollowUps(steps, decided: decided, dir: dir)
    }
    return follow
  }

  /// What a person must do when the credential is not proved contained.
  static func containmentFollowUps(_ steps: [StepLine], decided: ContainmentVerdict, dir: String) -> [FollowUp] {
    let confirm = decided.confirmable.first.map { "`respond confirm \(dir) --step \($0)`" }
    let containSteps = steps.filter { $0.phase == .contain }
    switch decided.verdict {
    case .unverified:
      return [
        FollowUp(
          text: "Prove the credential no longer works (call the provider with it), then record it: "
            + (confirm ?? "`respond confirm \(dir) --step <step>`"), done: false)
      ]
    case .notContained where containSteps.allSatisfy({ $0.outcome != StepOutcome.failed.rawValue }):
      return [
        FollowUp(
          text: "The credential is NOT contained: contain it by hand (see the manual steps)"
            + (confirm.map { ", then record it: \($0)" } ?? ""), done: false)
      ]
    default: return []
    }
  }

  /// The line a person acts on. A drill's own reminder ("this was a drill") is listed but is
  /// nothing a human must do.
  func statusLineText(_ state: IncidentState, decided: ContainmentVerdict?) -> String {
    let open = followUps.filter { !$0.done }.count - (dryRun ? 1 : 0)
    let humans =
      open == 0
      ? "nothing left for a human" : "\(open) follow-up\(open == 1 ? "" : "s") need\(open == 1 ? "s" : "") a human"
    var line: String
    if dryRun {
      let failed = steps.filter { $0.outcome == StepOutcome.failed.rawValue }.count
      let changes = steps.filter { $0.outcome == StepOutcome.skippedDryRun.rawValue && $0.mutates != false }.count
      line = "DRILL: nothing was changed. \(changes) step(s) would change state"
      if failed > 0 { line += "; \(failed) step(s) failed" }
      // Only the branch this drill took counts here; the table lists every branch.
      let taken = Set(steps.filter { $0.outcome != StepOutcome.skippedCondition.rawValue }.map(\.id))
      let notReady = (readiness ?? []).filter { !$0.ready && taken.contains($0.step) }.count
      if notReady > 0 { line += "; \(notReady) step(s) of this branch not ready here (see Drill readiness)" }
    } else if let decided {
      switch decided.verdict {
      case .contained:
        let ttc = timeToContainmentMs.map { " (\(formatMs($0)) after the start)" } ?? ""
        line = "LIVE: CONTAINED at \(containedAt.map(ISO8601.string) ?? "?")\(ttc), \(decided.reason)"
      case .unverified, .notContained:
        line = "LIVE: \(decided.verdict.rawValue): \(decided.reason)"
      }
    } else {
      line = "LIVE: nothing to contain in this runbook"
    }
    switch state.status {
    case .completed?: line += "; run completed"
    case .failed?: line += "; run FAILED at step `\(state.stoppedAt ?? "?")` (resumable)"
    case .stoppedAtApproval?: line += "; run STOPPED at approval gate `\(state.stoppedAt ?? "?")` (resumable)"
    case .needsOperator?: line += "; run STOPPED: a human must check step `\(state.stoppedAt ?? "?")`"
    case .interrupted?: line += "; run INTERRUPTED (resumable)"
    case nil: line += "; run did not finish (the process stopped; resumable)"
    }
    return line + "; " + humans + "."
  }
}
