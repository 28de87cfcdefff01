import Foundation
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

@testable import RespondActions

/// Issue 16 item 3: `aws.cloudtrail.lookup-events` searches every region at once, each region
/// within CloudTrail's 2 requests per second, against `Tests/Support/cloudtrail_emulator.py`
/// (LookupEvents in front of moto, requests and answers checked against botocore's CloudTrail
/// model, 2 requests per second per region enforced, every request's time recorded).
@Suite(.serialized) struct CloudTrailRegionsTests {
  let services: TestServices
  let emulator: CloudTrailEmulator
  static let key = "AKIAREGIONSTESTKEY01"

  init() throws {
    services = try TestServices.load()
    emulator = try CloudTrailEmulator(services)
  }

  /// CloudTrail at the emulator; everything else (EC2 DescribeRegions among it) at moto.
  var env: [String: String] {
    var e = services.awsEnvironment
    e["HOME"] = NSTemporaryDirectory()
    e["AWS_ENDPOINT_URL_CLOUDTRAIL"] = emulator.url
    return e
  }

  func run(_ parameters: [String: Value], env: [String: String]? = nil) async throws -> ActionResult {
    let context = ActionContext(
      stepID: "cloudtrail", parameters: parameters, environment: env ?? self.env, transport: CurlTransport(),
      masker: Masker(),
      incident: IncidentInfo(
        id: "regions-\(UUID().uuidString.prefix(8))", runbook: "key-compromised", startedAt: Date(), mode: .live,
        directory: "/tmp"))
    return try await AWSRetryPolicy.$current.withValue(.fast) { try await LookupEventsAction().run(context) }
  }

  /// `count` records of `key` in `region`, a minute apart, ending a minute ago.
  static func records(_ region: String, key: String = key, count: Int, name: String = "ListUsers") -> [Value] {
    let now = Date()
    return (0..<count).map { i in
      [
        "eventID": .string("\(region)-\(key.suffix(4))-\(i)"), "eventName": .string(name),
        "eventTime": .string(ISO8601.string(now.addingTimeInterval(-60 * Double(i + 1)))),
        "eventSource": "iam.amazonaws.com", "awsRegion": .string(region), "sourceIPAddress": "203.0.113.9",
        "userIdentity": ["type": "IAMUser", "accessKeyId": .string(key), "userName": "ci"],
      ]
    }
  }

  /// Four regions of three pages each (120 events at 50 a page): all four regions are being read
  /// at the same moment (each region's first request comes before any region's last answer), and
  /// no region ever sees more than 2 requests within a second. Sequential regions fail the first;
  /// a missing limiter the second (and the emulator would throttle it).
  @Test(.timeLimit(.minutes(2))) func regionsAreReadAtOnceEachWithinTwoRequestsPerSecond() async throws {
    let regions = ["eu-west-1", "us-east-1", "ap-southeast-2", "sa-east-1"]
    for region in regions {
      try emulator.load(region: region, records: Self.records(region, count: 120))
      try emulator.load(region: region, records: Self.records(region, key: "AKIAOTHERKEYOTHERKEY", count: 3))
    }
    let result = try await run(["access-key-id": .string(Self.key), "regions": .array(regions.map { .string($0) })])
    #expect(result.outputs["event-count"] == .number(480))
    #expect(result.outputs["regions"] == .array(regions.map { .string($0) }), "the given order, kept")
    #expect(result.outputs["failed-regions"] == [])

    let requests = try emulator.requests()
    #expect(requests.allSatisfy { $0.problems.isEmpty }, "\(requests.flatMap(\.problems))")
    var spans: [String: (first: Double, last: Double)] = [:]
    for region in regions {
      let mine = requests.filter { $0.region == region }
      #expect(mine.filter { $0.status == 200 }.count == 3, "\(region): three pages")
      #expect(mine.allSatisfy { $0.status == 200 }, "\(region) was throttled: \(mine.compactMap(\.error))")
      let peak = CloudTrailEmulator.busiestSecond(mine.map(\.start))
      #expect(peak <= 2, "\(region): \(peak) requests within one second (CloudTrail allows 2)")
      // Pages 2 and 3 carry the token of the page before.
      #expect(mine.dropFirst().allSatisfy { $0.params["NextToken"]?.stringValue != nil })
      spans[region] = (mine.map(\.start).min() ?? 0, mine.map(\.end).max() ?? 0)
    }
    let latestFirst = spans.values.map(\.first).max() ?? 0
    let earliestLast = spans.values.map(\.last).min() ?? 0
    #expect(
      latestFirst < earliestLast,
      "the regions did not overlap: the last region began \(latestFirst - earliestLast) s after the first ended")
  }

  /// A region that answers ThrottlingException is retried (after the limiter slows down) and its
  /// events count; the other region is unaffected.
  @Test func aThrottledRegionIsRetried() async throws {
    try emulator.load(region: "eu-central-1", records: Self.records("eu-central-1", count: 4))
    try emulator.load(region: "us-west-2", records: Self.records("us-west-2", count: 2))
    try emulator.throttle(region: "eu-central-1", count: 2)
    let result = try await run(["access-key-id": .string(Self.key), "regions": "eu-central-1,us-west-2"])
    #expect(result.outputs["event-count"] == .number(6))
    let central = try emulator.requests().filter { $0.region == "eu-central-1" }
    #expect(central.map(\.status) == [400, 400, 200])
    #expect(central.prefix(2).allSatisfy { $0.error == "ThrottlingException" })
  }

  /// The request respond sends is accepted by botocore's CloudTrail model, checked again here
  /// outside the emulator; a request with a wrong parameter is refused by the same check, so the
  /// check can fail.
  @Test func theRequestConformsToBotocoresModelAndAWrongOneIsRefused() async throws {
    _ = try await run(["access-key-id": .string(Self.key), "regions": "us-east-2"])
    let sent = try #require(try emulator.requests().first?.params)
    let model = services.repoRoot + "/Tests/Support/botocore_model.py"
    let verdict = try runProgram(
      "/usr/bin/env", ["python3", model, "check-json-request", "cloudtrail", "LookupEvents", sent.jsonString()])
    #expect(verdict == "ok")
    #expect(sent["MaxResults"] == 50)

    let client = try AWSClient(
      ActionContext(
        stepID: "s", parameters: [:], environment: env, transport: CurlTransport(), masker: Masker(),
        incident: IncidentInfo(id: "i", runbook: "r", startedAt: Date(), mode: .live, directory: "/tmp")))
    let wrong: Value = [
      "LookupAttributes": [["AttributeKey": "AccessKey", "AttributeValue": .string(Self.key)]], "MaxResults": 51,
    ]
    await #expect(throws: ActionError.self) {
      _ = try await client.json(
        .cloudtrail, target: LookupEventsAction.target, wrong, mutates: false, region: "us-east-2")
    }
    let refused = try #require(try emulator.requests().last)
    #expect(refused.status == 400 && refused.error == "ValidationException")
    #expect(refused.problems.contains { $0.contains("'AccessKey' is not one of") })
    #expect(refused.problems.contains { $0.contains("51 outside 1..50") })
  }

  /// With no regions given, every region enabled for the account (EC2 DescribeRegions, moto's
  /// answer) in the configured region's partition is searched, and events far from the
  /// configured region are found.
  @Test(.timeLimit(.minutes(2))) func noRegionsGivenMeansEveryEnabledRegion() async throws {
    try emulator.load(region: "ap-northeast-3", records: Self.records("ap-northeast-3", count: 2))
    let result = try await run(["access-key-id": .string(Self.key)])
    let regions = result.outputs["regions"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(regions.count > 17, "\(regions)")
    #expect(regions.contains("us-east-1") && regions.contains("ap-northeast-3"))
    #expect(!regions.contains { $0.hasPrefix("cn-") || $0.hasPrefix("us-gov-") }, "another partition")
    #expect(result.outputs["event-count"] == 2)
    #expect(Set(try emulator.requests().map(\.region)) == Set(regions))
  }

  /// The key's AssumeRole answer names a temporary key (ASIA…): its events, in another region,
  /// are looked up too and reported as the session's; a narrow containment search (event names
  /// given) does not follow.
  @Test func theSessionsTheKeyCreatedAreFollowed() async throws {
    let session = "ASIAREGIONSSESSION01"
    var assume = Self.records("us-east-1", count: 1, name: "AssumeRole")[0].objectValue!
    assume["responseElements"] = ["credentials": ["accessKeyId": .string(session), "expiration": "x"]]
    try emulator.load(region: "us-east-1", records: [.object(assume)])
    try emulator.load(
      region: "eu-west-1", records: Self.records("eu-west-1", key: session, count: 3, name: "GetObject"))
    let regions: Value = "us-east-1,eu-west-1"
    let result = try await run(["access-key-id": .string(Self.key), "regions": regions])
    #expect(result.outputs["event-count"] == 1)
    #expect(result.outputs["session-keys"] == [.string(session)])
    #expect(result.outputs["session-event-count"] == 3)
    #expect(result.outputs["session-event-names"] == ["GetObject"])
    #expect(result.evidence?.caveats.contains { $0.contains("created 1 session(s) (\(session))") } == true)
    #expect(
      Set(try emulator.requests().compactMap { $0.params.pointer("/LookupAttributes/0/AttributeValue")?.stringValue })
        .count == 2)

    let narrow = try await run(["access-key-id": .string(Self.key), "regions": regions, "event-names": ["AssumeRole"]])
    #expect(narrow.outputs["session-keys"] == [])
  }

  /// DescribeRegions refused: the configured region alone, with a caveat naming what was not
  /// searched.
  @Test func aRefusedDescribeRegionsFallsBackToTheConfiguredRegion() async throws {
    let path = "/ec2-refused-\(UUID().uuidString.prefix(8))"
    let refusal =
      "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r</RequestID></Response>"
    let spec: Value = ["path": .string(path), "default": ["status": 403, "body": .string(refusal)]]
    _ = try runProgram(
      "/usr/bin/curl",
      ["-sS", "--fail", "-X", "POST", "--data-binary", spec.jsonString(), services.receiverURL + "/_control/script"])
    try emulator.load(region: "us-east-1", records: Self.records("us-east-1", count: 1))
    var env = self.env
    env["AWS_ENDPOINT_URL_EC2"] = services.receiverURL + path
    let result = try await run(["access-key-id": .string(Self.key)], env: env)
    #expect(result.outputs["regions"] == ["us-east-1"])
    #expect(result.outputs["event-count"] == 1)
    let caveats = result.evidence?.caveats ?? []
    #expect(caveats.contains { $0.contains("UnauthorizedOperation") && $0.contains("only us-east-1 was searched") })
  }
}
