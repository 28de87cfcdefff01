import Foundation
import Testing

@testable import RespondCore

/// `BatchResume`: matching a findings file against a batch summary, choosing what to run again,
/// and merging the new outcomes with the old. Pure: no runner, no files.
@Suite struct BatchResumeTests {
  static let keys = [
    "AKIAAAAAAAAAAAAAAAA1", "AKIAAAAAAAAAAAAAAAA2", "AKIAAAAAAAAAAAAAAAA3", "ghp_notHandledSecret0001",
  ]

  func outcome(_ i: Int, _ outcome: String, directory: String? = nil) -> BatchOutcome {
    BatchOutcome(
      display: "key \(i)", fingerprint: Masker.fingerprint(Self.keys[i]), outcome: outcome, exitCode: 0,
      incidentDirectory: directory, detail: "", sources: [LeakSource(tool: "gitleaks", file: "f\(i)")])
  }

  var summary: BatchSummary {
    BatchSummary(
      source: "report.json", format: "gitleaks", startedAt: nil,
      batch: BatchContext(runbook: "key-compromised", runbookFile: nil, mode: .live, out: "/out", inputs: [:]),
      keys: [
        outcome(0, "completed", directory: "/out/a"), outcome(1, "failed", directory: "/out/b"),
        outcome(2, "not-started"), outcome(3, "not-handled"),
      ])
  }

  func report(_ indices: [Int], unhandled: [Int] = [3]) -> LeakReport {
    LeakReport(
      format: .gitleaks, secrets: indices.map { LeakedSecret(secret: Self.keys[$0], sources: []) },
      unhandled: unhandled.map {
        UnhandledFinding(display: "x", fingerprint: Masker.fingerprint(Self.keys[$0]), reason: "r", sources: [])
      }, logLines: 0)
  }

  @Test func unfinishedKeysAreResumedOrStartedAndTheRestLeftAlone() throws {
    let resume = try BatchResume(
      summary: summary, found: report([0, 1, 2]), summaryPath: "batch.json", findingsPath: "report.json")
    #expect(resume.pending.map(\.secret) == [Self.keys[1], Self.keys[2]])
    #expect(resume.incidentDirectory(of: resume.pending[0]) == "/out/b")
    #expect(resume.incidentDirectory(of: resume.pending[1]) == nil)
    #expect(
      resume.announcement(path: "batch.json", parallel: 2)
        == "batch batch.json: 2 key(s) completed before, 1 to resume, 1 to start, 2 at once")
  }

  /// The refusal `BatchResume` gives for this summary and these findings.
  func refusal(_ summary: BatchSummary, _ found: LeakReport) -> String {
    let error = #expect(throws: UsageError.self) {
      try BatchResume(summary: summary, found: found, summaryPath: "batch.json", findingsPath: "r.json")
    }
    return error?.description ?? ""
  }

  @Test func theFindingsMustHoldExactlyTheBatchsKeys() throws {
    #expect(
      refusal(summary, report([0, 1]))
        == "the keys in r.json do not match the batch batch.json: 1 of the batch's 4 key(s) are not in it (e.g. key 2)")
    // A finding respond could not run is one of the batch's keys too.
    #expect(refusal(summary, report([0, 1, 2], unhandled: [])).contains("are not in it (e.g. key 3)"))
    var extra = report([0, 1, 2])
    extra.secrets.append(LeakedSecret(secret: "AKIAZZZZZZZZZZZZZZZZ", sources: []))
    #expect(refusal(summary, extra).hasSuffix("1 key(s) in it are not in the batch"))
    var old = summary
    old.batch = nil
    #expect(refusal(old, report([0, 1, 2])).contains("without the batch's details"))
  }

  @Test func mergedOutcomesCoverEveryKeyAndKeepTheRecordedSources() throws {
    let resume = try BatchResume(
      summary: summary, found: report([0, 1, 2]), summaryPath: "batch.json", findingsPath: "report.json")
    var again = outcome(1, "completed", directory: "/out/b")
    again.sources = []
    let merged = resume.merged([again])
    #expect(merged.map(\.outcome) == ["completed", "completed", "not-started", "not-handled"])
    #expect(merged[1].sources == [LeakSource(tool: "gitleaks", file: "f1")])
    #expect(merged[0] == summary.keys[0])
  }
}

/// A key the runbook's input rules refuse is set aside as a finding respond cannot run.
@Suite struct LeakReportSetAsideTests {
  @Test func refusedKeysBecomeUnhandledFindingsWithTheirMaskedReason() {
    let keys = ["AKIAAAAAAAAAAAAAAAA1", "not-a-key-secret-value-1234"]
    var report = LeakReport(
      format: .plain, secrets: keys.map { LeakedSecret(secret: $0, sources: []) }, unhandled: [], logLines: 0)
    let masker = Masker()
    masker.register(keys[1])
    report.setAside(masker: masker) { $0.hasPrefix("AKIA") ? nil : "--key \($0) does not have the expected form" }
    #expect(report.secrets.map(\.secret) == [keys[0]])
    #expect(report.unhandled.count == 1)
    #expect(report.unhandled.first?.fingerprint == Masker.fingerprint(keys[1]))
    #expect(report.unhandled.first?.reason.hasSuffix("does not have the expected form") == true)
    #expect(report.unhandled.first?.reason.contains(keys[1]) == false)
  }
}
