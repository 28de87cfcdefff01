import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

/// `--from FILE`: reading gitleaks, trufflehog and plain reports (fixtures in the tools' real
/// output formats, in BatchFixtures/), running many keys with a bound and without one key's
/// failure stopping the others, and the batch summary.
@Suite struct BatchTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
    "BatchFixtures")
  static let github = "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234"
  static let awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

  static func fixture(_ name: String) throws -> String {
    try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
  }

  @Test func gitleaksFindingsMergePerSecretWithProvenance() throws {
    let masker = Masker()
    let (format, secrets) = try LeakFindings.parse(try Self.fixture("gitleaks-report.json"), masker: masker)
    #expect(format == .gitleaks)
    #expect(secrets.map(\.secret) == ["AKIAIOSFODNN7EXAMPLE", Self.github])
    #expect(
      secrets[0].sources == [
        LeakSource(
          tool: "gitleaks", file: "deploy/ci.env", commit: "3f9c2a1e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39", line: 12,
          rule: "aws-access-token"),
        LeakSource(
          tool: "gitleaks", file: "docs/setup.md", commit: "1111111111111111111111111111111111111111", line: 3,
          rule: "aws-access-token"),
      ])
    #expect(secrets[1].sources.first?.rule == "github-pat")
    // The token is registered the moment it is read; the key id is an identifier and is not.
    #expect(!masker.mask("x \(Self.github) y").contains(Self.github))
    #expect(masker.mask("AKIAIOSFODNN7EXAMPLE") == "AKIAIOSFODNN7EXAMPLE")
  }

  @Test func trufflehogLinesMergeAndTheirSecretHalvesAreMasked() throws {
    let masker = Masker()
    let (format, secrets) = try LeakFindings.parse(try Self.fixture("trufflehog-report.jsonl"), masker: masker)
    #expect(format == .trufflehog)
    #expect(secrets.map(\.secret) == ["AKIAIOSFODNN7EXAMPLE", "AKIA2TARGETKEY7QWERT"])
    #expect(secrets[0].sources.count == 2)
    #expect(
      secrets[0].sources[0]
        == LeakSource(
          tool: "trufflehog", file: "deploy/ci.env", commit: "3f9c2a1e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39", line: 12,
          rule: "AWS", verified: false))
    #expect(
      secrets[1].sources == [
        LeakSource(tool: "trufflehog", file: "/srv/app/.env", line: 7, rule: "AWS", verified: false)
      ])
    // RawV2 carried the secret access key: the id and its secret are one credential.
    #expect(secrets.allSatisfy { $0.pairedSecret })
    #expect(!masker.mask("secret: \(Self.awsSecret)").contains(Self.awsSecret))
  }

  @Test func plainListSkipsCommentsAndBlanksAndMergesDuplicates() throws {
    let masker = Masker()
    let (format, secrets) = try LeakFindings.parse(try Self.fixture("keys.txt"), masker: masker)
    #expect(format == .plain)
    #expect(secrets.map(\.secret) == ["AKIA2TARGETKEY7QWERT", "AKIA2TARGETKEY7ZXCVB", Self.github])
    #expect(secrets.allSatisfy { $0.sources.isEmpty })
  }

  @Test func malformedReportsAreUsageErrors() {
    #expect(throws: UsageError.self) { try LeakFindings.parse("[{\"RuleID\": \"x\"", masker: Masker()) }
    #expect(throws: UsageError.self) { try LeakFindings.parse("{\"Raw\": \"AKIA\"}\nnot json", masker: Masker()) }
  }

  // MARK: - Findings respond cannot run (issue 13 item 7)

  /// A private key, a finding without its secret: each is a line with its reason, and the other
  /// findings are read as usual. An AWS secret access key beside its key id (same file, same
  /// commit) is the id's secret half, not a key of its own; the same shape elsewhere is not.
  @Test func aMixedGitleaksReportKeepsEveryFindingItCanRun() throws {
    let masker = Masker()
    let report = try LeakFindings.read(try Self.fixture("gitleaks-mixed.json"), masker: masker)
    let other = "Zm9vYmFyYmF6cXV4c2VjcmV0a2V5MTIzNDU2Nzg5"
    #expect(report.secrets.map(\.secret) == ["AKIA2TARGETKEY7QWERT", Self.github, other])
    #expect(report.secrets.map(\.pairedSecret) == [true, false, false])
    #expect(report.secrets[0].sources.map { $0.line ?? 0 } == [12, 13])
    #expect(report.unhandled.count == 1)
    let key = try #require(report.unhandled.first)
    #expect(key.reason == "not a revocable credential; rotate the key pair by hand")
    #expect(key.display.hasPrefix("private key …sha256:"))
    #expect(key.sources.first?.file == "deploy/id_rsa" && key.sources.first?.rule == "private-key")
    // Every secret is masked, the paired secret access key and the private key included.
    #expect(masker.mask("s=\(Self.awsSecret)") == "s=" + Masker.fingerprint(Self.awsSecret))
    #expect(!masker.mask("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun").isEmpty)

    let gitleaksWithoutSecret = try LeakFindings.read(#"[{"RuleID": "x", "File": "a.txt"}]"#, masker: Masker())
    #expect(gitleaksWithoutSecret.secrets.isEmpty)
    #expect(
      gitleaksWithoutSecret.unhandled.map(\.reason) == [
        "the finding has no Secret or Match: nothing to respond to; check it by hand"
      ])
  }

  /// `gitleaks --redact` (and `--redact=N`) reports are refused up front, naming the flag;
  /// trufflehog has no such flag, and a report stripped of Raw afterwards is refused saying so.
  @Test func redactedReportsAreRefusedNamingTheFlag() throws {
    let error = try #require(
      #expect(throws: UsageError.self) {
        try LeakFindings.read(try Self.fixture("gitleaks-redacted.json"), masker: Masker())
      })
    #expect("\(error)".hasPrefix("the gitleaks report was written with --redact: its findings hold REDACTED"))
    let partial = #"[{"RuleID": "github-pat", "Secret": "ghp_R2d2C3po...", "Match": "TOKEN=ghp_R2d2C3po..."}]"#
    #expect(throws: UsageError.self) { try LeakFindings.read(partial, masker: Masker()) }
    let stripped = #"{"DetectorName": "AWS", "Verified": true, "Redacted": "AKIA2TARGETKEY7QWERT"}"#
    let truffle = try #require(#expect(throws: UsageError.self) { try LeakFindings.read(stripped, masker: Masker()) })
    #expect("\(truffle)".contains("trufflehog has no redaction flag (its --json output always carries Raw)"))
  }

  /// trufflehog's own log lines (JSON too, with --json) are skipped, and `Verified` is kept.
  @Test func trufflehogLogLinesAreSkippedAndVerifiedIsKept() throws {
    let report = try LeakFindings.read(try Self.fixture("trufflehog-verified.jsonl"), masker: Masker())
    #expect(report.logLines == 2)
    #expect(report.unhandled.isEmpty)
    #expect(report.secrets.map { $0.sources.first?.verified } == [true, false])
    #expect(report.secrets[0].sources[0].description.hasPrefix("trufflehog AWS (verified live) at deploy/ci.env:12"))
    #expect(report.secrets[1].sources[0].description.hasPrefix("trufflehog Github (not verified) at /srv/app/.env:3"))
  }

  /// A key file in JSON over several lines (trufflehog's GCP detector gives the whole file) is run
  /// in its one-line form, not refused as several lines.
  @Test func aJSONKeyFileFindingIsRunAsOneLine() throws {
    let keyFile = "{\n  \"type\": \"service_account\",\n  \"private_key_id\": \"abc123\"\n}\n"
    let line: Value = ["DetectorName": "GCP", "Verified": false, "Raw": .string(keyFile)]
    let masker = Masker()
    let report = try LeakFindings.read(line.jsonString(), masker: masker)
    #expect(report.unhandled.isEmpty)
    #expect(report.secrets.map(\.secret) == [RunbookInvocation.oneLine(keyFile.trimmingCharacters(in: .newlines))])
    #expect(masker.containsSecret(keyFile))
  }

  @Test(arguments: ["", "[]", "\n\n", "# nothing found\n", #"{"level":"info-0","msg":"finished scanning"}"#])
  func emptyReportsHaveNoFindings(text: String) throws {
    #expect(try LeakFindings.read(text, masker: Masker()).isEmpty)
  }

  @Test func theShapeOfAnAWSSecretAccessKey() {
    #expect(LeakFindings.looksLikeAWSSecretAccessKey(Self.awsSecret))
    #expect(!LeakFindings.looksLikeAWSSecretAccessKey("3f9c2a1e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39"), "a commit id")
    #expect(!LeakFindings.looksLikeAWSSecretAccessKey(Self.github))
  }

  /// The summary has one line per key with its verdict, the findings respond could not run with
  /// their reason, the paired secret said (never shown), and trufflehog's verification.
  @Test func theSummaryShowsVerdictsReasonsAndVerification() throws {
    let masker = Masker()
    let report = try LeakFindings.read(try Self.fixture("gitleaks-mixed.json"), masker: masker)
    var outcomes = report.secrets.map { secret in
      BatchResponse.outcome(
        secret,
        .init(status: .completed, exitCode: 4, incidentDirectory: "/tmp/i", detail: "x", verdict: "NOT CONTAINED"),
        masker: masker)
    }
    outcomes[1].verdict = "CONTAINED"
    outcomes[1].exitCode = 0
    outcomes += report.unhandled.map { BatchResponse.unhandledOutcome($0, mode: .live, masker: masker) }
    #expect(BatchResponse.exitCode(outcomes) == 4)
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let md = try String(
      contentsOfFile: try BatchResponse.writeSummary(
        outcomes, source: "leaks.json", format: .gitleaks, directory: dir, masker: masker),
      encoding: .utf8)
    #expect(md.contains("| Key | Fingerprint | Verdict | Outcome |"))
    #expect(md.contains("| `AKIA2TARGETKEY7QWERT` with its secret access key (masked) |"))
    #expect(md.contains("| NOT CONTAINED | completed |") && md.contains("| CONTAINED | completed |"))
    #expect(md.contains("| NOT CONTAINED | not-handled | none | gitleaks private-key at deploy/id"))
    #expect(md.contains("- [ ] `private key …sha256:"))
    #expect(md.contains(": not a revocable credential; rotate the key pair by hand"))
    #expect(!md.contains(Self.awsSecret) && !md.contains("BEGIN RSA") && !md.contains(Self.github))
  }

  @Test func flagsAreTakenOutOfTheCommandLine() throws {
    let f = try BatchResponse.extractFlags(["--from", "a.json", "--yes", "--parallel=2", "--out", "x"])
    #expect(f.from == "a.json" && f.parallel == 2 && f.rest == ["--yes", "--out", "x"])
    #expect(try BatchResponse.extractFlags(["--key", "K"]).from == nil)
    #expect(try BatchResponse.extractFlags(["--from=k.txt"]).parallel == 4)
    #expect(throws: UsageError.self) { try BatchResponse.extractFlags(["--parallel", "2"]) }
    #expect(throws: UsageError.self) { try BatchResponse.extractFlags(["--from", "a", "--parallel", "0"]) }
  }

  /// Counts runs in flight, to check the bound.
  actor Gauge {
    var now = 0, peak = 0
    func enter() {
      now += 1
      peak = max(peak, now)
    }
    func leave() { now -= 1 }
  }

  @Test func runsEveryKeyWithABoundAndIsolatesFailures() async throws {
    let masker = Masker()
    masker.register(Self.github)
    let secrets =
      (1...9).map { LeakedSecret(secret: "AKIA2TARGETKEY7QWE\($0 + 1)\($0 + 1)".prefix(20).description, sources: []) }
      + [
        LeakedSecret(
          secret: Self.github, sources: [LeakSource(tool: "gitleaks", file: "a.sh", line: 1, rule: "github-pat")])
      ]
    let gauge = Gauge()
    let outcomes = await BatchResponse.run(secrets, parallel: 3, masker: masker) { secret in
      await gauge.enter()
      try? await Task.sleep(for: .milliseconds(20))
      await gauge.leave()
      if secret.secret.hasSuffix("44") { throw UsageError("exploded with \(Self.github)") }
      if secret.secret.hasSuffix("55") {
        return .init(status: .failed, exitCode: 1, incidentDirectory: "/tmp/i5", detail: "failed at step x")
      }
      return .init(status: .completed, exitCode: 0, incidentDirectory: "/tmp/\(secret.secret.suffix(2))", detail: "ok")
    }
    #expect(await gauge.peak == 3)
    #expect(outcomes.count == secrets.count)
    #expect(outcomes.map { $0.fingerprint } == secrets.map { Masker.fingerprint($0.secret) })
    #expect(outcomes.filter { $0.outcome == "completed" }.count == 8)
    let exploded = try #require(outcomes.first { $0.outcome == "error" })
    #expect(exploded.detail.contains("exploded") && !exploded.detail.contains(Self.github))
    #expect(outcomes.contains { $0.outcome == "failed" && $0.incidentDirectory == "/tmp/i5" })
    #expect(outcomes.last?.display == "ghp_…" + Masker.fingerprint(secrets.last!.secret))
    #expect(BatchResponse.exitCode(outcomes) == 1)

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let md = try BatchResponse.writeSummary(
      outcomes, source: "leaks.json", format: .gitleaks, directory: dir, masker: masker)
    let text = try String(contentsOfFile: md, encoding: .utf8)
    let json = try #require(
      Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: md.replacingOccurrences(of: ".md", with: ".json")))))
    #expect(text.contains("| `AKIA2TARGETKEY7QWE22` |") && text.contains("`/tmp/22`"))
    #expect(text.contains("gitleaks github-pat at a.sh:1"))
    #expect(text.contains("8 completed") && text.contains("1 error") && text.contains("1 failed"))
    #expect(!text.contains(Self.github) && !String(describing: json).contains(Self.github))
    #expect(json["keys"]?.arrayValue?.count == 10)
    #expect(json.pointer("/keys/9/sources/0/rule")?.stringValue == "github-pat")
    let mode = try FileManager.default.attributesOfItem(atPath: md)[.posixPermissions] as? Int
    #expect(mode == 0o600)
  }

  // MARK: - Interrupting, resuming, progress

  @Test func aCancelledBatchStartsNoNewKeyAndListsTheRestAsNotStarted() async throws {
    let masker = Masker()
    let secrets = (10...29).map { LeakedSecret(secret: "AKIA2TARGETKEY7QWE\($0)", sources: []) }
    let started = Gauge()
    let seen = TextSink()
    let task = Task {
      await BatchResponse.run(secrets, parallel: 2, masker: masker, finished: { seen.write($0.outcome + "\n") }) {
        secret in
        await started.enter()
        // The running keys stop the way a runner does: the cancellation ends their current wait.
        do { try await Task.sleep(for: .seconds(30)) } catch {
          return .init(
            status: .interrupted, exitCode: 1, incidentDirectory: "/tmp/\(secret.secret)", detail: "interrupted")
        }
        return .init(status: .completed, exitCode: 0, incidentDirectory: "/tmp/x", detail: "ok")
      }
    }
    while await started.peak < 2 { try await Task.sleep(for: .milliseconds(5)) }
    task.cancel()
    let outcomes = await task.value
    #expect(outcomes.count == 20)
    #expect(outcomes.prefix(2).allSatisfy { $0.outcome == "interrupted" && $0.incidentDirectory != nil })
    #expect(outcomes.dropFirst(2).allSatisfy { $0.outcome == "not-started" && $0.incidentDirectory == nil })
    #expect(outcomes.map(\.fingerprint) == secrets.map { Masker.fingerprint($0.secret) })
    #expect(seen.text == "interrupted\ninterrupted\n")
    #expect(BatchResponse.exitCode(outcomes) == 1)
  }

  @Test func theSummaryKeepsWhatResumeNeedsAndNoSecret() throws {
    let masker = Masker()
    masker.register(Self.github)
    let outcomes = [
      BatchOutcome(
        display: "AKIA2TARGETKEY7QWERT", fingerprint: Masker.fingerprint("AKIA2TARGETKEY7QWERT"), outcome: "completed",
        exitCode: 0, incidentDirectory: "/tmp/a", detail: "ok", sources: []),
      BatchResponse.notStarted(LeakedSecret(secret: Self.github, sources: []), masker: masker),
    ]
    let context = BatchContext(
      runbook: "key-compromised", runbookFile: "/r/key-compromised.yaml", mode: .live, out: "/tmp/out",
      inputs: ["log-group": "trail"])
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let now = Date()
    let first = try BatchResponse.writeSummary(
      outcomes, source: "keys.txt", format: .plain, directory: dir, masker: masker, batch: context, now: now)
    // A second summary in the same second gets its own name.
    let second = try BatchResponse.writeSummary(
      outcomes, source: "keys.txt", format: .plain, directory: dir, masker: masker, batch: context, now: now)
    #expect(first != second)
    let loaded = try BatchSummary.load(first)
    #expect(loaded.batch == context)
    #expect(loaded.keys == outcomes)
    #expect(
      loaded.keys[1].outcome == "not-started" && loaded.keys[1].display == "ghp_…" + Masker.fingerprint(Self.github))
    let json = try String(contentsOfFile: String(first.dropLast(3)) + ".json", encoding: .utf8)
    let md = try String(contentsOfFile: first, encoding: .utf8)
    #expect(!json.contains(Self.github) && !md.contains(Self.github))
    #expect(md.contains("respond resume ") && md.contains("1 not-started"))
    #expect(throws: UsageError.self) { try BatchSummary.load(dir + "/nothing.json") }
  }

  @Test func theStatusLineCountsDoneFailedRemainingAndTheRate() {
    let line = BatchProgress.line(
      done: 37, total: 200, tally: ["failed": 2, "completed": 35], elapsed: .seconds(9))
    #expect(line == "batch: 37/200 done (35 completed, 2 failed), 163 remaining, 4.1 keys/s")
    let progress = BatchProgress(total: 3)
    _ = progress.finished("completed")
    let last = progress.finished("interrupted")
    #expect(last.hasPrefix("batch: 2/3 done (1 completed, 1 interrupted), 1 remaining, "))
  }

  // MARK: - One set of rate limiters for the whole batch

  /// Two incidents, three CloudTrail LookupEvents each (2/s per account and region): with the
  /// batch's shared limiters, no 1 s window holds more than 2 of the 6 requests; with a set of
  /// limiters each (what a batch had before) the two runners go at 2/s each, together faster.
  @Test func runnersSharingLimitersKeepTheProvidersRateTogether() async throws {
    #expect(try await Self.lookupStamps(shared: true).busiestSecond <= 2)
    #expect(try await Self.lookupStamps(shared: false).busiestSecond > 2)
  }

  static func lookupStamps(shared: Bool) async throws -> [Double] {
    let registry = StandardActions.registry()
    let steps = (1...3).map { n in
      """
          - id: lookup\(n)
            action: aws.cloudtrail.lookup-events
            with:
              access-key-id: ${{ inputs.key }}
              start: "2026-11-01T00:00:00Z"
              regions: [us-east-1]
      """
    }.joined(separator: "\n")
    let yaml = """
      runbook: paced
      inputs:
        key: { required: true }
      phases:
        investigate:
      \(steps)
      """
    let rb = try runbook(yaml, registry: registry)
    let transport = RecordedTransport()
    let clock = ContinuousClock.now
    let stamps = TextSink()
    transport.on { request in
      guard request.header("X-Amz-Target")?.hasSuffix("LookupEvents") == true else { return nil }
      stamps.write("\((ContinuousClock.now - clock).seconds)\n")
      return HTTPResponse(status: 200, body: Data(#"{"Events": []}"#.utf8))
    }
    let env = [
      "AWS_ACCESS_KEY_ID": "AKIAADMINADMINADMIN1", "AWS_SECRET_ACCESS_KEY": "adminsecret-123",
      "AWS_REGION": "us-east-1",
      "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "HOME": "/nonexistent",
    ]
    let limiters = RateLimiters()
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try await withThrowingTaskGroup(of: RunStatus.self) { group in
      for key in ["AKIA2TARGETKEY7QWERT", "AKIA2TARGETKEY7ZXCVB"] {
        group.addTask {
          let masker = Masker()
          var options = RunOptions()
          options.limiters = shared ? limiters : nil
          let runner = IncidentRunner(
            runbook: rb, registry: registry, environment: env, transport: transport, masker: masker,
            progress: ProgressLog(masker: masker, colour: false) { _ in }, approver: nil, options: options)
          return try await runner.start(inputs: ["key": key], outDir: dir).status
        }
      }
      for try await status in group { #expect(status == .completed) }
    }
    let times = stamps.text.split(separator: "\n").compactMap { Double($0) }.sorted()
    #expect(times.count == 6)
    return times
  }
}

extension [Double] {
  /// The most requests (sorted times in seconds) inside any 1 s window; measured at the
  /// transport, so the window is taken as 0.9 s to allow for a few ms of scheduling jitter
  /// between the limiter handing out a token and the request arriving.
  var busiestSecond: Int {
    var best = 0
    for (i, t) in enumerated() { best = Swift.max(best, self[i...].prefix { $0 < t + 0.9 }.count) }
    return best
  }
}

/// `batch-<time>.md` shows scanner findings and failure details: text from outside.
@Suite struct BatchSummaryEscapingTests {
  /// Issue 12 item 12 for the batch summary: a scanner finding names a file of the leaked
  /// repository (its name chosen by whoever committed it) and a failure's detail carries a
  /// provider's words; neither may become a link, an image or HTML in `batch-<time>.md`.
  @Test func summaryEscapesFileNamesAndDetails() throws {
    let hostile = LeakSource(tool: "gitleaks", file: "![x](https://evil.example/p.png)", line: 1, rule: "aws")
    let outcome = BatchOutcome(
      display: "AKIA2TARGETKEY7QWERT", fingerprint: "sha256:00000000", outcome: "failed", exitCode: 1,
      incidentDirectory: "/tmp/i", detail: "<img src=x onerror=alert(1)> [click](javascript:alert(1))",
      sources: [hostile])
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let md = try BatchResponse.writeSummary(
      [outcome], source: "leaks.json", format: .gitleaks, directory: dir, masker: Masker())
    let text = try String(contentsOfFile: md, encoding: .utf8)
    #expect(!text.contains("![x](") && !text.contains(" [click]") && !text.contains(" <img"), "\(text)")
    #expect(text.contains("at !\\[x\\](https://evil.example/p.png):1"), "\(text)")
    #expect(text.contains("\\<img src=x onerror=alert(1)> \\[click\\](javascript:alert(1))"), "\(text)")
  }

  /// A key is shown as its format declares (`key.identify`'s display, one answer): an access key
  /// id whole, a known secret format by its prefix and fingerprint, anything else (a short secret
  /// too) by its fingerprint alone: never a character of a secret beyond its format's prefix.
  @Test func aKeyIsShownAsItsFormatDeclares() {
    let masker = Masker()
    for key in ["p4ssw0rd-xyz", "AKIAIOSFODNN7EXAMPLE", BatchTests.github, "an-opaque-secret-of-some-length"] {
      let shown = BatchResponse.notStarted(LeakedSecret(secret: key, sources: []), masker: masker).display
      #expect(shown == KeyIdentifyAction.identity(of: key, providers: ProviderFormats()).display, "\(key)")
    }
    #expect(masker.display("p4ssw0rd-xyz") == "…" + Masker.fingerprint("p4ssw0rd-xyz"))
    #expect(masker.display("AKIAIOSFODNN7EXAMPLE") == "AKIAIOSFODNN7EXAMPLE")
    #expect(masker.display(BatchTests.github) == "ghp_…" + Masker.fingerprint(BatchTests.github))
  }
}
