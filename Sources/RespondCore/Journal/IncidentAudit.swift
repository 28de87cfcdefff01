import Foundation

/// `respond verify`: whether an incident folder is what respond wrote. The journal's hash chain
/// and numbering must hold from its first line, every evidence file must hash to what the journal
/// recorded, and the reports must say what the journal says (a report edited to read CONTAINED,
/// or a fact such as the replacement key changed, is caught here).
package enum IncidentAudit {
  package struct Finding: Sendable, Equatable, CustomStringConvertible {
    package var file: String
    package var line: Int?
    package var problem: String
    package var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(problem)" }
  }

  /// Every problem found, in file order; empty when the incident is intact. `notes` says what was
  /// tolerated (a torn last line, a torn line a resume sealed over).
  package static func check(directory: String) throws -> (findings: [Finding], notes: [String]) {
    let journalPath = directory + "/journal.jsonl"
    let contents = try Journal.read(path: journalPath)
    var findings = contents.damagedLines.map { Finding(file: "journal.jsonl", line: $0.0, problem: $0.1) }
    var notes: [String] = []
    if contents.tornTail { notes.append("journal.jsonl: the last line was torn by a crash (tolerated)") }
    for line in contents.sealedTornLines {
      notes.append("journal.jsonl:\(line): torn by a crash and sealed over by the resume that followed (tolerated)")
    }
    if contents.records.first?.type != .runStarted {
      findings.append(Finding(file: "journal.jsonl", line: 1, problem: "does not start with a run-started record"))
    }
    let evidence = EvidenceStore.check(directory: directory, records: contents.records)
    findings += evidence.findings
    notes += evidence.notes
    var state = IncidentState(records: contents.records)
    state.tornTail = contents.tornTail
    let expected = IncidentReport(state: state)
    if let data = FileManager.default.contents(atPath: directory + "/report.json") {
      if let recorded = JSONParser.parse(data), let want = try? expected.jsonValue() {
        // A report written before a field existed lacks it; an empty list is all it could say.
        for key in checkedReportFields where recorded[key] != want[key] {
          if case .none = recorded[key], want[key] == .some(.array([])) { continue }
          findings.append(Finding(file: "report.json", line: nil, problem: "'\(key)' does not match the journal"))
        }
      } else {
        findings.append(Finding(file: "report.json", line: nil, problem: "is not valid JSON"))
      }
    }
    // The status line is the report's third line, as rendered from the journal.
    let statusLine = MarkdownReport.render(expected).split(separator: "\n", maxSplits: 3).dropFirst(1).first
    if let md = FileManager.default.contents(atPath: directory + "/report.md"),
      let text = String(data: md, encoding: .utf8), let statusLine, !text.contains(statusLine)
    {
      findings.append(Finding(file: "report.md", line: nil, problem: "its status line does not match the journal"))
    }
    findings += markdownFactFindings(directory: directory, expected: expected)
    findings += markdownApprovalFindings(directory: directory, expected: expected)
    return (findings, notes)
  }

  /// The fields of `report.json` that state facts of the incident. Fields that only describe how
  /// it was rendered (the step lines' wording, the respond version) may change with a newer
  /// respond and are left out, so a report re-rendered later still verifies.
  static let checkedReportFields = [
    "incident", "mode", "verdict", "status", "status-line", "contained", "contained-at", "verified-by",
    "confirmed-by", "time-to-containment-ms", "started-at", "ended-at", "facts", "evidence-files", "approvals",
  ]

  /// Every fact row of `report.md` (`| label | value |`, as rendered from the journal) must be
  /// there as written: an edited owner or replacement key is named.
  static func markdownFactFindings(directory: String, expected: IncidentReport) -> [Finding] {
    guard let md = FileManager.default.contents(atPath: directory + "/report.md"),
      let text = String(data: md, encoding: .utf8)
    else { return [] }
    let lines = Set(text.split(separator: "\n").map(String.init))
    return MarkdownReport.factRows(expected).compactMap { label, row in
      lines.contains(row)
        ? nil : Finding(file: "report.md", line: nil, problem: "the fact '\(label)' does not match the journal")
    }
  }

  /// The Approvals section of `report.md` must be the one the journal renders, row for row: who
  /// approved a step is what four eyes are audited by, so a name edited, a row added or removed
  /// is named like an edited fact.
  static func markdownApprovalFindings(directory: String, expected: IncidentReport) -> [Finding] {
    guard let md = FileManager.default.contents(atPath: directory + "/report.md"),
      let text = String(data: md, encoding: .utf8)
    else { return [] }
    let want = MarkdownReport.approvals(expected, MarkdownReport.Writer()).filter { !$0.isEmpty }
    var found: [String] = []
    var inSection = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
      if line.hasPrefix("## ") { inSection = line == "## Approvals" }
      if inSection { found.append(line) }
    }
    return found == want
      ? [] : [Finding(file: "report.md", line: nil, problem: "its approvals do not match the journal")]
  }
}
