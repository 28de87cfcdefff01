import CZlib
import Foundation
import RespondCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// MARK: - Results

/// Gathers what the file workers find (they run on their own threads, hence the lock): the
/// findings over the matching records, mentions, per-file damage and byte counts.
final class TrailScanCollector: @unchecked Sendable {
  private let lock = NSLock()
  private var findings: CloudTrailFindings
  private let keys: Set<String>
  private let start: Date?
  private let end: Date?
  private var mentions = 0
  private var outsideWindow = 0
  private var unparsable = 0
  private var oversized = 0
  private var bytes = 0
  private var skipped: [(path: String, reason: String, kept: Int)] = []
  private var withoutRecords = 0
  private(set) var cancelled = false

  init(keys: [String], start: Date?, end: Date?, only: Set<String>? = nil, masker: Masker? = nil) {
    findings = CloudTrailFindings(accessKeyIDs: keys)
    findings.masker = masker
    findings.onlyEvents = only
    self.keys = Set(keys)
    self.start = start
    self.end = end
  }

  /// Stops the workers at their next chunk.
  func cancel() { lock.withLock { cancelled = true } }
  var isCancelled: Bool { lock.withLock { cancelled } }

  /// One candidate record's bytes (it contains a key id string). Decoded here, on the worker.
  /// Returns whether it counted as an event.
  @discardableResult
  func candidate(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let record = Value.parseJSON(Data(bytes)), record.objectValue != nil else {
      lock.withLock { unparsable += 1 }
      return false
    }
    guard let key = record["userIdentity"]?["accessKeyId"]?.stringValue, keys.contains(key) else {
      lock.withLock { mentions += 1 }
      return false
    }
    if let time = record["eventTime"]?.stringValue.flatMap(ISO8601.parse),
      (start.map { time < $0 } ?? false) || (end.map { time > $0 } ?? false)
    {
      lock.withLock { outsideWindow += 1 }
      return false
    }
    lock.withLock { findings.add(record: record, fallbackTime: nil) }
    return true
  }

  /// One file done: its uncompressed size, damage if any, and its scanner's own counts.
  func finished(path: String, outcome: TrailArchiveScanner.Outcome) {
    lock.withLock {
      bytes += outcome.bytes
      oversized += outcome.oversizedHits
      if !outcome.sawRecords && outcome.error == nil { withoutRecords += 1 }
      if let error = outcome.error { skipped.append((path, error, outcome.events)) }
    }
  }

  /// The action's result.
  func result(path: String, fileCount: Int, elapsed: TimeInterval) -> ActionResult {
    lock.withLock {
      var caveats: [String] = []
      let damaged = skipped.sorted { $0.path < $1.path }
      for file in damaged {
        caveats.append(
          "\(file.path) could not be read to the end (\(file.reason)); "
            + (file.kept > 0
              ? "\(file.kept) event(s) from its complete records are counted" : "nothing in it was counted"))
      }
      if mentions > 0 {
        caveats.append(
          "\(mentions) record(s) name a key outside userIdentity.accessKeyId (actions on the key by another "
            + "identity, e.g. UpdateAccessKey): not counted as the key's events")
      }
      if outsideWindow > 0 { caveats.append("\(outsideWindow) event(s) of the key(s) fell outside the window") }
      if unparsable > 0 { caveats.append("\(unparsable) record(s) naming a key were not valid JSON and were skipped") }
      if oversized > 0 {
        caveats.append(
          "\(oversized) record(s) naming a key were larger than \(TrailArchiveScanner.maxRecordBytes >> 20) MB and were not read"
        )
      }
      if withoutRecords > 0 {
        caveats.append("\(withoutRecords) file(s) had no Records array (digest files?) and held no events")
      }
      let sortedKeys = keys.sorted()
      var window = ""
      if start != nil || end != nil {
        window = "; window \(start.map(ISO8601.string) ?? "any") to \(end.map(ISO8601.string) ?? "any")"
      }
      var evidence = findings.evidence(
        source: "CloudTrail archive", endpoint: path,
        query: "userIdentity.accessKeyId in [\(sortedKeys.joined(separator: ", "))]\(window); "
          + "\(fileCount) *.json.gz file(s), \(bytes) bytes uncompressed",
        window: (start ?? .distantPast, end ?? .distantFuture), caveats: caveats)
      evidence.windowStart = start
      evidence.windowEnd = end
      if keys.count > 1 { evidence.tallies["access keys"] = findings.perKey }
      var outputs = findings.outputs
      outputs["per-key"] = .object(
        Dictionary(
          uniqueKeysWithValues: sortedKeys.map {
            ($0, Value.number(Double(findings.perKey[$0] ?? 0)))
          }))
      outputs["mentions"] = .number(Double(mentions))
      outputs["files-scanned"] = .number(Double(fileCount))
      outputs["bytes-scanned"] = .number(Double(bytes))
      outputs["skipped-files"] = .array(damaged.map { .string("\($0.path): \($0.reason)") })
      let rate = elapsed > 0 ? String(format: ", %.0f MB/s", Double(bytes) / 1_048_576 / elapsed) : ""
      var summary = findings.summary("\(fileCount) archive file(s)") + rate
      if !damaged.isEmpty { summary += "; \(damaged.count) damaged file(s) skipped" }
      return ActionResult(outputs: outputs, evidence: evidence, summary: summary)
    }
  }
}
