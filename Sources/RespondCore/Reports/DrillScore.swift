import Foundation

/// A drill's score: how long the containment path would take for real, whether this environment
/// could run it, and how both compare with the runbook's target. Teams run the same drill each
/// quarter; the score and its parts land in report.json so two drills can be compared line by line.
///
/// Derived from the report's steps alone (so `respond report` re-renders it), by a pure rule:
/// - The containment path is every step of the detect and contain phases the drill took (a step
///   whose condition was false is another branch).
/// - A step that ran is counted at its measured time. A change the drill did not send is
///   estimated at the median measured time of the read-only calls to the same provider (the
///   action's first name: `aws.iam.update-access-key` → `aws`); a `check` costs nothing. A change
///   to a provider the drill read nothing from (not configured here) cannot be estimated: it is
///   named, like a manual step, and the drill does not pass.
/// - Score out of 100: readiness (steps of the taken branch with nothing missing) is worth 50,
///   time against the target 50 (full when the estimate is within the target, else in
///   proportion). Without a target the readiness part alone is scaled to 100, and the report
///   says how to set one. It passes when every step is ready, every change was estimated and the
///   estimate meets the target.
package struct DrillScore: Codable, Sendable, Equatable {
  /// Estimated time of the containment path: measured plus estimated.
  package var containmentMs: Int
  /// The part of it measured in this drill (read-only calls that ran).
  package var measuredMs: Int
  /// The part estimated for changes not sent.
  package var estimatedMs: Int
  /// The runbook's `drill: target:`, nil when it sets none.
  package var targetMs: Int?
  package var readySteps: Int
  package var totalSteps: Int
  /// Steps of the containment path a person must do: their time is not in the estimate.
  package var manualSteps: [String]
  /// Changes to a provider no read-only call was measured for: not in the estimate.
  package var unestimatedSteps: [String]
  package var score: Int
  package var passed: Bool
  /// The rule that produced the score, in words, with its numbers.
  package var rule: String

  enum CodingKeys: String, CodingKey {
    case containmentMs = "containment-ms"
    case measuredMs = "measured-ms"
    case estimatedMs = "estimated-ms"
    case targetMs = "target-ms"
    case readySteps = "ready-steps"
    case totalSteps = "total-steps"
    case manualSteps = "manual-steps"
    case unestimatedSteps = "unestimated-steps"
    case score, passed, rule
  }

  /// The phases whose steps make up the containment path.
  static let containmentPhases: Set<Phase> = [.detect, .contain]

  /// Scores a drill's steps. Pure.
  package static func score(steps: [IncidentReport.StepLine], targetMs: Int?) -> DrillScore {
    let taken = steps.filter { $0.outcome != StepOutcome.skippedCondition.rawValue }
    let path = taken.filter { containmentPhases.contains($0.phase) }
    let estimates = LatencyEstimates(taken)
    var measured = 0
    var estimated = 0
    var manual: [String] = []
    var unestimated: [String] = []
    for step in path {
      if step.action == "manual" {
        manual.append(step.id)
      } else if step.outcome == StepOutcome.skippedDryRun.rawValue && step.action != "check" {
        if let ms = estimates.estimate(for: step.action) { estimated += ms } else { unestimated.append(step.id) }
      } else if step.outcome != StepOutcome.skippedDryRun.rawValue {
        measured += step.durationMs ?? 0
      }
    }
    let ready = taken.filter { $0.missing.isEmpty }.count
    let total = taken.count
    let readiness = total == 0 ? 1.0 : Double(ready) / Double(total)
    let containment = measured + estimated
    var score: Double
    var rule = "readiness \(ready)/\(total) steps"
    if let targetMs {
      // A path with changes that could not be estimated has no time to compare: no time points.
      let timePart =
        !unestimated.isEmpty ? 0 : containment <= targetMs ? 1.0 : Double(targetMs) / Double(max(containment, 1))
      score = 50 * readiness + 50 * timePart
      let time =
        unestimated.isEmpty
        ? "containment \(formatMs(containment))"
        : "containment not estimated (\(unestimated.count) call(s) to providers not read here)"
      rule +=
        " (\(Int((50 * readiness).rounded()))/50) + \(time) against the target "
        + "\(formatMs(targetMs)) (\(Int((50 * timePart).rounded()))/50)"
    } else {
      score = 100 * readiness
      rule += " (\(Int(score.rounded()))/100); no time target: set `drill: target:` in the runbook to score time"
    }
    if !unestimated.isEmpty && targetMs == nil {
      rule += "; \(unestimated.count) call(s) not estimated (providers not read here)"
    }
    let passed = ready == total && unestimated.isEmpty && targetMs.map { containment <= $0 } ?? true
    return DrillScore(
      containmentMs: containment, measuredMs: measured, estimatedMs: estimated, targetMs: targetMs,
      readySteps: ready, totalSteps: total, manualSteps: manual, unestimatedSteps: unestimated,
      score: Int(score.rounded()), passed: passed,
      rule: rule)
  }
}

/// The measured time of the read-only provider calls a drill made, per provider, to estimate
/// the calls it did not send. Medians: one slow first connection must not set the estimate.
/// Only the same provider's reads count: a local step's milliseconds say nothing of an API.
struct LatencyEstimates {
  private var byProvider: [String: [Int]] = [:]

  init(_ steps: [IncidentReport.StepLine]) {
    for step in steps
    where step.outcome == StepOutcome.succeeded.rawValue && step.mutates == false
      && !["check", "manual"].contains(step.action) && step.action.contains(".")
    {
      guard let ms = step.durationMs else { continue }
      byProvider[Self.provider(of: step.action), default: []].append(ms)
    }
  }

  /// `aws.iam.update-access-key` → `aws`.
  static func provider(of action: String) -> String {
    String(action.split(separator: ".").first ?? Substring(action))
  }

  func estimate(for action: String) -> Int? {
    Self.median(byProvider[Self.provider(of: action)] ?? [])
  }

  static func median(_ values: [Int]) -> Int? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
}
