import Foundation

extension PostmortemDraft {
  // MARK: - One timeline

  /// The attacker's events (actor, source IP, user agent, event id) interleaved with respond's
  /// actions and people's approvals and confirmations, oldest first. At the same instant the
  /// attacker's event comes first: it is what respond answered. respond's and people's entries
  /// of the same millisecond keep the journal's order (a check finishing and the next step's
  /// approval often share one), so the draft does not depend on the clock's resolution.
  static func timeline(_ state: IncidentState, events: [EvidenceEvent]) -> [TimelineEntry] {
    var out = events.map { e in
      var detail: [String] = []
      if let actor = e.actor { detail.append("actor \(actor)") }
      if let ip = e.sourceIP { detail.append("from \(ip)") }
      if let agent = e.userAgent { detail.append("agent \(agent)") }
      if let id = e.id { detail.append("event id \(id)") }
      if detail.isEmpty, let d = e.detail { detail.append(d) }
      return TimelineEntry(at: e.time, kind: .attacker, what: e.name, detail: detail.joined(separator: "; "))
    }
    let person = state.operatorName ?? "the operator"
    for r in state.records { if let entry = entry(r, person: person) { out.append(entry) } }
    return out.enumerated().sorted { a, b in
      if a.element.at != b.element.at { return a.element.at < b.element.at }
      let (aAttacker, bAttacker) = (a.element.kind == .attacker, b.element.kind == .attacker)
      if aAttacker != bAttacker { return aAttacker }
      return a.offset < b.offset
    }.map(\.element)
  }

  /// A journal record as a timeline line, nil for those that say nothing new (a step's start,
  /// a step of a branch that did not apply).
  static func entry(_ r: JournalRecord, person: String) -> TimelineEntry? {
    let step = r.step.map { "`\($0)`" } ?? ""
    switch r.type {
    case .runStarted:
      return TimelineEntry(at: r.at, kind: .respond, what: "run started", detail: "by \(r.operator ?? person)")
    case .runResumed:
      return TimelineEntry(at: r.at, kind: .respond, what: "run resumed", detail: "by \(r.operator ?? person)")
    case .stepFinished:
      guard let outcome = r.outcome, outcome != .skippedCondition else { return nil }
      return TimelineEntry(
        at: r.at, kind: .respond, what: "\(step) (\(r.action ?? "?")): \(outcome.label)",
        detail: r.error ?? r.summary ?? "")
    case .stepRetry:
      return TimelineEntry(
        at: r.at, kind: .respond, what: "\(step) attempt \(r.attempt ?? 0) failed", detail: r.error ?? "")
    case .approval:
      return TimelineEntry(
        at: r.at, kind: .person, what: "approval of \(step): \(r.decision ?? "?")",
        // Who, from which account and how: four eyes are read from here in the postmortem.
        detail: "by \(r.operator ?? person)" + (r.account.map { " (\($0))" } ?? "") + (r.via.map { " via \($0)" } ?? "")
      )
    case .confirmation:
      return TimelineEntry(
        at: r.at, kind: .person, what: "\(step) confirmed done by \(r.operator ?? "unknown")",
        detail: r.decision ?? "respond confirm")
    case .runFinished:
      return TimelineEntry(
        at: r.at, kind: .respond, what: "run \(r.status?.rawValue ?? "ended")", detail: r.note ?? "")
    case .stepStarted, .note:
      return nil
    }
  }

  // MARK: - What went well, what did not

  /// The review: what went well (proved containment, evidence kept, quick notification, no
  /// retries) and what did not (retries, failures, manual steps and approval gates and how long
  /// each waited for a person, resumes).
  /// `distinctEvents`: the key's events once each (CloudTrail and CloudWatch Logs hold the same
  /// events: summed per search, the draft would count every event twice).
  static func review(_ state: IncidentState, report: IncidentReport, distinctEvents: Int) -> (
    well: [String], badly: [String]
  ) {
    var well: [String] = []
    var badly: [String] = []
    let finished = report.steps.filter { $0.outcome != StepOutcome.skippedCondition.rawValue }
    if let ttc = report.timeToContainmentMs, let by = report.verifiedBy ?? report.confirmedBy {
      well.append("Containment was proved \(formatMs(ttc)) after the start (\(by)).")
    } else if let verdict = report.verdict {
      badly.append("Containment was not proved: \(verdict.rawValue), \(report.verdictReason ?? "").")
    }
    if !report.evidence.isEmpty {
      // Samples are capped: a search that counted more than its sample holds sets the floor.
      let distinctEvents = max(distinctEvents, report.evidence.map(\.evidence.eventCount).max() ?? 0)
      well.append(
        "The audit logs were searched (\(report.evidence.map { "`\($0.step)`" }.joined(separator: ", "))): "
          + "\(distinctEvents) distinct event(s) made with the key.")
    }
    if !report.evidenceFiles.isEmpty {
      well.append(
        "\(report.evidenceFiles.count) provider answer(s) kept under `evidence/`, each hashed in the journal.")
    }
    for s in finished where s.attempts > 1 {
      let why = s.notes.filter { $0.hasPrefix("attempt") }.joined(separator: "; ")
      badly.append("Step `\(s.id)` needed \(s.attempts) attempts\(why.isEmpty ? "" : ": \(why)").")
    }
    for s in finished where s.outcome == StepOutcome.failed.rawValue {
      badly.append("Step `\(s.id)` (\(s.action)) failed: \(s.error ?? "no error recorded").")
    }
    badly += manualWaits(state, report: report) + approvalWaits(state)
    let told = finished.contains { notifiesPeople($0.action) && $0.outcome == StepOutcome.succeeded.rawValue }
    if !told {
      badly.append("No person was notified by respond (no Slack, PagerDuty or e-mail step succeeded).")
    }
    if !state.resumes.isEmpty { badly.append("The run had to be resumed \(state.resumes.count) time(s).") }
    if finished.allSatisfy({ $0.attempts <= 1 && $0.outcome != StepOutcome.failed.rawValue }) {
      well.append("Every step that applied finished at its first attempt, with no failure.")
    }
    return (well, badly)
  }

  /// Manual steps: what was left to a person, and how long until someone confirmed it.
  static func manualWaits(_ state: IncidentState, report: IncidentReport) -> [String] {
    report.steps.filter { $0.action == "manual" && $0.outcome == StepOutcome.succeeded.rawValue }.map { s in
      let what = "Step `\(s.id)` was left to a person"
      guard let done = state.confirmations.first(where: { $0.step == s.id }) else {
        return s.outputs["done"]?.boolValue == true
          ? "\(what); they did it at the terminal." : "\(what) and is not confirmed yet."
      }
      let waited = s.finishedAt.map { " after \(formatMs(Int((done.at.timeIntervalSince($0) * 1000).rounded())))" }
      return "\(what); \(done.by) confirmed it (\(done.how))\(waited ?? "")."
    }
  }

  /// Approval gates where the run stopped: how long until a person approved and it went on.
  static func approvalWaits(_ state: IncidentState) -> [String] {
    var out: [String] = []
    var stopped: (step: String, at: Date)?
    for r in state.records {
      if r.type == .runFinished, r.status == .stoppedAtApproval, let step = r.step { stopped = (step, r.at) }
      if r.type == .approval, let gate = stopped, r.step == gate.step, r.decision?.hasPrefix("granted") == true {
        let ms = Int((r.at.timeIntervalSince(gate.at) * 1000).rounded())
        out.append("The run waited \(formatMs(ms)) at the approval gate of step `\(gate.step)` for a person.")
        stopped = nil
      }
    }
    if let gate = stopped { out.append("Step `\(gate.step)` is still waiting for approval.") }
    return out
  }
}
