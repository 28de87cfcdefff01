import ArgumentParser
import Foundation
import RespondActions
import RespondCore
import RespondHTTP

/// `respond resume DIR`: continue an incident from its journal. `respond resume BATCH.json
/// --from FILE`: continue an interrupted batch (see `BatchCommand.resume`).
struct Resume: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resume",
    abstract: "Continue an incident from its journal, or an interrupted batch: finished steps are not repeated.",
    discussion: """
      Secret inputs are never journaled: pass them again (e.g. --key) when the runbook needs them.
      A non-idempotent step that was interrupted is checked at the provider when its action knows how;
      otherwise resume stops and says what to check (then --rerun-interrupted runs it again).

      A batch (`respond key-compromised --from FILE`) is resumed from its summary:
        respond resume incidents/batch-<time>.json --from FILE [--parallel N] [--yes]
      FILE is the same findings file (the keys themselves are never stored; they are matched by \
      fingerprint, and a file whose keys differ is refused). Completed keys are left alone, \
      interrupted, failed or stopped incidents are resumed, keys that never started are started, \
      and a new summary covering every key is written. The batch's --accounts file is read again \
      (or give --accounts FILE): a key whose account had no credentials runs once its account is added.

      A shared incident (RESPOND_STATE_URL) is resumed from any machine by its URL:
        respond resume s3://bucket/prefix/incidents/<id> [--out DIR] [--yes]
      It is pulled into DIR/<id> (default ./incidents), verified like `respond verify`, and \
      continued there; the shared copy is kept up to date and the key's shared lock taken over.
      """)

  @Argument(
    help:
      "The incident folder, a batch summary (batch-<time>.json or .md), or a shared incident s3://bucket/prefix/incidents/<id>."
  )
  var directory: String

  @Argument(
    parsing: .captureForPassthrough,
    help:
      "--yes, --rerun-interrupted, --runbooks DIR, withheld inputs as --name VALUE; for a batch --from FILE, --parallel N and --accounts FILE."
  )
  var arguments: [String] = []

  func run() async throws {
    if BatchCommand.isBatchSummary(directory) {
      if let refusal = SharedStateSession.batchRefusal() {
        Frontend.error(refusal)
        throw ExitCode(2)
      }
      let code = await BatchCommand.resume(summary: directory, arguments: arguments)
      if code != 0 { throw ExitCode(code) }
      return
    }
    let invocation: RunbookInvocation
    do {
      var parsed = try RunbookInvocation.parse(arguments, inputs: nil)
      try SecretInput.resolve(&parsed, declared: nil)
      invocation = parsed
    } catch {
      Frontend.error("\(error)")
      throw ExitCode(2)
    }
    // `respond resume s3://bucket/prefix/incidents/<id>`: the shared incident, pulled and verified
    // (before its runbook is known: masked as a run from the --runbooks folder would be).
    var directory = self.directory
    var pulledFrom: SharedStateLocation?
    if directory.hasPrefix("s3://") {
      let masker = Masker(formats: KeyCatalogue(runbooksFolder: Frontend.runbooksFolder(invocation.runbooks)))
      switch await SharedStateSession.pull(directory, out: invocation.out, masker: masker) {
      case .failure(let stop):
        Frontend.error(stop.message)
        throw ExitCode(stop.code)
      case .success(let pulled):
        directory = pulled.directory
        pulledFrom = pulled.location
      }
    }
    let prepared: Prepared
    let masker: Masker
    do {
      let loaded = try Self.load(directory: directory, invocation: invocation)
      // The catalogue the run masked with (its runbook's registry): what it showed, a resume shows.
      masker = Masker(formats: KeyCatalogue(loaded.registry))
      prepared = try Self.prepare(
        loaded, invocation: invocation, masker: masker, progress: Frontend.progress(masker, all: invocation.all),
        approver: Frontend.approver(), limiters: nil)
    } catch let refusal as Refusal {
      if let text = refusal.printed { FileHandle.standardError.write(Data((text + "\n").utf8)) }
      if !refusal.message.isEmpty { Frontend.error(refusal.message) }
      throw ExitCode(refusal.code)
    }
    defer { prepared.lock?.release() }
    let shared: SharedIncident?
    switch await SharedStateSession.begin(
      runbook: prepared.runner.runbook, inputs: prepared.lockInputs, mode: prepared.state.incident?.mode ?? .live,
      masker: masker, resuming: directory, location: pulledFrom)
    {
    case .stop(let code): throw ExitCode(code)
    case .go(let found): shared = found
    }
    if let shared {
      prepared.runner.fileWritten = { shared.written($0) }
      prepared.runner.beforeChange = { await shared.beforeChange(journal: $0) }
    }
    let result: RunResult
    do {
      result = try await Interrupts.run { try await prepared.run() }
    } catch let e as UsageError {
      Frontend.error(masker.mask(e.description))
      throw ExitCode(2)
    }
    let code = RunbookCommand.finish(result, masker: masker)
    await SharedStateSession.end(shared, result: result, masker: masker)
    if code != 0 { throw ExitCode(code) }
  }

  /// Why an incident cannot be resumed: what to print and the exit status.
  struct Refusal: Error {
    var message: String
    var code: Int32
    /// Printed as is before the message (a runbook's validation problems).
    var printed: String?
  }

  /// An incident ready to continue: its runner, journal state and per-key lock (release it).
  struct Prepared: Sendable {
    var runner: IncidentRunner
    var directory: String
    var state: IncidentState
    var inputs: [String: String]
    var lock: IncidentLock?
    /// The inputs the key's lock is taken on: given again, else as the journal holds them.
    var lockInputs: [String: String] = [:]

    func run() async throws -> RunResult {
      try await runner.resume(directory: directory, journalState: state, inputs: inputs)
    }
  }

  /// An incident's journal, and the runbook it runs with its registry (whose catalogue the
  /// resume masks with).
  struct Loaded {
    var directory: String
    var state: IncidentState
    var info: IncidentInfo
    var path: String
    var registry: ActionRegistry
    var runbook: Runbook
  }

  /// Reads the incident's journal, finds and validates its runbook, builds the runner and takes
  /// the key's responder lock. Shared by `respond resume DIR` and the batch resume.
  static func prepare(
    directory: String, invocation: RunbookInvocation, masker: Masker, progress: ProgressLog,
    approver: (any Approver)?, limiters: RateLimiters?, environment: [String: String] = Frontend.environment
  ) throws -> Prepared {
    try prepare(
      load(directory: directory, invocation: invocation), invocation: invocation, masker: masker, progress: progress,
      approver: approver, limiters: limiters, environment: environment)
  }

  /// Reads the incident's journal and finds and validates its runbook, as recorded (or in --runbooks).
  static func load(directory: String, invocation: RunbookInvocation) throws -> Loaded {
    let journalPath = directory + "/journal.jsonl"
    let state: IncidentState
    do { state = try IncidentState.load(journal: journalPath) } catch {
      throw Refusal(message: "\(directory) is not an incident folder: \(error)", code: 2)
    }
    guard let info = state.incident else {
      throw Refusal(message: "\(journalPath) has no run-started record", code: 2)
    }
    let path = RunbookCatalog.locateRecorded(info.runbook, file: state.runbookFile, explicit: invocation.runbooks)
    guard let path else {
      throw Refusal(
        message: "cannot find runbook '\(info.runbook)' (it was \(state.runbookFile ?? "?")); pass --runbooks DIR",
        code: 2)
    }
    let (registry, loaded) = StandardActions.loadRunbook(path: path, alongside: Frontend.loadNetworkLibrary)
    let runbook: Runbook
    switch loaded {
    case .success(let rb): runbook = rb
    case .failure(let invalid): throw Refusal(message: "", code: 2, printed: invalid.description)
    }
    return Loaded(directory: directory, state: state, info: info, path: path, registry: registry, runbook: runbook)
  }

  /// Builds the runner of a loaded incident and takes the key's responder lock.
  static func prepare(
    _ loaded: Loaded, invocation: RunbookInvocation, masker: Masker, progress: ProgressLog,
    approver: (any Approver)?, limiters: RateLimiters?, environment: [String: String] = Frontend.environment
  ) throws -> Prepared {
    let (directory, state, info, path, runbook) = (
      loaded.directory, loaded.state, loaded.info, loaded.path, loaded.runbook
    )
    if let why = ResumeCheck.refusal(state, runbookDigest: runbook.digest, runbookPath: path) {
      throw Refusal(message: masker.mask(why), code: 2)
    }
    let options = RunOptions(mode: info.mode, invocation: invocation, limiters: limiters)
    let runner = IncidentRunner(
      runbook: runbook, registry: loaded.registry, environment: environment, transport: Frontend.transport(),
      masker: masker, progress: progress, approver: approver, options: options)
    // The same per-key lock as the run that started the incident: in the incident's parent folder.
    let lock: IncidentLock?
    var lockInputs: [String: String] = [:]
    do {
      let outDir = (URL(fileURLWithPath: directory).standardizedFileURL.path as NSString).deletingLastPathComponent
      // The key: given again when it was withheld as secret, else as the journal holds it.
      var inputs = invocation.inputs
      for (name, value) in state.inputs where !state.withheldInputs.contains(name) && inputs[name] == nil {
        if let text = value.stringValue { inputs[name] = text }
      }
      lockInputs = inputs
      lock = try RunbookCommand.acquireLock(runbook: runbook, inputs: inputs, outDir: outDir, mode: info.mode)
      lock?.record(incident: URL(fileURLWithPath: directory).standardizedFileURL.path)
    } catch let held as IncidentLock.Held {
      throw Refusal(message: masker.mask(held.description), code: 1)
    } catch {
      throw Refusal(message: masker.mask("\(error)"), code: 2)
    }
    return Prepared(
      runner: runner, directory: directory, state: state, inputs: invocation.inputs, lock: lock, lockInputs: lockInputs)
  }
}
