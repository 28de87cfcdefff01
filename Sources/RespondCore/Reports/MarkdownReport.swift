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
    func escape(_ s: String) -> String { MarkdownText.inline(masker?.mask(s) ?? s) }
    func code(_ s: String) -> String { MarkdownText.codeSpan(masker?.mask(s) ?? s) }
    var md: [String] = []
    md.append("# Incident \(r.incident) (\(r.mode))")
    md.append("")
    md.append("> **\(escape(r.statusLine))**")
    md.append("")
    if r.dryRun {
      md.append(
        "> This is a **DRILL** (dry run): read-only calls ran, every call that would change state was recorded below and **not sent**."
      )
      md.append("")
    }

    // Facts.
    md.append("| | |")
    md.append("|---|---|")
    let described = r.runbookDescription.isEmpty ? "" : ": " + escape(r.runbookDescription)
    md.append("| Runbook | \(code(r.runbook))\(described) |")
    md.append("| Mode | \(r.mode) |")
    for f in r.facts { md.append("| \(escape(f.label)) | \(f.value.isEmpty ? "n/a" : escape(f.value)) |") }
    md.append("| Status | \(escape(r.status))\(r.stoppedAt.map { " at step \(code($0))" } ?? "") |")
    if let verdict = r.verdict {
      md.append("| Verdict | **\(verdict.rawValue)**: \(escape(r.verdictReason ?? "")) |")
    }
    let unproved = r.verdict.map { $0 == .unverified ? "not proved" : "not contained" } ?? "n/a"
    md.append(
      "| Time to containment | \(r.timeToContainmentMs.map(formatMs) ?? (r.dryRun ? "n/a (drill)" : unproved)) |")
    md.append("| Started (UTC) | \(r.startedAt.map(ISO8601.string) ?? "?") |")
    md.append("| Ended (UTC) | \(r.endedAt.map(ISO8601.string) ?? "not recorded") |")
    md.append("| Duration | \(r.durationMs.map(formatMs) ?? "?") |")
    md.append("| Operator | \(escape(r.operatorName))\(r.host.isEmpty ? "" : " on " + escape(r.host)) |")
    if !r.resumedAt.isEmpty {
      md.append(
        "| Resumed | \(r.resumedAt.count) time(s): \(r.resumedAt.map(ISO8601.string).joined(separator: ", ")) |")
    }
    md.append("| respond | \(r.version) |")
    md.append("")
    if let msg = r.stopMessage, r.status != RunStatus.completed.rawValue {
      md.append("**Where it stopped:** \(escape(msg))")
      md.append("")
    }

    // Gantt.
    md.append("## Phases")
    md.append("")
    md.append("```mermaid")
    md.append("gantt")
    md.append("    title \(r.runbook) \(r.incident) (UTC)")
    md.append("    dateFormat YYYY-MM-DD HH:mm:ss.SSS")
    md.append("    axisFormat %H:%M:%S")
    for phase in Phase.allCases {
      // Only steps that ran take time on the chart; skipped ones are in the timeline.
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
    md.append("```")
    md.append("")

    // Timeline.
    md.append("## Timeline (UTC)")
    md.append("")
    md.append("| Time (UTC) | Phase | Step | Action | Outcome | Duration | Detail |")
    md.append("|---|---|---|---|---|---|---|")
    if let s = r.startedAt {
      md.append("| \(ISO8601.precise(s)) | | | | run started | | by \(escape(r.operatorName)) |")
    }
    // Steps whose condition was false belong to other branches: they are listed under
    // "Not done" with their condition, not in the timeline of what happened.
    let branchSkips = r.steps.filter { $0.outcome == StepOutcome.skippedCondition.rawValue }.count
    for s in r.steps where s.outcome != StepOutcome.skippedCondition.rawValue {
      let t = (s.finishedAt ?? s.startedAt).map(ISO8601.precise) ?? ""
      let d = s.durationMs.map(formatMs) ?? ""
      var detail = s.error ?? s.summary ?? ""
      if s.attempts > 1 { detail += (detail.isEmpty ? "" : "; ") + "\(s.attempts) attempts" }
      md.append(
        "| \(t) | \(s.phase.rawValue) | \(code(s.id)) | \(code(s.action)) | \(outcomeWord(s.outcome)) | \(d) "
          + "| \(escape(detail)) |")
    }
    for at in r.resumedAt { md.append("| \(ISO8601.precise(at)) | | | | resumed | | |") }
    if let e = r.endedAt { md.append("| \(ISO8601.precise(e)) | | | | run \(r.status) | | |") }
    md.append("")
    if branchSkips > 0 {
      md.append("\(branchSkips) step(s) of other branches did not apply (their condition was false); see Not done.")
      md.append("")
    }

    // Per phase.
    md.append("## What was done, by phase")
    md.append("")
    for phase in Phase.allCases {
      let steps = r.steps.filter { $0.phase == phase && $0.outcome != StepOutcome.skippedCondition.rawValue }
      guard !steps.isEmpty else { continue }
      md.append("### \(phase.rawValue.capitalized)")
      md.append("")
      for s in steps {
        var word = outcomeWord(s.outcome)
        if s.action == "manual" && s.outcome == StepOutcome.succeeded.rawValue {
          word = s.outputs["done"]?.boolValue == true ? "done by the operator" : "**left for a human** (see follow-ups)"
        }
        var head = "- **\(escape(s.title))** (\(code(s.action))): \(word)"
        if let d = s.durationMs { head += " in \(formatMs(d))" }
        if let sum = s.summary, !sum.isEmpty { head += ". \(escape(sum))" }
        md.append(head)
        if let e = s.error { md.append("  - Error: \(escape(e))") }
        if let a = s.approval { md.append("  - Approval: \(escape(a))") }
        // Raw HTTP bodies, and the report's own text and interim status line (for notifications),
        // would only repeat or contradict the report itself.
        let hidden: Set<String> = ["json", "body", "headers", "markdown", "status-line"]
        let shown = s.outputs.filter { !hidden.contains($0.key) }.sorted { $0.key < $1.key }
        for (k, v) in shown where !v.isNull {
          md.append("  - \(code(k)): \(escape(truncate(v.description, 300, masker)))")
        }
        for k in s.secretOutputs { md.append("  - \(code(k)): secret, not recorded") }
        for n in s.notes { md.append("  - Note: \(escape(n))") }
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
      }
      md.append("")
    }

    // Evidence.
    md.append("## Evidence")
    md.append("")
    if r.evidence.isEmpty {
      md.append("No audit-log evidence was gathered in this run.")
      md.append("")
    }
    for section in r.evidence {
      let e = section.evidence
      md.append("### \(escape(e.source)) (step \(code(section.step)))")
      md.append("")
      md.append("- Query: \(code(e.query))")
      md.append("- Endpoint: \(escape(e.endpoint))")
      let ws = e.windowStart.map(ISO8601.string) ?? "provider default"
      let we = e.windowEnd.map(ISO8601.string) ?? "now"
      md.append("- Window (UTC): \(ws) to \(we)")
      md.append("- Events found: **\(e.eventCount)**")
      if let f = e.firstSeen { md.append("- First seen (UTC): \(ISO8601.string(f))") }
      if let l = e.lastSeen { md.append("- Last seen (UTC): \(ISO8601.string(l))") }
      for c in e.caveats { md.append("- Caveat: \(escape(c))") }
      md.append("")
      for (name, tally) in e.tallies.sorted(by: { $0.key < $1.key }) where !tally.isEmpty {
        md.append("| \(escape(name.prefix(1).uppercased() + name.dropFirst())) | Count |")
        md.append("|---|---|")
        for (k, n) in tally.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
          md.append("| \(escape(k)) | \(n) |")
        }
        md.append("")
      }
      if !e.events.isEmpty {
        md.append("| Time (UTC) | Event | Source IP | Detail |")
        md.append("|---|---|---|---|")
        for ev in e.events {
          md.append(
            "| \(ISO8601.string(ev.time)) | \(escape(ev.name)) | \(escape(ev.sourceIP ?? "")) "
              + "| \(escape(ev.detail ?? "")) |")
        }
        md.append("")
      }
    }

    md += ActivitySection.render(r, escape: escape)

    // Not done.
    md.append("## Not done")
    md.append("")
    if r.notDone.isEmpty {
      md.append("Every step of the runbook ran.")
    } else {
      // Steps of branches that did not apply (another provider's, an unset option) are folded
      // away: an auditor reads first what was deliberately left undone.
      let branch = r.notDone.filter { $0.reason.hasPrefix("condition was false") }
      for n in r.notDone where !n.reason.hasPrefix("condition was false") {
        md.append("- \(code("\(n.phase.rawValue)/\(n.step)")) (\(code(n.action))): \(escape(n.reason))")
      }
      if branch.count == r.notDone.count { md.append("Nothing that applied to this credential was left undone.") }
      if !branch.isEmpty {
        md.append("")
        md.append(
          "<details><summary>\(branch.count) step(s) of branches that did not apply (condition false)</summary>")
        md.append("")
        for n in branch {
          md.append("- \(code("\(n.phase.rawValue)/\(n.step)")) (\(code(n.action))): \(escape(n.reason))")
        }
        md.append("")
        md.append("</details>")
      }
    }
    md.append("")

    // Follow-ups.
    md.append("## Follow-ups")
    md.append("")
    if r.followUps.isEmpty { md.append("- [x] Nothing left to do by hand.") }
    for f in r.followUps { md.append("- [\(f.done ? "x" : " ")] \(escape(f.text))") }
    md.append("")

    if let readiness = r.readiness {
      md.append("## Drill readiness")
      md.append("")
      md.append("What each step needs to run for real, checked against this environment.")
      md.append("")
      md.append("| Step | Action | In this drill | Ready | Missing |")
      md.append("|---|---|---|---|---|")
      for x in readiness {
        let outcome = r.steps.first { $0.id == x.step }.map { outcomeWord($0.outcome) } ?? ""
        md.append(
          "| \(code(x.step)) | \(code(x.action)) | \(outcome) | \(x.ready ? "yes" : "**no**") "
            + "| \(escape(x.missing.joined(separator: "; "))) |")
      }
      md.append("")
    }

    md.append("## Postmortem (draft)")
    md.append("")
    for heading in [
      "Summary", "Impact", "Root cause", "Detection", "What went well", "What went badly", "What to improve",
      "Action items",
    ] {
      md.append("### \(heading)")
      md.append("")
      md.append("_To be completed._")
      md.append("")
    }
    md.append("---")
    md.append("")
    md.append(
      "Generated by respond \(r.version) from `journal.jsonl` (\(r.journalRecords) records\(r.journalTornTail ? "; its torn last line, left by a crash, was ignored" : "")). Re-render with `respond report <incident folder>`."
    )
    md.append("")
    return md.joined(separator: "\n")
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

/// Writes `report.md` and `report.json` into an incident folder from its journal.
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
    let mdPath = directory + "/report.md"
    try IncidentFolder.writePrivate(md, to: mdPath)
    try IncidentFolder.writePrivate(json, to: directory + "/report.json")
    return Written(
      path: URL(fileURLWithPath: mdPath).standardizedFileURL.path, markdown: md,
      statusLine: masker?.mask(report.statusLine) ?? report.statusLine)
  }
}
