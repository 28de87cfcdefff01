import Foundation
import RespondActions
import RespondCore
import RespondHTTP

/// `respond <runbook> ...` and `respond drill <runbook> ...`: parse the runbook's inputs as
/// flags, start the incident, print the report path last on stdout.
enum RunbookCommand {
  static func run(runbook name: String, arguments: [String], mode requested: RunMode) async -> Int32 {
    // --runbooks may come before the runbook is known: parse it leniently first.
    let early = try? RunbookInvocation.parse(arguments, inputs: nil)
    guard let (runbook, registry) = load(name, help: early?.help == true, runbooks: early?.runbooks) else { return 2 }
    let command = requested == .drill ? "drill \(runbook.name)" : runbook.name
    let invocation: RunbookInvocation
    do {
      let batch = try BatchResponse.extractFlags(arguments)
      if batch.from != nil {
        if let refusal = SharedStateSession.batchRefusal() {
          Frontend.error(refusal)
          return 2
        }
        return await BatchCommand.start(runbook: runbook, registry: registry, mode: requested, batch: batch)
      }
      if try AccountMap.extractFlag(arguments).path != nil {
        throw UsageError(
          "--accounts applies to a batch (--from FILE); for one key, give its account's credentials "
            + "(e.g. AWS_PROFILE=NAME)")
      }
      var parsed = try RunbookInvocation.parse(arguments, inputs: runbook.inputs)
      if parsed.help {
        let variables = RunbookInvocation.actionVariables(of: runbook, registry: registry)
        print(RunbookInvocation.usage(for: runbook, command: command, actionVariables: variables))
        return 0
      }
      try SecretInput.resolve(&parsed, declared: runbook.inputs, formats: KeyCatalogue(registry))
      invocation = parsed
      try invocation.checkInputs(runbook.inputs)
    } catch {
      Frontend.error("\(error)")
      FileHandle.standardError.write(Data((RunbookInvocation.usage(for: runbook, command: command) + "\n").utf8))
      return 2
    }
    return await respond(runbook: runbook, registry: registry, invocation: invocation, mode: requested)
  }

  /// Finds and loads the runbook (a run loads its HTTP library meanwhile; `--help` needs no
  /// network). Nil, with the reason on stderr, when it is missing or invalid.
  static func load(_ name: String, help: Bool, runbooks: String?) -> (Runbook, ActionRegistry)? {
    let catalog = RunbookCatalog(explicit: runbooks)
    guard let path = catalog.locate(name) else {
      Frontend.error("no runbook '\(name)' (looked in \(catalog.searched)); `respond list` shows the runbooks")
      return nil
    }
    let (registry, loaded) = StandardActions.loadRunbook(
      path: path, alongside: help ? nil : Frontend.loadNetworkLibrary)
    switch loaded {
    case .success(let runbook): return (runbook, registry)
    case .failure(let invalid):
      FileHandle.standardError.write(Data((invalid.description + "\n").utf8))
      Frontend.error("runbook \(path) is invalid; nothing was run")
      return nil
    }
  }

  /// The response itself: preflight, the per-key lock (local and, with RESPOND_STATE_URL,
  /// shared), the run, the report.
  static func respond(
    runbook: Runbook, registry: ActionRegistry, invocation: RunbookInvocation, mode requested: RunMode
  )
    async -> Int32
  {
    var options = RunOptions(
      mode: RunOptions.startMode(requested, dryRun: invocation.dryRun), invocation: invocation)
    let masker = Masker(formats: KeyCatalogue(registry))
    // Before the first change: which steps run and whether each can (configuration, credentials,
    // AWS permissions). Shown with --yes too; a problem for containment stops here, exit 2.
    switch await PreflightCheck.run(
      runbook: runbook, registry: registry, inputs: invocation.inputs, mode: options.mode,
      assumeYes: invocation.yes, masker: masker)
    {
    case .stop(let code): return code
    case .go(let notConfigured, let note, let denied):
      options.notConfigured = notConfigured
      options.preflightNote = note
      options.preflightMissing = denied
    }
    let transport = Frontend.transport()
    Frontend.mark("load")
    let runner = IncidentRunner(
      runbook: runbook, registry: registry, environment: Frontend.environment, transport: transport,
      masker: masker, progress: Frontend.progress(masker, all: invocation.all), approver: Frontend.approver(),
      options: options)
    let outDir = invocation.out ?? "incidents"
    // One responder per key: taken before the incident folder exists, held until the process ends.
    let lock: IncidentLock?
    do {
      lock = try acquireLock(runbook: runbook, inputs: invocation.inputs, outDir: outDir, mode: options.mode)
    } catch let held as IncidentLock.Held {
      Frontend.error(masker.mask(held.description))
      return 1
    } catch {
      Frontend.error(masker.mask("\(error)"))
      return 2
    }
    defer { lock?.release() }
    return await runShared(runner, runbook: runbook, invocation: invocation, outDir: outDir, lock: lock, masker: masker)
  }

  /// Runs the incident, with RESPOND_STATE_URL the team's lock on the key and the mirror of the
  /// incident around it.
  static func runShared(
    _ runner: IncidentRunner, runbook: Runbook, invocation: RunbookInvocation, outDir: String, lock: IncidentLock?,
    masker: Masker
  ) async -> Int32 {
    let shared: SharedIncident?
    switch await SharedStateSession.begin(
      runbook: runbook, inputs: invocation.inputs, mode: runner.options.mode, masker: masker)
    {
    case .stop(let code): return code
    case .go(let found): shared = found
    }
    if let shared {
      runner.fileWritten = { shared.written($0) }
      runner.beforeChange = { await shared.beforeChange(journal: $0) }
    }
    do {
      let result = try await Interrupts.run {
        try await runner.start(inputs: invocation.inputs, outDir: outDir, lock: lock)
      }
      let code = finish(result, masker: masker)
      await SharedStateSession.end(shared, result: result, masker: masker)
      return code
    } catch let e as UsageError {
      await SharedStateSession.abandon(shared)
      Frontend.error(masker.mask(e.description))
      return 2
    } catch {
      await SharedStateSession.abandon(shared)
      Frontend.error(masker.mask("\(error)"))
      return 1
    }
  }

  /// The per-key lock for a live run (dry runs and drills change nothing, so they never block a
  /// responder), on the key's canonical identity, per user and in the output folder. Nil when
  /// the runbook declares no secret input or it was not given.
  static func acquireLock(runbook: Runbook, inputs: [String: String], outDir: String, mode: RunMode) throws
    -> IncidentLock?
  {
    guard !mode.isDry, let key = IncidentLock.key(of: runbook, inputs: inputs) else { return nil }
    return try IncidentLock.acquire(
      outDir: outDir, identity: KeyFormats.lockIdentity(key),
      userDirectory: IncidentLock.userDirectory(environment: Frontend.environment))
  }

  /// Writes the report, says how it ended, prints the report path last on stdout.
  static func finish(_ result: RunResult, masker: Masker) -> Int32 {
    Frontend.mark("run")
    do {
      let written = try ReportWriter.writeReport(
        state: result.state, directory: result.incidentDirectory, masker: masker)
      Frontend.note(written.statusLine)
      if let score = written.drillScore { Frontend.note(score) }
      if let m = result.message, result.status != .completed { Frontend.note(masker.mask(m)) }
      Frontend.mark("report")
      Frontend.printTiming()
      print(written.path)
    } catch {
      Frontend.error("could not write the report: \(error)")
      print(result.incidentDirectory)
    }
    return result.exitCode
  }
}

/// Ctrl-C stops cleanly: the running step finishes or is journaled as interrupted, the report is
/// written, and `respond resume` continues.
enum Interrupts {
  static let single = "respond: interrupted; stopping after the current step"

  static func run<T: Sendable>(
    message: String = Interrupts.single, _ work: @escaping @Sendable () async throws -> T
  ) async throws -> T {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let task = Task { try await work() }
    let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
      let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      s.setEventHandler {
        FileHandle.standardError.write(Data("\n\(message)\n".utf8))
        task.cancel()
      }
      s.resume()
      return s
    }
    defer { for source in sources { source.cancel() } }
    return try await task.value
  }
}
