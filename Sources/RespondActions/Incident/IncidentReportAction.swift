import Foundation
import RespondCore

/// `incident.report`: writes `report.md` and `report.json` from the journal as it stands, for
/// the document phase (and for notifications that carry the report). The run rewrites both
/// once more when it ends, so the final files include every step.
package struct IncidentReportAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "incident.report",
      summary: "Write the incident report and postmortem draft (report.md, report.json) from the journal",
      parameters: [],
      outputs: [
        OutputSpec("path", "path of report.md"),
        OutputSpec("status-line", "the report's opening status line"),
        OutputSpec("markdown", journaled: false, "the report itself (masked), e.g. as an e-mail body"),
        OutputSpec("json", journaled: false, "report.json as an object (masked), e.g. as a SIEM webhook's payload"),
      ],
      mutates: false, idempotent: true)
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let dir = context.incident.directory
    guard !dir.isEmpty else { throw ActionError.failed("no incident folder to write the report into") }
    // The runner's state is the journal's records folded in memory: no need to read them back.
    let state = try context.incidentState?() ?? IncidentState.load(journal: dir + "/journal.jsonl")
    let written = try ReportWriter.writeReport(state: state, directory: dir, masker: context.masker)
    return ActionResult(
      outputs: [
        "path": .string(written.path), "status-line": .string(written.statusLine),
        "markdown": .string(written.markdown), "json": Value.parseJSON(written.json) ?? .object([:]),
      ], summary: written.path)
  }
}
