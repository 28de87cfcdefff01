import Foundation

/// What respond may say about a leaked credential once a live run has ended. Decided from the
/// journal alone, so a report rendered months later says exactly what the run said.
package enum Verdict: String, Codable, Sendable {
  /// A verification after the change proved it, or a named person confirmed a manual containment.
  case contained = "CONTAINED"
  /// Something was changed, but nothing proved the credential dead.
  case unverified = "UNVERIFIED"
  /// A verification failed, or nothing could act.
  case notContained = "NOT CONTAINED"
}

/// A person's statement that a manual containment step was carried out (`respond confirm`, or
/// "yes" at the terminal when the manual step asked).
package struct Confirmation: Codable, Sendable, Equatable {
  package var step: String
  package var by: String
  package var at: Date
  /// How it was given: "respond confirm" or "terminal".
  package var how: String
}

/// The verdict and the evidence it rests on.
package struct ContainmentVerdict: Sendable, Equatable {
  package var verdict: Verdict
  /// The step whose success proved containment.
  package var verifiedBy: String?
  /// The person who confirmed a manual containment.
  package var confirmation: Confirmation?
  /// When containment was proved or confirmed.
  package var at: Date?
  /// One clause saying why, for the status line.
  package var reason: String
  /// The steps a person could confirm with `respond confirm` to settle the verdict.
  package var confirmable: [String]

  /// Decides the verdict of a live run. Returns nil when the runbook has no contain phase at all
  /// (there is nothing to contain, so nothing to prove). Pure: journal state in, decision out.
  ///
  /// Precedence: a failed verification means the credential was seen alive after the change, so
  /// it outweighs anything else; then a succeeded verification; then a person's confirmation;
  /// then a change nobody proved (UNVERIFIED); else nothing acted (NOT CONTAINED).
  package static func decide(_ state: IncidentState) -> ContainmentVerdict? {
    let containPlan = state.plan.filter { $0.phase == .contain }
    if containPlan.isEmpty { return nil }
    let verifications = containPlan.filter { !($0.verifies ?? []).isEmpty }
    let manual = containPlan.filter { $0.action == "manual" }
    let changes = containPlan.filter { $0.mutates && $0.action != "manual" }
    func outcome(_ id: String) -> StepOutcome? { state.steps[id]?.outcome }
    let confirmable = (manual + changes).map(\.id).filter { outcome($0) == .succeeded }
    var verdict = ContainmentVerdict(
      verdict: .notContained, verifiedBy: nil, confirmation: nil, at: nil, reason: "", confirmable: confirmable)

    if let failed = verifications.first(where: { outcome($0.id) == .failed }) {
      verdict.reason = "verification `\(failed.id)` failed: the credential still worked after the change"
      return verdict
    }
    if let proof = verifications.first(where: { outcome($0.id) == .succeeded }) {
      verdict.verdict = .contained
      verdict.verifiedBy = proof.id
      verdict.at = state.steps[proof.id]?.finishedAt
      verdict.reason = "verified by step `\(proof.id)`"
      return verdict
    }
    if let confirmation = confirmations(state).first(where: { confirmable.contains($0.step) }) {
      verdict.verdict = .contained
      verdict.confirmation = confirmation
      verdict.at = confirmation.at
      verdict.reason = "confirmed by \(confirmation.by) (\(confirmation.how), step `\(confirmation.step)`)"
      return verdict
    }
    if let changed = changes.first(where: { outcome($0.id) == .succeeded }) {
      verdict.verdict = .unverified
      verdict.reason = "`\(changed.id)` changed state but no verification proved the credential dead"
      return verdict
    }
    if let failed = changes.first(where: { outcome($0.id) == .failed }) {
      verdict.reason = "containment step `\(failed.id)` failed"
    } else if !confirmable.isEmpty {
      verdict.reason = "containment is left to a person: confirm it with `respond confirm` once done"
    } else if let waiting = changes.first(where: { outcome($0.id) == .stoppedAtApproval }) {
      // Not "nothing could act": the change is there, waiting for a person's yes.
      verdict.reason = "containment has not run yet: `\(waiting.id)` waits for approval"
    } else {
      verdict.reason = "no containment step could act on this credential"
    }
    return verdict
  }

  /// Every confirmation in the journal: `respond confirm` records, and manual steps answered
  /// "done" at the terminal by the operator of that run.
  package static func confirmations(_ state: IncidentState) -> [Confirmation] {
    var out = state.confirmations
    for entry in state.plan where entry.phase == .contain && entry.action == "manual" {
      guard let s = state.steps[entry.id], s.outcome == .succeeded, s.outputs["done"]?.boolValue == true else {
        continue
      }
      out.append(
        Confirmation(
          step: entry.id, by: state.operatorName ?? "the operator", at: s.finishedAt ?? Date(), how: "terminal"))
    }
    return out.sorted { $0.at < $1.at }
  }
}
