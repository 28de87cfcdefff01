import ArgumentParser
import Foundation
import RespondCore

/// `respond confirm DIR --step ID`: a person records that a containment respond could not prove is
/// done. Thin: the decision and the journaling live in `IncidentConfirmation`.
struct Confirm: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "confirm",
    abstract: "Record that you carried out (or checked) a containment step respond could not prove.",
    discussion: """
      respond says CONTAINED only when a check after the change proved the credential dead, or when a
      named person confirms it. Use this after you did a manual step (rolled a Stripe key in the
      Dashboard) or checked by hand that a credential no longer works:
        respond confirm incidents/20261202T101500Z-key-compromised --step not-automated
      The confirmation is journaled with your name (--by, else the OS user), host and time; the
      reports are rendered again and their verdict names you. Exit 0 when the incident is now
      CONTAINED, 4 when it still is not, 2 when the step cannot be confirmed.
      """)

  @Argument(help: "The incident folder.")
  var directory: String

  @Option(help: "The step you carried out or checked (the report's follow-ups name it).")
  var step: String

  @Option(help: "Who confirms (default: the operating-system user).")
  var by: String?

  func run() async throws {
    let person = by ?? RunOptions.currentUser()
    let state: IncidentState
    do {
      state = try IncidentConfirmation.confirm(
        directory: directory, step: step, by: person, host: ProcessInfo.processInfo.hostName)
    } catch {
      Frontend.error("\(error)")
      throw ExitCode(2)
    }
    let report = IncidentReport(state: state)
    FileHandle.standardError.write(Data((report.statusLine + "\n").utf8))
    print(directory + "/report.md")
    if report.verdict != .contained { throw ExitCode(4) }
  }
}
