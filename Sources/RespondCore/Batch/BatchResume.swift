/// Resuming a batch: the findings file given again must hold exactly the batch's keys (keys are
/// never stored, only their fingerprints), completed and not-handled keys are left as they were,
/// a key with an incident folder is resumed and one without is started; afterwards every key of
/// the batch has one outcome again. Pure: the summary and the findings in, decisions out, so the
/// command line only runs what this says.
package struct BatchResume: Sendable {
  package let summary: BatchSummary
  package let context: BatchContext
  /// The keys to run again, in the batch's order.
  package let pending: [LeakedSecret]
  private let previous: [String: BatchOutcome]

  /// Matches `found` (read from `findingsPath`) against the batch summary read from
  /// `summaryPath`; throws the usage error the command prints when they do not match.
  package init(summary: BatchSummary, found: LeakReport, summaryPath: String, findingsPath: String) throws {
    let context = try Self.context(of: summary, summaryPath: summaryPath)
    // Findings respond could not run are in the batch too (by fingerprint), and stay as they were.
    let inFile = Set(found.secrets.map { Masker.fingerprint($0.secret) } + found.unhandled.map(\.fingerprint))
    let inBatch = Set(summary.keys.map(\.fingerprint))
    let missing = summary.keys.filter { !inFile.contains($0.fingerprint) }
    let extra = found.secrets.filter { !inBatch.contains(Masker.fingerprint($0.secret)) }
    guard missing.isEmpty && extra.isEmpty else {
      var why: [String] = []
      if !missing.isEmpty {
        why.append(
          "\(missing.count) of the batch's \(summary.keys.count) key(s) are not in it (e.g. \(missing[0].display))")
      }
      if !extra.isEmpty { why.append("\(extra.count) key(s) in it are not in the batch") }
      throw UsageError(
        "the keys in \(findingsPath) do not match the batch \(summaryPath): \(why.joined(separator: "; "))")
    }
    let secrets = Dictionary(found.secrets.map { (Masker.fingerprint($0.secret), $0) }, uniquingKeysWith: { a, _ in a })
    self.summary = summary
    self.context = context
    self.previous = Dictionary(summary.keys.map { ($0.fingerprint, $0) }, uniquingKeysWith: { a, _ in a })
    self.pending = summary.keys.filter { $0.outcome != "completed" && $0.outcome != "not-handled" }
      .compactMap { secrets[$0.fingerprint] }
  }

  /// What the batch recorded of how it ran (runbook, mode, folder, shared inputs); a summary
  /// without it (an older respond's) cannot be resumed. Checked before the findings are read.
  package static func context(of summary: BatchSummary, summaryPath: String) throws -> BatchContext {
    guard let context = summary.batch else {
      throw UsageError(
        "\(summaryPath) was written without the batch's details (an older respond): it cannot be resumed")
    }
    return context
  }

  /// The incident folder `secret` already has from the batch (resume it), or nil (start it).
  package func incidentDirectory(of secret: LeakedSecret) -> String? {
    previous[Masker.fingerprint(secret.secret)]?.incidentDirectory
  }

  /// "batch PATH: N key(s) completed before, N to resume, N to start, N at once".
  package func announcement(path: String, parallel: Int) -> String {
    let toResume = pending.filter { incidentDirectory(of: $0) != nil }.count
    return "batch \(path): \(summary.keys.count - pending.count) key(s) completed before, \(toResume) to resume, "
      + "\(pending.count - toResume) to start, \(parallel) at once"
  }

  /// Every key of the batch with its latest outcome: the runs of this resume where there was one,
  /// the previous outcome otherwise, keeping the sources the batch recorded for the key.
  package func merged(_ done: [BatchOutcome]) -> [BatchOutcome] {
    var latest: [String: BatchOutcome] = [:]
    for o in done { latest[o.fingerprint] = o }
    return summary.keys.map { key -> BatchOutcome in
      guard var o = latest[key.fingerprint] else { return key }
      o.sources = key.sources.isEmpty ? o.sources : key.sources
      return o
    }
  }
}
