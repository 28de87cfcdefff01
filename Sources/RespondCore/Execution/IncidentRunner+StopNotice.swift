import Foundation

extension IncidentRunner {
  /// Runs the runbook's `on-stop` steps when the run stopped where a person must pick it up (an
  /// approval gate, a failure, an interrupted step to check), so nobody learns of a stuck response
  /// from silence. Journaled like any step; a failure here is recorded and changes nothing about
  /// how the run ends. A stop already announced (same step, same way) is not announced again.
  func sendStopNotice(status: RunStatus, at step: String?, message: String?) async {
    guard !runbook.onStop.isEmpty,
      let notice = StopNotice.decide(
        status: status, at: step, reason: message, directory: incidentDirectory,
        withheldInputs: state.withheldInputs)
    else { return }
    let pending = notice.pending(runbook.onStop, state: state)
    if pending.count < runbook.onStop.count {
      progress.line("  on-stop: already sent for this stop (\(notice.key)); not sending again")
    }
    stopNotice = notice
    defer { stopNotice = nil }
    for step in pending { _ = try? await run(step) }
  }
}
