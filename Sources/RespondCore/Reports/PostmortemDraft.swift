import Foundation

/// The facts of a postmortem, drawn from the journal alone (the evidence files are copies of what
/// the journal's step records hold): what leaked and what it did, the exposure window, the
/// response's four times, one interleaved timeline, what went well and what did not, and the
/// action items. Only root cause and lessons are left to people: they are judgements.
package struct PostmortemDraft: Sendable {
  /// The owner's permissions as a step summarised them, and which step read them.
  package struct PermissionsRead: Sendable, Equatable {
    package var step: String
    package var summary: String
  }

  /// One of the four response times, with the two moments it is measured between.
  package struct Interval: Sendable, Equatable {
    package var name: String
    package var meaning: String
    package var from: (label: String, at: Date)?
    package var to: (label: String, at: Date)?
    package var ms: Int? {
      guard let from, let to else { return nil }
      return Int((to.at.timeIntervalSince(from.at) * 1000).rounded())
    }

    package static func == (a: Interval, b: Interval) -> Bool {
      a.name == b.name && a.from?.label == b.from?.label && a.from?.at == b.from?.at && a.to?.label == b.to?.label
        && a.to?.at == b.to?.at
    }
  }

  /// One line of the timeline: an attacker's event, respond's action, or a person's decision.
  package struct TimelineEntry: Sendable, Equatable {
    package enum Kind: String, Sendable { case attacker, respond, person }
    package var at: Date
    package var kind: Kind
    package var what: String
    package var detail: String
  }

  package var report: IncidentReport
  /// The key's own events found by every audit query, oldest first, each once (by event id).
  package var events: [EvidenceEvent]
  /// Event names by what they did: read, created, changed, other.
  package var impact: [EventClass: [String: Int]]
  /// What triage found the credential's owner may do: its `permissions` summary and the step
  /// that read the policies. Nil when no step read them.
  package var permissions: PermissionsRead?
  /// When the secret was first exposed, and what says so.
  package var exposedAt: (label: String, at: Date)?
  package var times: [Interval]
  package var timeline: [TimelineEntry]
  package var wentWell: [String]
  package var wentBadly: [String]

  /// The steps that succeeded and changed something at a provider or a secret store, in journal
  /// order: not a notification, the report itself, or a manual step (a person's, listed under
  /// the action items), nor a step that lists its changes and made none (an eradication that
  /// found nothing it could undo).
  package var changeSteps: [IncidentReport.StepLine] {
    guard !report.dryRun else { return [] }
    return report.steps.filter {
      $0.outcome == StepOutcome.succeeded.rawValue && $0.mutates == true && $0.action != "manual"
        && !$0.action.hasPrefix("notify.") && !$0.action.hasPrefix("incident.")
        && $0.outputs["changes"]?.arrayValue?.isEmpty != true
    }
  }

  /// Builds the draft from an incident's journal state.
  package init(state: IncidentState, report: IncidentReport? = nil) {
    self.report = report ?? IncidentReport(state: state)
    events = Self.events(state)
    impact = Dictionary(grouping: events, by: { EventClass.of($0.name) }).mapValues { group in
      group.reduce(into: [String: Int]()) { $0[$1.name, default: 0] += 1 }
    }
    permissions = Self.permissions(state)
    exposedAt = Self.exposure(state, events: events)
    times = Self.responseTimes(state, report: self.report, exposedAt: exposedAt)
    timeline = Self.timeline(state, events: events)
    (wentWell, wentBadly) = Self.review(state, report: self.report, distinctEvents: events.count)
  }

  // MARK: - What the key did

  /// Every audit step's sampled events, once each: CloudTrail, CloudWatch Logs and an archive can
  /// report the same event (same id); without an id, the same time and name count once.
  static func events(_ state: IncidentState) -> [EvidenceEvent] {
    var seen: Set<String> = []
    var out: [EvidenceEvent] = []
    for id in state.stepOrder {
      for e in state.steps[id]?.evidence?.events ?? [] {
        let key = e.id ?? "\(ISO8601.precise(e.time)) \(e.name) \(e.sourceIP ?? "")"
        if seen.insert(key).inserted { out.append(e) }
      }
    }
    return out.sorted { $0.time != $1.time ? $0.time < $1.time : $0.name < $1.name }
  }

  /// The owner's permissions as triage summarised them: the first step with a `permissions`
  /// summary (`aws.iam.triage` writes "no permissions found" when it read the policies and found
  /// none, which is a finding, not a gap). Output names are not guessed: a step that did not
  /// summarise permissions says nothing here. Triage runs in the contain phase, right after the
  /// key is made inactive (issue 16), so the phase is not a reason to look away.
  static func permissions(_ state: IncidentState) -> PermissionsRead? {
    for id in state.stepOrder {
      guard let summary = state.steps[id]?.outputs["permissions"]?.stringValue, !summary.isEmpty else { continue }
      return PermissionsRead(step: id, summary: summary)
    }
    return nil
  }

  /// The start of the exposure window: a scanner finding's commit date when a step reported one
  /// (an output named `exposed-at` or `commit-date`), else the first event made with the key.
  static func exposure(_ state: IncidentState, events: [EvidenceEvent]) -> (label: String, at: Date)? {
    for id in state.stepOrder {
      for name in ["exposed-at", "commit-date"] {
        if let s = state.steps[id]?.outputs[name]?.stringValue, let at = ISO8601.parse(s) {
          return ("\(name) reported by step `\(id)`", at)
        }
      }
    }
    return events.first.map { ("the first event made with the key, \($0.name)", $0.time) }
  }

  // MARK: - Response times

  /// TTD, TTN, TTC and TTR as the AWS Security Incident Response Guide uses them (its metrics
  /// for the detection, notification, containment and recovery stages), measured here from the
  /// journal's own timestamps.
  static func responseTimes(_ state: IncidentState, report: IncidentReport, exposedAt: (label: String, at: Date)?)
    -> [Interval]
  {
    let detected = state.startedAt.map { ("respond started (the leak was detected)", $0) }
    let notified = firstSuccess(state, phase: nil) { notifiesPeople($0.action) }
    let recovered = lastSuccess(state, phase: .recover)
    return [
      /// Time to detect: from the exposure (or the key's first use) to the start of the response.
      Interval(
        name: "TTD (time to detect)", meaning: "from the exposure to the start of the response",
        from: exposedAt, to: detected),
      /// Time to notify: from the detection to the first notification that reached people.
      Interval(
        name: "TTN (time to notify)", meaning: "from the detection to the first person notified",
        from: detected, to: notified),
      /// Time to contain: from the detection to containment proved (or confirmed by a person).
      Interval(
        name: "TTC (time to contain)", meaning: "from the detection to verified containment",
        from: detected,
        to: report.containedAt.map { ("containment verified (\(report.verifiedBy ?? "confirmed"))", $0) }),
      /// Time to recover: from the detection to the last recovery step (replacement in place, the
      /// leaked key deleted and checked).
      Interval(
        name: "TTR (time to recover)", meaning: "from the detection to the end of recovery",
        from: detected, to: recovered),
    ]
  }

  /// Whether a step's action tells people (chat, paging, e-mail). `notify.webhook` hands the
  /// report to a machine (a SIEM), which tells nobody: counted as a notification, it made TTN
  /// the time to the last step of a run that paged no one.
  static func notifiesPeople(_ action: String?) -> Bool {
    guard let action, action.hasPrefix("notify.") else { return false }
    return action != "notify.webhook"
  }

  static func firstSuccess(_ state: IncidentState, phase: Phase?, where match: (StepState) -> Bool = { _ in true })
    -> (label: String, at: Date)?
  {
    state.stepOrder.compactMap { state.steps[$0] }
      .filter { ($0.phase == phase || phase == nil) && $0.outcome == .succeeded && match($0) }
      .compactMap { s in s.finishedAt.map { ("step `\(s.id)` (\(s.action ?? "?"))", $0) } }
      .min { $0.1 < $1.1 }
  }

  /// The last step of `phase` that succeeded; a manual step counts only once a person did it.
  static func lastSuccess(_ state: IncidentState, phase: Phase) -> (label: String, at: Date)? {
    state.stepOrder.compactMap { state.steps[$0] }
      .filter { $0.phase == phase && $0.outcome == .succeeded }
      .filter { $0.action != "manual" || $0.outputs["done"]?.boolValue == true }
      .compactMap { s in s.finishedAt.map { ("step `\(s.id)` (\(s.action ?? "?"))", $0) } }
      // On a tie the later in the journal: a check finishing in the same millisecond as the read
      // it checks ends recovery, not the read.
      .reduce(nil) { last, s in last.map { s.1 >= $0.1 ? s : $0 } ?? s }
  }
}

/// What an API call did, from its name: CloudTrail's event names (and Vault's operations) start
/// with the verb. A triage step's own classification can replace this later; the verbs are
/// AWS's documented prefixes.
package enum EventClass: String, Sendable, CaseIterable, Comparable {
  case created, changed, read, other

  package static func < (a: EventClass, b: EventClass) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }

  static let createVerbs = ["Create", "Run", "Allocate", "Register", "Import", "Issue", "Copy", "create"]
  static let changeVerbs = [
    "Put", "Update", "Attach", "Detach", "Delete", "Modify", "Set", "Add", "Remove", "Associate", "Disassociate",
    "Enable", "Disable", "Start", "Stop", "Terminate", "Tag", "Untag", "Reboot", "Revoke", "Authorize", "Change",
    "Reset", "Replace", "Restore", "Upload", "update", "delete", "sudo",
  ]
  static let readVerbs = [
    "Get", "List", "Describe", "Head", "Lookup", "Search", "Scan", "Query", "Select", "BatchGet", "Filter",
    "Decrypt", "Download", "ConsoleLogin", "read", "list",
  ]

  /// The class of an event name: its leading verb, where the next character starts a new word.
  package static func of(_ name: String) -> EventClass {
    func starts(_ verbs: [String]) -> Bool {
      verbs.contains { verb in
        guard name.hasPrefix(verb) else { return false }
        let rest = name.dropFirst(verb.count)
        return rest.isEmpty || rest.first!.isUppercase || rest.first == " " || rest.first == "_"
      }
    }
    if starts(createVerbs) { return .created }
    if starts(changeVerbs) { return .changed }
    if starts(readVerbs) { return .read }
    return .other
  }
}
