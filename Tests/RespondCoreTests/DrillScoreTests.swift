import Foundation
import Testing

@testable import RespondCore

/// The drill score's rule: which steps make the containment path, how changes not sent are
/// estimated, and how readiness and the target make the score.
@Suite struct DrillScoreTests {
  static func step(
    _ id: String, _ phase: Phase, _ action: String, _ outcome: StepOutcome, ms: Int? = nil, mutates: Bool = false,
    missing: [String] = []
  ) -> IncidentReport.StepLine {
    IncidentReport.StepLine(
      id: id, phase: phase, action: action, title: id, outcome: outcome.rawValue, startedAt: nil, finishedAt: nil,
      durationMs: ms, attempts: 1, summary: nil, error: nil, outputs: [:], secretOutputs: [], wouldSend: [],
      missing: missing, notes: [], approval: nil, mutates: mutates)
  }

  /// detect + contain of an AWS key: two reads measured, one change estimated at AWS's median.
  static let awsDrill = [
    step("identify", .detect, "key.identify", .succeeded, ms: 1),
    step("owner", .detect, "aws.iam.get-access-key-last-used", .succeeded, ms: 100),
    step("secrets-manager-read", .detect, "aws.secretsmanager.get-secret-value", .succeeded, ms: 300),
    step("deactivate", .contain, "aws.iam.update-access-key", .skippedDryRun, ms: 0, mutates: true),
    step("check-inactive", .contain, "check", .skippedDryRun, ms: 0),
    step("github-revoke", .contain, "github.credential.revoke", .skippedCondition, mutates: true),
    step("logs", .investigate, "aws.logs.filter-log-events", .succeeded, ms: 500),
  ]

  @Test func changesNotSentAreEstimatedAtTheProvidersMedianReadTime() {
    let s = DrillScore.score(steps: Self.awsDrill, targetMs: 60_000)
    // Measured: identify 1 + owner 100 + secrets-manager-read 300; the investigate phase is not on the path.
    #expect(s.measuredMs == 401)
    // AWS reads took 100, 300, 500 ms: the median 300 is the estimate for the change; check is 0.
    #expect(s.estimatedMs == 300)
    #expect(s.containmentMs == 701)
    // The GitHub branch was not taken: not counted, not a step to be ready for.
    #expect(s.totalSteps == 6 && s.readySteps == 6)
    #expect(s.score == 100 && s.passed)
    #expect(s.rule == "readiness 6/6 steps (50/50) + containment 701 ms against the target 1 min 00 s (50/50)")
  }

  /// A local step's milliseconds say nothing of an API: a change to a provider the drill read
  /// nothing from is named, not estimated, and the drill cannot pass.
  @Test func aChangeToAProviderNotReadIsNamedAndTheDrillDoesNotPass() {
    var steps = Self.awsDrill
    steps[3] = Self.step("revoke", .contain, "slack.auth.revoke", .skippedDryRun, ms: 0, mutates: true)
    let s = DrillScore.score(steps: steps, targetMs: 60_000)
    #expect(s.estimatedMs == 0 && s.unestimatedSteps == ["revoke"])
    #expect(!s.passed)
    #expect(s.score == 50)  // readiness 50; no time points without an estimate
    #expect(
      s.rule
        == "readiness 6/6 steps (50/50) + containment not estimated (1 call(s) to providers not read here) "
        + "against the target 1 min 00 s (0/50)")
  }

  @Test func aStepNotReadyFailsTheDrillAndCostsReadinessPoints() {
    var steps = Self.awsDrill
    steps[3] = Self.step(
      "deactivate", .contain, "aws.iam.update-access-key", .skippedDryRun, ms: 0, mutates: true,
      missing: ["iam:UpdateAccessKey denied"])
    let s = DrillScore.score(steps: steps, targetMs: 60_000)
    #expect(s.readySteps == 5 && !s.passed)
    #expect(s.score == 92)  // 50 × 5/6 + 50
  }

  @Test func overTheTargetScoresTimeInProportion() {
    let s = DrillScore.score(steps: Self.awsDrill, targetMs: 350)
    #expect(!s.passed)
    #expect(s.score == 75)  // 50 + 50 × 350/701
  }

  @Test func withoutATargetOnlyReadinessIsScoredAndTheReportSaysHowToSetOne() {
    let s = DrillScore.score(steps: Self.awsDrill, targetMs: nil)
    #expect(s.score == 100 && s.passed && s.targetMs == nil)
    #expect(s.rule.contains("set `drill: target:` in the runbook"))
  }

  @Test func manualStepsOnThePathAreNamedNotTimed() {
    var steps = Self.awsDrill
    steps.append(Self.step("revoke-by-hand", .contain, "manual", .succeeded, ms: 90_000))
    let s = DrillScore.score(steps: steps, targetMs: 60_000)
    #expect(s.manualSteps == ["revoke-by-hand"])
    #expect(s.containmentMs == 701)
  }
}
