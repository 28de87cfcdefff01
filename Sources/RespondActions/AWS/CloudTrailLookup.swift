import Foundation
import RespondCore

/// `aws.cloudtrail.lookup-events`: everything a key did in the last 90 days of CloudTrail event
/// history (management events only). Event history is per region and a key can act in any
/// region enabled for the account, so every region is searched, all at once: each region pages
/// with identical parameters until NextToken is gone, paced on its own at CloudTrail's 2
/// requests per second per region (the shared limiter is keyed by region), so 17 regions take
/// about as long as the slowest one, not the sum.
struct LookupEventsAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.cloudtrail.lookup-events",
      summary: "Find a key's events in CloudTrail event history, in every region at once (LookupEvents, all pages)",
      parameters: [
        ParameterSpec("access-key-id", required: true, "the key to look for"),
        ParameterSpec("start", .string, "ISO-8601 UTC start of the window (default: 90 days before end)"),
        ParameterSpec("end", .string, "ISO-8601 UTC end of the window (default: now)"),
        ParameterSpec(
          "regions", .list,
          "regions to query (list or comma-separated; default: every region enabled for the account, from EC2 DescribeRegions, else the configured region)"
        ),
        eventNamesParameter,
      ],
      outputs: auditOutputs + [
        OutputSpec("regions", "the regions queried"),
        OutputSpec("failed-regions", "regions whose event history could not be read (each a caveat), sorted"),
        OutputSpec(
          "session-keys",
          "temporary key ids (ASIA…) of the sessions the key created (its AssumeRole/GetSessionToken answers), followed"
        ),
        OutputSpec("session-event-count", "events made with those session keys, in the same regions and window"),
        OutputSpec("session-event-names", "distinct event names of those sessions, sorted"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: true),
      permissions: [
        .aws(AWSPermission("cloudtrail", "LookupEvents", mutates: false, purpose: "AuditLogs")),
        .aws(AWSPermission("ec2", "DescribeRegions", mutates: false, purpose: "AuditLogs")),
      ])
  }

  /// CloudTrail LookupEvents' quota: 2 requests per second per account and region.
  static let perSecond: Double = 2
  static let target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"

  func run(_ context: ActionContext) async throws -> ActionResult {
    let key = try context.string("access-key-id")
    let window = try AWSActions.window(context)
    let client = try AWSClient(context)
    var findings = CloudTrailFindings(accessKeyID: key)
    findings.masker = context.masker
    findings.onlyEvents = try onlyEvents(context)
    let (regions, regionCaveats) = try await Self.regions(context, client)
    var caveats = regionCaveats
    let results = await Self.lookUp(key: key, window: window, regions: regions, client: client)
    var failed: [String] = []
    for result in results {
      switch result.outcome {
      case .success(let events):
        for event in events { Self.add(event, to: &findings) }
        if result.truncated {
          caveats.append("\(result.region): stopped after \(auditMaxPages) pages: more events may exist")
        }
      case .failure(let error):
        failed.append(result.region)
        caveats.append("\(result.region): event history not read: \(error)")
      }
    }
    // Every region failing is a failed step (nothing was learnt), with the first region's error.
    if failed.count == results.count, case .failure(let error)? = results.first?.outcome { throw error }
    // The sessions the key minted act under their own temporary key ids: follow them too (the
    // full investigation only; containment's narrow searches ask for event names).
    let sessions = findings.onlyEvents == nil ? Self.sessionKeys(results, of: key) : []
    var followed: CloudTrailFindings?
    if !sessions.isEmpty {
      followed = await Self.follow(
        sessions, window: window, regions: regions, client: client, masker: context.masker, caveats: &caveats)
    }
    caveats.append("CloudTrail event history holds management events only (no data events), per region")
    let endpoints = results.map(\.endpoint).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    let evidence = findings.evidence(
      source: "CloudTrail LookupEvents", endpoint: endpoints.joined(separator: ", "),
      query:
        "LookupAttributes AttributeKey=AccessKeyId, AttributeValue=\(key); regions \(regions.joined(separator: ", "))",
      window: window, caveats: caveats)
    var outputs = findings.outputs
    outputs["session-keys"] = .array(sessions.map { .string($0) })
    outputs["session-event-count"] = .number(Double(followed?.count ?? 0))
    outputs["session-event-names"] = followed?.outputs["event-names"] ?? []
    outputs["regions"] = .array(regions.map { .string($0) })
    outputs["failed-regions"] = .array(failed.sorted().map { .string($0) })
    let named = regions.count <= 3 ? regions.joined(separator: ", ") : "\(regions.count) regions"
    return ActionResult(outputs: outputs, evidence: evidence, summary: findings.summary("CloudTrail (\(named))"))
  }

  // MARK: - Sessions the key created

  /// How many of the key's sessions are followed (each is one more search of every region).
  static let maxSessions = 10
  /// The calls whose answers hand out temporary keys.
  static let mintingEvents: Set<String> = ["AssumeRole", "GetSessionToken", "GetFederationToken"]

  /// The temporary key ids (ASIA…) in the answers of the key's own AssumeRole, GetSessionToken
  /// and GetFederationToken calls (CloudTrail logs the credentials' key id), distinct, in order.
  static func sessionKeys(_ results: [RegionResult], of key: String) -> [String] {
    var found: [String] = []
    for case .success(let events) in results.map(\.outcome) {
      for event in events {
        guard let text = event["CloudTrailEvent"]?.stringValue, let record = Value.parseJSON(text),
          mintingEvents.contains(record["eventName"]?.stringValue ?? ""),
          (record["userIdentity"]?["accessKeyId"]?.stringValue ?? event["AccessKeyId"]?.stringValue) == key,
          let id = record["responseElements"]?["credentials"]?["accessKeyId"]?.stringValue,
          id.hasPrefix("ASIA"), !found.contains(id)
        else { continue }
        found.append(id)
      }
    }
    return found
  }

  /// The sessions' own events, each session searched in every region at once; at most
  /// `maxSessions`, the rest named in a caveat. A region that fails for a session is a caveat.
  static func follow(
    _ sessions: [String], window: (start: Date, end: Date), regions: [String], client: AWSClient, masker: Masker,
    caveats: inout [String]
  ) async -> CloudTrailFindings {
    let followed = Array(sessions.prefix(maxSessions))
    var findings = CloudTrailFindings(accessKeyIDs: followed)
    findings.masker = masker
    for session in followed {
      for result in await lookUp(key: session, window: window, regions: regions, client: client) {
        switch result.outcome {
        case .success(let events): for event in events { add(event, to: &findings) }
        case .failure(let error): caveats.append("\(result.region): session \(session) not read: \(error)")
        }
      }
    }
    caveats.append(
      "the key created \(sessions.count) session(s) (\(sessions.joined(separator: ", "))); "
        + "\(findings.count) event(s) made with them"
        + (findings.count > 0
          ? " (\(findings.outputs["event-names"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? ""))"
          : ""))
    if sessions.count > maxSessions {
      caveats.append(
        "only the first \(maxSessions) sessions were followed; not: \(sessions.dropFirst(maxSessions).joined(separator: ", "))"
      )
    }
    return findings
  }

  // MARK: - Regions

  /// The regions to search: the runbook's, else every region enabled for the account (EC2
  /// DescribeRegions, in the configured region's partition), else, when that is refused, the
  /// configured region alone with a caveat saying what was not searched.
  static func regions(_ context: ActionContext, _ client: AWSClient) async throws -> ([String], [String]) {
    if let given = try AWSActions.stringList(context, "regions"), !given.isEmpty { return (given, []) }
    let home = try client.configuration.region(for: .cloudtrail)
    do {
      let answer = try await client.query(.ec2, "DescribeRegions", [], mutates: false, region: home)
      let enabled = enabledRegions(answer, partitionOf: home)
      guard !enabled.isEmpty else {
        return ([home], ["EC2 DescribeRegions named no region: only \(home) was searched"])
      }
      return (enabled, [])
    } catch {
      return (
        [home],
        [
          "the regions enabled for the account are unknown (EC2 DescribeRegions: \(error)): only \(home) was searched; events in other regions were not"
        ]
      )
    }
  }

  /// The regions of a DescribeRegions answer that are enabled (opt-in not required, or opted in)
  /// and in the same partition as `home` (commercial, China, GovCloud), sorted.
  static func enabledRegions(_ answer: AWSXMLNode, partitionOf home: String) -> [String] {
    func partition(_ region: String) -> String {
      region.hasPrefix("cn-") ? "aws-cn" : region.hasPrefix("us-gov-") ? "aws-us-gov" : "aws"
    }
    let items = answer.descendant("regionInfo")?.children("item") ?? []
    let names = items.compactMap { item -> String? in
      guard let name = item.string("regionName"), !name.isEmpty else { return nil }
      let status = item.string("optInStatus") ?? "opt-in-not-required"
      guard status == "opt-in-not-required" || status == "opted-in" else { return nil }
      return partition(name) == partition(home) ? name : nil
    }
    return Array(Set(names)).sorted()
  }

  // MARK: - Lookup

  /// One region's answer: its events in the order CloudTrail gave them, or why it failed.
  struct RegionResult: Sendable {
    var region: String
    var endpoint: String
    var outcome: Result<[Value], ActionError>
    var truncated = false
  }

  /// Every region at once (a task group), results in the order of `regions` whatever order they
  /// finish in, so the evidence reads the same on every run.
  static func lookUp(key: String, window: (start: Date, end: Date), regions: [String], client: AWSClient) async
    -> [RegionResult]
  {
    await withTaskGroup(of: (Int, RegionResult).self) { group in
      for (index, region) in regions.enumerated() {
        group.addTask { (index, await lookUp(key: key, window: window, region: region, client: client)) }
      }
      var results = [RegionResult?](repeating: nil, count: regions.count)
      for await (index, result) in group { results[index] = result }
      return results.compactMap { $0 }
    }
  }

  /// All pages of one region, paced by the client's limiter for CloudTrail in that region.
  static func lookUp(key: String, window: (start: Date, end: Date), region: String, client: AWSClient) async
    -> RegionResult
  {
    let url = (try? client.configuration.endpoint(for: .cloudtrail, region: region)).map(AWSClient.requestURL)
    var result = RegionResult(region: region, endpoint: url ?? "?", outcome: .success([]))
    var events: [Value] = []
    var token: String?
    var pages = 0
    do {
      repeat {
        var body: [String: Value] = [
          "LookupAttributes": [["AttributeKey": "AccessKeyId", "AttributeValue": .string(key)]],
          "StartTime": .number(window.start.timeIntervalSince1970.rounded(.down)),
          "EndTime": .number(window.end.timeIntervalSince1970.rounded(.up)),
          "MaxResults": 50,
        ]
        if let token { body["NextToken"] = .string(token) }
        let page = try await client.json(
          .cloudtrail, target: target, .object(body), mutates: false, region: region, perSecond: perSecond)
        events += page["Events"]?.arrayValue ?? []
        pages += 1
        let next = page["NextToken"]?.stringValue
        token = (next?.isEmpty ?? true) || next == token ? nil : next
      } while token != nil && pages < auditMaxPages
    } catch let error as ActionError {
      result.outcome = .failure(error)
      return result
    } catch {
      result.outcome = .failure(.failed("\(region): \(error)"))
      return result
    }
    result.outcome = .success(events)
    result.truncated = token != nil
    return result
  }

  /// One LookupEvents event into the findings: its CloudTrailEvent record, with LookupEvents' own
  /// fields (time, name, id, key) standing in for what the record lacks.
  static func add(_ event: Value, to findings: inout CloudTrailFindings) {
    let time =
      event["EventTime"]?.numberValue.map { Date(timeIntervalSince1970: $0) }
      ?? event["EventTime"]?.stringValue.flatMap(ISO8601.parse)
    var record: Value = [:]
    if let text = event["CloudTrailEvent"]?.stringValue {
      if let parsed = Value.parseJSON(text), parsed.objectValue != nil {
        record = parsed
      } else {
        findings.addUnreadable()
      }
    }
    if record["eventID"] == nil, let id = event["EventId"], case .object(var o) = record {
      o["eventID"] = id
      record = .object(o)
    }
    findings.add(
      record: record, fallbackTime: time, fallbackName: event["EventName"]?.stringValue,
      keyField: event["AccessKeyId"]?.stringValue)
  }
}
