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

  /// The inputs a resume corrects: `given` values for journaled (non-secret) inputs that differ
  /// from what the journal holds. A correction is accepted only for an input no step has used
  /// yet (a step that succeeded or was skipped by its condition decided on the old value), and
  /// only when it matches the input's pattern; otherwise the reason is thrown. Without this a
  /// bad `--vault-path` found at store-vault could never be fixed: resume kept the journaled one.
  package static func corrections(
    given: [String: String], state: IncidentState, runbook: Runbook
  ) throws(UsageError) -> [String: String] {
    var out: [String: String] = [:]
    for (name, value) in given.sorted(by: { $0.key < $1.key }) {
      guard let spec = runbook.input(name), !spec.secret, !state.withheldInputs.contains(name),
        let recorded = state.inputs[name]?.stringValue ?? spec.defaultValue, recorded != value
      else { continue }
      if let pattern = spec.pattern, !InputSpec.matches(value, pattern: pattern) {
        throw UsageError("--\(name) does not have the expected form (pattern \(pattern))")
      }
      let used = runbook.steps.filter { step in
        let decided = state.steps[step.id]?.outcome.map { $0 == .succeeded || $0 == .skippedCondition } ?? false
        return decided
          && step.templates.flatMap(\.references).contains {
            $0.path.count >= 2 && $0.path[0] == "inputs" && $0.path[1] == name
          }
      }
      if !used.isEmpty {
        throw UsageError(
          "--\(name) cannot be changed on resume: step(s) \(used.map { "'\($0.id)'" }.joined(separator: ", ")) already "
            + "ran with '\(recorded)'; start a new incident to use another value")
      }
      out[name] = value
    }
    return out
  }
}
