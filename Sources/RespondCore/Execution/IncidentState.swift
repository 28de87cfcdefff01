import Foundation

/// What is known of one step, folded from its journal records.
package struct StepState: Sendable {
  package var id: String
  package var phase: Phase?
  package var action: String?
  package var outcome: StepOutcome?
  package var startedAt: Date?
  package var finishedAt: Date?
  package var durationMs: Int?
  package var attempts: Int = 0
  package var outputs: [String: Value] = [:]
  package var secretOutputs: [String] = []
  package var error: String?
  package var summary: String?
  package var evidence: Evidence?
  /// Its provider answer kept under `evidence/` (the latest, when a resume answered again).
  package var evidenceFile: EvidenceFile?
  package var wouldSend: [String] = []
  package var missing: [String] = []
  package var decision: String?
  package var notes: [String] = []
  package var mutates: Bool?
  package var continueOnError: Bool = false
  /// Started (again) after its last finish: the process died while it ran.
  package var interrupted: Bool = false
  /// Failed with a request the provider certainly did not act on.
  package var failedNotProcessed: Bool = false
  /// For an `on-stop` step: the stop its last finish was for (`StopNotice.key`).
  package var stopKey: String?
  /// Finished in this process (so its secret outputs are still in memory).
  package var finishedInThisProcess: Bool = false
}

/// An incident as the journal tells it: the run's facts and every step's state. Rebuilt from the
/// journal alone, so reports and resume never depend on anything else.
package struct IncidentState: Sendable {
  package var incident: IncidentInfo?
  package var runbookFile: String?
  package var runbookDigest: String?
  package var runbookDescription: String?
  package var drillTargetMs: Int?
  package var operatorName: String?
  package var host: String?
  package var version: String?
  package var inputs: [String: Value] = [:]
  package var withheldInputs: [String] = []
  package var plan: [PlanEntry] = []
  package var steps: [String: StepState] = [:]
  /// Step ids in the order they first appeared.
  package var stepOrder: [String] = []
  package var status: RunStatus?
  package var finishedAt: Date?
  /// Where the last run stopped (a step id), when it did not complete.
  package var stoppedAt: String?
  package var stopMessage: String?
  package var facts: [[String]] = []
  package var resumes: [Date] = []
  package var notes: [(Date, String)] = []
  /// People's confirmations of manual containment steps (`respond confirm`).
  package var confirmations: [Confirmation] = []
  package var records: [JournalRecord] = []
  package var tornTail = false
  package var damagedLines: [(Int, String)] = []
  /// Lines a crash tore and a later resume sealed over.
  package var sealedTornLines: [Int] = []
  /// SHA-256 of the journal's last intact line, where resume continues the hash chain.
  package var lastHash: String?

  package init() {}

  /// Folds records in order.
  package init(records: [JournalRecord]) {
    for r in records { apply(r) }
  }

  package mutating func apply(_ r: JournalRecord) {
    records.append(r)
    switch r.type {
    case .runStarted:
      incident = r.incident
      runbookFile = r.runbookFile
      runbookDigest = r.runbookDigest
      runbookDescription = r.runbookDescription
      drillTargetMs = r.drillTargetMs
      operatorName = r.operator
      host = r.host
      version = r.version
      inputs = r.inputs ?? [:]
      withheldInputs = r.withheldInputs ?? []
      plan = r.plan ?? []
    case .runResumed:
      resumes.append(r.at)
      // Inputs corrected on resume replace the journaled ones for later resumes and the report.
      for (name, value) in r.inputs ?? [:] { inputs[name] = value }
      status = nil
      finishedAt = nil
    case .stepStarted:
      guard let id = r.step else { return }
      update(id) { s in
        s.phase = r.phase ?? s.phase
        s.action = r.action ?? s.action
        s.startedAt = s.startedAt ?? r.at
        s.attempts = max(s.attempts, r.attempt ?? 1)
        s.interrupted = true
        s.mutates = r.mutates ?? s.mutates
      }
    case .stepRetry:
      guard let id = r.step else { return }
      update(id) { s in
        s.attempts = max(s.attempts, r.attempt ?? s.attempts)
        if let e = r.error { s.notes.append("attempt \(r.attempt ?? 0) failed: \(e)") }
      }
    case .stepFinished:
      guard let id = r.step else { return }
      update(id) { s in
        s.phase = r.phase ?? s.phase
        s.action = r.action ?? s.action
        s.outcome = r.outcome
        s.finishedAt = r.at
        if s.startedAt == nil { s.startedAt = r.at }
        s.durationMs = r.durationMs
        s.outputs = r.outputs ?? [:]
        s.secretOutputs = r.secretOutputs ?? []
        s.error = r.error
        s.summary = r.summary
        s.evidence = r.evidence
        s.evidenceFile = r.evidenceFile ?? s.evidenceFile
        s.wouldSend = r.wouldSend ?? []
        s.missing = r.missing ?? []
        s.mutates = r.mutates ?? s.mutates
        s.continueOnError = r.continueOnError ?? false
        s.failedNotProcessed = r.outcome == .failed && r.notProcessed == true
        s.stopKey = r.stop
        s.interrupted = false
      }
    case .approval:
      guard let id = r.step else { return }
      update(id) { $0.decision = r.decision }
    case .note:
      if let id = r.step, let n = r.note {
        update(id) { $0.notes.append(n) }
      }
      if let n = r.note { notes.append((r.at, (r.step.map { "\($0): " } ?? "") + n)) }
    case .confirmation:
      guard let id = r.step else { return }
      confirmations.append(
        Confirmation(step: id, by: r.operator ?? "unknown", at: r.at, how: r.decision ?? "respond confirm"))
    case .runFinished:
      status = r.status
      finishedAt = r.at
      stoppedAt = r.step
      stopMessage = r.note
      if let f = r.facts { facts = f }
    }
  }

  private mutating func update(_ id: String, _ change: (inout StepState) -> Void) {
    if steps[id] == nil {
      steps[id] = StepState(id: id)
      stepOrder.append(id)
    }
    change(&steps[id]!)
  }

  /// Reads and folds a journal file.
  package static func load(journal path: String) throws -> IncidentState {
    let contents = try Journal.read(path: path)
    var state = IncidentState(records: contents.records)
    state.tornTail = contents.tornTail
    state.damagedLines = contents.damagedLines
    state.sealedTornLines = contents.sealedTornLines
    state.lastHash = contents.lastHash
    return state
  }

  /// The time the incident started.
  package var startedAt: Date? { incident?.startedAt ?? records.first?.at }

  /// When the last containment step succeeded (nil if none did).
  package var containedAt: Date? {
    steps.values.filter { $0.phase == .contain && $0.outcome == .succeeded }.compactMap(\.finishedAt).max()
  }
}
