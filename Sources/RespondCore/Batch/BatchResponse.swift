import Foundation

/// How one key's response ended, for the batch summary.
package struct BatchOutcome: Codable, Sendable, Equatable {
  /// The key as its format declares it may be shown (`Masker.display`): a public key id in
  /// full, anything else as its public prefix (or key id) and fingerprint, or the fingerprint.
  package var display: String
  package var fingerprint: String
  /// completed, failed, stopped-at-approval, needs-operator, interrupted, error, not-started
  /// (the batch was interrupted before this key's turn), not-handled (a finding respond cannot
  /// run, such as a private key: `detail` says why and what to do), or no-credentials (`--accounts`
  /// has no working credentials for the key's AWS account: `detail` says what to configure; a
  /// resume tries it again).
  package var outcome: String
  package var exitCode: Int32
  package var incidentDirectory: String?
  /// The runner's status line, or the error that kept the run from starting (masked).
  package var detail: String
  package var sources: [LeakSource]
  /// CONTAINED, UNVERIFIED or NOT CONTAINED for a live run; DRILL for a drill or dry run; nil
  /// when the run ended before a verdict could be told (or the runbook contains nothing).
  package var verdict: String?
  /// Whether the key's secret half (an AWS secret access key) was found beside it and paired.
  package var pairedSecret: Bool?

  enum CodingKeys: String, CodingKey {
    case display, fingerprint, outcome
    case exitCode = "exit-code"
    case incidentDirectory = "incident-directory"
    case detail, sources
    case verdict
    case pairedSecret = "paired-secret"
  }

  package init(
    display: String, fingerprint: String, outcome: String, exitCode: Int32, incidentDirectory: String?, detail: String,
    sources: [LeakSource], verdict: String? = nil, pairedSecret: Bool? = nil
  ) {
    self.display = display
    self.fingerprint = fingerprint
    self.outcome = outcome
    self.exitCode = exitCode
    self.incidentDirectory = incidentDirectory
    self.detail = detail
    self.sources = sources
    self.verdict = verdict
    self.pairedSecret = pairedSecret
  }
}

/// What `respond resume <batch summary>` needs besides the keys themselves (which are never
/// stored: the same findings file is given again): the runbook, how it ran, where, and the
/// inputs every key shared (secret ones left out).
package struct BatchContext: Codable, Sendable, Equatable {
  package var runbook: String
  package var runbookFile: String?
  package var mode: RunMode
  package var out: String
  /// The shared, non-secret inputs (e.g. log-group), masked.
  package var inputs: [String: String]
  /// The summary this batch continued, when it is a resumed one.
  package var resumedFrom: String?
  /// The `--accounts` file the batch chose each key's AWS credentials from (absolute): a resume
  /// reads it again, so a key whose account was added since now runs.
  package var accounts: String?

  enum CodingKeys: String, CodingKey {
    case runbook
    case runbookFile = "runbook-file"
    case mode, out, inputs
    case resumedFrom = "resumed-from"
    case accounts
  }

  package init(
    runbook: String, runbookFile: String?, mode: RunMode, out: String, inputs: [String: String],
    resumedFrom: String? = nil
  ) {
    self.runbook = runbook
    self.runbookFile = runbookFile
    self.mode = mode
    self.out = out
    self.inputs = inputs
    self.resumedFrom = resumedFrom
  }
}

/// A batch summary as read back from its `.json` (for `respond resume`).
package struct BatchSummary: Codable, Sendable {
  package var source: String
  package var format: String
  package var startedAt: String?
  package var batch: BatchContext?
  package var keys: [BatchOutcome]

  enum CodingKeys: String, CodingKey {
    case source, format
    case startedAt = "started-at"
    case batch, keys
  }

  /// Reads `batch-<time>.json`, or the `.json` next to a `batch-<time>.md`.
  package static func load(_ path: String) throws -> BatchSummary {
    let json = path.hasSuffix(".md") ? String(path.dropLast(3)) + ".json" : path
    let data: Data
    switch BoundedFile.read(json, limit: LeakFindings.maxFileSize) {
    case .success(let d): data = d
    case .failure(let why): throw UsageError("cannot read the batch summary \(json): \(why)")
    }
    do {
      return try JSONDecoder().decode(BatchSummary.self, from: data)
    } catch {
      throw UsageError("\(json) is not a batch summary: \(error)")
    }
  }
}

/// Counts a batch's finished keys and phrases the status line printed after each one:
/// `batch: 37/200 done (35 completed, 2 failed), 163 remaining, 4.1 keys/s`.
package final class BatchProgress: @unchecked Sendable {
  private let lock = NSLock()
  package let total: Int
  private let started: ContinuousClock.Instant
  private var tally: [String: Int] = [:]
  private var done = 0

  package init(total: Int, started: ContinuousClock.Instant = .now) {
    self.total = total
    self.started = started
  }

  /// Counts one finished key and returns the status line.
  package func finished(_ outcome: String, now: ContinuousClock.Instant = .now) -> String {
    lock.lock()
    defer { lock.unlock() }
    done += 1
    tally[outcome, default: 0] += 1
    return Self.line(done: done, total: total, tally: tally, elapsed: now - started)
  }

  /// The status line for `done` of `total` keys finished in `elapsed`.
  package static func line(done: Int, total: Int, tally: [String: Int], elapsed: Duration) -> String {
    let order = tally.keys.sorted { a, b in
      a == "completed" ? b != "completed" : (b == "completed" ? false : a < b)
    }
    let counts = order.map { "\(tally[$0]!) \($0)" }.joined(separator: ", ")
    let seconds = elapsed.seconds
    let rate = seconds > 0 ? Double(done) / seconds : 0
    return "batch: \(done)/\(total) done (\(counts)), \(total - done) remaining, "
      + String(format: "%.1f keys/s", rate)
  }
}

/// `respond key-compromised --from FILE`: one incident per distinct leaked key, several at once,
/// and a summary (`batch-<time>.md` / `.json` in the out folder) listing every key, how its
/// response ended, its incident folder and where the scanners found it. One key's failure does
/// not stop the others. The CLI supplies `respond`, which runs one key's incident.
package enum BatchResponse {
  /// What one key's run gave back.
  package struct RunReport: Sendable {
    package var status: RunStatus?
    package var exitCode: Int32
    package var incidentDirectory: String?
    package var detail: String
    /// The run's verdict (`BatchOutcome.verdict`).
    package var verdict: String?
    /// The outcome's name when no run status tells it (`no-credentials`).
    package var outcome: String?

    package init(
      status: RunStatus?, exitCode: Int32, incidentDirectory: String?, detail: String, verdict: String? = nil,
      outcome: String? = nil
    ) {
      self.status = status
      self.exitCode = exitCode
      self.incidentDirectory = incidentDirectory
      self.detail = detail
      self.verdict = verdict
      self.outcome = outcome
    }
  }

  /// A key whose AWS account has no working credentials in `--accounts`: nothing was run or
  /// changed for it. Live, NOT CONTAINED and exit 4 (a person must configure the account, then
  /// `respond resume` runs it); in a drill or dry run shown the same way, exit 0. Pure.
  package static func noCredentials(_ reason: String, mode: RunMode) -> RunReport {
    RunReport(
      status: nil, exitCode: mode.isDry ? 0 : 4, incidentDirectory: nil, detail: reason,
      verdict: mode.isDry ? "DRILL" : Verdict.notContained.rawValue, outcome: "no-credentials")
  }

  /// The verdict column of a run: DRILL for a drill or dry run, else the containment verdict
  /// decided from its journal (nil when the runbook contains nothing). Pure.
  package static func verdict(_ state: IncidentState) -> String? {
    if state.incident?.mode.isDry ?? false { return "DRILL" }
    return ContainmentVerdict.decide(state)?.verdict.rawValue
  }

  /// A finding respond cannot run, as a line of the summary. Live, NOT CONTAINED and exit 4: a
  /// person must act on it (rotate the key pair, check the finding); in a drill or dry run the
  /// line is shown the same way but, as every rehearsal that finishes, exits 0.
  package static func unhandledOutcome(_ finding: UnhandledFinding, mode: RunMode, masker: Masker) -> BatchOutcome {
    BatchOutcome(
      display: finding.display, fingerprint: finding.fingerprint, outcome: "not-handled", exitCode: mode.isDry ? 0 : 4,
      incidentDirectory: nil, detail: masker.mask(finding.reason), sources: finding.sources.map { masked($0, masker) },
      verdict: mode.isDry ? "DRILL" : Verdict.notContained.rawValue)
  }

  /// Takes `--from FILE` and `--parallel N` out of a runbook command line; the rest is parsed as
  /// usual. `from` is nil when the command line is not a batch.
  package static func extractFlags(_ args: [String]) throws -> (from: String?, parallel: Int, rest: [String]) {
    var from: String?
    var parallel: Int?
    var rest: [String] = []
    var i = 0
    while i < args.count {
      let arg = args[i]
      var name = arg
      var value: String?
      if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
        name = String(arg[..<eq])
        value = String(arg[arg.index(after: eq)...])
      }
      guard name == "--from" || name == "--parallel" else {
        rest.append(arg)
        i += 1
        continue
      }
      if value == nil {
        guard i + 1 < args.count else { throw UsageError("\(name) needs a value") }
        value = args[i + 1]
        i += 2
      } else {
        i += 1
      }
      if name == "--from" {
        guard from == nil else { throw UsageError("--from given twice") }
        from = value
      } else {
        guard let n = Int(value!), (1...64).contains(n) else {
          throw UsageError("--parallel must be a number from 1 to 64")
        }
        parallel = n
      }
    }
    if parallel != nil && from == nil { throw UsageError("--parallel only applies with --from FILE") }
    return (from, parallel ?? 4, rest)
  }

  /// Runs `respond` for every secret, at most `parallel` at once, and returns the outcomes in
  /// the secrets' order. A thrown error becomes that key's outcome (`error`), never the batch's.
  /// When the task is cancelled (Ctrl-C) no further key starts: the running ones see the
  /// cancellation (their runners stop after the current step), the others are `not-started`.
  /// `finished` is told each outcome as it comes in (for the progress line).
  package static func run(
    _ secrets: [LeakedSecret], parallel: Int, masker: Masker,
    finished: (@Sendable (BatchOutcome) -> Void)? = nil,
    respond: @escaping @Sendable (LeakedSecret) async throws -> RunReport
  ) async -> [BatchOutcome] {
    var results = [BatchOutcome?](repeating: nil, count: secrets.count)
    await withTaskGroup(of: (Int, BatchOutcome).self) { group in
      var next = 0
      func launch() {
        guard next < secrets.count, !Task.isCancelled else { return }
        let index = next
        let secret = secrets[index]
        next += 1
        group.addTask {
          let report: RunReport
          do { report = try await respond(secret) } catch {
            report = RunReport(status: nil, exitCode: 1, incidentDirectory: nil, detail: "\(error)")
          }
          return (index, outcome(secret, report, masker: masker))
        }
      }
      for _ in 0..<max(1, parallel) { launch() }
      for await (index, outcome) in group {
        results[index] = outcome
        finished?(outcome)
        launch()
      }
    }
    return results.enumerated().map { index, outcome in
      outcome ?? notStarted(secrets[index], masker: masker)
    }
  }

  /// The outcome of a key whose turn never came (the batch was interrupted first).
  package static func notStarted(_ secret: LeakedSecret, masker: Masker) -> BatchOutcome {
    BatchOutcome(
      display: masker.display(secret.secret), fingerprint: Masker.fingerprint(secret.secret), outcome: "not-started",
      exitCode: 1, incidentDirectory: nil, detail: "not started: the batch was interrupted before its turn",
      sources: secret.sources.map { masked($0, masker) })
  }

  package static func outcome(_ secret: LeakedSecret, _ report: RunReport, masker: Masker) -> BatchOutcome {
    let name = report.outcome ?? report.status?.rawValue ?? "error"
    return BatchOutcome(
      display: masker.display(secret.secret), fingerprint: Masker.fingerprint(secret.secret), outcome: name,
      exitCode: report.exitCode, incidentDirectory: report.incidentDirectory, detail: masker.mask(report.detail),
      sources: secret.sources.map { masked($0, masker) }, verdict: report.verdict,
      pairedSecret: secret.pairedSecret ? true : nil)
  }

  private static func masked(_ s: LeakSource, _ masker: Masker) -> LeakSource {
    LeakSource(
      tool: s.tool, file: s.file.map(masker.mask), commit: s.commit.map(masker.mask), line: s.line,
      rule: s.rule.map(masker.mask), verified: s.verified, url: s.url.map(masker.mask))
  }

  /// The batch's exit status: the worst of the keys' (1 beats 4 beats 3 beats 0; any other
  /// status of a key, such as 2, counts as 1). 4 beats 3: a key left not contained needs a human
  /// more urgently than one waiting at an approval gate.
  package static func exitCode(_ outcomes: [BatchOutcome]) -> Int32 {
    if outcomes.contains(where: { ![0, 3, 4].contains($0.exitCode) }) { return 1 }
    if outcomes.contains(where: { $0.exitCode == 4 }) { return 4 }
    return outcomes.contains { $0.exitCode == 3 } ? 3 : 0
  }

  /// Writes `batch-<UTC time>.md` and `.json` into `directory` (0600) and returns the Markdown path.
  /// `batch` (the runbook, mode, shared inputs) goes into the JSON for `respond resume`.
  package static func writeSummary(
    _ outcomes: [BatchOutcome], source: String, format: LeakFindings.Format, directory: String, masker: Masker,
    batch: BatchContext? = nil, now: Date = Date()
  ) throws -> String {
    try PrivateFolder.prepare(directory, what: "the output folder", privacy: .notWritableByOthers)
    let stamp = ISO8601.string(now).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
    var base = (directory as NSString).appendingPathComponent("batch-\(stamp)")
    // A resumed batch finishing in the same second as the one it continues gets its own name.
    var n = 2
    while FileManager.default.fileExists(atPath: base + ".json") {
      base = (directory as NSString).appendingPathComponent("batch-\(stamp)-\(n)")
      n += 1
    }
    var md = "# Leaked keys: batch response\n\n"
    let notRun = outcomes.filter { $0.outcome == "not-handled" }.count
    md += "Source: `\(masker.mask(source))` (\(format.rawValue)), \(outcomes.count - notRun) distinct key(s), "
    if notRun > 0 { md += "\(notRun) finding(s) respond cannot run, " }
    md += "started \(ISO8601.string(now)).\n\n"
    if let from = batch?.resumedFrom { md += "Resumes the batch `\(masker.mask(from))`.\n\n" }
    let tally = Dictionary(grouping: outcomes, by: \.outcome).map { "\($0.value.count) \($0.key)" }.sorted()
    md += "Outcomes: \(tally.joined(separator: ", ")).\n\n"
    md += "| Key | Fingerprint | Verdict | Outcome | Incident | Found at |\n| --- | --- | --- | --- | --- | --- |\n"
    // A scanner's finding names a file of the leaked repository (chosen by whoever committed it)
    // and a failure's detail carries a provider's words: both are escaped like report.md's text.
    for o in outcomes {
      let found =
        o.sources.isEmpty ? "(listed)" : o.sources.map { MarkdownText.inline($0.description) }.joined(separator: "<br>")
      let incident = o.incidentDirectory.map { MarkdownText.codeSpan($0) } ?? "none"
      var key = MarkdownText.codeSpan(o.display)
      if o.pairedSecret == true { key += " with its secret access key (masked)" }
      let verdict = o.verdict ?? "none"
      md += "| \(key) | \(o.fingerprint) | \(verdict) | \(o.outcome) | \(incident) | \(found) |\n"
    }
    let notHandled = outcomes.filter { $0.outcome == "not-handled" }
    if !notHandled.isEmpty {
      md += "\n## Findings respond cannot run (a person must act)\n\n"
      for o in notHandled { md += "- [ ] \(MarkdownText.codeSpan(o.display)): \(MarkdownText.inline(o.detail))\n" }
    }
    let problems = outcomes.filter { $0.outcome != "completed" && $0.outcome != "not-handled" }
    if !problems.isEmpty {
      md += "\n## Not completed\n\n"
      for o in problems { md += "- \(MarkdownText.codeSpan(o.display)): \(MarkdownText.inline(o.detail))\n" }
      md += "\nContinue with `respond resume \(base).json --from \(masker.mask(source)) [--yes]`: completed keys are "
      md += "left alone, the others are resumed or started.\n"
    }
    var context = batch
    context?.inputs = batch?.inputs.mapValues { masker.mask($0) } ?? [:]
    let summary = BatchSummary(
      source: masker.mask(source), format: format.rawValue, startedAt: ISO8601.string(now), batch: context,
      keys: outcomes)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(summary)
    try IncidentFolder.writePrivate(masker.mask(md), to: base + ".md")
    try IncidentFolder.writePrivate(masker.mask(String(decoding: data, as: UTF8.self)), to: base + ".json")
    return base + ".md"
  }
}

extension LeakReport {
  /// Sets aside the secrets `refusal` refuses (the runbook's rules for its `key` input): each
  /// becomes a finding respond cannot run, with the reason (masked), so one refused key is its
  /// own line in the summary and never the end of the batch.
  package mutating func setAside(masker: Masker, refusal: (String) -> String?) {
    var runnable: [LeakedSecret] = []
    for secret in secrets {
      guard let why = refusal(secret.secret) else {
        runnable.append(secret)
        continue
      }
      unhandled.append(
        UnhandledFinding(
          display: masker.display(secret.secret), fingerprint: Masker.fingerprint(secret.secret),
          reason: masker.mask(why), sources: secret.sources))
    }
    secrets = runnable
  }
}
