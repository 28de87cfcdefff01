import Foundation

/// `respond approve s3://bucket/prefix/incidents/<id> --step ID`: the second person approves
/// from their own machine, against the incident the team shares. The incident is pulled and
/// verified like a resume's copy, the approval is recorded in that copy with exactly the rules of
/// a local approval (`IncidentApproval`), and the journal goes back only if nobody wrote it
/// meanwhile (`If-Match` on the ETag read first): an approval never overwrites a responder's
/// records, and a lost race is said, not hidden.
package enum SharedApproval {
  package struct Refused: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
  }

  /// Records the approval in the shared incident. `scratch` is a new private folder the copy is
  /// pulled into (left for the approver to read). `retentionDays` is nil on a bucket without
  /// Object Lock.
  package static func approve(
    store: any SharedStateStore, location: SharedStateLocation, id: String, step: String, by person: ApprovalPerson,
    host: String, scratch: String, retentionDays: Int?
  ) async throws -> IncidentApproval.Recorded {
    let url = location.incidentURL(id)
    let key = location.incidentPrefix(id) + "journal.jsonl"
    let pulled = try await SharedIncidentPull.pull(store: store, location: location, id: id, outDir: scratch)
    let journal = pulled.directory + "/journal.jsonl"
    let recorded = try IncidentApproval.approve(directory: pulled.directory, step: step, by: person, host: host)
    guard let after = FileManager.default.contents(atPath: journal) else {
      throw Refused("cannot read back \(journal)")
    }
    let until = retentionDays.map { SharedRetention.retainUntil(Date(), days: $0) }
    // Conditional on the journal the copy was made from: a newer one is never overwritten.
    guard try await store.replace(key, body: after, ifMatch: pulled.journalETag, retainUntil: until) != nil else {
      throw Refused(
        "\(url) changed while the approval was recorded (a responder resumed it?): nothing was approved; try again")
    }
    // The reports list every approval and `respond verify` holds them to the journal: the ones
    // rendered again with this approval go up too, or the shared copy would not verify.
    for name in ["report.md", "report.json", "postmortem.md"] {
      guard let body = FileManager.default.contents(atPath: pulled.directory + "/" + name) else { continue }
      try await store.put(location.incidentPrefix(id) + name, body: body, retainUntil: until)
    }
    var shared = recorded
    shared.next =
      recorded.complete
      ? "step '\(step)' has its approvals: the responder continues with `respond resume \(url) --out DIR` "
        + "(a folder that does not hold this incident yet)"
      : recorded.next.replacingOccurrences(of: pulled.directory, with: url)
    return shared
  }
}
