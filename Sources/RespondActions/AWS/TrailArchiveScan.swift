import CZlib
import Foundation
import RespondCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// MARK: - The action

/// `aws.cloudtrail.scan-archive`: everything one or many keys did, from CloudTrail log files
/// delivered to S3 and copied to a local folder (`AWSLogs/.../CloudTrail/<region>/yyyy/mm/dd/*.json.gz`).
///
/// Fast and in constant memory: each file is inflated in a stream; a structural scan (brace depth
/// outside strings) finds the record boundaries inside `{"Records":[...]}`, and every string
/// value in a record is compared byte for byte with the key ids. Only a record containing a key
/// id string is decoded as JSON, and it counts only when its `userIdentity.accessKeyId` is one
/// of the keys. A record naming a key elsewhere (e.g. `requestParameters.accessKeyId` of an
/// admin's `UpdateAccessKey` on the leaked key) is an action *on* the key, not *by* it: it is
/// counted in `mentions`, not in `event-count`. Files are scanned two at a time. A damaged file
/// (bad gzip, cut short, JSON ending mid-record) is listed in `skipped-files` with the reason;
/// events from the records read completely before the damage are kept, and a caveat says so.
struct TrailArchiveScanAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.cloudtrail.scan-archive",
      summary: "Find keys' events in CloudTrail log files (.json.gz) in a local folder, streaming",
      parameters: [
        ParameterSpec(
          "path", required: true,
          "a folder (searched recursively for *.json.gz), one .json.gz file, or s3://bucket/prefix (needs AWS credentials)"
        ),
        ParameterSpec("access-key-id", .string, "the key to look for"),
        ParameterSpec("access-key-ids", .list, "several keys to look for at once (list or comma-separated)"),
        ParameterSpec("start", .string, "ISO-8601 UTC start of the window (default: no lower bound)"),
        ParameterSpec("end", .string, "ISO-8601 UTC end of the window (default: no upper bound)"),
        ParameterSpec("parallel", .integer, "files scanned at once (default: 2, at most the number of cores)"),
        eventNamesParameter,
      ],
      outputs: auditOutputs + [
        OutputSpec("per-key", "events per access key id (a map)"),
        OutputSpec("mentions", "records naming a key outside userIdentity.accessKeyId (actions on the key, not by it)"),
        OutputSpec("files-scanned", "archive files read"),
        OutputSpec("bytes-scanned", "uncompressed bytes read"),
        OutputSpec("skipped-files", "files that could not be read to the end, each 'path: reason'"),
      ],
      mutates: false, idempotent: true,
      permissions: [
        .aws(
          AWSPermission(
            "s3", "ListObjectsV2", iamAction: "s3:ListBucket", resource: "arn:aws:s3:::*", mutates: false,
            purpose: "AuditLogs", onlyWith: "path", valuePrefix: "s3://")),
        .aws(
          AWSPermission(
            "s3", "GetObject", resource: "arn:aws:s3:::*/*", mutates: false, purpose: "AuditLogs", onlyWith: "path",
            valuePrefix: "s3://")),
      ])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let path = try context.string("path")
    var keys: [String] = []
    if let one = context.optionalString("access-key-id") { keys.append(one) }
    keys += try AWSActions.stringList(context, "access-key-ids") ?? []
    keys = Array(Set(keys)).sorted()
    guard !keys.isEmpty else {
      throw ActionError.badParameter(name: "access-key-id", reason: "give access-key-id or access-key-ids")
    }
    for key in keys where !TrailKeyMatcher.isPlausible(key) {
      throw ActionError.badParameter(
        name: "access-key-ids", reason: "'\(key)' is not an access key id (letters and digits, 16 to 128 characters)")
    }
    let start = try AWSActions.date(context, "start")
    let end = try AWSActions.date(context, "end")
    if let start, let end, start >= end {
      throw ActionError.badParameter(name: "start", reason: "must be before end (\(ISO8601.string(end)))")
    }
    if path.hasPrefix("s3://") {
      return try await scanS3(context, url: path, keys: keys, start: start, end: end)
    }
    let files = try Self.archiveFiles(path)
    let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
    let parallel = min(max(1, try context.int("parallel", default: 2) ?? 2), cores, max(1, files.count))

    let collector = TrailScanCollector(keys: keys, start: start, end: end, only: try onlyEvents(context))
    let matcher = TrailKeyMatcher(keys)
    let began = Date()
    await TrailArchiveScanner.scan(files: files, parallel: parallel, matcher: matcher, collector: collector)
    try Task.checkCancellation()
    let elapsed = Date().timeIntervalSince(began)
    return collector.result(path: path, fileCount: files.count, elapsed: elapsed)
  }

  /// `s3://bucket/prefix`: lists the objects (ListObjectsV2, every page), fetches each `.json.gz`
  /// (GetObject; one object in memory per worker, CloudTrail's are a few MB) and scans it, two at once.
  func scanS3(_ context: ActionContext, url: String, keys: [String], start: Date?, end: Date?) async throws
    -> ActionResult
  {
    let rest = url.dropFirst("s3://".count)
    let bucket = String(rest.prefix { $0 != "/" })
    let prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
    guard !bucket.isEmpty else {
      throw ActionError.badParameter(name: "path", reason: "s3:// needs a bucket: s3://bucket/prefix")
    }
    let client = try AWSClient(context)
    var objects: [String] = []
    var token: String?
    repeat {
      var query = [("list-type", "2"), ("prefix", prefix)]
      if let token { query.append(("continuation-token", token)) }
      let page = try await client.get(.s3, operation: "ListObjectsV2", path: "/" + bucket, query: query)
      guard let xml = AWSXMLNode.parse(page.body) else {
        throw ActionError.failed("S3 ListObjectsV2 answered with a body that is not XML")
      }
      for item in xml.children("Contents") {
        if let key = item.child("Key")?.text, key.hasSuffix(".json.gz") { objects.append(key) }
      }
      let next = xml.child("NextContinuationToken")?.text
      token = xml.child("IsTruncated")?.text == "true" && !(next ?? "").isEmpty && next != token ? next : nil
    } while token != nil
    guard !objects.isEmpty else {
      throw ActionError.badParameter(name: "path", reason: "no CloudTrail log files (*.json.gz) under \(url)")
    }
    let collector = TrailScanCollector(keys: keys, start: start, end: end, only: try onlyEvents(context))
    let matcher = TrailKeyMatcher(keys)
    let began = Date()
    let parallel = max(1, min(try context.int("parallel", default: 2) ?? 2, 4))
    try await withThrowingTaskGroup(of: Void.self) { group in
      var next = 0
      func launch() {
        guard next < objects.count else { return }
        let key = objects[next]
        next += 1
        group.addTask {
          let path = "/" + bucket + "/" + SigV4.uriEncode(key, encodeSlash: false)
          let outcome: TrailArchiveScanner.Outcome
          do {
            let object = try await client.get(.s3, operation: "GetObject", path: path)
            outcome = TrailArchiveScanner(matcher: matcher).scanData(object.body, collector: collector)
          } catch {
            outcome = TrailArchiveScanner.Outcome(error: "GetObject failed: \(error)")
          }
          collector.finished(path: "s3://\(bucket)/\(key)", outcome: outcome)
        }
      }
      for _ in 0..<parallel { launch() }
      while try await group.next() != nil { launch() }
    }
    return collector.result(path: url, fileCount: objects.count, elapsed: Date().timeIntervalSince(began))
  }

  /// The archive files under `path`, sorted: `*.json.gz` found recursively, or `path` itself.
  static func archiveFiles(_ path: String) throws -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw ActionError.badParameter(name: "path", reason: "no such file or folder: \(path)")
    }
    guard isDirectory.boolValue else { return [path] }
    guard let walker = FileManager.default.enumerator(atPath: path) else {
      throw ActionError.badParameter(name: "path", reason: "cannot list \(path)")
    }
    var files: [String] = []
    while let relative = walker.nextObject() as? String {
      if relative.hasSuffix(".json.gz") { files.append((path as NSString).appendingPathComponent(relative)) }
    }
    guard !files.isEmpty else {
      throw ActionError.badParameter(name: "path", reason: "no CloudTrail log files (*.json.gz) under \(path)")
    }
    return files.sorted()
  }
}

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

  init(keys: [String], start: Date?, end: Date?, only: Set<String>? = nil) {
    findings = CloudTrailFindings(accessKeyIDs: keys)
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

// MARK: - Key matching

/// Says whether a JSON string's raw bytes are one of the key ids: length table first, then a
/// hash, then the bytes. Cheap enough to run on every string in every record.
struct TrailKeyMatcher: Sendable {
  private let lengths: [Bool]
  private let byHash: [UInt64: [[UInt8]]]

  init(_ keys: [String]) {
    var lengths = [Bool](repeating: false, count: 257)
    var byHash: [UInt64: [[UInt8]]] = [:]
    for key in keys {
      let bytes = Array(key.utf8)
      if bytes.count <= 256 { lengths[bytes.count] = true }
      let hash = bytes.withUnsafeBufferPointer { Self.hash($0.baseAddress!, $0.count) }
      byHash[hash, default: []].append(bytes)
    }
    self.lengths = lengths
    self.byHash = byHash
  }

  /// Access key ids are 16 to 128 letters and digits (IAM's AccessKeyIdType): no JSON escapes.
  static func isPlausible(_ key: String) -> Bool {
    (16...128).contains(key.utf8.count)
      && key.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
  }

  @inline(__always)
  static func hash(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in 0..<count { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
    return h
  }

  @inline(__always)
  func matches(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    guard count <= 256, lengths[count] else { return false }
    guard let candidates = byHash[Self.hash(p, count)] else { return false }
    return candidates.contains { key in
      key.count == count && key.withUnsafeBufferPointer { memcmp($0.baseAddress!, p, count) == 0 }
    }
  }
}

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

// MARK: - gzip

/// A gzip file inflated in a stream with zlib (several concatenated members are one stream, as
/// gzip itself reads them). Reads the file in 128 KiB pieces; memory is constant.
final class GzipReader {
  private var stream = z_stream()
  private let fd: Int32
  /// The compressed bytes when they come from memory (an S3 object), else nil.
  private let data: Data?
  private var dataOffset = 0
  private let input: UnsafeMutablePointer<UInt8>
  private static let inputSize = 128 << 10
  private var inputEOF = false
  private var finished = false
  private var sawMember = false

  init(path: String) throws {
    data = nil
    fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw ScanError("cannot open: \(String(cString: strerror(errno)))") }
    input = .allocate(capacity: Self.inputSize)
    guard respond_inflate_init_auto(&stream) == Z_OK else {
      close(fd)
      input.deallocate()
      throw ScanError("zlib could not start")
    }
  }

  /// Inflates compressed bytes held in memory.
  init(data: Data) throws {
    self.data = data
    fd = -1
    input = .allocate(capacity: Self.inputSize)
    guard respond_inflate_init_auto(&stream) == Z_OK else {
      input.deallocate()
      throw ScanError("zlib could not start")
    }
  }

  deinit {
    inflateEnd(&stream)
    if fd >= 0 { close(fd) }
    input.deallocate()
  }

  /// The next compressed bytes into `input`: their count, 0 at the end.
  private func fill() -> Int {
    guard let data else { return readFile(fd, input, Self.inputSize) }
    let n = min(Self.inputSize, data.count - dataOffset)
    if n > 0 {
      data.withUnsafeBytes { raw in
        input.update(from: raw.baseAddress!.advanced(by: dataOffset).assumingMemoryBound(to: UInt8.self), count: n)
      }
      dataOffset += n
    }
    return n
  }

  /// Inflates up to `capacity` bytes into `out`; 0 at the end of the data. Throws on damage.
  func read(into out: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
    if finished { return 0 }
    stream.next_out = out
    stream.avail_out = UInt32(capacity)
    while stream.avail_out > 0 {
      if stream.avail_in == 0 && !inputEOF {
        let n = fill()
        if n < 0 { throw ScanError("read error: \(String(cString: strerror(errno)))") }
        if n == 0 {
          inputEOF = true
        } else {
          stream.next_in = input
          stream.avail_in = UInt32(n)
        }
      }
      if stream.avail_in == 0 && inputEOF {
        if sawMember && stream.total_in == 0 {
          finished = true
          break
        }  // clean end after a member
        // Hand over what was inflated before the damage; the error comes with the next call.
        if Int(stream.avail_out) < capacity { break }
        if stream.total_in == 0 && !sawMember { throw ScanError("empty file, not gzip") }
        throw ScanError("gzip data cut short (truncated file)")
      }
      let status = inflate(&stream, Z_NO_FLUSH)
      switch status {
      case Z_OK, Z_BUF_ERROR:
        continue
      case Z_STREAM_END:
        sawMember = true
        // Another member may follow; a clean end of file after this one is the end.
        if stream.avail_in == 0 {
          let n = fill()
          if n < 0 { throw ScanError("read error: \(String(cString: strerror(errno)))") }
          if n == 0 {
            inputEOF = true
            finished = true
            break
          }
          stream.next_in = input
          stream.avail_in = UInt32(n)
        }
        let produced = capacity - Int(stream.avail_out)
        inflateReset(&stream)
        stream.next_out = out + produced
        stream.avail_out = UInt32(capacity - produced)
        continue
      case Z_DATA_ERROR:
        let message = stream.msg.map { String(cString: $0) } ?? "invalid data"
        throw ScanError("not valid gzip (\(message))")
      case Z_MEM_ERROR:
        throw ScanError("zlib ran out of memory")
      default:
        throw ScanError("zlib error \(status)")
      }
      if finished { break }
    }
    return capacity - Int(stream.avail_out)
  }
}

/// `read(2)`, under a name the reader's own `read` method does not hide.
private func readFile(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
