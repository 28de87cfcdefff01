import CZlib
import Foundation
import RespondCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// MARK: - Streaming scan

/// Reads CloudTrail files: inflates each in a stream into one reusable buffer and walks its JSON
/// structure byte by byte (strings, escapes, depth), without decoding anything but candidates.
/// Memory per worker is the buffer: one chunk plus the current record (capped).
final class TrailArchiveScanner {
  /// What one file gave: uncompressed bytes, matching events, damage.
  struct Outcome: Sendable {
    var bytes = 0
    var events = 0
    var oversizedHits = 0
    var sawRecords = false
    var error: String?
  }

  /// A record larger than this is not kept in memory (CloudTrail's own are far smaller).
  static let maxRecordBytes = 16 << 20
  /// Inflate this much at a time.
  static let chunk = 256 << 10

  private var buffer: UnsafeMutablePointer<UInt8>
  private var capacity: Int
  private let matcher: TrailKeyMatcher

  init(matcher: TrailKeyMatcher) {
    self.matcher = matcher
    capacity = Self.chunk * 2
    buffer = .allocate(capacity: capacity)
  }

  deinit { buffer.deallocate() }

  /// Scans `files` with `parallel` threads (blocking work, kept off the async pool), feeding
  /// `collector`. Returns when every file is done or the task is cancelled.
  static func scan(files: [String], parallel: Int, matcher: TrailKeyMatcher, collector: TrailScanCollector) async {
    let queue = WorkQueue(files)
    await withTaskCancellationHandler {
      await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let remaining = Countdown(parallel) { done.resume() }
        for _ in 0..<parallel {
          let thread = Thread {
            let scanner = TrailArchiveScanner(matcher: matcher)
            while !collector.isCancelled, let file = queue.next() {
              let outcome = scanner.scanFile(file, collector: collector)
              collector.finished(path: file, outcome: outcome)
            }
            remaining.tick()
          }
          thread.stackSize = 1 << 20
          thread.start()
        }
      }
    } onCancel: {
      collector.cancel()
    }
  }

  /// Hands out file paths to the workers.
  private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var files: [String]
    private var index = 0
    init(_ files: [String]) { self.files = files }
    func next() -> String? {
      lock.withLock {
        guard index < files.count else { return nil }
        defer { index += 1 }
        return files[index]
      }
    }
  }

  /// Calls `done` when `tick` has been called `count` times.
  private final class Countdown: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int
    private let done: () -> Void
    init(_ count: Int, _ done: @escaping () -> Void) {
      self.count = count
      self.done = done
    }
    func tick() {
      let last = lock.withLock {
        count -= 1
        return count == 0
      }
      if last { done() }
    }
  }

  // Scan state, reset per file. Offsets are into `buffer`.
  private var end = 0  // valid bytes: [0, end)
  private var pos = 0  // next byte to look at (may be end + 1 after a backslash at the end)
  private var depth = 0
  private var inString = false
  private var stringStart = -1  // first byte of the open string, -1 if not kept
  private var stringEscaped = false
  private var lastStringWasRecords = false
  private var inRecordsArray = false
  private var inRecord = false
  private var recordStart = -1  // the open record's `{`, -1 if not kept (too large)
  private var recordHit = false

  /// Scans one file; never throws: damage is the outcome's `error`.
  func scanFile(_ path: String, collector: TrailScanCollector) -> Outcome {
    do { return scan(try GzipReader(path: path), collector: collector) } catch {
      return Outcome(error: "\(error)")
    }
  }

  /// Scans one gzip file held in memory (an S3 object).
  func scanData(_ data: Data, collector: TrailScanCollector) -> Outcome {
    do { return scan(try GzipReader(data: data), collector: collector) } catch {
      return Outcome(error: "\(error)")
    }
  }

  private func scan(_ gzip: GzipReader, collector: TrailScanCollector) -> Outcome {
    var outcome = Outcome()
    end = 0
    pos = 0
    depth = 0
    inString = false
    stringStart = -1
    stringEscaped = false
    lastStringWasRecords = false
    inRecordsArray = false
    inRecord = false
    recordStart = -1
    recordHit = false
    do {
      while true {
        if collector.isCancelled { return outcome }
        makeRoom()
        let n = try gzip.read(into: buffer + end, capacity: capacity - end)
        if n == 0 { break }
        end += n
        outcome.bytes += n
        try scanAvailable(&outcome, collector)
      }
      if inString || depth != 0 {
        throw ScanError(
          "the JSON ends inside \(inRecord ? "a record" : "the document") (cut short before compression?)")
      }
    } catch {
      outcome.error = "\(error)"
    }
    return outcome
  }

  /// Drops scanned bytes nobody needs (keeps the open record, or the open string), growing the
  /// buffer only when a record is bigger than the free space, up to `maxRecordBytes`.
  private func makeRoom() {
    if inRecord && recordStart >= 0 && end - recordStart > Self.maxRecordBytes {
      recordStart = -1  // too big to keep: not decoded; a key id in it is reported as a caveat
    }
    if inString && stringStart >= 0 && end - stringStart > Self.maxRecordBytes { stringStart = -1 }
    var keep = end
    if inRecord && recordStart >= 0 { keep = min(keep, recordStart) }
    if inString && stringStart >= 0 { keep = min(keep, stringStart) }
    if keep > 0 {
      let kept = end - keep
      if kept > 0 { memmove(buffer, buffer + keep, kept) }
      end = kept
      pos -= keep
      if recordStart >= 0 { recordStart -= keep }
      if stringStart >= 0 { stringStart -= keep }
    }
    if capacity - end < Self.chunk {
      let bigger = max(capacity * 2, end + Self.chunk)
      let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
      grown.update(from: buffer, count: end)
      buffer.deallocate()
      buffer = grown
      capacity = bigger
    }
  }

  /// Walks the bytes from `pos` to `end`: strings (with escapes), depth, records. The loop keeps
  /// its state in locals so the optimiser can hold it in registers.
  private func scanAvailable(_ outcome: inout Outcome, _ collector: TrailScanCollector) throws {
    let p = buffer
    let n = end
    var i = pos
    var depth = self.depth
    var inString = self.inString
    var stringStart = self.stringStart
    var stringEscaped = self.stringEscaped
    defer {
      self.pos = i
      self.depth = depth
      self.inString = inString
      self.stringStart = stringStart
      self.stringEscaped = stringEscaped
    }
    while i < n {
      if inString {
        while i < n {
          let c = p[i]
          if c == 0x22 { break }
          if c == 0x5C {
            stringEscaped = true
            i += 2
            continue
          }
          i += 1
        }
        if i >= n { break }
        // The string [stringStart, i) is closed.
        if stringStart >= 0 && !stringEscaped {
          let length = i - stringStart
          if inRecord {
            if !recordHit && matcher.matches(p + stringStart, length) { recordHit = true }
          } else if depth == 1 {
            lastStringWasRecords = length == 7 && memcmp(p + stringStart, "Records", 7) == 0
          }
        }
        inString = false
        i += 1
        continue
      }
      switch p[i] {
      case 0x22:  // "
        inString = true
        stringStart = i + 1
        stringEscaped = false
      case 0x7B:  // {
        if inRecordsArray && depth == 2 {
          inRecord = true
          recordStart = i
          recordHit = false
        }
        depth += 1
      case 0x7D:  // }
        depth -= 1
        if depth < 0 { throw ScanError("unbalanced '}' at byte \(outcome.bytes - (n - i))") }
        if inRecord && depth == 2 {
          if recordHit {
            if recordStart >= 0 {
              if collector.candidate(UnsafeRawBufferPointer(start: p + recordStart, count: i + 1 - recordStart)) {
                outcome.events += 1
              }
            } else {
              outcome.oversizedHits += 1
            }
          }
          inRecord = false
          recordStart = -1
        }
      case 0x5B:  // [
        if depth == 1 && lastStringWasRecords {
          inRecordsArray = true
          outcome.sawRecords = true
        }
        depth += 1
      case 0x5D:  // ]
        depth -= 1
        if depth < 0 { throw ScanError("unbalanced ']' at byte \(outcome.bytes - (n - i))") }
        if depth == 1 { inRecordsArray = false }
      default:
        break
      }
      i += 1
    }
  }
}

/// A damaged file, in words.
struct ScanError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
