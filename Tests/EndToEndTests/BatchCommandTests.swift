import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond drill key-compromised --from FILE` through the real executable: one incident per
/// distinct key, a key that fails does not stop the others, and the summary is printed last.
/// Drills with no credentials make no network calls.
@Suite struct BatchCommandTests {
  @Test func eachKeyGetsItsOwnIncidentAndTheSummaryListsThemAll() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-e2e-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { removeTestOutput(dir) }
    let garbage = "zz-not-a-known-key-format-0123456789"
    let list = "AKIA2TARGETKEY7QWERT\n# dup below\nAKIA2TARGETKEY7QWERT\nAKIA2TARGETKEY7ZXCVB\n\(garbage)\n"
    try list.write(toFile: dir + "/keys.txt", atomically: true, encoding: .utf8)
    let o = try runRespond(
      ["drill", "key-compromised", "--from", dir + "/keys.txt", "--parallel", "2", "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    // The garbage key is an opaque secret of an unknown format: its drill finishes like the others.
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(o.lastLine.hasSuffix(".md") && o.lastLine.contains("/out/batch-"))
    let summary = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(summary.contains("3 distinct key(s)"))
    #expect(summary.contains("| `AKIA2TARGETKEY7QWERT` |") && summary.contains("| `AKIA2TARGETKEY7ZXCVB` |"))
    #expect(summary.contains("3 completed"))
    #expect(summary.components(separatedBy: "| DRILL | completed |").count == 4, "one verdict per key")
    #expect(!summary.contains(garbage) && !o.stderr.contains(garbage) && !o.stdout.contains(garbage))
    let incidents = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").filter { !$0.hasPrefix("batch-") }
    #expect(incidents.count == 3)
    for incident in incidents {
      #expect(FileManager.default.fileExists(atPath: "\(dir)/out/\(incident)/report.md"), "\(incident) has no report")
    }
    let json = try #require(
      Value.parseJSON(
        try Data(contentsOf: URL(fileURLWithPath: o.lastLine.replacingOccurrences(of: ".md", with: ".json")))))
    #expect(json["keys"]?.arrayValue?.compactMap { $0["incident-directory"]?.stringValue }.count == 3)
  }

  /// Issue 12 item 13 for `--from`: a scanner report is read under a size limit checked before
  /// reading; a 200 MB file (sparse: no disk used) is refused from its size with exit 2.
  @Test func oversizedFindingsFileIsRefusedFromItsSize() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-huge-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/findings.json"
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.truncate(atOffset: 200 << 20)
    try handle.close()
    let o = try runRespond(
      ["drill", "key-compromised", "--from", path, "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    #expect(o.status == 2, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("file is \(200 << 20) bytes; the limit is \(64 << 20)"), "stderr: \(o.stderr)")
  }

  // MARK: - Findings respond cannot run (issue 13 item 7)

  static let fixtures = TestServices.repositoryRoot() + "/Tests/RespondCoreTests/BatchFixtures/"
  static let awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  static let github = "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234"
  static let privateKeyLine = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"

  func scratch() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-13-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  /// Nothing secret in stdout, stderr or any file the batch wrote.
  func expectNoSecrets(_ secrets: [String], _ o: ProcessOutcome, under dir: String) {
    let files = allFileContents(under: dir)
    for s in secrets {
      #expect(!o.stdout.contains(s) && !o.stderr.contains(s), "a secret on the terminal")
      for (path, text) in files { #expect(!text.contains(s), "a secret in \(path)") }
    }
  }

  /// A gitleaks report with a private key and an AWS key id with its secret access key beside
  /// it: the private key is a line with its reason, the id and its secret are one credential
  /// (one incident), and the other findings run.
  @Test func aPrivateKeyIsALineAndAnAWSPairIsOneCredential() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let o = try runRespond(
      ["drill", "key-compromised", "--from", Self.fixtures + "gitleaks-mixed.json", "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    #expect(o.status == 0, "a drill that finishes: stderr: \(o.stderr)")
    #expect(o.stderr.contains(": not run: not a revocable credential; rotate the key pair by hand"))
    let summary = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(summary.contains("3 distinct key(s), 1 finding(s) respond cannot run"), "the private key has its line")
    #expect(summary.contains("| `AKIA2TARGETKEY7QWERT` with its secret access key (masked) |"))
    #expect(summary.contains("| DRILL | not-handled | none | gitleaks private-key at deploy/id"))
    #expect(summary.contains("not a revocable credential; rotate the key pair by hand"))
    let incidents = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").filter { !$0.hasPrefix("batch-") }
    #expect(incidents.count == 3, "the id, the GitHub token and the unpaired secret; the paired secret is no key")
    expectNoSecrets([Self.awsSecret, Self.github, Self.privateKeyLine, "BEGIN RSA"], o, under: dir)
  }

  /// Live, with no provider to call: a private key, a Stripe key and a token of an unknown
  /// format each end NOT CONTAINED, and the batch exits 4 with one line per key.
  @Test func aLiveBatchOfManualKeysExitsFourWithAVerdictPerKey() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let pk = "-----BEGIN OPENSSH PRIVATE KEY-----\n\(Self.privateKeyLine)\n-----END OPENSSH PRIVATE KEY-----"
    let stripe = "sk_live_" + String(repeating: "Q7wE", count: 6)
    let opaque = "dop_v1_" + String(repeating: "0a1b2c3d", count: 8)
    let report: Value = .array([
      ["RuleID": "private-key", "Secret": .string(pk), "Match": .string(pk), "File": "id_ed25519", "StartLine": 1],
      ["RuleID": "stripe-access-token", "Secret": .string(stripe), "File": "pay.env", "StartLine": 2],
      ["RuleID": "digitalocean-pat", "Secret": .string(opaque), "File": "do.env", "StartLine": 3],
    ])
    try report.jsonString().write(toFile: dir + "/leaks.json", atomically: true, encoding: .utf8)
    let o = try runRespond(
      [
        "key-compromised", "--from", dir + "/leaks.json", "--yes", "--out", dir + "/out", "--runbooks",
        TestServices.repositoryRoot() + "/Runbooks",
      ],
      environment: ["HOME": dir])
    #expect(o.status == 4, "stderr: \(o.stderr)")
    let summary = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(summary.components(separatedBy: "| NOT CONTAINED |").count == 4, "three keys, three verdicts: \(summary)")
    // Shown as its provider folder's format declares: the prefix and the fingerprint.
    let shown = "sk_live_…" + Masker.fingerprint(stripe)
    #expect(o.stderr.contains("\(shown): NOT CONTAINED (completed)"), "stderr: \(o.stderr)")
    expectNoSecrets([pk, Self.privateKeyLine, stripe, opaque], o, under: dir + "/out")
  }

  /// `gitleaks --redact` holds no secret to contain: refused before anything runs, naming the flag.
  @Test func aRedactedReportIsRefusedNamingTheFlag() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let o = try runRespond(
      ["key-compromised", "--from", Self.fixtures + "gitleaks-redacted.json", "--yes", "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    #expect(o.status == 2, "stderr: \(o.stderr)")
    #expect(o.stderr.hasPrefix("respond: error: the gitleaks report was written with --redact"), "stderr: \(o.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/out"), "nothing was started")
  }

  @Test(arguments: ["[]", ""])
  func anEmptyReportSaysNoFindingsAndExitsZero(report: String) throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try report.write(toFile: dir + "/empty.json", atomically: true, encoding: .utf8)
    let o = try runRespond(
      ["key-compromised", "--from", dir + "/empty.json", "--yes", "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("no findings in \(dir)/empty.json"), "stderr: \(o.stderr)")
  }

  /// trufflehog's `Verified` reaches the summary; its log lines are skipped, not keys.
  @Test func trufflehogVerifiedIsShownInTheSummary() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let o = try runRespond(
      ["drill", "key-compromised", "--from", Self.fixtures + "trufflehog-verified.jsonl", "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("2 trufflehog log line(s) skipped (not findings)"))
    let summary = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(summary.contains("2 distinct key(s)"))
    #expect(summary.contains("trufflehog AWS (verified live) at deploy/ci.env:12"))
    #expect(summary.contains("trufflehog Github (not verified) at /srv/app/.env:3"))
    let jsonPath = String(o.lastLine.dropLast(3)) + ".json"
    let json = try #require(Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: jsonPath))))
    #expect(json.pointer("/keys/0/sources/0/verified") == true)
  }
}
