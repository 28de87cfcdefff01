import Foundation

/// The providers' own leak reports as `--from` input (issue 15 item 6): GitHub secret-scanning
/// alerts as `GET /repos/{owner}/{repo}/secret-scanning/alerts` returns them (the
/// `secret-scanning-alert` schema of GitHub's REST description: `number`, `state`, `secret_type`,
/// `secret`, `html_url`, `first_location_detected`), and AWS Health `AWS_RISK_CREDENTIALS_EXPOSED`
/// events, either as EventBridge delivers them (`source: aws.health`, `detail.eventTypeCode`,
/// `detail.eventMetadata.publicKey`/`exposedUrl`, `detail.affectedEntities`, `resources`) or as
/// `DescribeEventDetails` answers (botocore's health model: `successfulSet[].event`,
/// `eventDescription.latestDescription`, `eventMetadata`). Where the secret was found (the
/// alert's page and location, the public URL AWS names) travels with it into the summary.
extension LeakFindings {
  /// The fields that say which report a JSON record belongs to.
  private static let gitleaksFields = ["RuleID", "Secret", "Match", "StartLine", "Fingerprint"]
  private static let trufflehogFields = ["SourceMetadata", "DetectorName", "Raw", "RawV2", "msg"]
  static let exposedEvent = "AWS_RISK_CREDENTIALS_EXPOSED"

  /// A JSON report's format from its records' fields; throws for JSON none of the readers knows,
  /// naming what each expects, rather than reading it as the wrong tool's and finding nothing.
  static func detectJSON(_ text: String, array: Bool) throws -> Format {
    let whole = Value.parseJSON(text)
    let first: Value?
    if array {
      guard let items = whole?.arrayValue else {
        throw UsageError("--from: the report starts with [ but is not a JSON array")
      }
      guard let item = items.first else { return .gitleaks }
      first = item
    } else {
      // trufflehog writes one object per line, so the whole text parses only for one line or
      // one (possibly pretty-printed) object: an EventBridge event, a DescribeEventDetails answer.
      first = whole ?? text.split(whereSeparator: \.isNewline).first.flatMap { Value.parseJSON(String($0)) }
      guard first != nil else { return .trufflehog }  // its reader names the line that is not JSON
    }
    guard let record = first?.objectValue else { throw unknownFormat("its records are not JSON objects") }
    if array && gitleaksFields.contains(where: { record[$0] != nil }) { return .gitleaks }
    if record["secret_type"] != nil || (record["number"] != nil && record["locations_url"] != nil) {
      return .githubAlerts
    }
    if isHealthRecord(record) { return .awsHealth }
    if !array && trufflehogFields.contains(where: { record[$0] != nil }) { return .trufflehog }
    throw unknownFormat(
      "its first record has none of the fields respond reads (\(record.keys.sorted().prefix(6).joined(separator: ", ")))"
    )
  }

  private static func isHealthRecord(_ record: [String: Value]) -> Bool {
    record["source"]?.stringValue == "aws.health" || record["detail"]?["eventTypeCode"] != nil
      || record["successfulSet"] != nil || record["event"]?["eventTypeCode"] != nil
  }

  private static func unknownFormat(_ why: String) -> UsageError {
    UsageError(
      "--from: not a report respond knows: \(why). It reads gitleaks `detect --report-format json`, trufflehog "
        + "`--json`, GitHub secret-scanning alerts (the JSON GET /repos/{owner}/{repo}/secret-scanning/alerts "
        + "returns), AWS Health AWS_RISK_CREDENTIALS_EXPOSED events (EventBridge or DescribeEventDetails), or "
        + "a plain list with one secret per line")
  }

  // MARK: - GitHub secret-scanning alerts

  /// One alert per secret; `secret` is absent when the token that listed them could not see
  /// secrets (or `hide_secret=true`), and a resolved alert needs no response: both are listed
  /// with their reason instead of run.
  static func readGitHubAlerts(_ text: String, masker: Masker, into harvest: inout Harvest) throws {
    guard let parsed = Value.parseJSON(text) else { throw UsageError("--from: the GitHub alerts are not JSON") }
    let alerts = parsed.arrayValue ?? [parsed]
    for (n, alert) in alerts.enumerated() {
      let source = gitHubAlertSource(alert)
      let display = "GitHub secret-scanning alert \(alert["number"]?.intValue.map { "#\($0)" } ?? "\(n + 1)")"
      guard let secret = nonEmpty(alert["secret"]?.stringValue) else {
        harvest.unhandled.append(
          UnhandledFinding(
            display: display, fingerprint: "-",
            reason: "the alert carries no secret (listed without access to secrets, or with hide_secret=true); "
              + "open it on GitHub", sources: [source]))
        continue
      }
      masker.register(secret)
      if let state = alert["state"]?.stringValue, state != "open" {
        let resolution = alert["resolution"]?.stringValue ?? "unknown"
        harvest.unhandled.append(
          UnhandledFinding(
            display: display, fingerprint: Masker.fingerprint(secret),
            reason: "the alert is \(state) (resolution: \(resolution)); reopen it on GitHub if the secret still works",
            sources: [source]))
        continue
      }
      let oneLine = RunbookInvocation.oneLine(secret)
      masker.register(oneLine)
      harvest.found.append((oneLine, source))
    }
  }

  /// Where the alert says the secret is: the alert's page, the secret type, and the first
  /// location (a commit's path, line and commit, or the issue / pull request / discussion page).
  private static func gitHubAlertSource(_ alert: Value) -> LeakSource {
    let location = alert["first_location_detected"]
    let page = location?.objectValue.flatMap { fields in
      fields.keys.sorted().first { $0 == "html_url" || $0.hasSuffix("_url") && $0 != "blob_url" && $0 != "commit_url" }
        .flatMap { fields[$0]?.stringValue }
    }
    return LeakSource(
      tool: "github-secret-scanning", file: nonEmpty(location?["path"]?.stringValue) ?? nonEmpty(page),
      commit: nonEmpty(location?["commit_sha"]?.stringValue), line: location?["start_line"]?.intValue,
      rule: nonEmpty(alert["secret_type"]?.stringValue),
      verified: alert["validity"]?.stringValue.flatMap { $0 == "active" ? true : $0 == "inactive" ? false : nil },
      url: nonEmpty(alert["html_url"]?.stringValue))
  }

  // MARK: - AWS Health

  /// Every `AWS_RISK_CREDENTIALS_EXPOSED` event names one access key id (`eventMetadata.publicKey`,
  /// else an affected entity or resource, else the description); the key id is what
  /// key-compromised contains. Other Health events are listed, not run.
  static func readAWSHealth(_ text: String, masker: Masker, into harvest: inout Harvest) throws {
    guard let parsed = Value.parseJSON(text) else { throw UsageError("--from: the AWS Health events are not JSON") }
    for (n, event) in healthEvents(parsed).enumerated() {
      let type = event.type ?? "unknown"
      let url = nonEmpty(event.metadata?["exposedUrl"]?.stringValue) ?? exposedURL(in: event.candidates)
      let source = LeakSource(tool: "aws-health", rule: type, url: url)
      guard type == exposedEvent else {
        harvest.unhandled.append(
          UnhandledFinding(
            display: "AWS Health event \(n + 1)", fingerprint: "-",
            reason: "a \(type) event, not \(exposedEvent): no credential to contain", sources: [source]))
        continue
      }
      guard let keyID = exposedKeyID(event) else {
        harvest.unhandled.append(
          UnhandledFinding(
            display: "AWS Health event \(n + 1)", fingerprint: "-",
            reason: "the event names no access key id; open the AWS Support case it refers to", sources: [source]))
        continue
      }
      masker.register(keyID)
      harvest.found.append((keyID, source))
    }
  }

  /// One Health event's parts, whichever way it was delivered.
  private struct HealthEvent {
    var type: String?
    var metadata: Value?
    var candidates: [String]
  }

  /// The events of an EventBridge event, a list of them, or a DescribeEventDetails answer.
  private static func healthEvents(_ parsed: Value) -> [HealthEvent] {
    if let set = parsed["successfulSet"]?.arrayValue {
      return set.map { item in
        HealthEvent(
          type: item["event"]?["eventTypeCode"]?.stringValue, metadata: item["eventMetadata"],
          candidates: [item["eventDescription"]?["latestDescription"]?.stringValue].compactMap { $0 })
      }
    }
    return (parsed.arrayValue ?? [parsed]).map { event in
      let detail = event["detail"] ?? event
      var candidates = (detail["affectedEntities"]?.arrayValue ?? []).compactMap { $0["entityValue"]?.stringValue }
      candidates += (event["resources"]?.arrayValue ?? []).compactMap(\.stringValue)
      candidates += (detail["eventDescription"]?.arrayValue ?? []).compactMap { $0["latestDescription"]?.stringValue }
      return HealthEvent(
        type: detail["eventTypeCode"]?.stringValue, metadata: detail["eventMetadata"], candidates: candidates)
    }
  }

  /// The public URL a description says the key is at (DescribeEventDetails may carry no
  /// `exposedUrl`), skipping AWS's own support links.
  private static func exposedURL(in texts: [String]) -> String? {
    for text in texts {
      for word in text.split(whereSeparator: \.isWhitespace) where word.hasPrefix("https://") {
        let url = String(word).trimmingCharacters(in: CharacterSet(charactersIn: ".,;)"))
        if !(URL(string: url)?.host ?? "").hasSuffix("amazon.com") { return url }
      }
    }
    return nil
  }

  /// The access key id the event names: `publicKey` first, else the first AKIA/ASIA id in an
  /// entity, a resource or the description.
  private static func exposedKeyID(_ event: HealthEvent) -> String? {
    if let key = event.metadata?["publicKey"]?.stringValue, AccessKeyAccount.isAccessKeyID(key) { return key }
    for text in event.candidates {
      for word in text.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
      where AccessKeyAccount.isAccessKeyID(String(word)) {
        return String(word)
      }
    }
    return nil
  }
}
