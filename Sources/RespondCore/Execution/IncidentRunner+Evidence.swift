import Foundation

extension IncidentRunner {
  /// The one hook where a step's record is finished: when the step's answer is evidence
  /// (`EvidenceStore.keeps`), its masked outputs and audit evidence are written under the
  /// incident's `evidence/` before the record is journaled, and the record carries the file's
  /// SHA-256, so the hash chain vouches for the file too.
  func keepEvidence(_ step: Step, _ r: JournalRecord) throws -> EvidenceFile? {
    guard let outcome = r.outcome else { return nil }
    let offline = registry.action(named: step.action)?.descriptor.offline ?? false
    let hasContent = !(r.outputs ?? [:]).isEmpty || r.evidence != nil
    guard
      EvidenceStore.keeps(
        phase: step.phase, action: step.action, outcome: outcome, offline: offline, hasContent: hasContent)
    else {
      return nil
    }
    let text = try EvidenceStore.document(
      incident: state.incident?.id ?? "", step: step.id, phase: step.phase, action: step.action, at: r.at,
      outputs: r.outputs ?? [:], evidence: r.evidence, masker: masker)
    let file = try EvidenceStore.write(text, step: step.id, in: incidentDirectory)
    fileWritten?(incidentDirectory + "/" + file.path)
    return file
  }
}
