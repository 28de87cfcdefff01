import Foundation
import Testing

@testable import RespondCore

/// Golden tests of report.md and report.json: a fixed journal in, exact Markdown out. Set
/// RESPOND_RECORD_GOLDEN=1 to re-record after an intended change (the test still fails that run,
/// so a new baseline is always looked at).
@Suite struct ReportTests {
  static let t0 = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18T...

  static func at(_ ms: Int) -> Date { t0.addingTimeInterval(Double(ms) / 1000) }

  static func step(
    _ type: RecordType, _ id: String, _ phase: Phase, _ action: String, at ms: Int,
    outcome: StepOutcome? = nil, duration: Int? = nil, change: (inout JournalRecord) -> Void = { _ in }
  )
    -> JournalRecord
  {
    var r = JournalRecord(at: at(ms), type: type)
    r.step = id
    r.phase = phase
    r.action = action
    r.outcome = outcome
    r.durationMs = duration
    r.attempt = type == .stepStarted ? 1 : nil
    change(&r)
    return r
  }

  /// `verification`: how the step that verifies `deactivate` ended in a live run (nil: never ran).
  static func journal(mode: RunMode, finished: RunStatus?, verification: StepOutcome? = .succeeded)
    -> [JournalRecord]
  {
    var start = JournalRecord(at: t0, type: .runStarted)
    start.incident = IncidentInfo(
      id: "20261118T103320Z-key-compromised", runbook: "key-compromised", startedAt: t0,
      mode: mode, directory: "/incidents/20261118T103320Z-key-compromised")
    start.runbookDescription = "Contain, investigate and rotate a leaked credential"
    start.operator = "oncall"
    start.host = "laptop"
    start.version = "0.1.0"
    start.inputs = ["key": "AKIAIOSFODNN7EXAMPLE"]
    start.drillTargetMs = mode == .drill ? 60_000 : nil
    start.plan = [
      PlanEntry(
        id: "identify", phase: .detect, action: "key.identify", title: "Recognise the credential",
        condition: nil, mutates: false, approval: false, continueOnError: false),
      PlanEntry(
        id: "deactivate", phase: .contain, action: "aws.iam.update-access-key", title: "Deactivate the key",
        condition: "steps.identify.provider == 'aws'", mutates: true, approval: true, continueOnError: false),
      PlanEntry(
        id: "check-inactive", phase: .contain, action: "check", title: "The key is no longer Active",
        condition: "steps.identify.provider == 'aws'", mutates: false, approval: false, continueOnError: false,
        verifies: ["deactivate"]),
      PlanEntry(
        id: "logs", phase: .investigate, action: "aws.logs.filter-log-events", title: "What did the key do?",
        condition: nil, mutates: false, approval: false, continueOnError: true),
      PlanEntry(
        id: "rotate-by-hand", phase: .recover, action: "manual", title: "Roll the key",
        condition: nil, mutates: true, approval: false, continueOnError: false),
      PlanEntry(
        id: "slack", phase: .notify, action: "notify.slack", title: "Tell the channel",
        condition: "env.SLACK_WEBHOOK_URL", mutates: true, approval: false, continueOnError: false),
    ]
    var records = [start]
    records.append(
      step(.stepFinished, "identify", .detect, "key.identify", at: 2, outcome: .succeeded, duration: 2) {
        $0.outputs = ["provider": "aws", "kind": "access-key", "key-id": "AKIAIOSFODNN7EXAMPLE"]
        $0.summary = "aws access-key"
      })
    records.append(step(.stepStarted, "deactivate", .contain, "aws.iam.update-access-key", at: 3))
    if mode.isDry {
      records.append(
        step(
          .stepFinished, "deactivate", .contain, "aws.iam.update-access-key", at: 5, outcome: .skippedDryRun,
          duration: 2
        ) {
          $0.wouldSend = [
            "POST https://iam.amazonaws.com/\nAuthorization: <redacted>\n\nAction=UpdateAccessKey&AccessKeyId=AKIAIOSFODNN7EXAMPLE&Status=Inactive&Version=2010-05-08"
          ]
          $0.summary = "not sent (dry run)"
          $0.mutates = true
        })
      records.append(
        step(.stepFinished, "check-inactive", .contain, "check", at: 6, outcome: .skippedDryRun, duration: 0) {
          $0.summary = "depends on `deactivate`, not run in this dry run"
          $0.mutates = false
        })
    } else {
      records.append(
        .approval(
          step: "deactivate", by: ApprovalPerson(name: "alice", account: "alice@laptop"), host: "laptop", via: .yes,
          granted: true, at: at(3)))
      records.append(
        step(
          .stepFinished, "deactivate", .contain, "aws.iam.update-access-key", at: 180, outcome: .succeeded,
          duration: 177
        ) {
          $0.mutates = true
          $0.summary = "AKIAIOSFODNN7EXAMPLE is now Inactive"
        })
      if verification != nil {
        records.append(step(.stepStarted, "check-inactive", .contain, "check", at: 181))
      }
      switch verification {
      case .succeeded?:
        records.append(
          step(.stepFinished, "check-inactive", .contain, "check", at: 200, outcome: .succeeded, duration: 19) {
            $0.summary = "the leaked key is no longer Active"
            $0.mutates = false
          })
      case .failed?:
        records.append(
          step(.stepFinished, "check-inactive", .contain, "check", at: 200, outcome: .failed, duration: 19) {
            $0.error = "the leaked key is still Active after deactivation"
            $0.mutates = false
            $0.continueOnError = true
          })
      default: break
      }
    }
    records.append(step(.stepStarted, "logs", .investigate, "aws.logs.filter-log-events", at: 181))
    records.append(
      step(
        .stepFinished, "logs", .investigate, "aws.logs.filter-log-events", at: 420, outcome: .succeeded, duration: 239
      ) {
        $0.outputs = ["event-count": 3]
        $0.evidence = Evidence(
          source: "CloudWatch Logs FilterLogEvents", endpoint: "https://logs.us-east-1.amazonaws.com/",
          query: "logGroupName=trail, filterPattern={ $.userIdentity.accessKeyId = \"AKIAIOSFODNN7EXAMPLE\" }",
          windowStart: t0.addingTimeInterval(-90 * 86400), windowEnd: t0, eventCount: 3,
          firstSeen: t0.addingTimeInterval(-7200), lastSeen: t0.addingTimeInterval(-600),
          tallies: ["event names": ["ListBuckets": 2, "GetCallerIdentity": 1], "source IPs": ["203.0.113.7": 3]],
          events: [
            EvidenceEvent(
              time: t0.addingTimeInterval(-7200), name: "GetCallerIdentity", sourceIP: "203.0.113.7",
              detail: "aws-cli/2.15", id: "0b7c8a2e-1111-4c3d-9e1f-000000000001",
              actor: "arn:aws:iam::123456789012:user/alice", userAgent: "aws-cli/2.15"),
            EvidenceEvent(
              time: t0.addingTimeInterval(-600), name: "ListBuckets", sourceIP: "203.0.113.7", detail: "aws-cli/2.15",
              id: "0b7c8a2e-1111-4c3d-9e1f-000000000002", actor: "arn:aws:iam::123456789012:user/alice",
              userAgent: "aws-cli/2.15"),
          ],
          caveats: ["filter pattern re-applied on the client"])
        $0.evidenceFile = EvidenceFile(
          path: "evidence/logs.json", sha256: String(repeating: "5e", count: 32), bytes: 1843)
        $0.continueOnError = true
      })
    records.append(
      step(.stepFinished, "rotate-by-hand", .recover, "manual", at: 421, outcome: .succeeded, duration: 1) {
        $0.outputs = ["instruction": "Roll the key in the dashboard", "done": false]
      })
    records.append(
      step(.stepFinished, "slack", .notify, "notify.slack", at: 422, outcome: .skippedCondition, duration: 0))
    if let finished {
      var fin = JournalRecord(at: at(500), type: .runFinished)
      fin.status = finished
      fin.facts = [["Leaked key", "AKIAIOSFODNN7EXAMPLE"], ["Owner", "alice"], ["Replacement key", ""]]
      records.append(fin)
    }
    return records.enumerated().map { i, r in
      var r = r
      r.seq = i + 1
      return r
    }
  }

  func check(_ text: String, golden name: String) throws {
    let path = TestPaths.golden(name)
    if ProcessInfo.processInfo.environment["RESPOND_RECORD_GOLDEN"] != nil {
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      Issue.record("re-recorded \(name); run again without RESPOND_RECORD_GOLDEN")
      return
    }
    let expected = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text == expected, "report differs from \(path); re-record with RESPOND_RECORD_GOLDEN=1 if intended")
  }

  @Test func liveReportMatchesGolden() throws {
    let report = IncidentReport(state: IncidentState(records: Self.journal(mode: .live, finished: .completed)))
    #expect(report.contained)
    #expect(report.verdict == .contained)
    #expect(report.verifiedBy == "check-inactive")
    #expect(report.timeToContainmentMs == 200)
    #expect(
      report.statusLine
        == "LIVE: CONTAINED at 2026-11-18T11:06:40Z (200 ms after the start), verified by step `check-inactive`; run completed; 1 follow-up needs a human."
    )
    try check(MarkdownReport.render(report), golden: "report-live.md")
    try check(report.json() + "\n", golden: "report-live.json")
  }

  /// Facts with no value in this run are one row naming them all, not one "n/a" row each: the
  /// facts a responder reads stay at the top of a short table, and none is dropped.
  @Test func factsWithoutAValueAreNamedInOneRow() {
    var report = IncidentReport(state: IncidentState(records: Self.journal(mode: .live, finished: .completed)))
    report.facts = [
      .init(label: "Owner", value: "alice"), .init(label: "Severity", value: ""),
      .init(label: "Replacement key", value: "AKIAREPLACEMENT00001"), .init(label: "Audit events (Vault)", value: ""),
    ]
    let rows = MarkdownReport.factRows(report).map(\.row)
    #expect(
      rows == [
        "| Owner | alice |", "| Replacement key | AKIAREPLACEMENT00001 |",
        "| Not applicable to this run | Severity; Audit events (Vault) |",
      ])
    let md = MarkdownReport.render(report)
    #expect(!md.contains("| n/a |") && !md.contains("| Severity |"))
  }

  /// `report.json` is written by hand (`jsonValue()`); it must equal the `Encodable` encoding.
  /// Every field of the report and of a step line is set (checked through reflection), so a field
  /// added to either but not to `jsonValue()` fails here.
  @Test func handWrittenJSONEqualsTheCodableEncoding() throws {
    var report = IncidentReport(state: IncidentState(records: Self.journal(mode: .drill, finished: .failed)))
    report.containedAt = Self.at(180)
    report.verdict = .contained
    report.verdictReason = "verified by step `check-inactive`"
    report.verifiedBy = "check-inactive"
    report.confirmedBy = "alice (respond confirm, 2026-11-18T11:06:40Z)"
    report.timeToContainmentMs = 180
    report.stoppedAt = "logs"
    report.stopMessage = "stopped"
    report.resumedAt = [Self.at(500)]
    report.readiness =
      report.readiness ?? [IncidentReport.Readiness(step: "a", action: "b", ready: false, missing: ["X"])]
    report.notDone.append(IncidentReport.NotDone(step: "n", phase: .notify, action: "notify.slack", reason: "r"))
    report.followUps.append(IncidentReport.FollowUp(text: "t", done: true))
    var line = try #require(report.steps.first)
    line.startedAt = Self.at(1)
    line.finishedAt = Self.at(2)
    line.durationMs = 1
    line.summary = "s"
    line.error = "e \"quoted\""
    line.approval = "granted (--yes)"
    line.mutates = true
    line.outputs = ["a": [1, "b", nil], "o": ["k": true]]
    line.secretOutputs = ["secret"]
    line.wouldSend = ["POST https://x/"]
    line.missing = ["ENV"]
    line.notes = ["note"]
    report.steps.append(line)
    for (value, name) in [(report as Any, "report"), (line as Any, "step line")] {
      for child in Mirror(reflecting: value).children {
        #expect(String(describing: child.value) != "nil", "set \(name) field \(child.label ?? "?") in this test")
      }
    }
    #expect(!report.evidence.isEmpty && !report.facts.isEmpty && !report.inputs.isEmpty)
    #expect(try report.jsonValue() == ValueEncoder().encode(report))
  }

  @Test func drillReportMatchesGolden() throws {
    let report = IncidentReport(state: IncidentState(records: Self.journal(mode: .drill, finished: .completed)))
    #expect(!report.contained)
    try check(MarkdownReport.render(report), golden: "report-drill.md")
  }

  @Test func anUnfinishedRunSaysSoAndHowToResume() throws {
    let report = IncidentReport(state: IncidentState(records: Self.journal(mode: .live, finished: nil)))
    #expect(report.statusLine.contains("run did not finish"))
    #expect(report.followUps.first?.text.contains("respond resume /incidents/20261118T103320Z-key-compromised") == true)
  }

  /// A revocation the provider accepted is not containment: without its verification the
  /// verdict is UNVERIFIED, and a finished run exits 4.
  @Test func aChangeWithoutItsVerificationIsUnverified() throws {
    let state = IncidentState(records: Self.journal(mode: .live, finished: .completed, verification: nil))
    let report = IncidentReport(state: state)
    #expect(!report.contained)
    #expect(report.verdict == .unverified)
    #expect(report.timeToContainmentMs == nil)
    #expect(report.statusLine.hasPrefix("LIVE: UNVERIFIED: `deactivate` changed state but no verification proved"))
    #expect(
      report.followUps.contains {
        $0.text.contains("respond confirm /incidents/20261118T103320Z-key-compromised --step deactivate")
      })
    #expect(RunResult.completedExitCode(state) == 4)
  }

  /// The provider answered 202 but the credential still worked: NOT CONTAINED, whatever the
  /// change's own success said.
  @Test func aFailedVerificationIsNotContained() throws {
    let state = IncidentState(records: Self.journal(mode: .live, finished: .completed, verification: .failed))
    let report = IncidentReport(state: state)
    #expect(report.verdict == .notContained)
    #expect(report.statusLine.hasPrefix("LIVE: NOT CONTAINED: verification `check-inactive` failed"))
    #expect(RunResult.completedExitCode(state) == 4)
    #expect(RunResult.completedExitCode(IncidentState(records: Self.journal(mode: .live, finished: .completed))) == 0)
    #expect(RunResult.completedExitCode(IncidentState(records: Self.journal(mode: .drill, finished: .completed))) == 0)
  }

  static func manualOnlyJournal(confirmedBy: String? = nil) -> [JournalRecord] {
    // A Stripe key (or a Vault batch token): the only contain step is an instruction for a human.
    var start = JournalRecord(at: Self.t0, type: .runStarted)
    start.incident = IncidentInfo(id: "i", runbook: "key-compromised", startedAt: Self.t0, mode: .live, directory: "/i")
    start.plan = [
      PlanEntry(
        id: "stripe-roll", phase: .contain, action: "manual", title: "Roll the Stripe key",
        condition: nil, mutates: true, approval: false, continueOnError: false)
    ]
    var records = [start]
    records.append(
      Self.step(.stepFinished, "stripe-roll", .contain, "manual", at: 5, outcome: .succeeded, duration: 1) {
        $0.outputs = ["instruction": "Roll the key in the Stripe Dashboard", "done": false]
        $0.mutates = true
      })
    var fin = JournalRecord(at: Self.at(10), type: .runFinished)
    fin.status = .completed
    records.append(fin)
    if let confirmedBy {
      var confirm = JournalRecord(at: Self.at(60_000), type: .confirmation)
      confirm.step = "stripe-roll"
      confirm.operator = confirmedBy
      confirm.decision = "respond confirm"
      records.append(confirm)
    }
    return records
  }

  /// A run stopped at the gate of its containment change: not contained, and the report says the
  /// change waits for approval, not that nothing could act on the credential.
  @Test func aContainmentWaitingForApprovalIsSaidSo() throws {
    var start = JournalRecord(at: Self.t0, type: .runStarted)
    start.incident = IncidentInfo(id: "i", runbook: "key-compromised", startedAt: Self.t0, mode: .live, directory: "/i")
    start.plan = [
      PlanEntry(
        id: "deactivate", phase: .contain, action: "aws.iam.update-access-key", title: "Deactivate",
        condition: nil, mutates: true, approval: true, continueOnError: false)
    ]
    let gate = Self.step(
      .stepFinished, "deactivate", .contain, "aws.iam.update-access-key", at: 5, outcome: .stoppedAtApproval,
      duration: 0
    ) { $0.mutates = true }
    var fin = JournalRecord(at: Self.at(10), type: .runFinished)
    fin.status = .stoppedAtApproval
    let report = IncidentReport(state: IncidentState(records: [start, gate, fin]))
    #expect(report.verdict == .notContained)
    #expect(
      report.statusLine.hasPrefix("LIVE: NOT CONTAINED: containment has not run yet: `deactivate` waits for approval"),
      "\(report.statusLine)")
  }

  @Test func aManualContainStepIsNotContainment() throws {
    let state = IncidentState(records: Self.manualOnlyJournal())
    let report = IncidentReport(state: state)
    #expect(!report.contained)
    #expect(report.verdict == .notContained)
    #expect(report.timeToContainmentMs == nil)
    #expect(report.statusLine.hasPrefix("LIVE: NOT CONTAINED: containment is left to a person"))
    #expect(report.followUps.map(\.text).contains("Roll the key in the Stripe Dashboard"))
    #expect(report.followUps.contains { $0.text.contains("respond confirm /i --step stripe-roll") })
    #expect(RunResult.completedExitCode(state) == 4)
  }

  /// `respond confirm` journals who confirmed a manual containment: the verdict becomes CONTAINED,
  /// naming the person, and time to containment runs to the confirmation.
  @Test func aPersonsConfirmationContainsAManualStep() throws {
    let state = IncidentState(records: Self.manualOnlyJournal(confirmedBy: "alice"))
    let report = IncidentReport(state: state)
    #expect(report.verdict == .contained)
    #expect(report.confirmedBy?.hasPrefix("alice (respond confirm") == true)
    #expect(report.timeToContainmentMs == 60_000)
    #expect(report.statusLine.contains("confirmed by alice (respond confirm, step `stripe-roll`)"))
    #expect(RunResult.completedExitCode(state) == 0)
  }
}

enum TestPaths {
  static func golden(_ name: String, file: String = #filePath) -> String {
    URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Golden/\(name)").path
  }
}
