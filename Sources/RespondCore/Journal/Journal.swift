import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The append-only record of an incident. Every record is masked and written as one JSON line
/// before `append` returns, so a killed process loses nothing. Records are fsync'd in groups, as
/// each record's `JournalRecord.Durability` asks: the write-ahead record of a step that may change
/// something at a provider (and approvals, and a run's end) is fsync'd before `append` returns,
/// together with every line written before it; a change's result starts an fsync on a background
/// queue and the run goes on (the next write-ahead record waits for it, in the kernel); lines about
/// read-only work or skipped steps wait for the next fsync. The journal is the single source for
/// reports and resume.
package final class Journal: @unchecked Sendable {
  package let path: String
  private let fd: Int32
  private let masker: Masker
  private let lock = NSLock()
  private var seq: Int
  /// SHA-256 of the last line written (or read, when appending to an existing journal): the next
  /// record's `prev`.
  private var lastHash: String?
  /// Lines written since the last fsync was started.
  private var unsynced = false
  /// Background fsyncs (`.soon`); the file is closed only after they are done.
  private let syncQueue = DispatchQueue(label: "respond.journal.fsync")
  private let background = BackgroundSyncs()

  /// What the background fsyncs share with the journal. A separate object, so that a queued
  /// fsync never holds the last reference to the journal (its deinit waits for the queue).
  private final class BackgroundSyncs: @unchecked Sendable {
    let lock = NSLock()
    /// Background fsyncs queued or running.
    var running = 0
    /// Whether one is queued but not started: later `.soon` records ride on it.
    var queued = false
    /// A background fsync's failure, thrown by the next foreground sync (Linux reports a
    /// write-back error to an fd once, so a later fsync could not be relied on to repeat it).
    var failure: String?
  }

  package struct OpenError: Error, CustomStringConvertible {
    package var description: String
  }

  /// Opens (creating with mode 0600) the journal at `path` for appending; `nextSeq` continues
  /// numbering after existing records and `lastHash` (the hash of the last intact line, from
  /// `read`) continues the hash chain.
  package init(path: String, masker: Masker, nextSeq: Int = 1, lastHash: String? = nil) throws {
    // Never through a link someone planted at the journal's name.
    let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else {
      throw OpenError(description: "cannot open journal \(path): \(String(cString: strerror(errno)))")
    }
    fchmod(fd, 0o600)
    // A torn last line from a crash must not swallow the next record: start on a fresh line.
    let size = lseek(fd, 0, SEEK_END)
    if size > 0 {
      var last: UInt8 = 0
      if pread(fd, &last, 1, size - 1) == 1, last != UInt8(ascii: "\n") {
        _ = "\n".withCString { write(fd, $0, 1) }
      }
    }
    self.fd = fd
    self.path = path
    self.masker = masker
    self.seq = nextSeq
    self.lastHash = lastHash
  }

  deinit {
    syncQueue.sync {}  // background fsyncs use `fd`: let them finish before it is closed
    if unsynced { fsync(fd) }
    close(fd)
  }

  /// Appends a record (numbering and masking it) and makes it durable as `durability` asks.
  /// Returns the record written.
  @discardableResult
  package func append(_ record: JournalRecord, durability: JournalRecord.Durability = .beforeGoingOn) throws
    -> JournalRecord
  {
    try lock.withLock {
      var r = record
      r.seq = seq
      r.prev = lastHash
      let text = try r.jsonValue().json()
      // Backstop: every record is built from masked values, and the line is masked once more.
      let masked = masker.mask(text)
      let lineHash = sha256Hex(Array(masked.utf8))
      let line = masked + "\n"
      let bytes = Array(line.utf8)
      var written = 0
      while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 {
          if errno == EINTR { continue }
          throw OpenError(description: "cannot write journal \(path): \(String(cString: strerror(errno)))")
        }
        written += n
      }
      seq += 1
      lastHash = lineHash
      unsynced = true
      switch durability {
      case .beforeGoingOn: try syncLocked()
      case .soon: syncInBackgroundLocked()
      case .withNext: break
      }
      return r
    }
  }

  /// Starts an fsync of every line written so far on the background queue, unless one is queued
  /// and not yet started (it will include these lines). A failure there is not lost: the next
  /// `beforeGoingOn` fsync reports the file's error.
  private func syncInBackgroundLocked() {
    unsynced = false
    let state = background
    let start = state.lock.withLock { () -> Bool in
      guard !state.queued else { return false }
      state.queued = true
      state.running += 1
      return true
    }
    guard start else { return }
    let fd = fd
    syncQueue.async {
      state.lock.withLock { state.queued = false }
      let failed = fsync(fd) != 0 ? String(cString: strerror(errno)) : nil
      state.lock.withLock {
        state.running -= 1
        if let failed { state.failure = state.failure ?? failed }
      }
    }
  }

  /// Makes every line written so far durable.
  package func sync() throws {
    try lock.withLock { try syncLocked() }
  }

  /// fsyncs every line written so far (in the foreground even while a background fsync runs:
  /// the kernel's fsync covers everything written before it, whoever started the last one).
  private func syncLocked() throws {
    let (running, failure) = background.lock.withLock { (background.running, background.failure) }
    if unsynced || running > 0 {
      guard fsync(fd) == 0 else {
        throw OpenError(description: "cannot fsync journal \(path): \(String(cString: strerror(errno)))")
      }
      unsynced = false
    }
    if let failure {
      throw OpenError(description: "cannot fsync journal \(path): \(failure)")
    }
  }

  // MARK: - Reading

  /// What a journal file holds, and what was wrong with it.
  package struct Contents: Sendable {
    package var records: [JournalRecord]
    /// A last line cut short by a crash: tolerated, reported.
    package var tornTail: Bool
    /// Lines in the middle that did not parse, or broke the hash chain (line number, reason):
    /// the journal was altered, and resume refuses it.
    package var damagedLines: [(Int, String)]
    /// Lines a crash tore that a later resume sealed over (its `run-resumed` record chains to the
    /// line before): tolerated, reported.
    package var sealedTornLines: [Int]
    /// SHA-256 of the last intact line: where an appending writer continues the chain.
    package var lastHash: String?
  }

  /// Reads every record and checks the hash chain and numbering. A torn last line (the process
  /// died mid-write) is tolerated and reported, and so is one a resume sealed over; any other line
  /// that does not parse, does not chain to the line before, or is numbered out of order is
  /// reported in `damagedLines`, never silently dropped.
  package static func read(path: String) throws -> Contents {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw OpenError(description: "cannot read journal \(path)")
    }
    let decoder = JournalRecord.decoder()
    var contents = Contents(records: [], tornTail: false, damagedLines: [], sealedTornLines: [], lastHash: nil)
    let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    let lastIndex = lines.lastIndex { !$0.isEmpty } ?? -1
    var unparsed: [Int] = []  // line numbers since the last intact record
    var lastRecordLine: Int?  // the line number of the last record read
    for (i, line) in lines.enumerated() where !line.isEmpty {
      guard let record = try? decoder.decode(JournalRecord.self, from: Data(line)) else {
        if i == lastIndex { contents.tornTail = true } else { unparsed.append(i + 1) }
        continue
      }
      let expectedSeq = (contents.records.last?.seq ?? 0) + 1
      if record.prev != contents.lastHash {
        // The chain shows where it breaks, not which side of the break was altered: an edit of
        // the line before breaks it here too, so both are named.
        let before = lastRecordLine.map { "line \($0) was edited, or " } ?? ""
        contents.damagedLines.append(
          (
            i + 1,
            "does not follow from the line before (hash chain broken: \(before)a line was removed, inserted or moved here)"
          ))
      } else if record.seq != expectedSeq {
        contents.damagedLines.append((i + 1, "is numbered \(record.seq), expected \(expectedSeq)"))
      }
      if !unparsed.isEmpty {
        // Only a crash mid-write, sealed over by the resume that followed, leaves such a line.
        if record.type == .runResumed && unparsed.count == 1 && record.prev == contents.lastHash {
          contents.sealedTornLines += unparsed
        } else {
          contents.damagedLines += unparsed.map { ($0, "is not a journal record") }
        }
        unparsed = []
      }
      contents.records.append(record)
      contents.lastHash = sha256Hex(line)
      lastRecordLine = i + 1
    }
    contents.damagedLines += unparsed.map { ($0, "is not a journal record") }
    contents.damagedLines.sort { $0.0 < $1.0 }
    return contents
  }
}
