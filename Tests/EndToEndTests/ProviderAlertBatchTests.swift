import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond drill key-compromised --from FILE` on the providers' own leak reports (issue 15
/// item 6), through the real executable: GitHub secret-scanning alerts and an AWS Health
/// `AWS_RISK_CREDENTIALS_EXPOSED` event are detected without a flag, every runnable key gets its
/// incident, and the batch summary says where each was found (the alert's page, the URL AWS
/// names). Drills with no credentials make no network calls.
@Suite struct ProviderAlertBatchTests {
  static let fixtures = TestServices.repositoryRoot() + "/Tests/RespondCoreTests/BatchFixtures/"

  func drill(_ fixture: String) throws -> (ProcessOutcome, summary: String, dir: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let o = try runRespond(
      ["drill", "key-compromised", "--from", Self.fixtures + fixture, "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    return (o, (try? String(contentsOfFile: o.lastLine, encoding: .utf8)) ?? "", dir)
  }

  @Test func gitHubAlertsRunAsABatchThatNamesEachAlert() throws {
    let (o, summary, dir) = try drill("github-secret-scanning-alerts.json")
    defer { removeTestOutput(dir) }
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(summary.contains("github-secret-scanning"), "\(summary)")
    #expect(summary.contains("2 distinct key(s), 2 finding(s) respond cannot run"), "\(summary)")
    #expect(summary.contains("https://github.com/octo-org/payments/security/secret-scanning/42"))
    #expect(summary.contains("deploy/release.sh:7"))
    #expect(summary.contains("resolved (resolution: revoked)"))
    let github = "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234"
    #expect(!o.stdout.contains(github) && !o.stderr.contains(github))
    for (path, text) in allFileContents(under: dir) { #expect(!text.contains(github), "the token is in \(path)") }
  }

  @Test func anAWSHealthEventRunsItsKeyAndKeepsTheExposedURL() throws {
    let (o, summary, dir) = try drill("aws-health-eventbridge.json")
    defer { removeTestOutput(dir) }
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(summary.contains("aws-health"), "\(summary)")
    #expect(summary.contains("| `AKIA2TARGETKEY7QWERT` |"))
    #expect(summary.contains("https://github.com/octo-org/payments/blob/f14d7de/deploy/ci.env"))
  }
}
