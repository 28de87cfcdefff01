import Foundation

/// Where a team shares its incidents: `RESPOND_STATE_URL=s3://bucket/prefix`. The per-key lock
/// lives at `<prefix>/locks/<digest>` and each incident at `<prefix>/incidents/<incident id>/`.
/// Parsed strictly: a typo must stop the run with a clear error, never leave a responder working
/// alone while the team believes it can see the incident.
package struct SharedStateLocation: Sendable, Equatable, CustomStringConvertible {
  package static let variable = "RESPOND_STATE_URL"

  package var bucket: String
  /// Without leading or trailing `/`; empty for the bucket's root.
  package var prefix: String

  package init(bucket: String, prefix: String) {
    self.bucket = bucket
    self.prefix = prefix
  }

  /// `s3://bucket/prefix` (no trailing slash).
  package var description: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/\(prefix)") }

  /// The object key of `relative` under the prefix.
  package func key(_ relative: String) -> String { prefix.isEmpty ? relative : "\(prefix)/\(relative)" }

  /// The object key of the lock for a key's identity digest (`IncidentLock.Identity.digest`).
  package func lockKey(digest: String) -> String { key("locks/\(digest)") }

  /// The folder (ending in `/`) holding one incident's journal, evidence and reports.
  package func incidentPrefix(_ id: String) -> String { key("incidents/\(id)/") }

  /// The URL `respond resume` takes for an incident.
  package func incidentURL(_ id: String) -> String { "\(self)/incidents/\(id)" }

  /// A mistake in the variable or an incident URL, said with what was given and what is expected.
  package struct Invalid: Error, Equatable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
  }

  /// The location the environment names, nil when the variable is unset or empty.
  package static func fromEnvironment(_ environment: [String: String]) throws -> SharedStateLocation? {
    guard let raw = environment[variable], !raw.isEmpty else { return nil }
    do { return try parse(raw) } catch let invalid as Invalid {
      throw Invalid("\(variable): \(invalid.description)")
    }
  }

  /// Parses `s3://bucket[/prefix]`: a bucket name as S3 allows it (3-63 lower-case letters,
  /// digits, `-` and `.`, starting and ending with a letter or digit), and a prefix of plain
  /// segments (no empty, `.` or `..` segment, no control character, no query or fragment).
  package static func parse(_ raw: String) throws -> SharedStateLocation {
    let text = raw.trimmingCharacters(in: .whitespaces)
    guard text.hasPrefix("s3://") else {
      throw Invalid("'\(text)' is not an s3:// URL: expected s3://bucket/prefix")
    }
    var rest = Substring(text.dropFirst(5))
    while rest.hasSuffix("/") { rest = rest.dropLast() }
    let bucket = String(rest.prefix { $0 != "/" })
    let prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
    if let problem = bucketProblem(bucket) { throw Invalid("'\(text)': \(problem)") }
    if let problem = prefixProblem(prefix) { throw Invalid("'\(text)': \(problem)") }
    return SharedStateLocation(bucket: bucket, prefix: prefix)
  }

  /// `s3://bucket/prefix/incidents/<id>`: the shared state and the incident id in it.
  package static func parseIncident(_ raw: String) throws -> (location: SharedStateLocation, id: String) {
    let full = try parse(raw)
    let parts = full.prefix.split(separator: "/").map(String.init)
    guard parts.count >= 2, parts[parts.count - 2] == "incidents" else {
      throw Invalid("'\(raw)' does not name an incident: expected s3://bucket/prefix/incidents/<incident id>")
    }
    let id = parts[parts.count - 1]
    guard !id.hasPrefix(".") else { throw Invalid("'\(raw)': '\(id)' is not an incident id") }
    return (SharedStateLocation(bucket: full.bucket, prefix: parts.dropLast(2).joined(separator: "/")), id)
  }

  static func bucketProblem(_ bucket: String) -> String? {
    if bucket.isEmpty { return "no bucket: expected s3://bucket/prefix" }
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
    guard bucket.count >= 3, bucket.count <= 63, bucket.allSatisfy(allowed.contains),
      let first = bucket.first, let last = bucket.last, first.isLetter || first.isNumber,
      last.isLetter || last.isNumber, !bucket.contains("..")
    else {
      return
        "'\(bucket)' is not an S3 bucket name (3 to 63 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)"
    }
    return nil
  }

  static func prefixProblem(_ prefix: String) -> String? {
    if prefix.contains("?") || prefix.contains("#") { return "a query or fragment has no place in it" }
    if prefix.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
      return "the prefix holds a control character"
    }
    for segment in prefix.split(separator: "/", omittingEmptySubsequences: false) where !prefix.isEmpty {
      if segment.isEmpty { return "the prefix has an empty segment ('//')" }
      if segment == "." || segment == ".." { return "the prefix has a '\(segment)' segment" }
    }
    return nil
  }
}

/// How long the evidence mirrored to an Object Lock bucket is retained (GOVERNANCE mode: an
/// administrator with `s3:BypassGovernanceRetention` can still remove it, nobody else can, so a
/// mistake is recoverable but a quiet deletion is not). `RESPOND_STATE_RETENTION_DAYS`, default 365.
package enum SharedRetention {
  package static let variable = "RESPOND_STATE_RETENTION_DAYS"
  package static let defaultDays = 365
  package static let mode = "GOVERNANCE"

  /// The days from the environment: a whole number from 1 to 36500, else a clear error.
  package static func days(_ environment: [String: String]) throws -> Int {
    guard let raw = environment[variable]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else {
      return defaultDays
    }
    guard let days = Int(raw), (1...36500).contains(days) else {
      throw SharedStateLocation.Invalid("\(variable): '\(raw)' is not a number of days from 1 to 36500")
    }
    return days
  }

  /// The retain-until date for an object written at `now`, as S3 takes it (ISO 8601, UTC, seconds).
  package static func retainUntil(_ now: Date, days: Int) -> String {
    ISO8601.string(now.addingTimeInterval(Double(days) * 86400))
  }
}

/// The S3 calls the shared state needs, behind a protocol so the core knows no S3 details and
/// the lock and mirror can be tested with a store in memory. Keys are whole object keys.
package protocol SharedStateStore: Sendable {
  /// Whether the bucket has Object Lock enabled; throws a clear error when the bucket cannot be
  /// reached (missing, no permission): the first call, so a wrong URL stops the run at once.
  func objectLockEnabled() async throws -> Bool
  /// Creates the object only when none exists (`If-None-Match: *`): its ETag, nil when one does.
  func createIfAbsent(_ key: String, body: Data, retainUntil: String?) async throws -> String?
  /// Replaces the object only when its ETag is still `etag` (`If-Match`): the new ETag, nil when
  /// it changed meanwhile.
  func replace(_ key: String, body: Data, ifMatch etag: String, retainUntil: String?) async throws -> String?
  /// The object and its ETag, nil when there is none.
  func get(_ key: String) async throws -> (body: Data, etag: String)?
  /// Writes the object, with Object Lock retention until `retainUntil` when given.
  func put(_ key: String, body: Data, retainUntil: String?) async throws
  func delete(_ key: String) async throws
}

extension SharedStateStore {
  /// `replace` without Object Lock retention (the lock object: it is deleted when the run ends).
  package func replace(_ key: String, body: Data, ifMatch etag: String) async throws -> String? {
    try await replace(key, body: body, ifMatch: etag, retainUntil: nil)
  }
}
