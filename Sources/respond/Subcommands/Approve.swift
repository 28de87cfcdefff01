import ArgumentParser
import Foundation
import RespondCore

/// `respond approve DIR --step ID`: a person approves a step stopped at its approval gate,
/// possibly the second of two. Thin: the decision and the journaling live in `IncidentApproval`.
struct Approve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "approve",
    abstract: "Approve a step waiting at its approval gate (possibly the second of two people).",
    discussion: """
      A step with `approval: two-person` runs only after two different people
      approved it. The responder's own yes (at the terminal or --yes) is one; the
      second person runs, from their shell:
        respond approve incidents/20261202T101500Z-key-compromised --step quarantine
      The approval is journaled with who (--approver, else user@host), the
      account, when and how. Refused: an unknown step, a step not waiting for
      approval, the same person twice (by name or account), the person who
      started the run as second approver, an incident a running respond holds.
      This command only records: when the approvals are complete, the responder
      runs
        respond resume incidents/20261202T101500Z-key-compromised --key -
      because the run needs the credentials and secret inputs (--key), which the
      approver need not have. From another machine, against the incident the
      team shares (RESPOND_STATE_URL):
        respond approve s3://bucket/team/incidents/<id> --step quarantine
      pulls and verifies the incident, records the approval and writes the
      journal back only if nobody changed it meanwhile; the responder then runs
      `respond resume s3://bucket/team/incidents/<id> --out DIR`.
      Exit 0 when the step's approvals are complete, 3 when it still waits for
      another person, 2 refused.
      """)

  @Argument(help: "The incident folder, or a shared incident s3://bucket/prefix/incidents/<id>.")
  var directory: String

  @Option(help: "The step waiting for approval (the stop message and the report name it).")
  var step: String

  @Option(help: "Who approves (default: the operating-system user@host).")
  var approver: String?

  func run() async throws {
    let host = ProcessInfo.processInfo.hostName
    let person = ApprovalPerson(approver: approver, user: RunOptions.currentUser(), host: host)
    let recorded: IncidentApproval.Recorded
    let report: String
    do {
      if directory.hasPrefix("s3://") {
        (recorded, report) = try await SharedStateSession.approve(directory, step: step, by: person, host: host)
      } else {
        recorded = try IncidentApproval.approve(directory: directory, step: step, by: person, host: host)
        report = directory + "/report.md"
      }
    } catch {
      Frontend.error("\(error)")
      throw ExitCode(2)
    }
    Frontend.note("approval of \(step) recorded: \(person.name) (\(person.account)), respond approve")
    Frontend.note(recorded.next)
    print(report)
    if !recorded.complete { throw ExitCode(3) }
  }
}
