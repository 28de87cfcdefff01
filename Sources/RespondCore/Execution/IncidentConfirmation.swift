import Foundation

/// `respond confirm`: a person states that a containment respond could not prove (a manual step,
/// or a change nothing verified) is done. The statement is journaled with who, where and when, so
/// the verdict CONTAINED it produces always names the person it rests on.
package enum IncidentConfirmation {
  package struct Refused: Error, CustomStringConvertible {
    package var description: String
  }

  /// Appends the confirmation to the incident's journal, re-renders the reports and returns the
  /// state as the journal now tells it.
  package static func confirm(
    directory: String, step: String, by person: String, host: String, now: Date = Date()
  ) throws -> IncidentState {
    // Another user's folder may hold a journal of their making: never append to it.
    try IncidentFolder.checkOwned(directory)
    let path = directory + "/journal.jsonl"
    let state = try IncidentState.load(journal: path)
    if let why = refusal(state, step: step) { throw Refused(description: why) }
    let journal = try Journal(
      path: path, masker: Masker(formats: NoCredentialFormats()), nextSeq: (state.records.last?.seq ?? 0) + 1,
      lastHash: state.lastHash)
    var r = JournalRecord(at: now, type: .confirmation)
    r.step = step
    r.operator = person
    r.host = host
    r.decision = "respond confirm"
    // The journal just written is the state read plus this record: fold it, do not read again.
    var updated = state
    updated.apply(try journal.append(r))
    try ReportWriter.write(state: updated, directory: directory)
    return updated
  }

  /// Why `step` cannot be confirmed in this incident, or nil when it can. Pure.
  package static func refusal(_ state: IncidentState, step: String) -> String? {
    if let (line, reason) = state.damagedLines.first {
      return "the journal was altered (line \(line) \(reason)); nothing was recorded"
    }
    guard let info = state.incident else { return "the journal has no run-started record" }
    if info.mode.isDry { return "this incident was a drill: nothing was changed, so there is nothing to confirm" }
    guard state.status != nil else {
      return "the incident's run has not finished (it is running, or its process stopped): "
        + "let it finish or run `respond resume \(info.directory)` first"
    }
    let confirmable = ContainmentVerdict.decide(state)?.confirmable ?? []
    guard confirmable.contains(step) else {
      let known = state.plan.contains { $0.id == step }
      let list = confirmable.isEmpty ? "none in this incident" : confirmable.map { "`\($0)`" }.joined(separator: ", ")
      return (known ? "step '\(step)' is not a containment step that ran here" : "no step '\(step)' in this incident")
        + "; steps a person can confirm: \(list)"
    }
    return nil
  }
}
