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
  /// numbering after existing records.
  package init(path: String, masker: Masker, nextSeq: Int = 1) throws {
    let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
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
      let text = try r.jsonValue().json()
      // Backstop: every record is built from masked values, and the line is masked once more.
      let line = masker.mask(text) + "\n"
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
    /// Lines in the middle that did not parse (line number, reason).
    package var damagedLines: [(Int, String)]
  }

  /// Reads every record. A torn last line (the process died mid-write) is tolerated and reported;
  /// it never makes the journal unreadable.
  package static func read(path: String) throws -> Contents {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw OpenError(description: "cannot read journal \(path)")
    }
    let decoder = JournalRecord.decoder()
    var records: [JournalRecord] = []
    var damaged: [(Int, String)] = []
    var torn = false
    let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    let endsWithNewline = data.last == UInt8(ascii: "\n")
    for (i, line) in lines.enumerated() where !line.isEmpty {
      do {
        records.append(try decoder.decode(JournalRecord.self, from: Data(line)))
      } catch {
        let isLast = i == lines.count - 1 || (i == lines.count - 2 && endsWithNewline && lines.last?.isEmpty == true)
        if isLast && !endsWithNewline {
          torn = true
        } else if isLast {
          torn = true
        } else {
          damaged.append((i + 1, "not a journal record"))
        }
      }
    }
    return Contents(records: records, tornTail: torn, damagedLines: damaged)
  }
}
