import Foundation

/// The report's "What the key did" section: the classified events of every
/// `aws.activity.classify` step, by group, each with its time, region, source IP, user agent,
/// event id and the resources it named, and what respond changed to undo persistence. Kept apart
/// from `MarkdownReport` so the report's own layout stays in one place; it reads step outputs only.
package enum ActivitySection {
  /// How many events of the `other` group are listed (the count says how many there were).
  static let otherShown = 10

  /// The section's lines; empty when no step classified events.
  package static func render(_ r: IncidentReport, escape: (String) -> String) -> [String] {
    let steps = r.steps.filter {
      $0.action == "aws.activity.classify" && $0.outcome == StepOutcome.succeeded.rawValue
    }
    let classified = steps.contains { step in
      ActivityCategory.allCases.contains { (step.outputs["counts"]?[$0.rawValue]?.intValue ?? 0) > 0 }
    }
    guard classified else { return [] }
    var md = ["## What the key did", ""]
    for step in steps {
      for category in ActivityCategory.allCases {
        let events = (step.outputs[category.rawValue]?.arrayValue ?? []).compactMap(ClassifiedEvent.init)
        let count = step.outputs["counts"]?[category.rawValue]?.intValue ?? events.count
        guard count > 0 else { continue }
        md.append("### \(category.title.prefix(1).uppercased() + category.title.dropFirst()) (\(count))")
        md.append("")
        let shown = category == .other ? Array(events.prefix(otherShown)) : events
        for e in shown { md.append("- " + escape(e.line)) }
        if count > shown.count { md.append("- … and \(count - shown.count) more (see report.json and the evidence)") }
        md.append("")
      }
    }
    let headings = ["aws.iam.eradicate-persistence": "Undone", "aws.secretsmanager.rotate-read-secrets": "Rotated"]
    for step in r.steps {
      guard let heading = headings[step.action] else { continue }
      let changes = step.outputs["changes"]?.arrayValue ?? []
      guard !changes.isEmpty else { continue }
      md.append("### \(heading) by respond (step `\(step.id)`)")
      md.append("")
      for c in changes {
        let verified = c["verified"]?.boolValue == true ? "verified" : "NOT verified"
        // A rotation answers a read that several events may prove.
        let ids =
          c["event-id"]?.stringValue
          ?? (c["event-ids"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")
        let text =
          "\(c["change"]?.stringValue ?? "") (event \(ids.isEmpty ? "?" : ids), \(verified); "
          + "undo: \(c["undo"]?.stringValue ?? "none"))"
        md.append("- " + escape(text))
      }
      md.append("")
    }
    return md
  }
}
