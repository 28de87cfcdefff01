import ArgumentParser
import Foundation
import RespondActions
import RespondCore
import RespondHTTP

/// `respond resume DIR`: continue an incident from its journal.
struct Resume: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resume",
    abstract: "Continue an incident from its journal: finished steps are not repeated.",
    discussion: """
      Secret inputs are never journaled: pass them again (e.g. --key) when the runbook needs them.
      A non-idempotent step that was interrupted is checked at the provider when its action knows how;
      otherwise resume stops and says what to check (then --rerun-interrupted runs it again).
      """)

  @Argument(help: "The incident folder.")
  var directory: String

  @Argument(parsing: .captureForPassthrough, help: "--yes, --rerun-interrupted, --runbooks DIR, and withheld inputs as --name VALUE.")
  var arguments: [String] = []

  func run() async throws {
    let journalPath = directory + "/journal.jsonl"
    let state: IncidentState
    do { state = try IncidentState.load(journal: journalPath) } catch {
      Frontend.error("\(directory) is not an incident folder: \(error)")
      throw ExitCode(2)
    }
    guard let info = state.incident else {
      Frontend.error("\(journalPath) has no run-started record")
      throw ExitCode(2)
    }
    let invocation: RunbookInvocation
    do { invocation = try RunbookInvocation.parse(arguments, inputs: nil) } catch {
      Frontend.error("\(error)")
      throw ExitCode(2)
    }
    let path = invocation.runbooks.flatMap { RunbookCatalog(explicit: $0).locate(info.runbook) }
      ?? state.runbookFile.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
      ?? RunbookCatalog(explicit: nil).locate(info.runbook)
    guard let path else {
      Frontend.error("cannot find runbook '\(info.runbook)' (it was \(state.runbookFile ?? "?")); pass --runbooks DIR")
      throw ExitCode(2)
    }
    let (registry, loaded) = StandardActions.loadRunbook(path: path)
    let runbook: Runbook
    switch loaded {
    case .success(let rb): runbook = rb
    case .failure(let invalid):
      FileHandle.standardError.write(Data((invalid.description + "\n").utf8))
      throw ExitCode(2)
    }
    if let digest = state.runbookDigest, !digest.isEmpty, digest != runbook.digest {
      Frontend.note("warning: \(path) changed since the incident started; steps are matched by id")
    }
    var options = RunOptions()
    options.mode = info.mode
    options.assumeYes = invocation.yes
    options.rerunInterrupted = invocation.rerunInterrupted
    let masker = Masker()
    let runner = IncidentRunner(
      runbook: runbook, registry: registry, environment: Frontend.environment, transport: Frontend.transport(),
      masker: masker, progress: Frontend.progress(masker), approver: Frontend.approver(), options: options)
    // The same per-key lock as the run that started the incident: in the incident's parent folder.
    let lock: IncidentLock?
    do {
      let outDir = (URL(fileURLWithPath: directory).standardizedFileURL.path as NSString).deletingLastPathComponent
      // The key: given again when it was withheld as secret, else as the journal holds it.
      var inputs = invocation.inputs
      for (name, value) in state.inputs where !state.withheldInputs.contains(name) && inputs[name] == nil {
        if let text = value.stringValue { inputs[name] = text }
      }
      lock = try RunbookCommand.acquireLock(runbook: runbook, inputs: inputs, outDir: outDir, mode: info.mode)
      lock?.record(incident: URL(fileURLWithPath: directory).standardizedFileURL.path)
    } catch let held as IncidentLock.Held {
      Frontend.error(masker.mask(held.description))
      throw ExitCode(1)
    } catch {
      Frontend.error(masker.mask("\(error)"))
      throw ExitCode(2)
    }
    defer { lock?.release() }
    let result: RunResult
    do {
      result = try await Interrupts.run {
        try await runner.resume(directory: info.directory.isEmpty ? directory : directory, journalState: state,
                                inputs: invocation.inputs)
      }
    } catch let e as UsageError {
      Frontend.error(masker.mask(e.description))
      throw ExitCode(2)
    }
    let code = RunbookCommand.finish(result, masker: masker)
    if code != 0 { throw ExitCode(code) }
  }
}
