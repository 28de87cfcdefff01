import Foundation

/// Whether an incident may be resumed with a runbook: a pure decision, made before any lock is
/// taken or anything is sent. Resume acts on what the journal says happened, so it must refuse a
/// journal that was altered, and a runbook other than the one the incident started with (a
/// different file could do anything, under the responder's credentials).
package enum ResumeCheck {
  /// Why the incident cannot be resumed, or nil when it can.
  package static func refusal(_ state: IncidentState, runbookDigest: String, runbookPath: String) -> String? {
    if let (line, reason) = state.damagedLines.first {
      let more = state.damagedLines.count > 1 ? " (and \(state.damagedLines.count - 1) more line(s))" : ""
      return "the journal was altered: line \(line) \(reason)\(more). respond will not act on it; "
        + "`respond verify` shows every problem, and a new incident starts clean"
    }
    guard let recorded = state.runbookDigest, !recorded.isEmpty else {
      return "the journal does not record which runbook it ran (no runbook digest), so resume cannot check it"
    }
    if recorded != runbookDigest {
      return "\(runbookPath) is not the runbook this incident started with (sha256 \(recorded.prefix(12))… "
        + "recorded, \(runbookDigest.prefix(12))… found). Resume with the same file (--runbooks DIR), "
        + "or start a new incident"
    }
    return nil
  }
}
