import Foundation

/// How a step ended.
package enum StepOutcome: String, Codable, Sendable, CaseIterable {
  case succeeded
  case failed
  /// Its `when` condition was false.
  case skippedCondition = "skipped-condition"
  /// A dry run or drill: it mutates (or its environment is not configured), so it was shown, not run.
  case skippedDryRun = "skipped-dry-run"
  /// It needs approval and none could be given (no terminal, no --yes, or the operator said no).
  case stoppedAtApproval = "stopped-at-approval"

  /// A short word for progress lines and tables.
  package var label: String {
    switch self {
    case .succeeded: return "ok"
    case .failed: return "FAILED"
    case .skippedCondition: return "skipped (condition false)"
    case .skippedDryRun: return "skipped (dry-run)"
    case .stoppedAtApproval: return "stopped at approval"
    }
  }
}

/// How a run (one invocation, or the incident as a whole) ended.
package enum RunStatus: String, Codable, Sendable {
  /// Every step finished (some may have failed with continue-on-error).
  case completed
  /// A step failed after its retries; the incident is resumable.
  case failed
  /// A step needs approval that could not be given here; resumable.
  case stoppedAtApproval = "stopped-at-approval"
  /// Resume cannot tell whether an interrupted step took effect: a human must check.
  case needsOperator = "needs-operator"
  /// Stopped by a signal (Ctrl-C); resumable.
  case interrupted
}

/// The kinds of journal record.
package enum RecordType: String, Codable, Sendable {
  case runStarted = "run-started"
  case runResumed = "run-resumed"
  case stepStarted = "step-started"
  case stepRetry = "step-retry"
  case stepFinished = "step-finished"
  case approval
  case note
  /// A person confirmed a manual containment step (`respond confirm`).
  case confirmation
  case runFinished = "run-finished"
}

/// One line of `journal.jsonl`. One flat shape for every record type keeps the file easy to read
/// with `jq` and easy to decode even when a later version adds fields. Everything in it has been
/// masked: secret inputs and outputs appear only as fingerprints.
package struct JournalRecord: Codable, Sendable, Equatable {
  package var seq: Int
  package var at: Date
  package var type: RecordType
  /// SHA-256 (hex) of the journal line before this one, nil on the first: a hash chain from the
  /// run's first record, so an edited, inserted or removed line breaks the chain where it was made.
  package var prev: String?

  // run-started / run-resumed
  package var incident: IncidentInfo?
  package var runbookFile: String?
  package var runbookDigest: String?
  package var runbookDescription: String?
  /// The runbook's `drill: target:` in milliseconds, so a drill's report can score against it.
  package var drillTargetMs: Int?
  package var `operator`: String?
  package var host: String?
  package var version: String?
  /// Inputs as given, masked; secret inputs as their fingerprint.
  package var inputs: [String: Value]?
  /// Names of inputs whose values were not journaled (resume asks for them again).
  package var withheldInputs: [String]?
  /// Every step of the runbook in run order, so reports can say what was never reached.
  package var plan: [PlanEntry]?

  // step records
  package var step: String?
  package var phase: Phase?
  package var action: String?
  package var attempt: Int?
  package var outcome: StepOutcome?
  package var outputs: [String: Value]?
  /// Names of secret outputs: their values were never written.
  package var secretOutputs: [String]?
  package var durationMs: Int?
  package var error: String?
  package var summary: String?
  /// An audit query's provenance, tallies and sampled events (only audit-log steps have one).
  package var evidence: Evidence?
  /// The step's provider answer kept under `evidence/`, with its SHA-256 (every step whose answer
  /// the response relies on: `EvidenceStore.keeps`). `evidence` above says what an audit query
  /// found; this proves the kept copy of every answer is untouched.
  package var evidenceFile: EvidenceFile?
  /// In a dry run: the requests the step would have sent (method, URL, masked headers and body).
  package var wouldSend: [String]?
  /// In a drill: what this step needs that the environment does not provide.
  package var missing: [String]?
  package var mutates: Bool?
  package var continueOnError: Bool?
  /// On a failed step: the provider certainly did not act on the request that failed (refused
  /// connection, 429, most 4xx), so resume may simply run a non-idempotent step again.
  package var notProcessed: Bool?
  /// On an `on-stop` step's records: the stop it was sent for (`StopNotice.key`), so a resume
  /// that stops again in the same place does not page twice.
  package var stop: String?
  /// Approval decisions: "granted (--yes)", "granted at the terminal", "granted (respond
  /// approve)", "declined at the terminal", "no terminal to ask: ...".
  package var decision: String?
  /// On an approval a person gave: how they gave it ("terminal", "--yes", "respond approve"), so
  /// the report says how each approval was given. `operator` is who, `at` when.
  package var via: String?
  /// On an approval a person gave: the operating-system account that recorded it (user@host).
  /// Names are what people call themselves (`--approver`); the account is what four eyes compares
  /// too, so one account cannot approve twice under two names.
  package var account: String?
  package var note: String?

  // run-finished
  package var status: RunStatus?
  /// The runbook's report facts as evaluated at the end ([label, value] pairs, masked), so the
  /// report can be rendered from the journal alone.
  package var facts: [[String]]?

  package init(seq: Int = 0, at: Date = Date(), type: RecordType) {
    self.seq = seq
    self.at = at
    self.type = type
  }

  /// When this record (and every line before it) must reach the disk. Every record is written
  /// (`write(2)`) before `append` returns, so a killed process loses nothing; this is only about
  /// a power loss.
  package enum Durability: Sendable, Equatable {
    /// fsync'd before `append` returns: the write-ahead record of a step that may change
    /// something at a provider, an approval, and a run's end.
    case beforeGoingOn
    /// An fsync is started in the background and the run goes on: a change's result and a run's
    /// start or resumption. The next `beforeGoingOn` record includes them, so they are on disk
    /// before anything else can change. A power loss before that leaves the change's step looking
    /// interrupted, and resume reconciles it as it would any interrupted step.
    case soon
    /// Waits for the next fsync: read-only and skipped steps, retries, notes. Resume simply
    /// evaluates those steps again.
    case withNext
  }

  package var durability: Durability {
    switch type {
    case .runFinished, .approval, .confirmation: return .beforeGoingOn
    case .runStarted, .runResumed: return .soon
    case .stepStarted: return (mutates ?? true) ? .beforeGoingOn : .withNext
    case .stepFinished:
      return (mutates ?? true) && (outcome == .succeeded || outcome == .failed) ? .soon : .withNext
    case .stepRetry, .note: return .withNext
    }
  }

  enum CodingKeys: String, CodingKey {
    case seq, at, type, prev, incident
    case runbookFile = "runbook-file"
    case runbookDigest = "runbook-digest"
    case runbookDescription = "runbook-description"
    case drillTargetMs = "drill-target-ms"
    case `operator`, host, version, inputs
    case withheldInputs = "withheld-inputs"
    case step, phase, action, attempt, outcome, outputs
    case secretOutputs = "secret-outputs"
    case durationMs = "duration-ms"
    case error, summary, evidence
    case evidenceFile = "evidence-file"
    case wouldSend = "would-send"
    case missing, mutates
    case continueOnError = "continue-on-error"
    case decision, via, account, note, status, facts, plan
    case notProcessed = "not-processed"
    case stop
  }
}

extension JournalRecord {
  /// The record as the JSON value its journal line holds: the same as encoding it with
  /// `ValueEncoder` (a test holds the two equal for a record with every field set), written out
  /// field by field because a record is encoded for every event of a run and the generic
  /// `Encodable` path cost about 35 µs a record. The rare nested fields (incident, plan, evidence)
  /// still go through `ValueEncoder`.
  package func jsonValue() throws -> Value {
    var o: [String: Value] = [
      CodingKeys.seq.stringValue: .number(Double(seq)), CodingKeys.at.stringValue: .string(ISO8601.precise(at)),
      CodingKeys.type.stringValue: .string(type.rawValue),
    ]
    func put(_ key: CodingKeys, _ value: Value?) { if let value { o[key.stringValue] = value } }
    func text(_ s: String?) -> Value? { s.map(Value.string) }
    func number(_ n: Int?) -> Value? { n.map { .number(Double($0)) } }
    func flag(_ b: Bool?) -> Value? { b.map(Value.bool) }
    func list(_ l: [String]?) -> Value? { l.map { .array($0.map(Value.string)) } }
    put(.prev, text(prev))
    if let incident { put(.incident, try ValueEncoder().encode(incident)) }
    put(.runbookFile, text(runbookFile))
    put(.runbookDigest, text(runbookDigest))
    put(.runbookDescription, text(runbookDescription))
    put(.drillTargetMs, number(drillTargetMs))
    put(.operator, text(`operator`))
    put(.host, text(host))
    put(.version, text(version))
    put(.inputs, inputs.map(Value.object))
    put(.withheldInputs, list(withheldInputs))
    if let plan { put(.plan, try ValueEncoder().encode(plan)) }
    put(.step, text(step))
    put(.phase, text(phase?.rawValue))
    put(.action, text(action))
    put(.attempt, number(attempt))
    put(.outcome, text(outcome?.rawValue))
    put(.outputs, outputs.map(Value.object))
    put(.secretOutputs, list(secretOutputs))
    put(.durationMs, number(durationMs))
    put(.error, text(error))
    put(.summary, text(summary))
    if let evidence { put(.evidence, try ValueEncoder().encode(evidence)) }
    if let evidenceFile {
      put(
        .evidenceFile,
        .object([
          "path": .string(evidenceFile.path), "sha256": .string(evidenceFile.sha256),
          "bytes": .number(Double(evidenceFile.bytes)),
        ]))
    }
    put(.wouldSend, list(wouldSend))
    put(.missing, list(missing))
    put(.mutates, flag(mutates))
    put(.continueOnError, flag(continueOnError))
    put(.notProcessed, flag(notProcessed))
    put(.stop, text(stop))
    put(.decision, text(decision))
    put(.via, text(via))
    put(.account, text(account))
    put(.note, text(note))
    put(.status, text(status?.rawValue))
    put(.facts, facts.map { .array($0.map { .array($0.map(Value.string)) }) })
    return .object(o)
  }

  /// The decoder for journal lines (written by `ValueEncoder`): ISO-8601 times.
  package static func decoder() -> JSONDecoder {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .custom { decoder in
      let c = try decoder.singleValueContainer()
      let s = try c.decode(String.self)
      guard let date = ISO8601.parse(s) else {
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO-8601 time: \(s)")
      }
      return date
    }
    return d
  }
}

/// One step of the runbook as planned, journaled at the start of a run.
package struct PlanEntry: Codable, Sendable, Equatable {
  package var id: String
  package var phase: Phase
  package var action: String
  package var title: String
  package var condition: String?
  package var mutates: Bool
  package var approval: Bool
  /// How many different people must approve: nil for none or one, 2 for `approval: two-person`,
  /// so `respond approve` decides from the journal alone.
  package var approvers: Int?
  package var continueOnError: Bool
  /// The contain-phase changes this step verifies (nil when none), so the verdict can be decided
  /// from the journal alone.
  package var verifies: [String]?

  package init(
    id: String, phase: Phase, action: String, title: String, condition: String?, mutates: Bool,
    approval: Bool, continueOnError: Bool, verifies: [String]? = nil, approvers: Int? = nil
  ) {
    self.approvers = approvers
    self.id = id
    self.phase = phase
    self.action = action
    self.title = title
    self.condition = condition
    self.mutates = mutates
    self.approval = approval
    self.continueOnError = continueOnError
    self.verifies = verifies
  }

  enum CodingKeys: String, CodingKey {
    case id, phase, action, title, condition, mutates, approval, approvers
    case continueOnError = "continue-on-error"
    case verifies
  }
}
