import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One evidence file as the journal records it: where it is in the incident folder and the
/// SHA-256 of its bytes, so `respond verify` can prove it is what the run wrote.
package struct EvidenceFile: Sendable, Codable, Equatable {
  /// Relative to the incident folder: `evidence/<step>.json`.
  package var path: String
  package var sha256: String
  package var bytes: Int

  package init(path: String, sha256: String, bytes: Int) {
    self.path = path
    self.sha256 = sha256
    self.bytes = bytes
  }
}

/// Keeps the provider answers a response relies on under the incident folder's `evidence/`: one
/// masked JSON file per step (its outputs, and the audit query's provenance and events with the
/// provider's event ids), whose SHA-256 goes into the step's journal record. The journal's hash
/// chain then covers the files too: an auditor months later can show that neither was touched.
package enum EvidenceStore {
  package static let folder = "evidence"

  /// Actions that ask no provider: a `check` evaluates answers the steps before it kept, and a
  /// `manual` step's answer is a person's, journaled as their confirmation.
  static let askNoProvider: Set<String> = ["check", "manual"]

  /// Whether a finished step's answer is evidence: it succeeded, it asked a provider (an offline
  /// format check, a `check` or a `manual` step did not), and it is part of the response itself
  /// (detect, contain, investigate, recover: the key's owner, the change, what the key did, the
  /// reads that prove it). Notifications and the report are about the response, not evidence of it.
  package static func keeps(phase: Phase, action: String, outcome: StepOutcome, offline: Bool, hasContent: Bool)
    -> Bool
  {
    guard outcome == .succeeded, !offline, hasContent, !askNoProvider.contains(action) else { return false }
    switch phase {
    case .detect, .contain, .investigate, .recover: return true
    case .notify, .document: return false
    }
  }

  /// The file's text: the step's journaled (already masked) outputs and its evidence, masked once
  /// more as the journal is, pretty and with sorted keys so two runs with the same answers diff.
  package static func document(
    incident: String, step: String, phase: Phase, action: String, at: Date, outputs: [String: Value],
    evidence: Evidence?, masker: Masker
  ) throws -> String {
    var o: [String: Value] = [
      "incident": .string(incident), "step": .string(step), "phase": .string(phase.rawValue),
      "action": .string(action), "captured-at": .string(ISO8601.precise(at)), "outputs": .object(outputs),
    ]
    if let evidence { o["evidence"] = try ValueEncoder().encode(evidence) }
    return masker.mask(Value.object(o).json(pretty: true)) + "\n"
  }

  /// Writes `text` as a new file under `<directory>/evidence/` named after the step (`-2`, `-3`
  /// when a resumed run answers again: an earlier answer is never overwritten). The folder is
  /// private (0700) and the file is created with O_EXCL|O_NOFOLLOW (mode 0600), so nothing
  /// planted at its name is written through. It is fsync'd in the background: a synchronous
  /// fsync per answer (about 3 ms here, thirteen answers in an AWS response) would more than
  /// double respond's own time to containment. A power loss in the moment after can leave a
  /// journaled hash whose file is short; `respond verify` then names it, which is the truth.
  package static func write(_ text: String, step: String, in directory: String) throws -> EvidenceFile {
    let bytes = Array(text.utf8)
    let base = fileStem(step)
    var n = 1
    var prepared = false
    while n <= 1000 {
      let name = "\(Self.folder)/\(n == 1 ? base : "\(base)-\(n)").json"
      let fd = open(directory + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
      if fd < 0 {
        // The folder is made (0700) on the first answer. No one else can have made it: the
        // incident folder is the user's and writable by no one else (checked at start and resume).
        if errno == ENOENT, !prepared {
          try PrivateFolder.prepare(directory + "/" + Self.folder, what: "the evidence folder", privacy: .ownerOnly)
          prepared = true
          continue
        }
        if errno == EEXIST {
          n += 1
          continue
        }
        throw UsageError("cannot write evidence \(name): \(String(cString: strerror(errno)))")
      }
      defer { close(fd) }
      guard writeFully(fd, bytes) else {
        throw UsageError("cannot write evidence \(name): \(String(cString: strerror(errno)))")
      }
      syncInBackground(fd)
      return EvidenceFile(path: name, sha256: sha256Hex(bytes), bytes: bytes.count)
    }
    throw UsageError("cannot write evidence for step \(step): too many answers kept")
  }

  /// A file name from a step id: letters, digits, `-`, `_` and `.` kept, anything else `_`, never
  /// starting with a dot.
  static func fileStem(_ step: String) -> String {
    let kept = step.map { c -> Character in
      c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") ? c : "_"
    }
    let stem = String(kept)
    return stem.isEmpty || stem.hasPrefix(".") ? "_" + stem : stem
  }

  private static let syncQueue = DispatchQueue(label: "respond.evidence.fsync")

  /// fsyncs a duplicate of `fd` on a background queue (the caller closes its own).
  static func syncInBackground(_ fd: Int32) {
    let copy = dup(fd)
    guard copy >= 0 else { return }
    syncQueue.async {
      fsync(copy)
      close(copy)
    }
  }

  /// Writes every byte to `fd` (a short write or EINTR is retried); false on an error (errno).
  package static func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    #if canImport(Glibc)
      let systemWrite = Glibc.write
    #else
      let systemWrite = Darwin.write
    #endif
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR { continue }
      guard n > 0 else { return false }
      written += n
    }
    return true
  }

  // MARK: - Verification

  /// Every evidence problem in an incident folder, in journal order: a file whose bytes no longer
  /// hash to what its record says, a missing file, a record pointing outside `evidence/`. Records
  /// are named by their `seq` (the journal's own numbering, which verify has checked). A file the
  /// journal does not name is a note, not a problem: a crash between writing an answer and
  /// journaling its record leaves one (resume then keeps the step's next answer beside it), and
  /// nothing vouches for it, so neither the report nor a bundle relies on it.
  package static func check(directory: String, records: [JournalRecord]) -> (
    findings: [IncidentAudit.Finding], notes: [String]
  ) {
    var findings: [IncidentAudit.Finding] = []
    var named: Set<String> = []
    for record in records {
      let line = record.seq
      guard let file = record.evidenceFile else { continue }
      named.insert(file.path)
      let parts = file.path.split(separator: "/", omittingEmptySubsequences: false)
      guard parts.count == 2, parts[0] == Self.folder, !parts[1].hasPrefix("."), !parts[1].isEmpty else {
        findings.append(
          .init(
            file: "journal.jsonl", line: nil,
            problem: "record \(line) names evidence outside \(Self.folder)/: \(file.path)"))
        continue
      }
      guard let data = readNoFollow(directory + "/" + file.path) else {
        findings.append(
          .init(file: file.path, line: nil, problem: "is missing (journal record \(line) holds its SHA-256)"))
        continue
      }
      if sha256Hex(data) != file.sha256 {
        findings.append(
          .init(
            file: file.path, line: nil,
            problem: "does not match the SHA-256 in journal record \(line) (the file was changed)"))
      }
    }
    let present = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + Self.folder)) ?? []
    let notes = present.sorted().filter { !named.contains("\(Self.folder)/\($0)") }.map {
      "\(Self.folder)/\($0) is not named by the journal (a crash before its record leaves one): it is not evidence"
    }
    return (findings, notes)
  }

  /// A file's bytes, refusing a link planted in its place (nil when absent or unreadable).
  static func readNoFollow(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR { continue }
      guard n >= 0 else { return nil }
      if n == 0 { return out }
      out.append(contentsOf: buffer[0..<n])
    }
  }
}
