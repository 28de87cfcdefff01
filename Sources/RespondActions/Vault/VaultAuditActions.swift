import Foundation
import RespondCore

// MARK: - vault.audit.hash

/// `vault.audit.hash`: the HMAC an audit device writes for a value (a token, an accessor), so the
/// device's log can be searched for it. Each device has its own salt: hash per device. The call is a
/// POST that changes nothing, so it also runs in dry runs.
package struct VaultAuditHashAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.audit.hash", summary: "Compute how a Vault/OpenBao audit device hashes a value (e.g. a token)",
      parameters: [
        ParameterSpec("input", required: true, secret: true, "the plaintext to hash (e.g. the leaked token)"),
        ParameterSpec("device", .string, "the audit device path (default: file)"),
      ],
      outputs: [OutputSpec("hash", "hmac-sha256:<hex>, as the device logs it")],
      mutates: false, idempotent: true, requirements: [VaultActions.requirement],
      permissions: [.vault(VaultPermission(.fixed("sys/audit-hash/+"), ["update"], purpose: "the audit log search"))])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let input = try context.string("input")
    context.masker.register(input)
    let device = (context.optionalString("device") ?? "file").trimmingCharacters(in: CharacterSet(charactersIn: "/ "))
    guard !device.isEmpty else { throw ActionError.badParameter(name: "device", reason: "must not be empty") }
    let client = try VaultClient(context)
    let reply = try await client.call(
      "POST", "sys/audit-hash/\(device)", body: ["input": .string(input)], mutates: false)
    guard let hash = (reply.data?["hash"] ?? reply.json?["hash"])?.stringValue, !hash.isEmpty else {
      throw ActionError.failed("Vault answered sys/audit-hash/\(device) without a hash")
    }
    return ActionResult(outputs: ["hash": .string(hash)], summary: "audit device '\(device)' logs it as \(hash)")
  }
}

// MARK: - vault.audit.search

/// `vault.audit.search`: everything a token did, from a Vault/OpenBao file audit device's log. The
/// log is streamed line by line (it can be huge); records whose token or accessor fields equal one of
/// the given audit hashes are summarised (requests, paths, operations, source addresses, first and
/// last seen) and kept as evidence with the query that found them. Unparseable lines are counted and
/// reported, never fatal. Reads a local file only: no network.
package struct VaultAuditSearchAction: Action {
  package init() {}

  /// The record fields that identify who made a request. `request.*` are set even when Vault
  /// rejected the token (e.g. use after revocation), when `auth` is empty.
  package static let tokenFields = ["auth.client_token", "request.client_token"]
  package static let accessorFields = ["auth.accessor", "request.client_token_accessor"]

  /// How many events the evidence keeps (half from the start, half from the end).
  package static let evidenceSample = 100

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.audit.search", summary: "Search a Vault/OpenBao file audit log for a token's requests",
      parameters: [
        ParameterSpec("log-file", required: true, "path of the file audit device's log"),
        ParameterSpec(
          "hashes", .any, "token hash(es) from vault.audit.hash (hmac-sha256:...): a list or a comma-separated string"),
        ParameterSpec(
          "accessor-hashes", .any, "accessor hash(es) (or plain accessors when hmac_accessor is off)"),
      ],
      outputs: [
        OutputSpec("event-count", "matching requests"),
        OutputSpec("record-count", "matching log records (a request and its response are two)"),
        OutputSpec("error-count", "matching requests that Vault refused or failed"),
        OutputSpec("paths", "request paths, most frequent first"),
        OutputSpec("operations", "operations (read, update, list...), most frequent first"),
        OutputSpec("remote-addresses", "client addresses, most frequent first"),
        OutputSpec("first-seen", "UTC time of the first matching record"),
        OutputSpec("last-seen", "UTC time of the last matching record"),
        OutputSpec("malformed-lines", "lines that were not JSON audit records"),
        OutputSpec("lines", "lines read"),
        OutputSpec(
          "secrets-read", "each distinct path the token read a secret from: {kind, name, first-read, event-ids}"),
        OutputSpec("secret-follow-ups", "one line per path read: what to rotate, and the requests proving it"),
      ],
      mutates: false, idempotent: true,
      permissions: [])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let file = try context.string("log-file")
    let tokenHashes = try Self.hashList(context.parameters["hashes"], name: "hashes", requirePrefix: true)
    let accessorHashes = try Self.hashList(
      context.parameters["accessor-hashes"], name: "accessor-hashes", requirePrefix: false)
    guard !tokenHashes.isEmpty || !accessorHashes.isEmpty else {
      throw ActionError.badParameter(name: "hashes", reason: "is required (or give accessor-hashes)")
    }
    var scan = AuditScan(tokenHashes: Set(tokenHashes), accessorHashes: Set(accessorHashes))
    do {
      try AuditLogReader.forEachLine(of: file) { number, line in scan.consume(line: line, number: number) }
    } catch {
      throw ActionError.badParameter(
        name: "log-file", reason: "cannot be read: \(file) (\(error.localizedDescription))")
    }
    return scan.result(file: file, tokenHashes: tokenHashes, accessorHashes: accessorHashes)
  }

  /// Reads a string or list parameter of hashes. Token hashes must look like audit hashes, so a
  /// plaintext token passed by mistake is refused (without echoing it) instead of being searched for
  /// and written into the evidence.
  static func hashList(_ value: Value?, name: String, requirePrefix: Bool) throws -> [String] {
    var raw: [String] = []
    switch value {
    case nil, .null?: return []
    case .string(let s)?: raw = s.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    case .array(let items)?:
      for item in items {
        guard let s = item.stringValue else {
          throw ActionError.badParameter(name: name, reason: "must be a list of strings, got a \(item.typeName) in it")
        }
        raw.append(s.trimmingCharacters(in: .whitespaces))
      }
    case let other?:
      throw ActionError.badParameter(name: name, reason: "must be a string or a list, got \(other.typeName)")
    }
    let list = raw.filter { !$0.isEmpty }
    if requirePrefix, list.contains(where: { !$0.hasPrefix("hmac-sha256:") }) {
      throw ActionError.badParameter(
        name: name, reason: "must hold audit hashes (hmac-sha256:...) from vault.audit.hash, never the token itself")
    }
    var seen = Set<String>()
    return list.filter { seen.insert($0).inserted }
  }
}

/// Streams a file line by line in fixed-size chunks, so a multi-gigabyte audit log is never
/// loaded whole.
enum AuditLogReader {
  static func forEachLine(of path: String, chunkSize: Int = 1 << 20, _ body: (Int, Data) -> Void) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
    }
    defer { try? handle.close() }
    var carry = Data()
    var number = 0
    while true {
      let chunk = try handle.read(upToCount: chunkSize) ?? Data()
      if chunk.isEmpty { break }
      carry.append(chunk)
      // Newline offsets found with memchr: a Swift byte loop is many times slower on big logs.
      let newlines: [Int] = carry.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Int] in
        guard let base = raw.baseAddress else { return [] }
        var found: [Int] = []
        var offset = 0
        while offset < raw.count, let hit = memchr(base + offset, 0x0A, raw.count - offset) {
          let at = base.distance(to: UnsafeRawPointer(hit))
          found.append(at)
          offset = at + 1
        }
        return found
      }
      var start = 0
      for newline in newlines {
        number += 1
        body(number, carry.subdata(in: start..<newline))
        start = newline + 1
      }
      carry = start == 0 ? carry : carry.subdata(in: start..<carry.count)
    }
    if !carry.isEmpty {
      number += 1
      body(number, carry)
    }
  }
}

/// The running state of one audit-log search.
struct AuditScan {
  let tokenHashes: Set<String>
  let accessorHashes: Set<String>

  var lines = 0
  var malformed = 0
  var firstMalformedLine: Int?
  var windowStart: Date?
  var windowEnd: Date?
  var records = 0
  /// "hash @ field" → records.
  var hits: [String: Int] = [:]
  /// Request id → the event (earliest record time, with the request's facts).
  var events: [String: EvidenceEvent] = [:]
  var erroredRequests = Set<String>()
  var paths: [String: Int] = [:]
  var operations: [String: Int] = [:]
  var addresses: [String: Int] = [:]
  var firstSeen: Date?
  var lastSeen: Date?
  /// Request id → what it asked for, for the list of secrets the token read.
  var requests: [String: SecretReadListing.VaultRequest] = [:]

  /// The searched values as bytes, for the fast pre-check.
  let needles: [[UInt8]]

  init(tokenHashes: Set<String>, accessorHashes: Set<String>) {
    self.tokenHashes = tokenHashes
    self.accessorHashes = accessorHashes
    needles = tokenHashes.union(accessorHashes).map { Array($0.utf8) }
  }

  mutating func consume(line: Data, number: Int) {
    lines += 1
    var bytes = line
    while let last = bytes.last, last == 0x0D || last == 0x20 || last == 0x09 { bytes.removeLast() }
    while let first = bytes.first, first == 0x20 || first == 0x09 { bytes.removeFirst() }
    if bytes.isEmpty { return }
    // Fast path: a record that mentions none of the searched values only extends the window. It is
    // checked structurally (one `{"time":"...` record, closed) rather than parsed, which keeps a
    // multi-gigabyte log to seconds; every record that mentions a value is fully parsed below.
    if !needles.contains(where: { Self.contains(bytes, $0) }), let time = Self.quickTime(bytes) {
      if bytes.last != 0x7D || Self.contains(bytes.dropFirst(), Self.recordStart) {
        noteMalformed(number)
      } else {
        extendWindow(time)
      }
      return
    }
    guard let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
      noteMalformed(number)
      return
    }
    let time = (object["time"] as? String).flatMap(RFC3339.parse)
    if let time { extendWindow(time) }
    let auth = object["auth"] as? [String: Any] ?? [:]
    let request = object["request"] as? [String: Any] ?? [:]
    let fields: [(String, Any?, Set<String>)] = [
      ("auth.client_token", auth["client_token"], tokenHashes),
      ("request.client_token", request["client_token"], tokenHashes),
      ("auth.accessor", auth["accessor"], accessorHashes),
      ("request.client_token_accessor", request["client_token_accessor"], accessorHashes),
    ]
    var matched = false
    for (field, value, wanted) in fields {
      guard let s = value as? String, wanted.contains(s) else { continue }
      hits["\(s) @ \(field)", default: 0] += 1
      matched = true
    }
    guard matched else { return }
    records += 1
    let id = (request["id"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "line-\(number)"
    let operation = request["operation"] as? String ?? "?"
    let path = request["path"] as? String ?? "?"
    let address = request["remote_address"] as? String
    let error = (object["error"] as? String).map(Self.cleanError).flatMap { $0.isEmpty ? nil : $0 }
    if let time {
      firstSeen = min(firstSeen ?? time, time)
      lastSeen = max(lastSeen ?? time, time)
    }
    if error != nil { erroredRequests.insert(id) }
    if var existing = events[id] {
      if let time, time < existing.time { existing.time = time }
      if existing.detail == nil, let error { existing.detail = error }
      events[id] = existing
      return
    }
    events[id] = EvidenceEvent(
      time: time ?? Date(timeIntervalSince1970: 0), name: "\(operation) \(path)", sourceIP: address, detail: error,
      id: id)
    requests[id] = SecretReadListing.VaultRequest(time: time, operation: operation, path: path, id: id, failed: false)
    paths[path, default: 0] += 1
    operations[operation, default: 0] += 1
    if let address { addresses[address, default: 0] += 1 }
  }

  private mutating func noteMalformed(_ number: Int) {
    malformed += 1
    if firstMalformedLine == nil { firstMalformedLine = number }
  }

  private mutating func extendWindow(_ time: Date) {
    windowStart = min(windowStart ?? time, time)
    windowEnd = max(windowEnd ?? time, time)
  }

  static let recordStart = Array(#"{"time":""#.utf8)

  /// The timestamp of a line that starts like an audit record (`{"time":"<rfc3339>"`), else nil.
  static func quickTime(_ line: Data) -> Date? {
    guard line.count > recordStart.count + 20, line.starts(with: recordStart) else { return nil }
    let from = line.index(line.startIndex, offsetBy: recordStart.count)
    guard let end = line[from...].prefix(40).firstIndex(of: 0x22) else { return nil }
    return RFC3339.parse(String(decoding: line[from..<end], as: UTF8.self))
  }

  /// Whether `haystack` contains `needle` (memchr/memcmp: much faster than a Swift byte loop).
  static func contains(_ haystack: Data, _ needle: [UInt8]) -> Bool {
    guard let first = needle.first else { return true }
    guard haystack.count >= needle.count else { return false }
    return haystack.withUnsafeBytes { (h: UnsafeRawBufferPointer) -> Bool in
      needle.withUnsafeBytes { (n: UnsafeRawBufferPointer) -> Bool in
        guard let base = h.baseAddress, let nBase = n.baseAddress else { return false }
        let lastStart = h.count - n.count
        var offset = 0
        while offset <= lastStart {
          guard let hit = memchr(base + offset, Int32(first), lastStart - offset + 1) else { return false }
          if memcmp(hit, nBase, n.count) == 0 { return true }
          offset = base.distance(to: UnsafeRawPointer(hit)) + 1
        }
        return false
      }
    }
  }

  /// "1 error occurred:\n\t* permission denied\n\n" → "permission denied".
  static func cleanError(_ text: String) -> String {
    let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    let bullets = lines.filter { $0.hasPrefix("* ") }.map { String($0.dropFirst(2)) }
    return (bullets.isEmpty ? lines.filter { !$0.isEmpty } : bullets).joined(separator: "; ")
  }

  /// Names by descending count, then by name.
  static func ranked(_ counts: [String: Int]) -> [String] {
    counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
  }

  func result(file: String, tokenHashes: [String], accessorHashes: [String]) -> ActionResult {
    let sorted = events.values.sorted { $0.time != $1.time ? $0.time < $1.time : $0.name < $1.name }
    var caveats: [String] = []
    var sample = sorted
    let limit = VaultAuditSearchAction.evidenceSample
    if sorted.count > limit {
      sample = Array(sorted.prefix(limit / 2)) + Array(sorted.suffix(limit / 2))
      caveats.append("\(sorted.count) events matched; the evidence keeps the first and last \(limit / 2)")
    }
    if malformed > 0 {
      caveats.append(
        "\(malformed) of \(lines) line(s) were not JSON audit records and were skipped "
          + "(first at line \(firstMalformedLine ?? 0))")
    }
    if lines == 0 { caveats.append("the audit log is empty") }
    caveats.append("only this audit device's log was searched; Vault writes each request to every enabled device")

    var searched: [String] = []
    if !tokenHashes.isEmpty {
      searched.append(
        "\(VaultAuditSearchAction.tokenFields.joined(separator: "|")) in [\(tokenHashes.joined(separator: ", "))]")
    }
    if !accessorHashes.isEmpty {
      searched.append(
        "\(VaultAuditSearchAction.accessorFields.joined(separator: "|")) in [\(accessorHashes.joined(separator: ", "))]"
      )
    }
    let matchedText =
      hits.isEmpty
      ? "no matches"
      : "matched: " + hits.keys.sorted().map { "\($0) (\(hits[$0]!) records)" }.joined(separator: "; ")
    let query = searched.joined(separator: " OR ") + "; " + matchedText

    let evidence = Evidence(
      source: "Vault audit log", endpoint: file, query: query, windowStart: windowStart, windowEnd: windowEnd,
      eventCount: events.count, firstSeen: firstSeen, lastSeen: lastSeen,
      tallies: ["paths": paths, "operations": operations, "remote addresses": addresses],
      events: sample, caveats: caveats)
    var outputs: [String: Value] = [
      "event-count": .number(Double(events.count)),
      "record-count": .number(Double(records)),
      "error-count": .number(Double(erroredRequests.count)),
      "paths": .array(Self.ranked(paths).map(Value.string)),
      "operations": .array(Self.ranked(operations).map(Value.string)),
      "remote-addresses": .array(Self.ranked(addresses).map(Value.string)),
      "first-seen": firstSeen.map { .string(ISO8601.string($0)) } ?? .null,
      "last-seen": lastSeen.map { .string(ISO8601.string($0)) } ?? .null,
      "malformed-lines": .number(Double(malformed)),
      "lines": .number(Double(lines)),
    ]
    outputs.merge(secretsRead()) { _, new in new }
    var summary = "\(events.count) request(s) in \(file)"
    if let firstSeen, let lastSeen {
      summary += " from \(addresses.count) address(es), \(ISO8601.string(firstSeen)) – \(ISO8601.string(lastSeen))"
    }
    if malformed > 0 { summary += "; \(malformed) malformed line(s) skipped" }
    return ActionResult(outputs: outputs, evidence: evidence, summary: summary)
  }
}

extension AuditScan {
  /// The paths the token read secrets from (a request Vault refused read nothing), each a
  /// follow-up naming the path and the request ids proving the read.
  func secretsRead() -> [String: Value] {
    let all = requests.values.map { r in
      var r = r
      r.failed = r.id.map(erroredRequests.contains) ?? false
      return r
    }.sorted { ($0.id ?? "") < ($1.id ?? "") }
    let reads = SecretReadListing.vault(all)
    return [
      "secrets-read": .array(reads.map(\.value)), "secret-follow-ups": .array(reads.map { .string($0.followUp) }),
    ]
  }
}

/// A fast parser for the RFC 3339 timestamps audit devices write (`2026-11-23T13:17:44.008325961Z`,
/// or with a `+hh:mm` offset). A formatter per line would dominate the time of a large scan.
package enum RFC3339 {
  package static func parse(_ text: String) -> Date? {
    let b = Array(text.utf8)
    guard b.count >= 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20,
      b[13] == 0x3A, b[16] == 0x3A
    else { return nil }
    func num(_ from: Int, _ len: Int) -> Int? {
      var v = 0
      for i in from..<(from + len) {
        let c = b[i]
        guard c >= 0x30, c <= 0x39 else { return nil }
        v = v * 10 + Int(c - 0x30)
      }
      return v
    }
    guard let year = num(0, 4), let month = num(5, 2), let day = num(8, 2), let hour = num(11, 2),
      let minute = num(14, 2), let second = num(17, 2), (1...12).contains(month), (1...31).contains(day)
    else { return nil }
    var i = 19
    var fraction = 0.0
    if i < b.count, b[i] == 0x2E {
      i += 1
      var scale = 0.1
      while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
        fraction += Double(b[i] - 0x30) * scale
        scale /= 10
        i += 1
      }
    }
    guard i < b.count else { return nil }
    var offset = 0
    if b[i] == 0x5A || b[i] == 0x7A {
      guard i + 1 == b.count else { return nil }
    } else if b[i] == 0x2B || b[i] == 0x2D, i + 6 == b.count, b[i + 3] == 0x3A, let oh = num(i + 1, 2),
      let om = num(i + 4, 2)
    {
      offset = (oh * 3600 + om * 60) * (b[i] == 0x2B ? 1 : -1)
    } else {
      return nil
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    return Date(timeIntervalSince1970: Double(seconds) + fraction)
  }
}
