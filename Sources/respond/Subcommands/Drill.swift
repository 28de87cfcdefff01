import ArgumentParser
import Foundation

/// `respond drill RUNBOOK [inputs]`: a dry run whose report is marked DRILL and says, step by
/// step, whether this environment could run it for real.
struct Drill: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drill",
    abstract:
      "Rehearse a runbook: read-only calls run, changes are shown and not sent, the report adds a readiness section.",
    discussion: "Example: respond drill key-compromised --key AKIAIOSFODNN7EXAMPLE")

  @Argument(help: "Runbook name or file.")
  var runbook: String

  @Argument(
    parsing: .captureForPassthrough, help: "The runbook's inputs as --name VALUE (see `respond <runbook> --help`).")
  var arguments: [String] = []

  func run() async throws {
    let code = await RunbookCommand.run(runbook: runbook, arguments: arguments, mode: .drill)
    if code != 0 { throw ExitCode(code) }
  }
}
