import Foundation
import RespondActions
import RespondCore
import RespondHTTP

/// `respond <runbook> --from FILE [--parallel N]` and `respond resume <batch summary> --from FILE`:
/// one incident per distinct leaked key, several at once, sharing one set of rate limiters so a
/// provider's limits hold across the whole batch. Each key's progress lines carry the key's
/// display form, and a status line follows every finished key. Ctrl-C starts no new key and
/// stops the running ones after their current step; the summary lists the rest as not-started,
/// and `respond resume` on the summary continues.
enum BatchCommand {
  static let interruptedMessage =
    "respond: interrupted; no new key starts, running keys stop after their current step, the summary is written"

  /// Whether `path` names a batch summary (a file), not an incident folder.
  static func isBatchSummary(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
      return false
    }
    return path.hasSuffix(".json") || path.hasSuffix(".md")
  }

  /// Reads and parses a findings file; every secret is registered with `masker` as it is read.
  /// An empty report is not an error (the caller says "no findings" and exits 0).
  static func readFindings(_ path: String, masker: Masker) throws -> LeakReport {
    let data: Data
    switch BoundedFile.read(path, limit: LeakFindings.maxFileSize) {
    case .success(let d): data = d
    case .failure(let why): throw UsageError("cannot read --from \(path): \(why)")
    }
    return try LeakFindings.read(String(decoding: data, as: UTF8.self), masker: masker)
  }

  /// `--from FILE`: one incident per distinct key in a gitleaks/trufflehog report or a plain
  /// list, `--parallel N` at once, and a batch summary; the summary's path is printed last.
  static func start(
    runbook: Runbook, registry: ActionRegistry, mode requested: RunMode,
    batch: (from: String?, parallel: Int, rest: [String])
  ) async -> Int32 {
    let masker = Masker(formats: KeyCatalogue(registry))
    let invocation: RunbookInvocation
    var found: LeakReport
    let accountsFlag: String?
    do {
      guard runbook.inputs.contains(where: { $0.name == "key" }) else {
        throw UsageError("--from needs a runbook with a `key` input (\(runbook.name) has none)")
      }
      let rest: [String]
      (accountsFlag, rest) = try AccountMap.extractFlag(batch.rest)
      invocation = try RunbookInvocation.parse(rest, inputs: runbook.inputs)
      guard invocation.inputs["key"] == nil else { throw UsageError("give either --key or --from, not both") }
      found = try readFindings(batch.from!, masker: masker)
      try invocation.checkInputs(runbook.inputs.filter { $0.name != "key" })
    } catch {
      Frontend.error(masker.mask("\(error)"))
      return 2
    }
    if found.isEmpty {
      Frontend.note("no findings in \(batch.from!) (\(found.format.rawValue)): nothing to respond to")
      return 0
    }
    // A key the runbook's input rules refuse is that key's line in the summary, not the batch's end.
    let keyRules = runbook.inputs.filter { $0.name == "key" }
    found.setAside(masker: masker) { secret in
      var inputs = invocation
      inputs.inputs["key"] = secret
      do {
        try inputs.checkInputs(keyRules)
        return nil
      } catch {
        return "\(error)"
      }
    }
    let options = RunOptions(
      mode: RunOptions.startMode(requested, dryRun: invocation.dryRun), invocation: invocation,
      limiters: RateLimiters())
    let accounts: BatchAccounts
    do {
      accounts = try BatchAccounts.load(
        flag: accountsFlag, recorded: nil, mode: options.mode, masker: masker, limiters: options.limiters!)
    } catch {
      Frontend.error(masker.mask("\(error)"))
      return 2
    }
    let outDir = absolute(invocation.out ?? "incidents")
    let secretInputs = Set(runbook.inputs.filter(\.secret).map(\.name))
    var context = BatchContext(
      runbook: runbook.name, runbookFile: absolute(runbook.file), mode: options.mode, out: outDir,
      inputs: invocation.inputs.filter { !secretInputs.contains($0.key) })
    context.accounts = accounts.file
    let runOptions = options
    Frontend.note(
      "\(found.secrets.count) distinct key(s) from \(batch.from!) (\(found.format.rawValue)), \(batch.parallel) at once"
        + (found.unhandled.isEmpty ? "" : "; \(found.unhandled.count) finding(s) respond cannot run (listed)"))
    announce(found, masker: masker)
    let outcomes = await runKeys(found.secrets, parallel: batch.parallel, masker: masker) { secret, progress in
      switch await accounts.credentials(for: secret, progress: progress) {
      case .skip(let line): return line
      case .run(let environment, let note):
        return try await startKey(
          secret, runbook: runbook, registry: registry, shared: invocation.inputs, outDir: outDir,
          options: runOptions.noting(note), environment: environment, masker: masker, progress: progress)
      }
    }
    let all =
      outcomes
      + found.unhandled.map {
        BatchResponse.unhandledOutcome($0, mode: runOptions.mode, masker: masker)
      }
    return finish(all, source: batch.from!, format: found.format, outDir: outDir, context: context, masker: masker)
  }

  /// Says up front what the report holds besides the keys to run: findings respond cannot run
  /// (each with its reason) and scanner log lines that were skipped.
  static func announce(_ found: LeakReport, masker: Masker) {
    for u in found.unhandled { Frontend.note(masker.mask("\(u.display): not run: \(u.reason)")) }
    if found.logLines > 0 { Frontend.note("\(found.logLines) trufflehog log line(s) skipped (not findings)") }
  }

  /// Starts one key's incident (its own responder lock, as a single run would take).
  static func startKey(
    _ secret: LeakedSecret, runbook: Runbook, registry: ActionRegistry, shared: [String: String], outDir: String,
    options: RunOptions, environment: [String: String], masker: Masker, progress: ProgressLog
  ) async throws -> BatchResponse.RunReport {
    var inputs = shared
    inputs["key"] = secret.secret
    // Parallel runs cannot share the terminal: approvals need --yes, or each run stops at its gate.
    let runner = IncidentRunner(
      runbook: runbook, registry: registry, environment: environment, transport: Frontend.transport(),
      masker: masker, progress: progress, approver: nil, options: options)
    let lock = try RunbookCommand.acquireLock(runbook: runbook, inputs: inputs, outDir: outDir, mode: options.mode)
    defer { lock?.release() }
    let result = try await runner.start(inputs: inputs, outDir: outDir, lock: lock)
    return report(result, masker: masker)
  }

  /// Writes the incident's report and sums it up for the batch.
  static func report(_ result: RunResult, masker: Masker) -> BatchResponse.RunReport {
    let written = try? ReportWriter.writeReport(
      state: result.state, directory: result.incidentDirectory, masker: masker)
    var detail = written?.statusLine ?? IncidentReport(state: result.state).statusLine
    if let m = result.message, result.status != .completed { detail += ": " + m }
    return BatchResponse.RunReport(
      status: result.status, exitCode: result.exitCode, incidentDirectory: result.incidentDirectory, detail: detail,
      verdict: BatchResponse.verdict(result.state))
  }

  /// Runs `work` for every key under Ctrl-C handling, each with its own prefixed progress log,
  /// and prints the batch status line after every finished key.
  static func runKeys(
    _ secrets: [LeakedSecret], parallel: Int, masker: Masker,
    work: @escaping @Sendable (LeakedSecret, ProgressLog) async throws -> BatchResponse.RunReport
  ) async -> [BatchOutcome] {
    let status = BatchProgress(total: secrets.count)
    let log = Frontend.progress(masker)
    let outcomes = try? await Interrupts.run(message: interruptedMessage) {
      await BatchResponse.run(
        secrets, parallel: parallel, masker: masker,
        finished: { outcome in
          let line = status.finished(outcome.outcome)
          log.line(log.paint("\(outcome.display): \(outcome.outcome)", outcome.outcome == "completed" ? "32" : "31;1"))
          log.line(log.paint(line, "1"))
        }
      ) { secret in
        try await work(secret, keyProgress(masker.display(secret.secret), masker: masker))
      }
    }
    return outcomes ?? secrets.map { BatchResponse.notStarted($0, masker: masker) }
  }

  /// A progress log whose every line starts with the key's display form (as its format declares
  /// it: a public key id in full, anything else its prefix and fingerprint; never the secret), so parallel runs can be told apart;
  /// steps skipped by their condition are left out.
  static func keyProgress(_ display: String, masker: Masker) -> ProgressLog {
    let colour = isatty(STDERR_FILENO) == 1 && Frontend.environment["NO_COLOR"] == nil
    let tag = colour ? "\u{1B}[2m[\(display)]\u{1B}[0m " : "[\(display)] "
    return ProgressLog(masker: masker, colour: colour, showSkipped: false) { text in
      let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
      let prefixed = body.split(separator: "\n", omittingEmptySubsequences: false).map { tag + $0 }
        .joined(separator: "\n")
      FileHandle.standardError.write(Data((prefixed + "\n").utf8))
    }
  }

  /// Writes the summary, lists each key's outcome, prints the summary's path last.
  static func finish(
    _ outcomes: [BatchOutcome], source: String, format: LeakFindings.Format, outDir: String, context: BatchContext,
    masker: Masker
  ) -> Int32 {
    do {
      let path = try BatchResponse.writeSummary(
        outcomes, source: source, format: format, directory: outDir, masker: masker, batch: context)
      // One line per key with its verdict: "completed" alone would read as "revoked".
      for o in outcomes {
        var line = "\(o.display): \(o.verdict ?? "no verdict") (\(o.outcome))"
        if let dir = o.incidentDirectory { line += " \(dir)" }
        if o.outcome == "not-handled" || o.outcome == "no-credentials" { line += ": \(o.detail)" }
        Frontend.note(line)
      }
      let unfinished = outcomes.filter { $0.outcome != "completed" && $0.outcome != "not-handled" }
      let tally = Dictionary(grouping: outcomes, by: \.outcome).map { "\($0.value.count) \($0.key)" }.sorted()
      Frontend.note("batch of \(outcomes.count) key(s): \(tally.joined(separator: ", "))")
      if !unfinished.isEmpty {
        Frontend.note(
          "continue with: respond resume \(String(path.dropLast(3))).json --from \(masker.mask(source))\(context.mode == .live ? " --yes" : "")"
        )
      }
      print(path)
    } catch {
      Frontend.error("could not write the batch summary: \(error)")
    }
    return BatchResponse.exitCode(outcomes)
  }

  // MARK: - Resume

  /// `respond resume <batch summary> --from FILE [--parallel N] [--yes] [--rerun-interrupted]`:
  /// the keys of FILE must be exactly the batch's (by fingerprint). Completed keys are left
  /// alone; a key with an incident folder is resumed from its journal; a key without one (it
  /// never started, or could not) is started; then a new summary covering every key is written.
  static func resume(summary path: String, arguments: [String]) async -> Int32 {
    let flags: (from: String?, parallel: Int, rest: [String])
    let accountsFlag: String?
    let invocation: RunbookInvocation
    let summary: BatchSummary
    let runbook: Runbook
    let registry: ActionRegistry
    // The runbook first (nothing secret is read before the findings): its registry's formats
    // decide what the masker leaves readable and how each key is shown.
    do {
      flags = try BatchResponse.extractFlags(arguments)
      guard flags.from != nil else {
        throw UsageError(
          "resuming a batch needs --from FILE: the same findings file it started with (keys are never stored)")
      }
      let rest: [String]
      (accountsFlag, rest) = try AccountMap.extractFlag(flags.rest)
      invocation = try RunbookInvocation.parse(rest, inputs: nil)
      summary = try BatchSummary.load(path)
      let recorded = try BatchResume.context(of: summary, summaryPath: path)
      (registry, runbook) = try loadRecordedRunbook(recorded, explicit: invocation.runbooks)
    } catch {
      Frontend.error("\(error)")
      return 2
    }
    let masker = Masker(formats: KeyCatalogue(registry))
    let batch: BatchResume
    let found: LeakReport
    do {
      found = try readFindings(flags.from!, masker: masker)
      batch = try BatchResume(summary: summary, found: found, summaryPath: path, findingsPath: flags.from!)
    } catch {
      Frontend.error(masker.mask("\(error)"))
      return 2
    }
    let context = batch.context
    let shared = context.inputs.merging(invocation.inputs) { _, given in given }
    let limiters = RateLimiters()
    let runOptions = RunOptions(mode: context.mode, invocation: invocation, limiters: limiters)
    let accounts: BatchAccounts
    do {
      accounts = try BatchAccounts.load(
        flag: accountsFlag, recorded: context.accounts, mode: context.mode, masker: masker, limiters: limiters)
    } catch {
      Frontend.error(masker.mask("\(error)"))
      return 2
    }
    let outDir = context.out
    Frontend.note(batch.announcement(path: path, parallel: flags.parallel))
    var keyInvocation = invocation
    keyInvocation.inputs = [:]
    let perKey = keyInvocation
    let done = await runKeys(batch.pending, parallel: flags.parallel, masker: masker) { secret, progress in
      let environment: [String: String]
      let note: String?
      switch await accounts.credentials(for: secret, progress: progress) {
      case .skip(let line): return line
      case .run(let env, let n): (environment, note) = (env, n)
      }
      guard let directory = batch.incidentDirectory(of: secret) else {
        return try await startKey(
          secret, runbook: runbook, registry: registry, shared: shared, outDir: outDir,
          options: runOptions.noting(note), environment: environment, masker: masker, progress: progress)
      }
      var inv = perKey
      inv.inputs = ["key": secret.secret]
      return try await resumeKey(
        directory: directory, invocation: inv, environment: environment, masker: masker, progress: progress,
        limiters: limiters)
    }
    var next = context
    next.resumedFrom = URL(fileURLWithPath: path).standardizedFileURL.path
    next.accounts = accounts.file
    let format = LeakFindings.Format(rawValue: batch.summary.format) ?? found.format
    return finish(
      batch.merged(done), source: flags.from!, format: format, outDir: outDir, context: next, masker: masker)
  }

  /// The batch's runbook, found where it was (or under `--runbooks`) and validated.
  static func loadRecordedRunbook(_ context: BatchContext, explicit: String?) throws -> (ActionRegistry, Runbook) {
    let located = RunbookCatalog.locateRecorded(context.runbook, file: context.runbookFile, explicit: explicit)
    guard let located else {
      throw UsageError(
        "cannot find runbook '\(context.runbook)' (it was \(context.runbookFile ?? "?")); pass --runbooks DIR")
    }
    let (registry, loaded) = StandardActions.loadRunbook(path: located, alongside: Frontend.loadNetworkLibrary)
    switch loaded {
    case .success(let rb): return (registry, rb)
    case .failure(let invalid):
      FileHandle.standardError.write(Data((invalid.description + "\n").utf8))
      throw UsageError("runbook \(located) is invalid; nothing was run")
    }
  }

  /// Resumes one key's incident from its journal, as `respond resume DIR` would.
  static func resumeKey(
    directory: String, invocation: RunbookInvocation, environment: [String: String], masker: Masker,
    progress: ProgressLog, limiters: RateLimiters
  ) async throws -> BatchResponse.RunReport {
    let prepared: Resume.Prepared
    do {
      prepared = try Resume.prepare(
        directory: directory, invocation: invocation, masker: masker, progress: progress, approver: nil,
        limiters: limiters, environment: environment)
    } catch let refusal as Resume.Refusal {
      // The incident stays this key's: the next resume tries it again.
      return BatchResponse.RunReport(
        status: nil, exitCode: refusal.code == 2 ? 1 : refusal.code, incidentDirectory: directory,
        detail: refusal.message.isEmpty ? "its runbook is invalid" : refusal.message)
    }
    defer { prepared.lock?.release() }
    do {
      return report(try await prepared.run(), masker: masker)
    } catch {
      return BatchResponse.RunReport(
        status: nil, exitCode: 1, incidentDirectory: directory, detail: masker.mask("\(error)"))
    }
  }

  /// `path` made absolute against the working directory.
  static func absolute(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
  }
}
