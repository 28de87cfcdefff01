import ArgumentParser
import Foundation
import RespondHTTP

/// The `respond` command line. Subcommands are listed here; `respond <runbook> ...` (any first
/// word that is not a subcommand) runs that runbook with its inputs as flags.
@main
struct Respond: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "respond",
    abstract: "Incident-response runbooks for leaked credentials: contain, investigate, rotate, notify, report.",
    discussion: """
      Run a runbook (each of its inputs is a flag of the same name):
        respond key-compromised --key AKIA... --vault-path secret/ci/aws --yes
        respond key-compromised --key AKIA... --dry-run
        respond drill key-compromised --key AKIA...
        respond key-compromised --help      (the runbook's inputs)

      Credentials come from the usual environment variables (AWS_*,
      VAULT_ADDR/VAULT_TOKEN, GITHUB_TOKEN, SLACK_WEBHOOK_URL, ...), never flags.
      Progress goes to stderr; the last line on stdout is the report's path.

      Exit status: 0 finished and (live) the credential is verified contained;
      1 a step failed (resumable with `respond resume`); 2 bad usage, bad input or
      invalid runbook (nothing ran); 3 stopped at an approval gate (resumable;
      rerun with --yes or from a terminal); 4 finished but the credential is NOT
      verified contained: a human must act (the report's follow-ups say what;
      `respond confirm DIR --step ID` records a containment done by hand).

      Verdicts: CONTAINED (a check after the change proved it, or a named person
      confirmed it), UNVERIFIED (changed, not proven), NOT CONTAINED.
      A second run or resume on a key another respond is handling does nothing
      and exits 1, naming that incident.
      """,
    version: "0.1.0",
    subcommands: [
      Validate.self, Plan.self, List.self, Actions.self, Identify.self, Drill.self, Resume.self, Report.self,
      Confirm.self, Approve.self, Verify.self, Bundle.self, Policy.self,
    ])

  static func main() async {
    Frontend.startedAt = ContinuousClock.now
    let args = Array(CommandLine.arguments.dropFirst())
    // Every subcommand names itself (`commandName`): ArgumentParser would otherwise derive the
    // names through reflection, a measurable part of start-up for every runbook run.
    let known = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
    // `respond help <runbook>` is the runbook's own help, as `respond <runbook> --help` is.
    if args.count == 2, args[0] == "help", !known.contains(args[1]), !args[1].hasPrefix("-") {
      let code = await RunbookCommand.run(runbook: args[1], arguments: ["--help"], mode: .live)
      Foundation.exit(code)
    }
    if let first = args.first, !first.hasPrefix("-"), !known.contains(first) {
      let code = await RunbookCommand.run(runbook: first, arguments: Array(args.dropFirst()), mode: .live)
      Foundation.exit(code)
    }
    do {
      var command = try parseAsRoot(args)
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      // ArgumentParser's own messages quote the arguments (`Unexpected argument 'ghp_…'`): they
      // are printed through the scrubber, never by `exit(withError:)` directly.
      let code = exitCode(for: error)
      let text = ArgumentScrubber.scrub(fullMessage(for: error))
      if code == .success {
        if !text.isEmpty { print(text) }
      } else if !text.isEmpty {
        FileHandle.standardError.write(Data((text + "\n").utf8))
      }
      Foundation.exit(code.rawValue)
    }
  }
}
