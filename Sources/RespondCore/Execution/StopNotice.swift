/// Decides what a stuck run sends: which `on-stop` steps run for this stop, and the exact command
/// that continues the incident. Pure: the runbook, the journal state and how the run ended in,
/// a decision out, so a rehearsal test can check it without a network.
package struct StopNotice: Sendable, Equatable {
  /// What identifies one stop: how the run ended and where. A resume that stops again at the same
  /// step in the same way is the same stop (nobody needs a second page); a stop elsewhere, or a
  /// failure where an approval gate was, is a new one. The error text is left out on purpose: it
  /// carries request ids and times that differ on every attempt.
  package var key: String
  /// The step the run stopped at.
  package var stoppedAt: String
  /// Why, as the run's finish message says it (masked by the caller).
  package var reason: String
  /// `respond resume DIR` with every withheld (secret) input to pass again.
  package var resumeCommand: String

  /// The notice for a run that ended with `status` at `step`; nil when the run did not stop in a
  /// way a person must pick up (it completed, or a signal interrupted it).
  package static func decide(
    status: RunStatus, at step: String?, reason: String?, directory: String, withheldInputs: [String]
  ) -> StopNotice? {
    switch status {
    case .failed, .stoppedAtApproval, .needsOperator: break
    case .completed, .interrupted: return nil
    }
    let at = step ?? "start"
    return StopNotice(
      key: "\(status.rawValue):\(at)", stoppedAt: at, reason: reason ?? status.rawValue,
      resumeCommand: resumeCommand(directory: directory, withheldInputs: withheldInputs))
  }

  /// The command that continues the incident. Secret inputs are never journaled, so resume needs
  /// them again: `--name -` reads each from standard input, off the command line.
  package static func resumeCommand(directory: String, withheldInputs: [String]) -> String {
    (["respond resume \(shellQuoted(directory))"] + withheldInputs.sorted().map { "--\($0) -" })
      .joined(separator: " ")
  }

  /// The `on-stop` steps still to send for this stop: every one, except those whose last
  /// send succeeded for this same stop (journal-based, so it holds across processes).
  package func pending(_ onStop: [Step], state: IncidentState) -> [Step] {
    onStop.filter { step in
      guard let s = state.steps[step.id] else { return true }
      return !(s.outcome == .succeeded && s.stopKey == key)
    }
  }

  /// A path as a shell word: plain when it is safe to paste as is, else single-quoted.
  static func shellQuoted(_ s: String) -> String {
    let plain = s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:@,=".contains($0) }
    if plain && !s.isEmpty { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
