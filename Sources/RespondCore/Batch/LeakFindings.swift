import Foundation

/// One place a secret scanner saw a leaked secret: which tool, file, commit, line and rule, and
/// whether the scanner proved the secret live (trufflehog's `Verified`).
package struct LeakSource: Codable, Sendable, Equatable, Hashable {
  package var tool: String
  package var file: String?
  package var commit: String?
  package var line: Int?
  package var rule: String?
  /// trufflehog's `Verified`: true when the scanner authenticated with the secret (it is live);
  /// nil for scanners that do not verify.
  package var verified: Bool?
  /// Where a person sees the finding: a GitHub secret-scanning alert's page, or the public URL
  /// AWS Health says the key was exposed at. nil for local scanners.
  package var url: String?

  package init(
    tool: String, file: String? = nil, commit: String? = nil, line: Int? = nil, rule: String? = nil,
    verified: Bool? = nil, url: String? = nil
  ) {
    self.tool = tool
    self.file = file
    self.commit = commit
    self.line = line
    self.rule = rule
    self.verified = verified
    self.url = url
  }

  /// "gitleaks aws-access-token at config/ci.env:12 in a1b2c3d4", "trufflehog AWS (verified live) at ..."
  package var description: String {
    var s = tool
    if let rule { s += " \(rule)" }
    if let verified { s += verified ? " (verified live)" : " (not verified)" }
    if let file { s += " at \(file)" + (line.map { ":\($0)" } ?? "") }
    if let commit { s += " in \(commit.prefix(12))" }
    if let url { s += " (\(url))" }
    return s
  }
}

/// A distinct leaked secret and every finding that reported it. `secret` authenticates by
/// itself: register it with a masker before anything can print it.
package struct LeakedSecret: Sendable, Equatable {
  package var secret: String
  package var sources: [LeakSource]
  /// The secret half found beside this key id (an AWS secret access key in the same file and
  /// commit), registered with the masker: one credential, contained through its id.
  package var pairedSecret: Bool

  package init(secret: String, sources: [LeakSource], pairedSecret: Bool = false) {
    self.secret = secret
    self.sources = sources
    self.pairedSecret = pairedSecret
  }
}

/// A finding respond cannot respond to (a private key, a finding without its secret): listed in
/// the batch summary with the reason, so one such finding never stops the batch. Holds nothing
/// secret: the finding's secret, if any, is only fingerprinted and registered with the masker.
package struct UnhandledFinding: Sendable, Equatable {
  /// How the summary names it: `private key …sha256:1a2b3c4d`, `gitleaks finding 3`.
  package var display: String
  /// The secret's fingerprint, or `-` when the finding carried none.
  package var fingerprint: String
  package var reason: String
  package var sources: [LeakSource]

  package init(display: String, fingerprint: String, reason: String, sources: [LeakSource]) {
    self.display = display
    self.fingerprint = fingerprint
    self.reason = reason
    self.sources = sources
  }
}

/// What a scanner report holds for respond: the distinct secrets to run, the findings it cannot
/// run (each with its reason), and how many lines were scanner log lines rather than findings.
package struct LeakReport: Sendable, Equatable {
  package var format: LeakFindings.Format
  package var secrets: [LeakedSecret]
  package var unhandled: [UnhandledFinding]
  /// trufflehog `--json` log lines (`level`, `msg`) that were in the report: not findings.
  package var logLines: Int

  /// Whether the report holds no finding at all (an empty report: nothing to do, exit 0).
  package var isEmpty: Bool { secrets.isEmpty && unhandled.isEmpty }
}

/// Reads what secret scanners report, in their own formats, into distinct secrets (the providers'
/// own reports, GitHub secret-scanning alerts and AWS Health events, in LeakFindings+Alerts.swift):
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

  package enum Format: String, Sendable {
    case gitleaks, trufflehog, plain
    /// GitHub secret-scanning alerts, as `GET /repos/{owner}/{repo}/secret-scanning/alerts` returns them.
    case githubAlerts = "github-secret-scanning"
    /// AWS Health `AWS_RISK_CREDENTIALS_EXPOSED` events (EventBridge or DescribeEventDetails).
    case awsHealth = "aws-health"
  }

  /// The format of a report, by its shape: JSON is told apart by the fields its records carry
  /// (see `detectJSON`); anything else is a plain list.
  package static func detect(_ text: String) throws -> Format {
    let trimmed = text.drop { $0.isWhitespace }
    guard trimmed.hasPrefix("[") || trimmed.hasPrefix("{") else { return .plain }
    return try detectJSON(text, array: trimmed.hasPrefix("["))
  }

  /// Parses a report of any of the three formats into its secrets (see `read`).
  package static func parse(_ text: String, masker: Masker) throws -> (format: Format, secrets: [LeakedSecret]) {
    let report = try read(text, masker: masker)
    return (report.format, report.secrets)
  }

  /// Reads a report of any of the three formats. Every secret is registered with `masker` as
  /// soon as it is read. A finding respond cannot run becomes an `UnhandledFinding`, never an
  /// error: one odd finding must not stop the response to all the others. Throws `UsageError`
  /// only for a report that is not what its shape says, or one whose secrets were redacted by
  /// the scanner (nothing in it could be contained).
  package static func read(_ text: String, masker: Masker) throws -> LeakReport {
    let format = try detect(text)
    var harvest = Harvest()
    switch format {
    case .gitleaks: try readGitleaks(text, masker: masker, into: &harvest)
    case .trufflehog: try readTrufflehog(text, masker: masker, into: &harvest)
    case .plain: readPlain(text, masker: masker, into: &harvest)
    case .githubAlerts: try readGitHubAlerts(text, masker: masker, into: &harvest)
    case .awsHealth: try readAWSHealth(text, masker: masker, into: &harvest)
    }
    let (secrets, unusable) = group(pairAWSSecrets(harvest.found, formats: masker.formats))
    return LeakReport(
      format: format, secrets: secrets, unhandled: harvest.unhandled + unusable, logLines: harvest.logLines)
  }

  /// What one report's reader gathered: each secret with where it was found (a secret may come
  /// several times), the findings it could not use, and scanner log lines it passed over.
  struct Harvest {
    var found: [(String, LeakSource?)] = []
    var unhandled: [UnhandledFinding] = []
    var logLines = 0
  }

  /// gitleaks' JSON report: an array of findings with `Secret` (or `Match`), `File`, `Commit`.
  private static func readGitleaks(_ text: String, masker: Masker, into harvest: inout Harvest) throws {
    guard let findings = Value.parseJSON(text)?.arrayValue else {
      throw UsageError("the gitleaks report is not a JSON array of findings")
    }
    try refuseRedactedGitleaks(findings)
    for (n, f) in findings.enumerated() {
      let source = LeakSource(
        tool: "gitleaks", file: nonEmpty(f["File"]?.stringValue), commit: nonEmpty(f["Commit"]?.stringValue),
        line: f["StartLine"]?.intValue, rule: nonEmpty(f["RuleID"]?.stringValue))
      guard let found0 = nonEmpty(f["Secret"]?.stringValue) ?? nonEmpty(f["Match"]?.stringValue) else {
        harvest.unhandled.append(
          UnhandledFinding(
            display: "gitleaks finding \(n + 1)", fingerprint: "-",
            reason: "the finding has no Secret or Match: nothing to respond to; check it by hand", sources: [source]))
        continue
      }
      masker.register(found0)
      // A key file in JSON (a Google Cloud service-account key) is run in its one-line form.
      let secret = RunbookInvocation.oneLine(found0)
      masker.register(secret)
      harvest.found.append((secret, source))
    }
  }

  /// trufflehog's `--json` output: one JSON object per line, `Raw` the secret, `RawV2` sometimes
  /// the pair, `SourceMetadata.Data.<source>` where it was found.
  private static func readTrufflehog(_ text: String, masker: Masker, into harvest: inout Harvest) throws {
    var rows: [(line: Int, finding: Value)] = []
    for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
      let row = line.trimmingCharacters(in: .whitespaces)
      if row.isEmpty { continue }
      guard let f = Value.parseJSON(row), f.objectValue != nil else {
        throw UsageError("trufflehog report line \(n + 1) is not a JSON object")
      }
      // With --json, trufflehog's own log goes out as JSON lines too (`level`, `msg`); a report
      // captured with 2>&1 holds them. They are not findings.
      if f["SourceMetadata"] == nil && f["DetectorName"] == nil && f["Raw"] == nil && f["msg"] != nil {
        harvest.logLines += 1
        continue
      }
      rows.append((n + 1, f))
    }
    try refuseRedactedTrufflehog(rows.map(\.finding))
    for (n, f) in rows {
      // SourceMetadata.Data holds one object named after the source (Git, Filesystem, Github...).
      let data = f["SourceMetadata"]?["Data"]?.objectValue?.values.first
      let source = LeakSource(
        tool: "trufflehog", file: nonEmpty(data?["file"]?.stringValue),
        commit: nonEmpty(data?["commit"]?.stringValue), line: data?["line"]?.intValue,
        rule: nonEmpty(f["DetectorName"]?.stringValue), verified: f["Verified"]?.boolValue)
      guard let raw = nonEmpty(f["Raw"]?.stringValue) else {
        harvest.unhandled.append(
          UnhandledFinding(
            display: "trufflehog finding on line \(n)", fingerprint: "-",
            reason: "the finding has no Raw (the secret): nothing to respond to; check it by hand",
            sources: [source]))
        continue
      }
      masker.register(raw)
      let secret = RunbookInvocation.oneLine(raw)
      masker.register(secret)
      // RawV2 may carry the secret half too (AWS: "AKIA...:secret access key").
      var paired = false
      if let raw2 = nonEmpty(f["RawV2"]?.stringValue) {
        masker.register(raw2)
        for part in raw2.split(separator: ":") where part.count >= 8 && part != secret {
          masker.register(String(part))
          paired = true
        }
      }
      harvest.found.append((secret, source))
      if paired { harvest.found.append((pairedMarker + secret, nil)) }
    }
  }

  /// A plain list: one secret per line; blank lines and `#` comments skipped.
  private static func readPlain(_ text: String, masker: Masker, into harvest: inout Harvest) {
    for line in text.split(whereSeparator: \.isNewline) {
      let secret = line.trimmingCharacters(in: .whitespaces)
      if secret.isEmpty || secret.hasPrefix("#") { continue }
      masker.register(secret)
      harvest.found.append((secret, nil))
    }
  }

  /// One entry per distinct secret, in first-seen order, with every place it was found; the
  /// secrets respond cannot run become unhandled findings instead. Pure.
  private static func group(_ found: [(String, LeakSource?)]) -> (
    secrets: [LeakedSecret], unhandled: [UnhandledFinding]
  ) {
    var order: [String] = []
    var sources: [String: [LeakSource]] = [:]
    var paired: Set<String> = []
    for (secret, source) in found {
      if secret.hasPrefix(pairedMarker) {
        paired.insert(String(secret.dropFirst(pairedMarker.count)))
        continue
      }
      if sources[secret] == nil {
        order.append(secret)
        sources[secret] = []
      }
      if let source, !sources[secret]!.contains(source) { sources[secret]!.append(source) }
    }
    var secrets: [LeakedSecret] = []
    var unhandled: [UnhandledFinding] = []
    for secret in order {
      if let reason = unrunnable(secret) {
        unhandled.append(
          UnhandledFinding(
            display: (isPrivateKey(secret) ? "private key …" : "…") + Masker.fingerprint(secret),
            fingerprint: Masker.fingerprint(secret), reason: reason, sources: sources[secret]!))
      } else {
        secrets.append(LeakedSecret(secret: secret, sources: sources[secret]!, pairedSecret: paired.contains(secret)))
      }
    }
    return (secrets, unhandled)
  }

  /// Marks, inside the parse, that the secret after it came with its secret half (never a key).
  private static let pairedMarker = "\u{0}paired\u{0}"

  /// Why a secret cannot be run as a key, or nil when it can. Pure.
  package static func unrunnable(_ secret: String) -> String? {
    if isPrivateKey(secret) { return "not a revocable credential; rotate the key pair by hand" }
    if secret.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "\u{2028}" }) {
      return "spans several lines or holds control characters: not one credential respond can run; check it by hand"
    }
    return nil
  }

  /// A PEM private key (gitleaks `private-key`, trufflehog `PrivateKey`): a key pair's secret half,
  /// which no provider revokes; it is replaced by a new pair.
  package static func isPrivateKey(_ secret: String) -> Bool {
    secret.contains("-----BEGIN") && secret.contains("PRIVATE KEY")
  }

  // MARK: - Redacted reports

  /// gitleaks `--redact` writes `REDACTED` for every Secret (`--redact=N`, N < 100, keeps a
  /// prefix and appends `...`): such a report names no secret respond could contain.
  static func refuseRedactedGitleaks(_ findings: [Value]) throws {
    let redacted = findings.contains { f in
      guard let secret = f["Secret"]?.stringValue else { return false }
      if secret == "REDACTED" { return true }
      return secret.hasSuffix("...") && (f["Match"]?.stringValue ?? "").contains(secret)
    }
    guard redacted else { return }
    throw UsageError(
      "the gitleaks report was written with --redact: its findings hold REDACTED (or a cut-off prefix) instead "
        + "of the secrets, so nothing in it can be contained. Run gitleaks again without --redact, keep that "
        + "report private, and pass it to --from")
  }

  /// trufflehog has no redaction flag: its `--json` findings always carry the secret in `Raw`
  /// (and a display form in `Redacted`). Findings with `Redacted` but no `Raw` were stripped
  /// after the scan, and such a report names no secret respond could contain.
  static func refuseRedactedTrufflehog(_ findings: [Value]) throws {
    let stripped = findings.filter { nonEmpty($0["Raw"]?.stringValue) == nil && $0["Redacted"] != nil }
    guard !findings.isEmpty, stripped.count == findings.count else { return }
    throw UsageError(
      "the trufflehog report has its secrets removed: its findings have Redacted but no Raw. trufflehog has no "
        + "redaction flag (its --json output always carries Raw), so the report was filtered after the scan; "
        + "pass trufflehog's own --json output, kept private, to --from")
  }

  // MARK: - AWS key id and secret access key

  /// Pairs every AWS secret access key with the access key id found beside it (same file, same
  /// commit; the nearest line when a file holds several): they are one credential, contained
  /// through the id, and the secret must not become a second key of its own that nothing can
  /// revoke. The paired secret stays registered with the masker. A key id is what `formats`
  /// declares public (an access key id names a key without authenticating).
  static func pairAWSSecrets(_ found: [(String, LeakSource?)], formats: any CredentialCatalogue)
    -> [(String, LeakSource?)]
  {
    let ids = found.enumerated().filter { formats.shown($0.element.0).isPublic && $0.element.1 != nil }
    guard !ids.isEmpty else { return found }
    var out: [(String, LeakSource?)] = []
    for (secret, source) in found {
      guard let source, looksLikeAWSSecretAccessKey(secret) else {
        out.append((secret, source))
        continue
      }
      let beside = ids.filter { $0.element.1?.file == source.file && $0.element.1?.commit == source.commit }
      let nearest = beside.min { a, b in
        abs((a.element.1?.line ?? 0) - (source.line ?? 0)) < abs((b.element.1?.line ?? 0) - (source.line ?? 0))
      }
      guard let id = nearest?.element.0 else {
        out.append((secret, source))
        continue
      }
      out.append((id, source))
      out.append((pairedMarker + id, nil))
    }
    return out
  }

  /// 40 characters of base64 (`A-Z a-z 0-9 / +`), not all hexadecimal (a git commit id has the
  /// same length): the shape of an AWS secret access key.
  package static func looksLikeAWSSecretAccessKey(_ s: String) -> Bool {
    let b = Array(s.utf8)
    guard b.count == 40 else { return false }
    let base64 = b.allSatisfy { c in
      (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2F || c == 0x2B
    }
    let hex = b.allSatisfy { c in (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) }
    return base64 && !hex
  }

  static func nonEmpty(_ s: String?) -> String? {
    guard let s, !s.isEmpty else { return nil }
    return s
  }
}
