import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `--from FILE`: reading gitleaks, trufflehog and plain reports (fixtures in the tools' real
/// output formats, in BatchFixtures/), running many keys with a bound and without one key's
/// failure stopping the others, and the batch summary.
@Suite struct BatchTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("BatchFixtures")
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
    #expect(secrets[0].sources == [
      LeakSource(tool: "gitleaks", file: "deploy/ci.env", commit: "3f9c2a1e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39", line: 12, rule: "aws-access-token"),
      LeakSource(tool: "gitleaks", file: "docs/setup.md", commit: "1111111111111111111111111111111111111111", line: 3, rule: "aws-access-token"),
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
    #expect(secrets[0].sources[0] == LeakSource(
      tool: "trufflehog", file: "deploy/ci.env", commit: "3f9c2a1e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39", line: 12, rule: "AWS"))
    #expect(secrets[1].sources == [LeakSource(tool: "trufflehog", file: "/srv/app/.env", line: 7, rule: "AWS")])
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
    #expect(throws: UsageError.self) { try LeakFindings.parse("[{\"RuleID\": \"x\"}]", masker: Masker()) }
    #expect(throws: UsageError.self) { try LeakFindings.parse("{\"Raw\": \"AKIA\"}\nnot json", masker: Masker()) }
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
    func enter() { now += 1; peak = max(peak, now) }
    func leave() { now -= 1 }
  }

  @Test func runsEveryKeyWithABoundAndIsolatesFailures() async throws {
    let masker = Masker()
    masker.register(Self.github)
    let secrets = (1...9).map { LeakedSecret(secret: "AKIA2TARGETKEY7QWE\($0 + 1)\($0 + 1)".prefix(20).description, sources: []) }
      + [LeakedSecret(secret: Self.github, sources: [LeakSource(tool: "gitleaks", file: "a.sh", line: 1, rule: "github-pat")])]
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
    #expect(outcomes.last?.display == "ghp_…1234")
    #expect(BatchResponse.exitCode(outcomes) == 1)

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let md = try BatchResponse.writeSummary(outcomes, source: "leaks.json", format: .gitleaks, directory: dir, masker: masker)
    let text = try String(contentsOfFile: md, encoding: .utf8)
    let json = try #require(Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: md.replacingOccurrences(of: ".md", with: ".json")))))
    #expect(text.contains("| `AKIA2TARGETKEY7QWE22` |") && text.contains("`/tmp/22`"))
    #expect(text.contains("gitleaks github-pat at a.sh:1"))
    #expect(text.contains("8 completed") && text.contains("1 error") && text.contains("1 failed"))
    #expect(!text.contains(Self.github) && !String(describing: json).contains(Self.github))
    #expect(json["keys"]?.arrayValue?.count == 10)
    #expect(json.pointer("/keys/9/sources/0/rule")?.stringValue == "github-pat")
    let mode = try FileManager.default.attributesOfItem(atPath: md)[.posixPermissions] as? Int
    #expect(mode == 0o600)
  }
}
