import Foundation
import RespondCore

/// What a set of CloudTrail records says about one access key: counts and distinct values for
/// outputs, and evidence (tallies, a bounded sample, caveats) for the report. Both audit-log
/// actions feed it, so the CloudTrail and CloudWatch Logs answers read the same way.
struct CloudTrailFindings {
  /// The key, or "N keys" when several are searched at once (the archive scan).
  let accessKeyID: String
  /// Every key whose records count.
  let keys: Set<String>
  /// Events per key (useful when several keys are searched at once).
  private(set) var perKey: [String: Int] = [:]
  private(set) var count = 0
  /// Registers secret-shaped text found in records (`SecretShapes`); nil only in unit tests.
  var masker: Masker?
  private(set) var firstSeen: Date?
  private(set) var lastSeen: Date?
  private(set) var eventNames: [String: Int] = [:]
  private(set) var sourceIPs: [String: Int] = [:]
  private(set) var userAgents: [String: Int] = [:]
  private(set) var principalARNs: [String: Int] = [:]
  private(set) var roleNames: [String: Int] = [:]
  private(set) var events: [EvidenceEvent] = []
  /// Every event sorted into what it means for the response (secret reads, persistence…).
  private(set) var activity = ActivityClassification()
  /// Records dropped because they belong to another key (the server did not filter).
  private(set) var otherKeys = 0
  /// Messages that were not CloudTrail JSON.
  private(set) var unreadable = 0
  private var seenIDs: Set<String> = []
  /// When set, only events of these names count (the sessions a key minted, for containment).
  var onlyEvents: Set<String>?

  /// How many events the evidence keeps (the newest ones).
  static let sampleSize = 200

  init(accessKeyID: String) {
    self.accessKeyID = accessKeyID
    keys = [accessKeyID]
  }

  /// Findings for several keys at once: a record counts when its key is any of them.
  init(accessKeyIDs: [String]) {
    accessKeyID = accessKeyIDs.count == 1 ? accessKeyIDs[0] : "\(Set(accessKeyIDs).count) keys"
    keys = Set(accessKeyIDs)
  }

  /// Counts a message that could not be read as a CloudTrail record.
  mutating func addUnreadable() { unreadable += 1 }

  /// Adds one CloudTrail record if it belongs to the key. `fallbackTime` is the log event's or
  /// LookupEvents' own time, used when the record has no readable eventTime. `keyField` is the
  /// key id the API reported next to the record (LookupEvents' AccessKeyId), if any.
  mutating func add(record: Value, fallbackTime: Date?, fallbackName: String? = nil, keyField: String? = nil) {
    // Before anything of the record is kept: a secret key the attacker wrote into it is masked.
    if let masker { for secret in SecretShapes.awsSecretAccessKeys(in: record) { masker.register(secret) } }
    let identity = record["userIdentity"]
    let recordKey = identity?["accessKeyId"]?.stringValue
    if let key = recordKey ?? keyField, !keys.contains(key) {
      otherKeys += 1
      return
    }
    if let only = onlyEvents, !only.contains(record["eventName"]?.stringValue ?? fallbackName ?? "") { return }
    if let id = record["eventID"]?.stringValue {
      guard seenIDs.insert(id).inserted else { return }
    }
    count += 1
    perKey[recordKey ?? keyField ?? accessKeyID, default: 0] += 1
    let time = record["eventTime"]?.stringValue.flatMap(ISO8601.parse) ?? fallbackTime
    if let time {
      firstSeen = min(firstSeen ?? time, time)
      lastSeen = max(lastSeen ?? time, time)
    }
    let name = record["eventName"]?.stringValue ?? fallbackName ?? "(unnamed)"
    eventNames[name, default: 0] += 1
    let ip = record["sourceIPAddress"]?.stringValue
    if let ip { sourceIPs[ip, default: 0] += 1 }
    let agent = record["userAgent"]?.stringValue
    if let agent { userAgents[agent, default: 0] += 1 }
    let arn = identity?["arn"]?.stringValue
    if let arn { principalARNs[arn, default: 0] += 1 }
    if let issuer = identity?["sessionContext"]?["sessionIssuer"], issuer["type"]?.stringValue == "Role",
      let role = issuer["userName"]?.stringValue
    {
      roleNames[role, default: 0] += 1
    }
    activity.add(
      CloudTrailClassifier.classify(
        record, fallbackTime: time, fallbackName: name, fallbackID: record["eventID"]?.stringValue))
    if let time {
      var detail: [String] = []
      if let source = record["eventSource"]?.stringValue { detail.append(source) }
      if let arn { detail.append(arn) }
      if let agent { detail.append("agent: \(agent)") }
      if let code = record["errorCode"]?.stringValue { detail.append("error: \(code)") }
      events.append(
        EvidenceEvent(
          time: time, name: name, sourceIP: ip, detail: detail.isEmpty ? nil : detail.joined(separator: "; "),
          id: record["eventID"]?.stringValue, actor: arn, userAgent: agent))
      if events.count > Self.sampleSize * 2 { trimSample() }
    }
  }

  /// Keeps the newest `sampleSize` events, oldest first.
  private mutating func trimSample() {
    events.sort { $0.time < $1.time }
    if events.count > Self.sampleSize { events.removeFirst(events.count - Self.sampleSize) }
  }

  private static func sortedKeys(_ tally: [String: Int]) -> Value {
    .array(tally.keys.sorted().map { .string($0) })
  }

  /// The outputs both audit actions declare.
  var outputs: [String: Value] {
    [
      "event-count": .number(Double(count)),
      "event-names": Self.sortedKeys(eventNames),
      "source-ips": Self.sortedKeys(sourceIPs),
      "user-agents": Self.sortedKeys(userAgents),
      "first-seen": AWSActions.value(firstSeen),
      "last-seen": AWSActions.value(lastSeen),
      "principal-arns": Self.sortedKeys(principalARNs),
      "role-names": Self.sortedKeys(roleNames),
      "activity": activity.value,
      "assumed-roles": .array(activity.assumedRoles.map { .string($0) }),
    ]
  }

  /// The evidence, with its provenance.
  func evidence(source: String, endpoint: String, query: String, window: (start: Date, end: Date), caveats: [String])
    -> Evidence
  {
    var all = caveats
    if otherKeys > 0 {
      all.append(
        "\(otherKeys) record(s) returned by the server belonged to other keys and were discarded (checked userIdentity.accessKeyId)"
      )
    }
    if unreadable > 0 { all.append("\(unreadable) message(s) were not CloudTrail JSON and were skipped") }
    var sample = self
    sample.trimSample()
    if count > sample.events.count {
      all.append(
        "the evidence keeps the newest \(sample.events.count) of \(count) events; the tallies count all of them")
    }
    var tallies: [String: [String: Int]] = [
      "event names": eventNames, "source IPs": sourceIPs, "user agents": userAgents,
    ]
    if !principalARNs.isEmpty { tallies["principal ARNs"] = principalARNs }
    if !roleNames.isEmpty { tallies["role names"] = roleNames }
    return Evidence(
      source: source, endpoint: endpoint, query: query, windowStart: window.start, windowEnd: window.end,
      eventCount: count, firstSeen: firstSeen, lastSeen: lastSeen, tallies: tallies, events: sample.events,
      caveats: all)
  }

  /// "12 events (ConsoleLogin, ListBuckets…) from 2 IPs, 2026-…–2026-…"
  func summary(_ where: String) -> String {
    guard count > 0 else { return "no events for \(accessKeyID) in \(`where`)" }
    let names = eventNames.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(3)
      .map(\.key).joined(separator: ", ")
    var s = "\(count) event(s) for \(accessKeyID) in \(`where`) (\(names)) from \(sourceIPs.count) source IP(s)"
    if let firstSeen, let lastSeen { s += ", \(ISO8601.string(firstSeen)) to \(ISO8601.string(lastSeen))" }
    return s
  }
}

/// The outputs both audit-log actions declare.
let auditOutputs: [OutputSpec] = [
  OutputSpec("event-count", "events made with the key"),
  OutputSpec("event-names", "distinct event names, sorted"),
  OutputSpec("source-ips", "distinct source IP addresses, sorted"),
  OutputSpec("user-agents", "distinct user agents, sorted"),
  OutputSpec("first-seen", "ISO-8601 UTC time of the first event, null if none"),
  OutputSpec("last-seen", "ISO-8601 UTC time of the last event, null if none"),
  OutputSpec("principal-arns", "distinct caller ARNs, sorted"),
  OutputSpec("role-names", "roles whose sessions used the key (session issuer of type Role)"),
  OutputSpec(
    "activity",
    "the events classified: secret-reads, persistence, defence-evasion, compute, other (lists) and counts"),
  OutputSpec("assumed-roles", "ARNs of the roles the key assumed (AssumeRole that succeeded), sorted"),
]

/// The `event-names` parameter the audit actions share: only these events count.
let eventNamesParameter = ParameterSpec(
  "event-names", .list,
  "only count events of these names (e.g. AssumeRole, GetSessionToken: the sessions a key minted)")

/// The set of event names to keep, from the `event-names` parameter; nil keeps all.
/// Names are checked to be plain identifiers: they go into a CloudWatch Logs filter pattern.
func onlyEvents(_ context: ActionContext) throws -> Set<String>? {
  guard let names = try AWSActions.stringList(context, "event-names") else { return nil }
  for name in names where name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
    throw ActionError.badParameter(name: "event-names", reason: "'\(name)' is not an event name (letters and digits)")
  }
  return Set(names)
}

/// How many pages an audit query reads before stopping with a caveat.
let auditMaxPages = 1000

// MARK: - CloudWatch Logs

/// `aws.logs.filter-log-events`: everything a key did, from CloudTrail events delivered to a
/// CloudWatch Logs group. The JSON filter pattern narrows the search server-side; every message
/// is then parsed and checked again (some servers ignore filter patterns), so only records whose
/// `userIdentity.accessKeyId` is the key are counted.
struct FilterLogEventsAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.logs.filter-log-events",
      summary: "Find a key's CloudTrail events in a CloudWatch Logs group (FilterLogEvents, all pages)",
      parameters: [
        ParameterSpec("log-group", required: true, "the log group CloudTrail delivers to"),
        ParameterSpec("access-key-id", required: true, "the key to look for"),
        ParameterSpec("start", .string, "ISO-8601 UTC start of the window (default: 90 days before end)"),
        ParameterSpec("end", .string, "ISO-8601 UTC end of the window (default: now)"),
        ParameterSpec("region", .string, "the log group's region (default: the configured region)"),
        eventNamesParameter,
      ],
      outputs: auditOutputs, mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: true),
      permissions: [
        .aws(
          AWSPermission(
            "logs", "FilterLogEvents", resource: IAMResources.logGroup, mutates: false, purpose: "AuditLogs"))
      ])
  }

  /// CloudWatch Logs' FilterLogEvents quota: 5 requests per second per account and region.
  static let perSecond: Double = 5

  static func filterPattern(_ key: String, only names: Set<String>? = nil) -> String {
    guard let names, !names.isEmpty else { return "{ $.userIdentity.accessKeyId = \"\(key)\" }" }
    let any = names.sorted().map { "($.eventName = \"\($0)\")" }.joined(separator: " || ")
    return "{ ($.userIdentity.accessKeyId = \"\(key)\") && (\(any)) }"
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let group = try context.string("log-group")
    let key = try context.string("access-key-id")
    let window = try AWSActions.window(context)
    let client = try AWSClient(context)
    let region = context.optionalString("region")
    let endpoint = try client.configuration.endpoint(for: .logs, region: region)
    let only = try onlyEvents(context)
    let pattern = Self.filterPattern(key, only: only)
    var findings = CloudTrailFindings(accessKeyID: key)
    findings.masker = context.masker
    findings.onlyEvents = only
    var caveats: [String] = []
    var token: String?
    var pages = 0
    repeat {
      var body: [String: Value] = [
        "logGroupName": .string(group), "filterPattern": .string(pattern),
        "startTime": .number((window.start.timeIntervalSince1970 * 1000).rounded(.down)),
        "endTime": .number((window.end.timeIntervalSince1970 * 1000).rounded(.up)),
      ]
      if let token { body["nextToken"] = .string(token) }
      let page = try await client.json(
        .logs, target: "Logs_20140328.FilterLogEvents", .object(body), mutates: false, region: region,
        perSecond: Self.perSecond)
      for event in page["events"]?.arrayValue ?? [] {
        let stamp = event["timestamp"]?.numberValue.map { Date(timeIntervalSince1970: $0 / 1000) }
        guard let message = event["message"]?.stringValue, let record = Value.parseJSON(message),
          record.objectValue != nil
        else {
          findings.addUnreadable()
          continue
        }
        findings.add(record: record, fallbackTime: stamp)
      }
      pages += 1
      let next = page["nextToken"]?.stringValue
      token = (next?.isEmpty ?? true) || next == token ? nil : next
    } while token != nil && pages < auditMaxPages
    if token != nil { caveats.append("stopped after \(auditMaxPages) pages: more events may exist") }
    let evidence = findings.evidence(
      source: "CloudWatch Logs FilterLogEvents", endpoint: AWSClient.requestURL(endpoint),
      query: "log group \(group), filter pattern \(pattern)", window: window, caveats: caveats)
    return ActionResult(
      outputs: findings.outputs, evidence: evidence, summary: findings.summary("log group \(group)"))
  }
}
