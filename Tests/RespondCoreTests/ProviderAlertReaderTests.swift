import Foundation
import RespondCore
import Testing

/// `--from` reading the providers' own leak reports (issue 15 item 6): GitHub secret-scanning
/// alerts as the REST API lists them and AWS Health `AWS_RISK_CREDENTIALS_EXPOSED` events as
/// EventBridge and DescribeEventDetails deliver them (fixtures in BatchFixtures/, shaped after
/// GitHub's REST description and botocore's health model; no real secret in them), each keeping
/// where the secret was found; JSON of no known shape is refused by name.
@Suite struct ProviderAlertReaderTests {
  static let github = "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234"

  static func fixture(_ name: String) throws -> String {
    try String(contentsOf: BatchTests.fixtures.appendingPathComponent(name), encoding: .utf8)
  }

  @Test func gitHubAlertsAreReadWithTheirPageAndLocation() throws {
    let masker = Masker()
    let report = try LeakFindings.read(try Self.fixture("github-secret-scanning-alerts.json"), masker: masker)
    #expect(report.format == .githubAlerts)
    #expect(report.secrets.map(\.secret) == [Self.github, "AKIA2TARGETKEY7QWERT"])
    #expect(
      report.secrets[0].sources == [
        LeakSource(
          tool: "github-secret-scanning", file: "deploy/release.sh", commit: "f14d7debf9775f957cf4f1e8176da0786431f72b",
          line: 7, rule: "github_personal_access_token", verified: true,
          url: "https://github.com/octo-org/payments/security/secret-scanning/42")
      ])
    // A secret found in an issue comment: the comment's page is where it was found.
    #expect(
      report.secrets[1].sources[0].file == "https://github.com/octo-org/payments/issues/12#issuecomment-1081119451")
    #expect(report.secrets[1].sources[0].verified == nil)
    // The resolved alert and the one listed without its secret are named with their reasons.
    #expect(
      report.unhandled.map(\.display) == ["GitHub secret-scanning alert #40", "GitHub secret-scanning alert #39"])
    #expect(report.unhandled[0].reason.contains("resolved (resolution: revoked)"))
    #expect(report.unhandled[1].reason.contains("no secret"))
    #expect(!masker.mask("x \(Self.github) y").contains(Self.github))
    #expect(report.secrets[0].sources[0].description.contains("secret-scanning/42"))
  }

  @Test func oneAlertAsTheSingleAlertEndpointReturnsItIsReadToo() throws {
    let one =
      #"{"number": 7, "state": "open", "secret_type": "npm_access_token", "secret": "tok-123456789", "html_url": "https://github.com/o/r/security/secret-scanning/7"}"#
    let report = try LeakFindings.read(one, masker: Masker())
    #expect(report.format == .githubAlerts)
    #expect(report.secrets.map(\.secret) == ["tok-123456789"])
  }

  @Test func anEventBridgeHealthEventNamesTheKeyAndWhereItWasExposed() throws {
    let report = try LeakFindings.read(try Self.fixture("aws-health-eventbridge.json"), masker: Masker())
    #expect(report.format == .awsHealth)
    #expect(report.secrets.map(\.secret) == ["AKIA2TARGETKEY7QWERT"])
    #expect(
      report.secrets[0].sources == [
        LeakSource(
          tool: "aws-health", rule: "AWS_RISK_CREDENTIALS_EXPOSED",
          url: "https://github.com/octo-org/payments/blob/f14d7de/deploy/ci.env")
      ])
    #expect(report.unhandled.isEmpty)
  }

  /// DescribeEventDetails carries no entities: the key id and the URL come from the description;
  /// another kind of Health event in the same answer is listed, not run.
  @Test func describeEventDetailsIsReadFromItsDescription() throws {
    let report = try LeakFindings.read(try Self.fixture("aws-health-describe-event-details.json"), masker: Masker())
    #expect(report.format == .awsHealth)
    #expect(report.secrets.map(\.secret) == ["AKIA2TARGETKEY7ZXCVB"])
    #expect(report.secrets[0].sources.first?.url == "https://gist.github.com/example/0a1b2c3d")
    #expect(report.unhandled.count == 1)
    #expect(report.unhandled[0].reason.contains("AWS_EC2_OPERATIONAL_ISSUE"))
  }

  @Test func aListOfEventBridgeEventsIsReadAsHealthEvents() throws {
    let event = try Self.fixture("aws-health-eventbridge.json")
    let report = try LeakFindings.read("[\(event), \(event)]", masker: Masker())
    #expect(report.format == .awsHealth)
    #expect(report.secrets.map(\.secret) == ["AKIA2TARGETKEY7QWERT"])
  }

  /// The readers that were there keep their formats; JSON that is none of them is refused with
  /// what respond reads, not read as gitleaks or trufflehog and found empty.
  @Test(arguments: [
    #"[{"id": 1, "name": "x"}]"#, #"{"findings": []}"#, "[1, 2]",
    "{\n  \"alerts\": [\n    {\"id\": 1}\n  ]\n}",
  ])
  func jsonOfNoKnownShapeIsAClearError(text: String) {
    #expect {
      _ = try LeakFindings.read(text, masker: Masker())
    } throws: { error in
      (error as? UsageError)?.description.contains("not a report respond knows") == true
    }
  }

  @Test func theExistingFormatsAreStillDetected() throws {
    #expect(try LeakFindings.detect(try Self.fixture("gitleaks-report.json")) == .gitleaks)
    #expect(try LeakFindings.detect(try Self.fixture("trufflehog-report.jsonl")) == .trufflehog)
    #expect(try LeakFindings.detect(try Self.fixture("keys.txt")) == .plain)
    #expect(try LeakFindings.detect("[]") == .gitleaks)
  }
}
