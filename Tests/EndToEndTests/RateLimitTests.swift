import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Provider rate limits hold while respond pages through many results. The recording receiver
/// stands in for CloudTrail (LookupEvents, 2 requests per second per account and region) and
/// CloudWatch Logs (FilterLogEvents, 5 per second, hard), answering every request with a page
/// and a next token; it stamps each request's arrival. `respond key-compromised --dry-run` runs the
/// real investigate steps against it (IAM stays at moto). No sliding one-second window may hold
/// more requests than the documented limit. respond paces these two operations evenly (a token
/// bucket holding one request), so with `n` the limit, request `i+n` arrives at least one second
/// after request `i`; a 50 ms allowance covers scheduling jitter between respond's clock and the
/// receiver's. Without the limiter the pages arrive milliseconds apart, and with a burst of a
/// second's worth the first window holds twice the limit: either fails.
@Suite(.serialized) struct RateLimitTests {
  let services: TestServices
  let moto: MotoFixture

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
  }

  func curl(_ args: [String]) throws -> String {
    try runProgram("/usr/bin/curl", ["-sS", "--fail", "--max-time", "10"] + args)
  }

  func script(_ path: String, _ responses: [Value]) throws {
    let spec: Value = ["path": .string(path), "responses": .array(responses)]
    _ = try curl(["-X", "POST", "--data-binary", spec.jsonString(), services.receiverURL + "/_control/script"])
  }

  func arrivals(_ path: String) throws -> [Double] {
    let q = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path
    let list = Value.parseJSON(try curl([services.receiverURL + "/_control/requests?path=" + q]))?.arrayValue ?? []
    return list.compactMap { $0["time"]?.numberValue }.sorted()
  }

  /// The most requests in any window [t, t + 1 s - allowance) starting at an arrival.
  static func busiestSecond(_ times: [Double], allowance: Double = 0.05) -> Int {
    var best = 0
    for (i, t) in times.enumerated() {
      best = max(best, times[i...].prefix { $0 < t + 1.0 - allowance }.count)
    }
    return best
  }

  func json(_ v: Value) -> Value {
    ["status": 200, "headers": ["Content-Type": "application/x-amz-json-1.1"], "body": .string(v.jsonString())]
  }

  @Test(.timeLimit(.minutes(2))) func pagingThroughCloudTrailAndLogsKeepsTheDocumentedRates() throws {
    let id = UUID().uuidString.prefix(8).lowercased()
    let user = "ratelimit-\(id)"
    let leaked = try moto.createUser(user)
    let trailPath = "/ratelimit-\(id)/cloudtrail"
    let logsPath = "/ratelimit-\(id)/logs"

    // CloudTrail: 12 pages, two events of the key on each.
    let trailPages = 12
    var trail: [Value] = []
    for p in 0..<trailPages {
      let events: [Value] = (0..<2).map { e in
        let eid = "ct-\(p)-\(e)"
        let record: Value = [
          "eventID": .string(eid), "eventName": "ListBuckets", "eventTime": "2026-11-20T10:00:00Z",
          "eventSource": "s3.amazonaws.com", "sourceIPAddress": "203.0.113.7",
          "userIdentity": ["accessKeyId": .string(leaked.id)],
        ]
        return [
          "EventId": .string(eid), "EventName": "ListBuckets", "EventTime": 1_795_000_000,
          "AccessKeyId": .string(leaked.id), "CloudTrailEvent": .string(record.jsonString()),
        ]
      }
      var page: [String: Value] = ["Events": .array(events)]
      if p < trailPages - 1 { page["NextToken"] = .string("trail-page-\(p + 1)") }
      trail.append(json(.object(page)))
    }
    // Containment pages through the key's events once for the roles it assumed (minted-cloudtrail,
    // minted-logs), and the investigation once more for everything: each source is scripted twice.
    try script(trailPath, trail + trail)

    // CloudWatch Logs: 16 pages, one event of the key on each.
    let logPages = 16
    var logs: [Value] = []
    for p in 0..<logPages {
      let record: Value = [
        "eventID": .string("log-\(p)"), "eventName": "GetObject", "eventTime": "2026-11-20T11:00:00Z",
        "eventSource": "s3.amazonaws.com", "sourceIPAddress": "203.0.113.8",
        "userIdentity": ["accessKeyId": .string(leaked.id)],
      ]
      var page: [String: Value] = [
        "events": [
          [
            "logStreamName": "s", "timestamp": 1_795_000_000_000, "message": .string(record.jsonString()),
            "eventId": .string("log-\(p)"),
          ]
        ],
        "searchedLogStreams": [],
      ]
      if p < logPages - 1 { page["nextToken"] = .string("logs-page-\(p + 1)") }
      logs.append(json(.object(page)))
    }
    try script(logsPath, logs + logs)

    // The account has one region enabled (EC2 DescribeRegions), so every scripted page is read
    // by one region's lookup, paced by that region's limiter.
    let regionsPath = "/ratelimit-\(id)/ec2"
    let regions =
      "<DescribeRegionsResponse><requestId>r</requestId><regionInfo><item><regionName>us-east-1</regionName>"
      + "<regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus>"
      + "</item></regionInfo></DescribeRegionsResponse>"
    let spec: Value = ["path": .string(regionsPath), "default": ["status": 200, "body": .string(regions)]]
    _ = try curl(["-X", "POST", "--data-binary", spec.jsonString(), services.receiverURL + "/_control/script"])

    var env = services.awsEnvironment
    env["AWS_ENDPOINT_URL_EC2"] = services.receiverURL + regionsPath
    env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = services.receiverURL + trailPath
    env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = services.receiverURL + logsPath
    let out = NSTemporaryDirectory() + "respond-ratelimit-" + UUID().uuidString
    defer { removeTestOutput(out) }
    let o = try runRespond(
      [
        "key-compromised", "--key", leaked.id, "--log-group", "trail-\(id)", "--dry-run", "--out", out,
        "--runbooks", TestServices.repositoryRoot() + "/Runbooks",
      ],
      environment: env, timeout: 120)
    #expect(o.status == 0, "\(o.stderr.suffix(1500))")
    let state = try IncidentState.load(journal: (o.lastLine as NSString).deletingLastPathComponent + "/journal.jsonl")
    #expect(
      state.steps["cloudtrail"]?.outputs["event-count"] == .number(Double(trailPages * 2)),
      "every CloudTrail page was read: \(String(describing: state.steps["cloudtrail"]?.outputs))")
    #expect(
      state.steps["logs"]?.outputs["event-count"] == .number(Double(logPages)),
      "every Logs page was read: \(String(describing: state.steps["logs"]?.outputs))")

    // The key assumed no role: containment found none, and read every page to know it.
    #expect(state.steps["minted-cloudtrail"]?.outputs["event-count"] == 0)
    #expect(state.steps["minted-cloudtrail"]?.outputs["assumed-roles"] == [])
    #expect(state.steps["minted-logs"]?.outputs["event-count"] == 0)

    let trailTimes = try arrivals(trailPath)
    let logTimes = try arrivals(logsPath)
    #expect(trailTimes.count == 2 * trailPages)
    #expect(logTimes.count == 2 * logPages)
    let trailPeak = Self.busiestSecond(trailTimes)
    let logPeak = Self.busiestSecond(logTimes)
    #expect(trailPeak <= 2, "CloudTrail LookupEvents: \(trailPeak) requests within one second (limit 2)")
    #expect(logPeak <= 5, "CloudWatch Logs FilterLogEvents: \(logPeak) requests within one second (limit 5)")
    // Reported, not asserted (no speed assertions): the rate the pages settled at.
    let trailRate = Double(trailTimes.count - 1) / ((trailTimes.last ?? 0) - (trailTimes.first ?? 0))
    let logRate = Double(logTimes.count - 1) / ((logTimes.last ?? 0) - (logTimes.first ?? 0))
    print(
      String(
        format: "rate-limit: CloudTrail %d pages, %.2f req/s, busiest second %d; "
          + "Logs %d pages, %.2f req/s, busiest second %d",
        trailTimes.count, trailRate, trailPeak, logTimes.count, logRate, logPeak))
  }
}
