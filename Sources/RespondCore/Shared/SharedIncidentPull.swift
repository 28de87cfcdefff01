import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `respond resume s3://bucket/prefix/incidents/<id>`: brings a shared incident to this machine
/// so another responder can continue it. Its journal, the evidence files the journal names and its
/// reports are written to a new private folder `<out>/<id>/` (0700, files 0600, nothing followed
/// through a link), and
/// the copy is then checked like `respond verify` does: a journal whose chain is broken or an
/// evidence file that does not match is refused before anything runs; reports that do not match
/// the journal are said and rendered again.
package enum SharedIncidentPull {
  /// Why a shared incident cannot be brought here.
  package struct Refused: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
  }

  /// Downloads the incident into `<outDir>/<id>` and audits it. Returns the folder, the
  /// audit's notes (what was tolerated, as `respond verify` says it) and the ETag of the journal
  /// copied, for a write back that must not overwrite a newer one.
  package static func pull(
    store: any SharedStateStore, location: SharedStateLocation, id: String, outDir: String
  ) async throws -> (directory: String, notes: [String], journalETag: String) {
    let url = location.incidentURL(id)
    guard SharedIncident.isIncidentID(id) else { throw Refused("\(url): '\(id)' is not an incident id") }
    let prefix = location.incidentPrefix(id)
    guard let journal = try await store.get(prefix + "journal.jsonl") else {
      throw Refused("\(url) holds no incident (no journal.jsonl under it): check the URL with `aws s3 ls \(url)/`")
    }
    try PrivateFolder.prepare(outDir, what: "the output folder", privacy: .notWritableByOthers)
    let directory = URL(fileURLWithPath: (outDir as NSString).appendingPathComponent(id)).standardizedFileURL.path
    guard mkdir(directory, 0o700) == 0 else {
      if errno == EEXIST {
        throw Refused(
          "\(directory) already exists: resume it with `respond resume \(directory)`, or pull into another folder with --out DIR"
        )
      }
      throw Refused("cannot create \(directory): \(String(cString: strerror(errno)))")
    }
    chmod(directory, 0o700)
    try write(journal.body, to: directory, relative: "journal.jsonl")
    // The files to fetch are the ones the journal vouches for (no listing: fewer permissions, and
    // a file nothing vouches for is not evidence), and the reports when there are any.
    let named = (try? Journal.read(path: directory + "/journal.jsonl"))?.records.compactMap(\.evidenceFile?.path) ?? []
    for relative in Self.reportFiles + named where SharedIncident.isMirrored(relative) {
      guard !FileManager.default.fileExists(atPath: directory + "/" + relative),
        let object = try await store.get(prefix + relative)
      else { continue }
      try write(object.body, to: directory, relative: relative)
    }
    let audit: (findings: [IncidentAudit.Finding], notes: [String])
    do { audit = try IncidentAudit.check(directory: directory) } catch {
      throw Refused("the copy of \(url) in \(directory) is not an incident folder: \(error)")
    }
    // Reports are rendered from the journal, and a run cut off mid-way (a machine that died
    // after a stop at a gate) leaves the shared ones older than its journal: that must not lock
    // the team out of the incident. The journal and the evidence are what is refused; reports
    // that do not match are said, and the resume renders them again from the journal.
    let stale = audit.findings.filter { Self.reportFiles.contains($0.file) }
    let refused = audit.findings.filter { !Self.reportFiles.contains($0.file) }
    var notes = audit.notes
    if let first = stale.first {
      notes.append(
        "the shared reports do not match the journal (\(first)\(stale.count > 1 ? ", and \(stale.count - 1) more" : "")): "
          + "older than the journal (a run cut off before it wrote them) or edited; they are rendered again from the journal"
      )
    }
    if let first = refused.first {
      throw Refused(
        "the shared incident \(url) does not verify (copy in \(directory)): \(first)"
          + (refused.count > 1 ? " (and \(refused.count - 1) more; `respond verify \(directory)` lists them)" : "")
          + "; nothing was resumed")
    }
    return (directory, notes, journal.etag)
  }

  /// The files besides the journal and its evidence that a shared incident holds.
  static let reportFiles = ["report.md", "report.json", "postmortem.md"]

  /// Creates one file of the copy (never through a link, never over an existing file).
  static func write(_ body: Data, to directory: String, relative: String) throws {
    if relative.hasPrefix(EvidenceStore.folder + "/") {
      try PrivateFolder.prepare(
        directory + "/" + EvidenceStore.folder, what: "the evidence folder", privacy: .ownerOnly)
    }
    let path = directory + "/" + relative
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw Refused("cannot write \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard EvidenceStore.writeFully(fd, Array(body)), fsync(fd) == 0 else {
      throw Refused("cannot write \(path): \(String(cString: strerror(errno)))")
    }
  }
}
