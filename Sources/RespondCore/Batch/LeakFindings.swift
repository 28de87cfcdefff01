import Foundation

/// One place a secret scanner saw a leaked secret: which tool, file, commit, line and rule.
package struct LeakSource: Codable, Sendable, Equatable, Hashable {
  package var tool: String
  package var file: String?
  package var commit: String?
  package var line: Int?
  package var rule: String?

  package init(tool: String, file: String? = nil, commit: String? = nil, line: Int? = nil, rule: String? = nil) {
    self.tool = tool
    self.file = file
    self.commit = commit
    self.line = line
    self.rule = rule
  }

  /// "gitleaks aws-access-token at config/ci.env:12 in a1b2c3d4"
  package var description: String {
    var s = tool
    if let rule { s += " \(rule)" }
    if let file { s += " at \(file)" + (line.map { ":\($0)" } ?? "") }
    if let commit { s += " in \(commit.prefix(12))" }
    return s
  }
}

/// A distinct leaked secret and every finding that reported it. `secret` authenticates by
/// itself: register it with a masker before anything can print it.
package struct LeakedSecret: Sendable, Equatable {
  package var secret: String
  package var sources: [LeakSource]

  package init(secret: String, sources: [LeakSource]) {
    self.secret = secret
    self.sources = sources
  }
}

/// Reads what secret scanners report, in their own formats, into distinct secrets:
/// gitleaks `detect --report-format json` (a JSON array of findings with `RuleID`, `File`,
/// `StartLine`, `Commit`, `Secret`, `Match`), trufflehog `--json` (one JSON object per line with
/// `Raw`, `DetectorName`, `SourceMetadata.Data.<Git|Filesystem|Github...>.{file,commit,line}`), or
/// a plain list, one secret per line (`#` comments and blank lines ignored). Duplicates merge,
/// in order of first appearance.
package enum LeakFindings {
  /// The largest scanner report `--from` reads, checked before reading: a report of a large
  /// monorepo runs to megabytes, never to this; anything larger is a wrong file (a disk image,
  /// `/dev/zero`) that would otherwise be read whole into memory.
  package static let maxFileSize = 64 << 20

  package enum Format: String, Sendable { case gitleaks, trufflehog, plain }

  /// The format of a report, by its shape.
  package static func detect(_ text: String) -> Format {
    let trimmed = text.drop { $0.isWhitespace }
    if trimmed.hasPrefix("[") { return .gitleaks }
    if trimmed.hasPrefix("{") { return .trufflehog }
    return .plain
  }

  /// Parses a report of any of the three formats. Every secret is registered with `masker`
  /// as soon as it is read. Throws `UsageError` on a report that is not what its shape says.
  package static func parse(_ text: String, masker: Masker) throws -> (format: Format, secrets: [LeakedSecret]) {
    let format = detect(text)
    var found: [(String, LeakSource?)] = []
    switch format {
    case .gitleaks:
      guard let findings = Value.parseJSON(text)?.arrayValue else {
        throw UsageError("the gitleaks report is not a JSON array of findings")
      }
      for (n, f) in findings.enumerated() {
        guard let secret = nonEmpty(f["Secret"]?.stringValue) ?? nonEmpty(f["Match"]?.stringValue) else {
          throw UsageError("gitleaks finding \(n + 1) has no Secret")
        }
        masker.register(secret)
        found.append((
          secret,
          LeakSource(
            tool: "gitleaks", file: nonEmpty(f["File"]?.stringValue), commit: nonEmpty(f["Commit"]?.stringValue),
            line: f["StartLine"]?.intValue, rule: nonEmpty(f["RuleID"]?.stringValue))
        ))
      }
    case .trufflehog:
      for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
        let row = line.trimmingCharacters(in: .whitespaces)
        if row.isEmpty { continue }
        guard let f = Value.parseJSON(row), f.objectValue != nil else {
          throw UsageError("trufflehog report line \(n + 1) is not a JSON object")
        }
        guard let secret = nonEmpty(f["Raw"]?.stringValue) else {
          throw UsageError("trufflehog finding on line \(n + 1) has no Raw")
        }
        masker.register(secret)
        // RawV2 may carry the secret half too (AWS: "AKIA...:secret access key").
        if let raw2 = nonEmpty(f["RawV2"]?.stringValue) {
          masker.register(raw2)
          for part in raw2.split(separator: ":") where part.count >= 8 { masker.register(String(part)) }
        }
        // SourceMetadata.Data holds one object named after the source (Git, Filesystem, Github...).
        let data = f["SourceMetadata"]?["Data"]?.objectValue?.values.first
        found.append((
          secret,
          LeakSource(
            tool: "trufflehog", file: nonEmpty(data?["file"]?.stringValue), commit: nonEmpty(data?["commit"]?.stringValue),
            line: data?["line"]?.intValue, rule: nonEmpty(f["DetectorName"]?.stringValue))
        ))
      }
    case .plain:
      for line in text.split(whereSeparator: \.isNewline) {
        let secret = line.trimmingCharacters(in: .whitespaces)
        if secret.isEmpty || secret.hasPrefix("#") { continue }
        masker.register(secret)
        found.append((secret, nil))
      }
    }
    var order: [String] = []
    var sources: [String: [LeakSource]] = [:]
    for (secret, source) in found {
      if sources[secret] == nil {
        order.append(secret)
        sources[secret] = []
      }
      if let source, !sources[secret]!.contains(source) { sources[secret]!.append(source) }
    }
    return (format, order.map { LeakedSecret(secret: $0, sources: sources[$0]!) })
  }

  private static func nonEmpty(_ s: String?) -> String? {
    guard let s, !s.isEmpty else { return nil }
    return s
  }
}
