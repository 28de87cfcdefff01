import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `respond approve`: a person approves a step stopped at its approval gate, possibly the second
/// of two (`approval: two-person`). Only records the approval: the run is continued by the
/// responder with `respond resume`, who holds the credentials and secret inputs the approver
/// need not have.
package enum IncidentApproval {
  package struct Refused: Error, CustomStringConvertible {
    package var description: String
  }

  /// What the recorded approval leaves to do.
  package struct Recorded: Sendable {
    package var state: IncidentState
    /// Every approval the step needs is now given.
    package var complete: Bool
    /// What to run next, worded for the person who approved.
    package var next: String
  }

  /// Appends the approval to the journal (never while a respond process holds the incident),
  /// re-renders the reports and says what is next.
  package static func approve(
    directory: String, step: String, by person: ApprovalPerson, host: String, now: Date = Date()
  ) throws -> Recorded {
    try IncidentFolder.checkOwned(directory)
    // Held for the append: a resume or run on this incident cannot start meanwhile.
    let held = try holdIncidentLocks(directory)
    defer {
      for fd in held {
        flock(fd, LOCK_UN)
        close(fd)
      }
    }
    let path = directory + "/journal.jsonl"
    let state = try IncidentState.load(journal: path)
    if let why = refusal(state, step: step, person: person) { throw Refused(description: why) }
    let journal = try Journal(
      path: path, masker: Masker(formats: NoCredentialFormats()), nextSeq: (state.records.last?.seq ?? 0) + 1,
      lastHash: state.lastHash)
    var updated = state
    updated.apply(
      try journal.append(.approval(step: step, by: person, host: host, via: .command, granted: true, at: now)))
    try ReportWriter.write(state: updated, directory: directory)
    let needed = needed(updated, step: step)
    let standing = updated.standingApprovals(for: step)
    let complete = StepPolicy.distinctPeople(standing) >= needed
    let next =
      complete
      ? "step '\(step)' has its approvals: run `respond resume \(directory)` to continue the response"
      : StepPolicy.nextSteps(step: step, needed: needed, standing: standing, directory: directory)
    return Recorded(state: updated, complete: complete, next: next)
  }

  /// How many people `step` needs, from the journaled plan.
  static func needed(_ state: IncidentState, step: String) -> Int {
    state.plan.first { $0.id == step }?.approvers ?? 1
  }

  /// Why `person` cannot approve `step` in this incident, or nil when they can. Pure.
  package static func refusal(_ state: IncidentState, step: String, person: ApprovalPerson) -> String? {
    if let (line, reason) = state.damagedLines.first {
      return "the journal was altered (line \(line) \(reason)); nothing was recorded"
    }
    guard let info = state.incident else { return "the journal has no run-started record" }
    if info.mode.isDry { return "this incident was a drill: nothing changes, so there is nothing to approve" }
    guard let entry = state.plan.first(where: { $0.id == step }) else {
      let gated = state.plan.filter(\.approval).map { "`\($0.id)`" }.joined(separator: ", ")
      return "no step '\(step)' in this incident; steps behind an approval gate: \(gated.isEmpty ? "none" : gated)"
    }
    guard entry.approval else { return "step '\(step)' does not need approval" }
    guard state.status == .stoppedAtApproval, state.stoppedAt == step else {
      let now =
        state.status == nil
        ? "the run has not finished (its process stopped): `respond resume \(info.directory)` first"
        : state.status == .stoppedAtApproval
          ? "the run is waiting at step '\(state.stoppedAt ?? "?")'" : "the run is \(state.status!.rawValue)"
      return "step '\(step)' is not waiting for approval: \(now)"
    }
    return StepPolicy.refusal(
      of: person, step: step, needed: needed(state, step: step), standing: state.standingApprovals(for: step),
      starter: state.starter)
  }

  /// Takes, without waiting, every lock file in the incident's output folder that names this
  /// incident (`IncidentLock` writes it there): a respond process running or resuming it holds
  /// one, and the approval is refused rather than written under it.
  static func holdIncidentLocks(_ directory: String) throws -> [Int32] {
    let incident = URL(fileURLWithPath: directory).standardizedFileURL.path
    let locks = ((incident as NSString).deletingLastPathComponent as NSString).appendingPathComponent(".locks")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: locks)) ?? []
    var held: [Int32] = []
    for name in names.sorted() where name.hasSuffix(".lock") {
      let path = (locks as NSString).appendingPathComponent(name)
      guard let text = try? String(contentsOfFile: path, encoding: .utf8),
        text.split(separator: "\n").contains(Substring("incident \(incident)"))
      else { continue }
      let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
      if fd < 0 { continue }
      if flock(fd, LOCK_EX | LOCK_NB) != 0 {
        close(fd)
        for h in held {
          flock(h, LOCK_UN)
          close(h)
        }
        let pid = text.split(separator: "\n").first { $0.hasPrefix("pid ") }.map { " (\($0))" } ?? ""
        throw Refused(
          description: "the incident is locked by a running respond process\(pid): let it stop at its gate first")
      }
      held.append(fd)
    }
    return held
  }
}
