import Foundation
import Testing

@testable import RespondCore

/// The postmortem draft, written from the journal alone: the four response times with their
/// two moments each, one interleaved timeline, the review and a golden draft.
@Suite struct PostmortemTests {
  static func draft(_ records: [JournalRecord]) -> PostmortemDraft {
    PostmortemDraft(state: IncidentState(records: records))
  }

  @Test func theFourTimesEachHaveTheirTwoMoments() throws {
    let p = Self.draft(ReportTests.journal(mode: .live, finished: .completed))
    let byName = Dictionary(uniqueKeysWithValues: p.times.map { ($0.name.prefix(3), $0) })
    let ttd = try #require(byName["TTD"])
    #expect(ttd.from?.at == ReportTests.t0.addingTimeInterval(-7200), "the key's first event opens the window")
    #expect(ttd.to?.at == ReportTests.t0, "detected when respond started")
    #expect(ttd.ms == 7_200_000)
    #expect(byName["TTN"]?.to == nil, "no notification reached anyone in this run")
    #expect(byName["TTC"]?.ms == 200)
    #expect(byName["TTC"]?.to?.label == "containment verified (check-inactive)")
    #expect(byName["TTR"]?.to == nil, "recovery is a manual step nobody has done yet")
    #expect(p.exposedAt?.label == "the first event made with the key, GetCallerIdentity")
  }

  /// TTN counts people told (chat, paging, e-mail); the report handed to a SIEM tells nobody.
  @Test func onlyANotificationToPeopleEndsTTN() throws {
    func ttn(_ action: String) -> (PostmortemDraft.Interval?, [String]) {
      var records = ReportTests.journal(mode: .live, finished: .completed)
      records.insert(
        ReportTests.step(.stepFinished, "tell", .notify, action, at: 440, outcome: .succeeded),
        at: records.count - 1)
      let p = Self.draft(records)
      return (p.times.first { $0.name.hasPrefix("TTN") }, p.wentBadly)
    }
    let (siem, siemBadly) = ttn("notify.webhook")
    #expect(siem?.to == nil, "a SIEM hand-off is not a person notified")
    #expect(siemBadly.contains { $0.hasPrefix("No person was notified") })
    let (slack, slackBadly) = ttn("notify.slack")
    #expect(slack?.ms == 440)
    #expect(!slackBadly.contains { $0.hasPrefix("No person was notified") })
  }

  /// A check finishing in the same millisecond as the read it checks ends recovery, not the read.
  @Test func onATieTheLaterStepEndsTTR() throws {
    var records = ReportTests.journal(mode: .live, finished: .completed)
    for id in ["verify-deleted", "check-deleted"] {
      records.insert(
        ReportTests.step(
          .stepFinished, id, .recover, id == "check-deleted" ? "check" : "aws.iam.list-access-keys",
          at: 500, outcome: .succeeded), at: records.count - 1)
    }
    let ttr = Self.draft(records).times.first { $0.name.hasPrefix("TTR") }
    #expect(ttr?.to?.label == "step `check-deleted` (check)")
  }

  @Test func oneTimelineInterleavesTheAttackerRespondAndPeople() {
    let p = Self.draft(ReportTests.journal(mode: .live, finished: .completed))
    let kinds = p.timeline.map(\.kind)
    #expect(kinds.prefix(2) == [.attacker, .attacker], "the key's events came before the response")
    #expect(p.timeline.first?.detail.contains("actor arn:aws:iam::123456789012:user/alice") == true)
    #expect(p.timeline.first?.detail.contains("from 203.0.113.7; agent aws-cli/2.15") == true)
    #expect(p.timeline.first?.detail.contains("event id 0b7c8a2e-1111-4c3d-9e1f-000000000001") == true)
    #expect(p.timeline.contains { $0.kind == .person && $0.what == "approval of `deactivate`: granted (--yes)" })
    #expect(zip(p.timeline, p.timeline.dropFirst()).allSatisfy { $0.at <= $1.at }, "oldest first")
    #expect(!p.timeline.contains { $0.what.hasPrefix("`slack`") }, "a branch that did not apply is not an event")
    #expect(p.impact[.read] == ["GetCallerIdentity": 1, "ListBuckets": 1])
  }

  /// The attacker kept going while respond worked: their call lands between respond's steps.
  @Test func anEventDuringTheResponseIsPlacedBetweenItsSteps() throws {
    var records = ReportTests.journal(mode: .live, finished: .completed)
    var late = ReportTests.step(
      .stepFinished, "cloudtrail", .investigate, "aws.cloudtrail.lookup-events", at: 430, outcome: .succeeded)
    late.evidence = Evidence(
      source: "CloudTrail LookupEvents", endpoint: "https://cloudtrail/", query: "q", eventCount: 1,
      events: [EvidenceEvent(time: ReportTests.at(100), name: "CreateAccessKey", sourceIP: "198.51.100.23")])
    records.insert(late, at: records.count - 1)
    let whats = Self.draft(records).timeline.map(\.what)
    let approval = try #require(whats.firstIndex(of: "approval of `deactivate`: granted (--yes)"))
    let attack = try #require(whats.firstIndex(of: "CreateAccessKey"))
    let deactivated = try #require(whats.firstIndex { $0.hasPrefix("`deactivate`") })
    #expect(approval < attack && attack < deactivated, "\(whats)")
  }

  @Test func theReviewSaysHowLongAPersonWasWaitedFor() {
    var records = ReportTests.journal(mode: .live, finished: nil)
    let stop = records.firstIndex { $0.type == .approval }!
    // The run first stopped at the gate; a person approved 90 s later on resume.
    var stopped = JournalRecord(at: ReportTests.at(3), type: .runFinished)
    stopped.status = .stoppedAtApproval
    stopped.step = "deactivate"
    var resumed = JournalRecord(at: ReportTests.at(90_000), type: .runResumed)
    resumed.operator = "bob"
    records.insert(contentsOf: [stopped, resumed], at: stop)
    records[stop + 2].at = ReportTests.at(90_003)
    var retry = JournalRecord(at: ReportTests.at(90_100), type: .stepRetry)
    retry.step = "logs"
    retry.attempt = 1
    retry.error = "ThrottlingException: Rate exceeded"
    records.append(retry)
    let p = Self.draft(records)
    #expect(p.wentBadly.contains("The run waited 1 min 30 s at the approval gate of step `deactivate` for a person."))
    #expect(p.wentBadly.contains("The run had to be resumed 1 time(s)."))
    #expect(p.wentBadly.contains("Step `rotate-by-hand` was left to a person and is not confirmed yet."))
    #expect(p.timeline.contains { $0.what == "run resumed" && $0.detail == "by bob" })
  }

  /// The live fixture plus a triage step that wrote `permissions` (as `aws.iam.triage` does).
  static func withTriage(_ summary: Value, phase: Phase = .contain) -> PostmortemDraft {
    var records = ReportTests.journal(mode: .live, finished: .completed)
    records.insert(
      ReportTests.step(.stepFinished, "triage", phase, "aws.iam.triage", at: 2, outcome: .succeeded, duration: 1) {
        $0.outputs = ["permissions": summary, "severity": "P4"]
      }, at: 2)
    return draft(records)
  }

  /// Triage read the owner's policies and found none: that is what the draft says, never that
  /// the policies were not read.
  @Test func triageFindingNoPoliciesIsReportedAsSuch() {
    let p = Self.withTriage("no permissions found")
    #expect(p.permissions == PostmortemDraft.PermissionsRead(step: "triage", summary: "no permissions found"))
    let md = PostmortemMarkdown.render(p)
    #expect(!md.contains("not read by this run"), "\(md)")
    #expect(md.contains("- Permissions: no permissions found (step `triage` read the policies of "), "\(md)")
  }

  /// The summary is triage's own, in whichever phase it ran (the key-compromised runbook triages
  /// in the contain phase, after the key is inactive); no output name is guessed.
  @Test func thePermissionsAreTriagesSummaryAlone() {
    #expect(
      Self.withTriage("administrator (every action on every resource)").permissions?.summary
        == "administrator (every action on every resource)")
    #expect(Self.withTriage(["arn:aws:iam::aws:policy/ReadOnlyAccess"]).permissions == nil)
    #expect(Self.withTriage("no permissions found", phase: .investigate).permissions?.step == "triage")
    let untriaged = Self.draft(ReportTests.journal(mode: .live, finished: .completed))
    #expect(untriaged.permissions == nil)
    #expect(PostmortemMarkdown.render(untriaged).contains("(its policies were not read by this run)"))
  }

  @Test func theDraftMatchesGolden() throws {
    let p = Self.draft(ReportTests.journal(mode: .live, finished: .completed))
    let md = PostmortemMarkdown.render(p)
    #expect(md.contains("## Root cause\n\n_To be written by a person"))
    #expect(!md.contains("_To be completed._"))
    try ReportTests().check(md, golden: "postmortem-live.md")
  }
}
