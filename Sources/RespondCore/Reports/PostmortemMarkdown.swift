import Foundation

/// Renders `postmortem.md`: the draft the team starts the postmortem from, already written from
/// the journal. Text from outside (event names, user agents, errors, names) is escaped as in
/// `report.md`, so an attacker's user agent cannot become a link or markup here either.
package enum PostmortemMarkdown {
  package static func render(_ p: PostmortemDraft, masker: Masker? = nil) -> String {
    let w = MarkdownReport.Writer(masker: masker)
    var md = ["# Postmortem draft: incident \(p.report.incident) (\(p.report.mode))", ""]
    md.append(
      "_Written by respond \(p.report.version) from `journal.jsonl` and the files under `evidence/` "
        + "(see [report.md](report.md)). Edit freely; root cause and lessons are for people to write._")
    md.append("")
    md += summary(p, w) + impact(p, w) + changes(p, w) + window(p, w) + times(p, w) + timeline(p, w) + review(p, w)
    md += ["## Action items", ""]
    if p.report.followUps.isEmpty { md.append("- [x] Nothing left to do by hand.") }
    for f in p.report.followUps { md.append("- [\(f.done ? "x" : " ")] \(w.escape(f.text))") }
    md.append("")
    for heading in ["Root cause", "Lessons"] {
      md += ["## \(heading)", "", "_To be written by a person: respond cannot judge this from the journal._", ""]
    }
    return md.joined(separator: "\n")
  }

  static func fact(_ p: PostmortemDraft, _ label: String) -> String? {
    p.report.facts.first { $0.label == label && !$0.value.isEmpty }?.value
  }

  /// One paragraph: what leaked, where it was found, what it could do, what it did, what was done.
  static func summary(_ p: PostmortemDraft, _ w: MarkdownReport.Writer) -> [String] {
    let r = p.report
    var s = "A leaked credential, \(fact(p, "Leaked key") ?? "(not identified)")"
    if let provider = fact(p, "Provider") { s += " (\(provider))" }
    s += ", was reported to respond at \(r.startedAt.map(ISO8601.string) ?? "?")"
    if let exposed = p.exposedAt { s += "; it was exposed from \(ISO8601.string(exposed.at)) (\(exposed.label))" }
    s += ". "
    if let owner = fact(p, "Owner") {
      s += "It belongs to \(owner) and could do whatever \(owner)'s permissions allow"
      s += ". "
    }
    if p.events.isEmpty {
      s += "The audit logs searched show no use of it. "
    } else {
      let ips = Set(p.events.compactMap(\.sourceIP)).sorted()
      s += "It made \(p.events.count) recorded call(s)"
      s += ips.isEmpty ? "" : " from \(ips.joined(separator: ", "))"
      s += ", from \(ISO8601.string(p.events.first!.time)) to \(ISO8601.string(p.events.last!.time)). "
    }
    if let verdict = r.verdict {
      s += "What was done: \(verdict.rawValue)\(r.verdictReason.map { ", \($0)" } ?? "")"
    } else {
      s += "What was done: a \(r.mode == "DRILL" ? "drill, nothing was changed" : "response with nothing to contain")"
    }
    let made = p.changeSteps.map(\.id)
    if !made.isEmpty { s += "; changes made by \(made.joined(separator: ", ")) (see What respond changed)" }
    if let replacement = fact(p, "Replacement key") { s += "; replaced by \(replacement)" }
    let stores = ["Stored in Vault/OpenBao", "Stored in Secrets Manager"].compactMap { fact(p, $0) }
    if !stores.isEmpty { s += ", written to \(stores.joined(separator: " and "))" }
    s += "; the run \(r.status == "completed" ? "completed" : "ended \(r.status)")."
    return ["## Summary", "", w.escape(s), ""]
  }

  /// The permissions line: triage's summary and the step that read the policies, or, when no
  /// step read them, that this run did not.
  static func permissionsLine(_ p: PostmortemDraft, _ w: MarkdownReport.Writer) -> String {
    let owner = fact(p, "Owner").map(w.escape)
    guard let read = p.permissions else {
      return owner.map { "the permissions of \($0) (its policies were not read by this run)" }
        ?? "not known from the journal"
    }
    let whose = owner.map { "the policies of \($0)" } ?? "the owner's policies"
    return "\(w.escape(read.summary)) (step \(w.code(read.step)) read \(whose))"
  }

  /// Permissions, and what the key read, created and changed, from its events.
  static func impact(_ p: PostmortemDraft, _ w: MarkdownReport.Writer) -> [String] {
    var md = ["## Impact", ""]
    md.append("- Permissions: " + permissionsLine(p, w))
    for kind in EventClass.allCases {
      let names = (p.impact[kind] ?? [:]).sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
      let listed = names.map { "\(w.escape($0.key)) ×\($0.value)" }.joined(separator: ", ")
      let label = kind == .other ? "Other calls" : kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst()
      md.append("- \(label): \(names.isEmpty ? "none found" : listed)")
    }
    md.append("")
    return md
  }

  /// The steps that changed something outside respond (revoked, denied, quarantined, minted,
  /// wrote), in journal order, each with what it said and, for a step that made several changes
  /// (eradication, rotation), each change and its undo: the list a reviewer checks and, once the
  /// incident is over, the list of what may need undoing. Notifications and the report are not
  /// changes to the account.
  static func changes(_ p: PostmortemDraft, _ w: MarkdownReport.Writer) -> [String] {
    var md = ["## What respond changed", ""]
    let made = p.changeSteps
    if made.isEmpty {
      let none = p.report.dryRun ? "Nothing: this was a dry run." : "Nothing: no step that changes anything ran."
      return md + [none, ""]
    }
    for s in made {
      md.append("- \(w.code(s.id)) (\(w.escape(s.action))): \(w.escape(s.summary ?? s.title))")
      for c in s.outputs["changes"]?.arrayValue ?? [] {
        guard let change = c["change"]?.stringValue else { continue }
        let undo = c["undo"]?.stringValue.map { "; undo: \(w.code($0))" } ?? ""
        let verified = c["verified"]?.boolValue == false ? " (did NOT read back as done)" : ""
        md.append("  - \(w.escape(change))\(verified)\(undo)")
      }
    }
    md.append("")
    return md
  }

  /// From the exposure to verified containment.
  static func window(_ p: PostmortemDraft, _ w: MarkdownReport.Writer) -> [String] {
    var md = ["## Exposure window", ""]
    // The label may hold an event's name: the attacker's text.
    let from =
      p.exposedAt.map { "\(ISO8601.string($0.at)) (\(w.escape($0.label)))" } ?? "unknown (no finding date, no event)"
    let to = p.report.containedAt.map { "\(ISO8601.string($0)) (verified containment)" } ?? "not contained yet"
    md.append("- From: \(from)")
    md.append("- To: \(to)")
    if let a = p.exposedAt?.at, let b = p.report.containedAt {
      md.append("- Length: \(formatMs(Int((b.timeIntervalSince(a) * 1000).rounded())))")
    }
    md.append("")
    return md
  }

  static func times(_ p: PostmortemDraft, _ w: MarkdownReport.Writer) -> [String] {
    var md = ["## Response times", "", "| Metric | Measures | From (UTC) | To (UTC) | Time |", "|---|---|---|---|---|"]
    func end(_ e: (label: String, at: Date)?) -> String {
      e.map { "\(ISO8601.string($0.at)): \(w.escape($0.label))" } ?? "not reached"
    }
    for t in p.times {
      md.append("| \(t.name) | \(t.meaning) | \(end(t.from)) | \(end(t.to)) | \(t.ms.map(formatMs) ?? "n/a") |")
    }
    md.append("")
    return md
  }

  static func timeline(_ p: PostmortemDraft, _ w: MarkdownReport.Writer) -> [String] {
    var md = ["## Timeline (UTC)", "", "| Time (UTC) | Who | What | Detail |", "|---|---|---|---|"]
    for e in p.timeline {
      md.append("| \(ISO8601.precise(e.at)) | \(e.kind.rawValue) | \(w.escape(e.what)) | \(w.escape(e.detail)) |")
    }
    md.append("")
    return md
  }

  static func review(_ p: PostmortemDraft, _ w: MarkdownReport.Writer) -> [String] {
    var md = ["## What went well", ""]
    md += p.wentWell.isEmpty ? ["- Nothing to single out."] : p.wentWell.map { "- \(w.escape($0))" }
    md += ["", "## What did not go well", ""]
    md +=
      p.wentBadly.isEmpty
      ? ["- Nothing: no retries, failures, manual steps or waits."] : p.wentBadly.map { "- \(w.escape($0))" }
    md.append("")
    return md
  }
}
