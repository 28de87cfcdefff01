import Foundation

/// The facts of an incident, derived from the journal alone: what `report.json` holds and what
/// `report.md` renders. Every string in it was masked when it was journaled.
package struct IncidentReport: Codable, Sendable {
  package struct Fact: Codable, Sendable, Equatable {
    package var label: String
    package var value: String
  }

  package struct StepLine: Codable, Sendable {
    package var id: String
    package var phase: Phase
    package var action: String
    package var title: String
    package var outcome: String
    package var startedAt: Date?
    package var finishedAt: Date?
    package var durationMs: Int?
    package var attempts: Int
    package var summary: String?
    package var error: String?
    package var outputs: [String: Value]
    package var secretOutputs: [String]
    package var wouldSend: [String]
    package var missing: [String]
    package var notes: [String]
    package var approval: String?
    package var mutates: Bool?

    enum CodingKeys: String, CodingKey {
      case id, phase, action, title, outcome
      case startedAt = "started-at"
      case finishedAt = "finished-at"
      case durationMs = "duration-ms"
      case attempts, summary, error, outputs
      case secretOutputs = "secret-outputs"
      case wouldSend = "would-send"
      case missing, notes, approval, mutates
    }
  }

  package struct EvidenceSection: Codable, Sendable {
    package var step: String
    package var evidence: Evidence
  }

  /// A provider answer kept under `evidence/`: the report links it, `respond verify` checks it.
  package struct EvidenceFileLine: Codable, Sendable, Equatable {
    package var step: String
    package var path: String
    package var sha256: String
    package var bytes: Int
  }

  package struct NotDone: Codable, Sendable {
    package var step: String
    package var phase: Phase
    package var action: String
    package var reason: String
  }

  package struct FollowUp: Codable, Sendable {
    package var text: String
    package var done: Bool
  }

  package struct Readiness: Codable, Sendable {
    package var step: String
    package var action: String
    package var ready: Bool
    package var missing: [String]
  }

  package var incident: String
  package var runbook: String
  package var runbookDescription: String
  package var mode: String  // LIVE or DRILL
  package var dryRun: Bool
  package var status: String
  package var statusLine: String
  package var contained: Bool
  /// CONTAINED, UNVERIFIED or NOT CONTAINED for a live run with a contain phase; nil for a drill
  /// or a runbook with nothing to contain.
  package var verdict: Verdict?
  /// Why the verdict is what it is (the verifying step, the failed check, the confirming person).
  package var verdictReason: String?
  /// The step whose success proved containment.
  package var verifiedBy: String?
  /// The person who confirmed a manual containment, and how.
  package var confirmedBy: String?
  /// Every approval people gave or refused, oldest first: who, when and how.
  package var approvals: [ApprovalLine]
  package var containedAt: Date?
  package var timeToContainmentMs: Int?
  package var operatorName: String
  package var host: String
  package var startedAt: Date?
  package var endedAt: Date?
  package var durationMs: Int?
  package var resumedAt: [Date]
  package var stoppedAt: String?
  package var stopMessage: String?
  package var facts: [Fact]
  package var inputs: [String: Value]
  package var steps: [StepLine]
  package var evidence: [EvidenceSection]
  package var evidenceFiles: [EvidenceFileLine]
  package var notDone: [NotDone]
  package var followUps: [FollowUp]
  package var readiness: [Readiness]?
  /// A drill's score (nil on live runs and plain dry runs): see `DrillScore`.
  package var drill: DrillScore?
  package var journalRecords: Int
  package var journalTornTail: Bool
  package var version: String

  enum CodingKeys: String, CodingKey {
    case incident, runbook
    case runbookDescription = "runbook-description"
    case mode
    case dryRun = "dry-run"
    case status
    case statusLine = "status-line"
    case contained, verdict
    case verdictReason = "verdict-reason"
    case verifiedBy = "verified-by"
    case confirmedBy = "confirmed-by"
    case approvals
    case containedAt = "contained-at"
    case timeToContainmentMs = "time-to-containment-ms"
    case operatorName = "operator"
    case host
    case startedAt = "started-at"
    case endedAt = "ended-at"
    case durationMs = "duration-ms"
    case resumedAt = "resumed-at"
    case stoppedAt = "stopped-at"
    case stopMessage = "stop-message"
    case facts, inputs, steps, evidence
    case evidenceFiles = "evidence-files"
    case notDone = "not-done"
    case followUps = "follow-ups"
    case readiness, drill
    case journalRecords = "journal-records"
    case journalTornTail = "journal-torn-tail"
    case version
  }
}

extension IncidentReport {
  /// Builds the report from an incident's journal state.
  package init(state: IncidentState) {
    let info = state.incident
    let mode = info?.mode ?? .live
    incident = info?.id ?? "unknown"
    runbook = info?.runbook ?? "unknown"
    runbookDescription = state.runbookDescription ?? ""
    self.mode = mode == .live ? "LIVE" : "DRILL"
    dryRun = mode.isDry
    operatorName = state.operatorName ?? "unknown"
    host = state.host ?? ""
    startedAt = state.startedAt
    endedAt = state.finishedAt
    durationMs = zip2(startedAt, endedAt).map { Int(($1.timeIntervalSince($0) * 1000).rounded()) }
    resumedAt = state.resumes
    stoppedAt = state.stoppedAt
    stopMessage = state.stopMessage
    inputs = state.inputs
    facts = state.facts.compactMap { $0.count == 2 ? Fact(label: $0[0], value: $0[1]) : nil }
    journalRecords = state.records.count
    journalTornTail = state.tornTail
    version = state.version ?? respondVersion

    steps = Self.stepLines(state)
    evidence = steps.compactMap { line in
      state.steps[line.id]?.evidence.map { EvidenceSection(step: line.id, evidence: $0) }
    }
    // Every file the journal vouches for, in journal order (a resumed step may have two).
    evidenceFiles = state.records.compactMap { r in
      r.evidenceFile.map { EvidenceFileLine(step: r.step ?? "", path: $0.path, sha256: $0.sha256, bytes: $0.bytes) }
    }

    // Containment is a proved fact: a verification step succeeded after the change, or a person
    // confirmed a manual containment. A change the provider merely accepted is UNVERIFIED.
    let decided = mode.isDry ? nil : ContainmentVerdict.decide(state)
    verdict = decided?.verdict
    verdictReason = decided?.reason
    verifiedBy = decided?.verifiedBy
    approvals = state.approvals.map(ApprovalLine.init)
    confirmedBy = decided?.confirmation.map { "\($0.by) (\($0.how), \(ISO8601.string($0.at)))" }
    contained = decided?.verdict == .contained
    containedAt = contained ? decided?.at : nil
    timeToContainmentMs = zip2(startedAt, containedAt).map { Int(($1.timeIntervalSince($0) * 1000).rounded()) }

    notDone = Self.notDone(steps, state)
    followUps = Self.followUps(steps, state, decided: decided)
    readiness =
      mode == .drill
      ? steps.map { Readiness(step: $0.id, action: $0.action, ready: $0.missing.isEmpty, missing: $0.missing) } : nil
    drill = mode == .drill ? DrillScore.score(steps: steps, targetMs: state.drillTargetMs) : nil
    status = state.status?.rawValue ?? "unfinished"
    statusLine = ""  // every other field is set: the line is worded from them
    statusLine = statusLineText(state, decided: decided)
  }

  /// Steps in plan order (journal order for anything not in the plan).
  static func stepLines(_ state: IncidentState) -> [StepLine] {
    let planIDs = state.plan.map(\.id)
    let ordered = planIDs.filter { state.steps[$0] != nil } + state.stepOrder.filter { !planIDs.contains($0) }
    return ordered.compactMap { id in
      guard let s = state.steps[id] else { return nil }
      let plan = state.plan.first { $0.id == id }
      let outcome = s.interrupted ? "interrupted" : (s.outcome?.rawValue ?? "not finished")
      return StepLine(
        id: id, phase: s.phase ?? plan?.phase ?? .detect, action: s.action ?? plan?.action ?? "",
        title: plan?.title ?? id, outcome: outcome, startedAt: s.startedAt, finishedAt: s.finishedAt,
        durationMs: s.durationMs, attempts: max(s.attempts, s.outcome == nil ? 0 : 1), summary: s.summary,
        error: s.error, outputs: s.outputs, secretOutputs: s.secretOutputs, wouldSend: s.wouldSend,
        missing: s.missing, notes: s.notes, approval: s.decision, mutates: s.mutates ?? plan?.mutates)
    }
  }

  /// Not done: skipped, dry-run, failed-and-continued, and everything never reached.
  static func notDone(_ steps: [StepLine], _ state: IncidentState) -> [NotDone] {
    var notDone: [NotDone] = []
    func add(_ s: StepLine, _ reason: String) {
      notDone.append(NotDone(step: s.id, phase: s.phase, action: s.action, reason: reason))
    }
    for s in steps {
      switch s.outcome {
      case StepOutcome.skippedCondition.rawValue:
        add(s, "condition was false: `\(state.plan.first { $0.id == s.id }?.condition ?? "")`")
      case StepOutcome.skippedDryRun.rawValue:
        add(
          s,
          s.missing.isEmpty ? "dry run: not sent" : "dry run; not configured here: " + s.missing.joined(separator: "; ")
        )
      case StepOutcome.stoppedAtApproval.rawValue: add(s, "waiting for approval (\(s.approval ?? "not given"))")
      case StepOutcome.failed.rawValue: add(s, "failed: \(s.error ?? "")")
      case "interrupted": add(s, "interrupted: the process stopped while it ran")
      default: break
      }
    }
    let ran = Set(steps.map(\.id))
    for p in state.plan where !ran.contains(p.id) {
      notDone.append(
        NotDone(step: p.id, phase: p.phase, action: p.action, reason: "not reached: the run stopped before it"))
    }
    return notDone
  }

  /// `report.json`: pretty, sorted keys, ISO-8601 times.
  package func json() -> String {
    ((try? jsonValue()) ?? .object([:])).json(pretty: true)
  }
}

private func zip2<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
  guard let a, let b else { return nil }
  return (a, b)
}

/// `850 ms`, `2.3 s`, `4 min 05 s`.
package func formatMs(_ ms: Int) -> String {
  if ms < 1000 { return "\(ms) ms" }
  if ms < 60_000 { return String(format: "%.1f s", Double(ms) / 1000) }
  let s = ms / 1000
  if s < 3600 { return String(format: "%d min %02d s", s / 60, s % 60) }
  return String(format: "%d h %02d min", s / 3600, (s % 3600) / 60)
}

/// One approval in the report: who gave it, from which account, when, how, and what they said.
package struct ApprovalLine: Codable, Sendable, Equatable {
  package var step: String
  package var by: String
  package var account: String
  package var at: Date
  package var how: String
  package var decision: String

  init(_ a: GivenApproval) {
    step = a.step
    by = a.person.name
    account = a.person.account
    at = a.at
    how = a.via.rawValue
    decision = a.decision
  }

  func jsonValue() -> Value {
    .object([
      "step": .string(step), "by": .string(by), "account": .string(account), "at": .string(ISO8601.precise(at)),
      "how": .string(how), "decision": .string(decision),
    ])
  }
}
