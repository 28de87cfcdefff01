import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// The verdict a person acts on, through the built CLI: a manual containment stays NOT CONTAINED
/// (exit 4) until a named person confirms it; the secret can come from standard input or a file
/// instead of the command line; an altered journal is refused by resume and named by verify.
/// No provider is called: a Stripe key's containment is a manual step.
@Suite struct VerdictTests {
  let out = NSTemporaryDirectory() + "respond-verdicts-" + UUID().uuidString
  let runbooks = TestServices.repositoryRoot() + "/Runbooks"

  init() throws {
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
  }

  func respond(_ args: [String], stdin: String? = nil) throws -> ProcessOutcome {
    try runRespond(args + ["--runbooks", runbooks], environment: ["HOME": out], standardInput: stdin)
  }

  /// A subcommand that takes no runbook (confirm, verify).
  func cli(_ args: [String]) throws -> ProcessOutcome {
    try runRespond(args, environment: ["HOME": out])
  }

  func stripeKey() -> String {
    "sk_live_" + String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
  }

  func incident(_ o: ProcessOutcome) -> String { (o.lastLine as NSString).deletingLastPathComponent }

  @Test func aManualContainmentIsNotContainedUntilAPersonConfirmsIt() throws {
    let key = stripeKey()
    let o = try respond(["key-compromised", "--key", key, "--yes", "--out", out])
    #expect(o.status == 4, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("LIVE: NOT CONTAINED: containment is left to a person"))
    let dir = incident(o)
    let before = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(before.contains("`respond confirm \(dir) --step not-automated`"), "the follow-up says how to confirm")

    // A step that is not a containment step cannot be confirmed.
    let wrong = try cli(["confirm", dir, "--step", "identify"])
    #expect(wrong.status == 2)
    #expect(wrong.stderr.contains("steps a person can confirm: `not-automated`"))

    let confirmed = try cli(["confirm", dir, "--step", "not-automated", "--by", "alice"])
    #expect(confirmed.status == 0, "stderr: \(confirmed.stderr)")
    #expect(confirmed.stderr.contains("LIVE: CONTAINED at"))
    #expect(confirmed.stderr.contains("confirmed by alice (respond confirm, step `not-automated`)"))
    let json = try #require(Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))))
    #expect(json["verdict"] == "CONTAINED")
    #expect(json["confirmed-by"]?.stringValue?.hasPrefix("alice (respond confirm, ") == true)
    let journal = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(journal.confirmations.map(\.by) == ["alice"])
    #expect(journal.damagedLines.isEmpty, "the confirmation continues the hash chain")

    let verified = try cli(["verify", dir])
    #expect(verified.status == 0, "stdout: \(verified.stdout) stderr: \(verified.stderr)")
    let journalText = try String(contentsOfFile: dir + "/journal.jsonl", encoding: .utf8)
    #expect(!before.contains(key) && !journalText.contains(key))
  }

  @Test func theSecretCanComeFromStandardInputOrAFileAndInlineIsWarned() throws {
    let key = stripeKey()
    let piped = try respond(["key-compromised", "--key", "-", "--yes", "--out", out], stdin: key + "\n")
    #expect(piped.status == 4, "stderr: \(piped.stderr)")
    let pipedState = try IncidentState.load(journal: incident(piped) + "/journal.jsonl")
    #expect(pipedState.steps["identify"]?.outputs["provider"] == "stripe", "the key came from standard input")
    #expect(!piped.stderr.contains("visible to other users"))

    let file = out + "/key.txt"
    try (key + "\n").write(toFile: file, atomically: true, encoding: .utf8)
    let fromFile = try respond(["key-compromised", "--key-file", file, "--yes", "--out", out + "/2"])
    #expect(fromFile.status == 4, "stderr: \(fromFile.stderr)")
    let fileState = try IncidentState.load(journal: incident(fromFile) + "/journal.jsonl")
    #expect(fileState.steps["identify"]?.outputs["provider"] == "stripe")

    let inline = try respond(["key-compromised", "--key", key, "--yes", "--out", out + "/3"])
    #expect(inline.stderr.contains("--key on the command line is visible to other users of this machine"))

    let empty = try respond(["key-compromised", "--key", "-", "--yes", "--out", out + "/4"], stdin: "\n")
    #expect(empty.status == 2)
    #expect(empty.stderr.contains("--key: standard input is empty"))
    for o in [piped, fromFile, inline, empty] { #expect(!o.stdout.contains(key) && !o.stderr.contains(key)) }
  }

  /// Issue 12's attack: forged records and a garbage line in the journal. resume refuses to act
  /// on it (nothing sent, exit 2) and verify names the line.
  @Test func anAlteredJournalIsRefusedByResumeAndNamedByVerify() throws {
    let key = stripeKey()
    let o = try respond(["key-compromised", "--key", key, "--yes", "--out", out])
    let dir = incident(o)
    let path = dir + "/journal.jsonl"
    var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    lines.insert("garbage that is not a record", at: 3)
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)

    let resumed = try respond(["resume", dir, "--key", key, "--yes"])
    #expect(resumed.status == 2, "stderr: \(resumed.stderr)")
    #expect(resumed.stderr.contains("the journal was altered: line 4 is not a journal record"))
    let verified = try cli(["verify", dir])
    #expect(verified.status == 1)
    #expect(verified.stdout.contains("journal.jsonl:4: is not a journal record"))

    // Forged: a step-finished record appended by hand, and the report edited to read CONTAINED.
    lines.remove(at: 3)
    let forged =
      #"{"seq":99,"at":"2026-12-02T10:00:00.000Z","type":"step-finished","step":"not-automated","outcome":"succeeded"}"#
    try ((lines + [forged]).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    try report.replacingOccurrences(of: "LIVE: NOT CONTAINED", with: "LIVE: CONTAINED")
      .write(toFile: dir + "/report.md", atomically: true, encoding: .utf8)
    let again = try cli(["verify", dir])
    #expect(again.status == 1)
    #expect(again.stdout.contains("journal.jsonl:\(lines.count + 1): does not follow from the line before"))
    #expect(again.stdout.contains("report.md: its status line does not match the journal"))
  }

  /// Issue 13's rough edges: `respond help <runbook>` is the runbook's help; a dry run is named
  /// DRILL from its first line to its last; a drill's own reminder is not work for a human.
  @Test func helpForARunbookAndOneNamePerMode() throws {
    let help = try cli(["help", "key-compromised"])
    #expect(help.status == 0)
    #expect(help.stdout.hasPrefix("usage: respond key-compromised"))
    #expect(help.stdout.contains("--key - | --key-file FILE"))
    // Issue 13: every variable the runbook's actions read is listed, not only its own `env:`.
    for variable in ["SENDGRID_API_KEY", "GITLAB_URL", "SMTP_TO", "SMTP_FROM", "AWS_ACCESS_KEY_ID", "VAULT_TOKEN"] {
      #expect(help.stdout.contains(variable), "\(variable) missing from the help")
    }
    let dry = try respond(["key-compromised", "--key", stripeKey(), "--dry-run", "--out", out])
    #expect(dry.status == 0, "stderr: \(dry.stderr)")
    #expect(dry.stderr.contains("· DRILL (--dry-run) ·") && !dry.stderr.contains("DRY RUN"))
    #expect(dry.stderr.contains("DRILL: nothing was changed"))
    #expect(dry.stderr.contains("nothing left for a human"), "the drill reminder is not counted")
    // Branches that do not apply (AWS, Vault, GitHub... for a Stripe key) are hidden unless --all.
    #expect(!dry.stderr.contains("deactivate"), "another provider's step shown")
    let all = try respond(["key-compromised", "--key", stripeKey(), "--dry-run", "--all", "--out", out])
    #expect(all.stderr.contains("deactivate") && all.stderr.contains("skip"))
  }

  /// Issue 13: SMTP_URL set and SMTP_FROM unset failed the run at its very last step (exit 1)
  /// after everything else was done. Now the preflight says before the first change that the
  /// e-mail is half configured (SMTP_TO missing); the step is skipped as "not configured" at its
  /// turn and listed as a follow-up with the fix, and the exit says the verdict.
  @Test func aHalfConfiguredMailerDoesNotFailAFinishedResponse() throws {
    let o = try runRespond(
      ["key-compromised", "--key", stripeKey(), "--yes", "--out", out, "--runbooks", runbooks],
      environment: ["HOME": out, "SMTP_URL": "smtp://127.0.0.1:9", "SMTP_FROM": "respond@example.test"])
    #expect(o.status == 4, "the verdict's exit, not 1; stderr: \(o.stderr)")
    let preflight = try #require(
      o.stderr.range(of: "not configured  step email: SMTP: half configured, SMTP_TO not set"))
    let started = try #require(o.stderr.range(of: "respond key-compromised · LIVE"))
    #expect(preflight.lowerBound < started.lowerBound, "said before the run starts")
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("Step `email` (notify.email) was skipped, not configured: SMTP: half configured"))
    #expect(report.contains("(set SMTP_TO)"))
    #expect(!report.contains("failed and the run continued"))
  }
}
