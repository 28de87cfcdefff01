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

    let collector = TrailScanCollector(
      keys: keys, start: start, end: end, only: try onlyEvents(context), masker: context.masker)
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
    let collector = TrailScanCollector(
      keys: keys, start: start, end: end, only: try onlyEvents(context), masker: context.masker)
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
