import Foundation

extension IncidentReport {
  /// `report.json`'s value: the same as encoding the report with `ValueEncoder` (a test holds the
  /// two equal for a report with every field set), written out field by field because a run
  /// renders its report twice and the generic `Encodable` path was a third of each rendering.
  /// Evidence, rare and nested, still goes through `ValueEncoder`.
  package func jsonValue() throws -> Value {
    func text(_ s: String?) -> Value? { s.map(Value.string) }
    func time(_ d: Date?) -> Value? { d.map { .string(ISO8601.precise($0)) } }
    func number(_ n: Int?) -> Value? { n.map { .number(Double($0)) } }
    func list(_ l: [String]) -> Value { .array(l.map(Value.string)) }
    var o: [String: Value] = [:]
    func put(_ key: CodingKeys, _ value: Value?) { if let value { o[key.stringValue] = value } }
    put(.incident, .string(incident))
    put(.runbook, .string(runbook))
    put(.runbookDescription, .string(runbookDescription))
    put(.mode, .string(mode))
    put(.dryRun, .bool(dryRun))
    put(.status, .string(status))
    put(.statusLine, .string(statusLine))
    put(.contained, .bool(contained))
    put(.verdict, text(verdict?.rawValue))
    put(.verdictReason, text(verdictReason))
    put(.verifiedBy, text(verifiedBy))
    put(.confirmedBy, text(confirmedBy))
    put(.approvals, .array(approvals.map { $0.jsonValue() }))
    put(.containedAt, time(containedAt))
    put(.timeToContainmentMs, number(timeToContainmentMs))
    put(.operatorName, .string(operatorName))
    put(.host, .string(host))
    put(.startedAt, time(startedAt))
    put(.endedAt, time(endedAt))
    put(.durationMs, number(durationMs))
    put(.resumedAt, .array(resumedAt.map { .string(ISO8601.precise($0)) }))
    put(.stoppedAt, text(stoppedAt))
    put(.stopMessage, text(stopMessage))
    put(.facts, .array(facts.map { .object(["label": .string($0.label), "value": .string($0.value)]) }))
    put(.inputs, .object(inputs))
    put(.steps, .array(steps.map { $0.jsonValue() }))
    put(
      .evidence,
      .array(
        try evidence.map { .object(["step": .string($0.step), "evidence": try ValueEncoder().encode($0.evidence)]) }))
    put(
      .evidenceFiles,
      .array(
        evidenceFiles.map {
          .object([
            "step": .string($0.step), "path": .string($0.path), "sha256": .string($0.sha256),
            "bytes": .number(Double($0.bytes)),
          ])
        }))
    put(
      .notDone,
      .array(
        notDone.map {
          .object([
            "step": .string($0.step), "phase": .string($0.phase.rawValue), "action": .string($0.action),
            "reason": .string($0.reason),
          ])
        }))
    put(.followUps, .array(followUps.map { .object(["text": .string($0.text), "done": .bool($0.done)]) }))
    put(
      .readiness,
      readiness.map { r in
        .array(
          r.map {
            .object([
              "step": .string($0.step), "action": .string($0.action), "ready": .bool($0.ready),
              "missing": list($0.missing),
            ])
          })
      })
    put(.drill, try drill.map { try ValueEncoder().encode($0) })
    put(.journalRecords, .number(Double(journalRecords)))
    put(.journalTornTail, .bool(journalTornTail))
    put(.version, .string(version))
    return .object(o)
  }
}

extension IncidentReport.StepLine {
  func jsonValue() -> Value {
    var o: [String: Value] = [:]
    func put(_ key: CodingKeys, _ value: Value?) { if let value { o[key.stringValue] = value } }
    put(.id, .string(id))
    put(.phase, .string(phase.rawValue))
    put(.action, .string(action))
    put(.title, .string(title))
    put(.outcome, .string(outcome))
    put(.startedAt, startedAt.map { .string(ISO8601.precise($0)) })
    put(.finishedAt, finishedAt.map { .string(ISO8601.precise($0)) })
    put(.durationMs, durationMs.map { .number(Double($0)) })
    put(.attempts, .number(Double(attempts)))
    put(.summary, summary.map(Value.string))
    put(.error, error.map(Value.string))
    put(.outputs, .object(outputs))
    put(.secretOutputs, .array(secretOutputs.map(Value.string)))
    put(.wouldSend, .array(wouldSend.map(Value.string)))
    put(.missing, .array(missing.map(Value.string)))
    put(.notes, .array(notes.map(Value.string)))
    put(.approval, approval.map(Value.string))
    put(.mutates, mutates.map(Value.bool))
    return .object(o)
  }
}
