import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// The postmortem draft of an end-to-end run against its golden file
/// (Tests/RespondCoreTests/Golden), with what differs from run to run normalised: times,
/// durations, the incident id, event ids, hashes and fingerprints, and the names a test makes
/// unique. Set RESPOND_RECORD_GOLDEN=1 to re-record (the test still fails that run).
enum PostmortemGolden {
  static func normalise(_ text: String, replacing names: [(String, String)]) -> String {
    var s = text
    for (name, placeholder) in names.sorted(by: { $0.0.count > $1.0.count }) where !name.isEmpty {
      s = s.replacingOccurrences(of: name, with: placeholder)
    }
    let patterns: [(String, String)] = [
      (#"[0-9]{8}T[0-9]{6}Z-key-compromised(-[0-9]+)?"#, "<incident>"),
      (#"127\.0\.0\.1:[0-9]+"#, "127.0.0.1:<port>"),
      // An approver is named after the machine's user and host by default: not the same on CI.
      (#"by [^ |()]+ \([^ |()]+@[^ |()]+\) via"#, "by <approver> via"),
      (#"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z"#, "<time>"),
      (#"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#, "<uuid>"),
      (#"sha256:[0-9a-f]{8,64}"#, "sha256:<fingerprint>"),
      (#"\b[0-9a-f]{64}\b"#, "<sha256>"),
      (#"\b[0-9]+ h [0-9]{2} min\b|\b[0-9]+ min [0-9]{2} s\b|\b[0-9]+(\.[0-9])? s\b|\b[0-9]+ ms\b"#, "<duration>"),
    ]
    for (pattern, placeholder) in patterns {
      s = s.replacingOccurrences(of: pattern, with: placeholder, options: .regularExpression)
    }
    return s
  }

  /// The runbook's concurrent groups (adjacent `concurrent: true` steps of one phase), by step id.
  static func concurrentGroups(runbook path: String?) -> [Set<String>] {
    guard let path, let runbook = RunbookLoader().load(path: path).0 else { return [] }
    var groups: [Set<String>] = []
    for (_, steps) in runbook.phases {
      var current: Set<String> = []
      for step in steps + [nil] as [Step?] {
        if let step, step.concurrent {
          current.insert(step.id)
        } else {
          if current.count > 1 { groups.append(current) }
          current = []
        }
      }
    }
    return groups
  }

  /// Members of a concurrent group finish in whichever order the providers answer: within a run
  /// of consecutive timeline rows of one group's members, the rows are put in step-id order.
  /// Rows of sequential steps keep the order the run gave them.
  static func orderConcurrentRows(_ text: String, groups: [Set<String>]) -> String {
    func member(_ line: String) -> (id: String, group: Int)? {
      guard line.hasPrefix("| "), let tick = line.range(of: " | respond | `") else { return nil }
      let id = String(line[tick.upperBound...].prefix { $0 != "`" })
      return groups.firstIndex { $0.contains(id) }.map { (id, $0) }
    }
    var lines = text.components(separatedBy: "\n")
    var i = 0
    while i < lines.count {
      guard let first = member(lines[i]) else {
        i += 1
        continue
      }
      var j = i + 1
      while j < lines.count, let next = member(lines[j]), next.group == first.group { j += 1 }
      lines[i..<j].sort { member($0)!.id < member($1)!.id }
      i = j
    }
    return lines.joined(separator: "\n")
  }

  /// Compares the incident's postmortem.md, normalised, with the golden file `name`.
  static func check(incident dir: String, golden name: String, replacing names: [(String, String)]) throws {
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    var all = names
    // The operator's name only where the draft names a person: it may be a common word ("root").
    if let op = state.operatorName { all.append(("by \(op)", "by <operator>")) }
    let text = orderConcurrentRows(
      normalise(try String(contentsOfFile: dir + "/postmortem.md", encoding: .utf8), replacing: all),
      groups: concurrentGroups(
        runbook: TestServices.repositoryRoot() + "/Runbooks/" + (state.incident?.runbook ?? "") + ".yaml"))
    let path = TestServices.repositoryRoot() + "/Tests/RespondCoreTests/Golden/" + name
    if ProcessInfo.processInfo.environment["RESPOND_RECORD_GOLDEN"] != nil {
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      Issue.record("re-recorded \(name); run again without RESPOND_RECORD_GOLDEN")
      return
    }
    let expected = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text == expected, "postmortem differs from \(path); re-record with RESPOND_RECORD_GOLDEN=1 if intended")
  }
}
