import Foundation

/// Renders `report.md`: read at 3 a.m. by the responder, in the postmortem by the team, and
/// months later by an auditor. It opens with what a person can act on, then the facts, the
/// phases as a Mermaid gantt, the UTC timeline, evidence with provenance, what was not done,
/// follow-ups, and the postmortem headings.
package enum MarkdownReport {
  ///
  /// Every piece of text that came from a provider, a step or a person (user agents, source IPs,
  /// event names, outputs, errors, notes, names) goes through `escape` (masked first when a
  /// masker is given, so escaping cannot hide a secret from it), and identifiers in code spans
  /// through `MarkdownText.codeSpan`: attacker-chosen text cannot become a link, an image, HTML
  /// or block syntax in the report. Values cut to fit a line are masked before they are cut (a
  /// value cut first would keep half a secret).
  package static func render(_ r: IncidentReport, masker: Masker? = nil) -> String {
    let w = Writer(masker: masker)
    var md: [String] = []
    md += header(r, w)
    md += gantt(r)
    md += timeline(r, w)
    md += approvals(r, w)
    md += byPhase(r, w)
    md += evidence(r, w)
    md += ActivitySection.render(r, escape: w.escape)
    md += notDone(r, w)
    md += followUps(r, w)
    md += drillScore(r, w)
    md += readiness(r, w)
    md += postmortem(r)
    return md.joined(separator: "\n")
  }

  /// How outside text enters the report: `escape` for prose and cells, `code` for identifiers.
  struct Writer {
    var masker: Masker?
    func escape(_ s: String) -> String { MarkdownText.inline(masker?.mask(s) ?? s) }
    func code(_ s: String) -> String { MarkdownText.codeSpan(masker?.mask(s) ?? s) }
  }

  /// The rows of the facts table that the runbook's report facts fill, as rendered: `respond
  /// verify` looks for each of them in `report.md`. A fact this run has no value for (a Vault
  /// row for a GitLab token) is not a row of its own: one row names them all, so the facts a
  /// responder reads are not lost among twenty "n/a" lines, and nothing is silently dropped.
  package static func factRows(_ r: IncidentReport, masker: Masker? = nil) -> [(label: String, row: String)] {
    let w = Writer(masker: masker)
    var rows = r.facts.filter { !$0.value.isEmpty }.map { f in
      (label: f.label, row: "| \(w.escape(f.label)) | \(w.escape(f.value)) |")
    }
    let empty = r.facts.filter(\.value.isEmpty).map { w.escape($0.label) }
    if !empty.isEmpty {
      rows.append((label: notApplicable, row: "| \(notApplicable) | \(empty.joined(separator: "; ")) |"))
    }
    return rows
  }

  /// The label of the row listing the facts that have no value in this run.
  static let notApplicable = "Not applicable to this run"

  // MARK: - Sections

  /// The title, the status line a person acts on, and the facts table.
  static func header(_ r: IncidentReport, _ w: Writer) -> [String] {
    var md = ["# Incident \(r.incident) (\(r.mode))", "", "> **\(w.escape(r.statusLine))**", ""]
    if r.dryRun {
      md.append(
        "> This is a **DRILL** (dry run): read-only calls ran, every call that would change state was recorded below and **not sent**."
      )
      md.append("")
    }
    md.append("| | |")
    md.append("|---|---|")
    let described = r.runbookDescription.isEmpty ? "" : ": " + w.escape(r.runbookDescription)
    md.append("| Runbook | \(w.code(r.runbook))\(described) |")
    md.append("| Mode | \(r.mode) |")
    md += factRows(r, masker: w.masker).map(\.row)
    md.append("| Status | \(w.escape(r.status))\(r.stoppedAt.map { " at step \(w.code($0))" } ?? "") |")
    if let verdict = r.verdict {
      md.append("| Verdict | **\(verdict.rawValue)**: \(w.escape(r.verdictReason ?? "")) |")
    }
    let unproved = r.verdict.map { $0 == .unverified ? "not proved" : "not contained" } ?? "n/a"
    md.append(
      "| Time to containment | \(r.timeToContainmentMs.map(formatMs) ?? (r.dryRun ? "n/a (drill)" : unproved)) |")
    if let d = r.drill {
      md.append(
        "| Drill score | **\(d.score)/100**, \(d.passed ? "passed" : "**not passed**"); containment "
          + (d.unestimatedSteps.isEmpty ? "estimated at \(formatMs(d.containmentMs))" : "not estimated")
          + "\(d.targetMs.map { " (target \(formatMs($0)))" } ?? "") |")
    }
    md.append("| Started (UTC) | \(r.startedAt.map(ISO8601.string) ?? "?") |")
    md.append("| Ended (UTC) | \(r.endedAt.map(ISO8601.string) ?? "not recorded") |")
    md.append("| Duration | \(r.durationMs.map(formatMs) ?? "?") |")
    md.append("| Operator | \(w.escape(r.operatorName))\(r.host.isEmpty ? "" : " on " + w.escape(r.host)) |")
    if !r.resumedAt.isEmpty {
      md.append(
        "| Resumed | \(r.resumedAt.count) time(s): \(r.resumedAt.map(ISO8601.string).joined(separator: ", ")) |")
    }
    md.append("| respond | \(r.version) |")
    md.append("")
    if let msg = r.stopMessage, r.status != RunStatus.completed.rawValue {
      md.append("**Where it stopped:** \(w.escape(msg))")
      md.append("")
    }
    return md
  }

  /// The phases as a Mermaid gantt: only steps that ran take time on the chart.
  static func gantt(_ r: IncidentReport) -> [String] {
    var md = ["## Phases", "", "```mermaid", "gantt", "    title \(r.runbook) \(r.incident) (UTC)"]
    md.append("    dateFormat YYYY-MM-DD HH:mm:ss.SSS")
    md.append("    axisFormat %H:%M:%S")
    for phase in Phase.allCases {
      let steps = r.steps.filter {
        $0.phase == phase && $0.startedAt != nil && $0.outcome != StepOutcome.skippedCondition.rawValue
      }
      guard !steps.isEmpty else { continue }
      md.append("    section \(phase.rawValue)")
      for (i, s) in steps.enumerated() {
        let start = s.startedAt!
        let end = max(s.finishedAt ?? start, start.addingTimeInterval(0.001))
        let tag: String
        switch s.outcome {
        case StepOutcome.failed.rawValue, "interrupted": tag = "crit, "
        case StepOutcome.succeeded.rawValue: tag = "done, "
        default: tag = ""
        }
        md.append("    \(ganttName(s.id)) :\(tag)\(phase.rawValue)\(i), \(ganttTime(start)), \(ganttTime(end))")
      }
    }
    md += ["```", ""]
    return md
  }

  /// The UTC timeline of every step that applied. Steps whose condition was false belong to
  /// other branches: they are listed under "Not done" with their condition.
  static func timeline(_ r: IncidentReport, _ w: Writer) -> [String] {
    var md = ["## Timeline (UTC)", ""]
    md.append("| Time (UTC) | Phase | Step | Action | Outcome | Duration | Detail |")
    md.append("|---|---|---|---|---|---|---|")
    if let s = r.startedAt {
      md.append("| \(ISO8601.precise(s)) | | | | run started | | by \(w.escape(r.operatorName)) |")
    }
    let branchSkips = r.steps.filter { $0.outcome == StepOutcome.skippedCondition.rawValue }.count
    for s in r.steps where s.outcome != StepOutcome.skippedCondition.rawValue {
      let t = (s.finishedAt ?? s.startedAt).map(ISO8601.precise) ?? ""
      let d = s.durationMs.map(formatMs) ?? ""
      var detail = s.error ?? s.summary ?? ""
      if s.attempts > 1 { detail += (detail.isEmpty ? "" : "; ") + "\(s.attempts) attempts" }
      md.append(
        "| \(t) | \(s.phase.rawValue) | \(w.code(s.id)) | \(w.code(s.action)) | \(outcomeWord(s.outcome)) | \(d) "
          + "| \(w.escape(detail)) |")
    }
    for at in r.resumedAt { md.append("| \(ISO8601.precise(at)) | | | | resumed | | |") }
    if let e = r.endedAt { md.append("| \(ISO8601.precise(e)) | | | | run \(r.status) | | |") }
    md.append("")
    if branchSkips > 0 {
      md.append("\(branchSkips) step(s) of other branches did not apply (their condition was false); see Not done.")
      md.append("")
    }
    return md
  }

  /// What each step did, phase by phase, with its outputs, notes and the requests a drill held.
  static func byPhase(_ r: IncidentReport, _ w: Writer) -> [String] {
    var md = ["## What was done, by phase", ""]
    for phase in Phase.allCases {
      let steps = r.steps.filter { $0.phase == phase && $0.outcome != StepOutcome.skippedCondition.rawValue }
      guard !steps.isEmpty else { continue }
      md += ["### \(phase.rawValue.capitalized)", ""]
      for s in steps { md += stepLines(s, w) }
      md.append("")
    }
    return md
  }

  static func stepLines(_ s: IncidentReport.StepLine, _ w: Writer) -> [String] {
    var word = outcomeWord(s.outcome)
    if s.action == "manual" && s.outcome == StepOutcome.succeeded.rawValue {
      word = s.outputs["done"]?.boolValue == true ? "done by the operator" : "**left for a human** (see follow-ups)"
    }
    var head = "- **\(w.escape(s.title))** (\(w.code(s.action))): \(word)"
    if let d = s.durationMs { head += " in \(formatMs(d))" }
    if let sum = s.summary, !sum.isEmpty { head += ". \(w.escape(sum))" }
    var md = [head]
    if let e = s.error { md.append("  - Error: \(w.escape(e))") }
    if let a = s.approval { md.append("  - Approval: \(w.escape(a))") }
    // Raw HTTP bodies, and the report's own text and interim status line (for notifications),
    // would only repeat or contradict the report itself.
    let hidden: Set<String> = ["json", "body", "headers", "markdown", "status-line"]
    let shown = s.outputs.filter { !hidden.contains($0.key) }.sorted { $0.key < $1.key }
    for (k, v) in shown where !v.isNull {
      md.append("  - \(w.code(k)): \(w.escape(truncate(v.description, 300, w.masker)))")
    }
    for k in s.secretOutputs { md.append("  - \(w.code(k)): secret, not recorded") }
    for n in s.notes { md.append("  - Note: \(w.escape(n))") }
    for req in s.wouldSend {
      md.append("  - Would send (not sent):")
      md.append("")
      // The request text may carry provider text: the fence is longer than any backtick run
      // in it, so nothing inside can close the block early.
      let fence = MarkdownText.fence(for: req)
      md.append("    \(fence)http")
      for l in req.split(separator: "\n", omittingEmptySubsequences: false) { md.append("    " + l) }
      md.append("    \(fence)")
      md.append("")
    }
    return md
  }

  /// The evidence files (each provider answer, with its SHA-256) and every audit query's
  /// provenance, tallies and sampled events.
  static func evidence(_ r: IncidentReport, _ w: Writer) -> [String] {
    var md = ["## Evidence", ""]
    if !r.evidenceFiles.isEmpty {
      md.append(
        "Every provider answer the response relied on is kept, masked, in the incident folder; the journal holds "
          + "each file's SHA-256 and `respond verify` checks them.")
      md.append("")
      md.append("| Step | File | SHA-256 |")
      md.append("|---|---|---|")
      for f in r.evidenceFiles {
        // The path is respond's own (`evidence/<step>.json`, a sanitised step id).
        md.append("| \(w.code(f.step)) | [\(w.escape(f.path))](\(f.path)) | \(w.code(f.sha256)) |")
      }
      md.append("")
    }
    if r.evidence.isEmpty {
      md.append("No audit-log evidence was gathered in this run.")
      md.append("")
    }
    for section in r.evidence { md += auditEvidence(section, w) }
    return md
  }

  static func auditEvidence(_ section: IncidentReport.EvidenceSection, _ w: Writer) -> [String] {
    let e = section.evidence
    var md = ["### \(w.escape(e.source)) (step \(w.code(section.step)))", ""]
    md.append("- Query: \(w.code(e.query))")
    md.append("- Endpoint: \(w.escape(e.endpoint))")
    let ws = e.windowStart.map(ISO8601.string) ?? "provider default"
    let we = e.windowEnd.map(ISO8601.string) ?? "now"
    md.append("- Window (UTC): \(ws) to \(we)")
    md.append("- Events found: **\(e.eventCount)**")
    if let f = e.firstSeen { md.append("- First seen (UTC): \(ISO8601.string(f))") }
    if let l = e.lastSeen { md.append("- Last seen (UTC): \(ISO8601.string(l))") }
    for c in e.caveats { md.append("- Caveat: \(w.escape(c))") }
    md.append("")
    for (name, tally) in e.tallies.sorted(by: { $0.key < $1.key }) where !tally.isEmpty {
      md.append("| \(w.escape(name.prefix(1).uppercased() + name.dropFirst())) | Count |")
      md.append("|---|---|")
      for (k, n) in tally.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
        md.append("| \(w.escape(k)) | \(n) |")
      }
      md.append("")
    }
    if !e.events.isEmpty {
      md.append("| Time (UTC) | Event | Source IP | Detail |")
      md.append("|---|---|---|---|")
      for ev in e.events {
        md.append(
          "| \(ISO8601.string(ev.time)) | \(w.escape(ev.name)) | \(w.escape(ev.sourceIP ?? "")) "
            + "| \(w.escape(ev.detail ?? "")) |")
      }
      md.append("")
    }
    return md
  }

  /// What was deliberately not done. Steps of branches that did not apply (another provider's,
  /// an unset option) are folded away: an auditor reads first what was left undone.
  /// Every approval people gave or refused: who, from which account, when (UTC) and how. None
  /// given: no section (a runbook without gates, or a run that stopped before anyone answered).
  static func approvals(_ r: IncidentReport, _ w: Writer) -> [String] {
    guard !r.approvals.isEmpty else { return [] }
    var md = [
      "## Approvals", "", "| step | who | account | when (UTC) | how | decision |",
      "| --- | --- | --- | --- | --- | --- |",
    ]
    for a in r.approvals {
      md.append(
        "| \(w.code(a.step)) | \(w.escape(a.by)) | \(w.escape(a.account)) | \(ISO8601.string(a.at)) | \(w.escape(a.how)) | \(w.escape(a.decision)) |"
      )
    }
    md.append("")
    return md
  }

  static func notDone(_ r: IncidentReport, _ w: Writer) -> [String] {
    var md = ["## Not done", ""]
    func item(_ n: IncidentReport.NotDone) -> String {
      "- \(w.code("\(n.phase.rawValue)/\(n.step)")) (\(w.code(n.action))): \(w.escape(n.reason))"
    }
    if r.notDone.isEmpty {
      md.append("Every step of the runbook ran.")
    } else {
      let branch = r.notDone.filter { $0.reason.hasPrefix("condition was false") }
      for n in r.notDone where !n.reason.hasPrefix("condition was false") { md.append(item(n)) }
      if branch.count == r.notDone.count { md.append("Nothing that applied to this credential was left undone.") }
      if !branch.isEmpty {
        md.append("")
        md.append(
          "<details><summary>\(branch.count) step(s) of branches that did not apply (condition false)</summary>")
        md.append("")
        md += branch.map(item)
        md.append("")
        md.append("</details>")
      }
    }
    md.append("")
    return md
  }

  static func followUps(_ r: IncidentReport, _ w: Writer) -> [String] {
    var md = ["## Follow-ups", ""]
    if r.followUps.isEmpty { md.append("- [x] Nothing left to do by hand.") }
    for f in r.followUps { md.append("- [\(f.done ? "x" : " ")] \(w.escape(f.text))") }
    md.append("")
    return md
  }

  /// The drill's score with the rule and numbers that produced it, so the next drill compares.
  static func drillScore(_ r: IncidentReport, _ w: Writer) -> [String] {
    guard let d = r.drill else { return [] }
    var md = ["## Drill score", ""]
    md.append("**\(d.score)/100, \(d.passed ? "passed" : "not passed")**: \(w.escape(d.rule)).")
    md.append("")
    md.append("| Containment path (detect, contain) | Time |")
    md.append("|---|---|")
    md.append("| Measured in this drill (read-only calls) | \(formatMs(d.measuredMs)) |")
    md.append("| Estimated for the changes not sent (the provider's measured latency) | \(formatMs(d.estimatedMs)) |")
    md.append(
      d.unestimatedSteps.isEmpty
        ? "| **Would take** | **\(formatMs(d.containmentMs))** |"
        : "| **Would take** | not known: \(d.unestimatedSteps.count) call(s) not estimated (below) |")
    md.append("| Target (`drill: target:`) | \(d.targetMs.map(formatMs) ?? "none set") |")
    md.append("")
    if !d.unestimatedSteps.isEmpty {
      md.append(
        "Not estimated (no read-only call to their provider was measured here, so the drill cannot pass): "
          + d.unestimatedSteps.map(w.code).joined(separator: ", ") + ".")
      md.append("")
    }
    if !d.manualSteps.isEmpty {
      md.append(
        "Not in the estimate: the time a person takes for \(d.manualSteps.map(w.code).joined(separator: ", ")), "
          + "and the time approvals wait.")
    } else {
      md.append("Not in the estimate: the time approvals wait for a person.")
    }
    md.append("")
    return md
  }

  static func readiness(_ r: IncidentReport, _ w: Writer) -> [String] {
    guard let readiness = r.readiness else { return [] }
    var md = ["## Drill readiness", "", "What each step needs to run for real, checked against this environment.", ""]
    md.append("| Step | Action | In this drill | Ready | Missing |")
    md.append("|---|---|---|---|---|")
    for x in readiness {
      let outcome = r.steps.first { $0.id == x.step }.map { outcomeWord($0.outcome) } ?? ""
      md.append(
        "| \(w.code(x.step)) | \(w.code(x.action)) | \(outcome) | \(x.ready ? "yes" : "**no**") "
          + "| \(w.escape(x.missing.joined(separator: "; "))) |")
    }
    md.append("")
    return md
  }

  /// Where the postmortem draft is, and the footer.
  static func postmortem(_ r: IncidentReport) -> [String] {
    var md = ["## Postmortem", ""]
    md.append(
      "The draft, written from the journal and the evidence, is [postmortem.md](postmortem.md): summary, impact, "
        + "exposure window, TTD/TTN/TTC/TTR, one timeline of the attacker's events and the response, what went well "
        + "and what did not, action items. Root cause and lessons are for people to write.")
    md += ["", "---", ""]
    md.append(
      "Generated by respond \(r.version) from `journal.jsonl` (\(r.journalRecords) records\(r.journalTornTail ? "; its torn last line, left by a crash, was ignored" : "")). Re-render with `respond report <incident folder>`."
    )
    md.append("")
    return md
  }

  private static func outcomeWord(_ o: String) -> String {
    switch o {
    case StepOutcome.succeeded.rawValue: return "succeeded"
    case StepOutcome.failed.rawValue: return "**FAILED**"
    case StepOutcome.skippedCondition.rawValue: return "skipped (condition false)"
    case StepOutcome.skippedDryRun.rawValue: return "skipped (dry run)"
    case StepOutcome.stoppedAtApproval.rawValue: return "**stopped at approval**"
    case "interrupted": return "**interrupted**"
    default: return o
    }
  }

  static func truncate(_ s: String, _ n: Int, _ masker: Masker?) -> String {
    if let masker { return masker.excerpt(s, limit: n + 1) }
    return s.count <= n ? s : String(s.prefix(n)) + "…"
  }

  /// Mermaid task names cannot hold ':' or '#'.
  static func ganttName(_ s: String) -> String {
    s.replacingASCII([UInt8(ascii: ":"): " ", UInt8(ascii: "#"): " "])
  }

  static func ganttTime(_ d: Date) -> String { ISO8601.spaced(d) }
}

/// Writes `report.md`, `report.json` and the postmortem draft `postmortem.md` into an incident
/// folder from its journal.
package enum ReportWriter {
  /// Renders both files (mode 0600, atomically) and returns the path of `report.md`.
  @discardableResult
  package static func write(directory: String, masker: Masker? = nil) throws -> String {
    try write(state: IncidentState.load(journal: directory + "/journal.jsonl"), directory: directory, masker: masker)
  }

  /// Renders from a state already folded from the journal's records (the runner's own, at the
  /// end of a run: the same records, without reading them back).
  @discardableResult
  package static func write(state: IncidentState, directory: String, masker: Masker? = nil) throws -> String {
    try writeReport(state: state, directory: directory, masker: masker).path
  }

  /// What `writeReport` wrote: the path of `report.md`, its text, and its status line.
  package struct Written {
    package var path: String
    package var markdown: String
    package var statusLine: String
    /// report.json's text, masked.
    package var json: String
    /// A drill's score and how it was made, for the terminal: the number a team compares
    /// quarter to quarter should not need the report opened. Nil for other runs.
    package var drillScore: String?
  }

  /// Renders and writes both files, and hands back the Markdown (for a notification that
  /// carries the report) without reading it back.
  package static func writeReport(state: IncidentState, directory: String, masker: Masker? = nil) throws -> Written {
    let report = IncidentReport(state: state)
    var md = MarkdownReport.render(report, masker: masker)
    var json = report.json() + "\n"
    if let masker {  // belt and braces: the journal is masked already
      md = masker.mask(md)
      json = masker.mask(json)
    }
    var postmortem = PostmortemMarkdown.render(PostmortemDraft(state: state, report: report), masker: masker)
    if let masker { postmortem = masker.mask(postmortem) }
    let mdPath = directory + "/report.md"
    try IncidentFolder.writePrivate(md, to: mdPath)
    try IncidentFolder.writePrivate(json, to: directory + "/report.json")
    try IncidentFolder.writePrivate(postmortem, to: directory + "/postmortem.md")
    return Written(
      path: URL(fileURLWithPath: mdPath).standardizedFileURL.path, markdown: md,
      statusLine: masker?.mask(report.statusLine) ?? report.statusLine, json: json,
      drillScore: report.drill.map { "drill score \($0.score)/100, \($0.passed ? "passed" : "not passed"): \($0.rule)" }
    )
  }
}
