import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Faults from providers. `Tests/Support/faultproxy.py` sits between respond and moto (respond
/// gets it as AWS_ENDPOINT_URL) and injects, for the next N requests of one operation: 500/503,
/// 429 with Retry-After, a connection reset, an answer that never comes (longer than
/// RESPOND_HTTP_TIMEOUT), a malformed body, a truncated body. A fault that clears within the
/// retries must not stop the run; one that persists must fail it (exit 1) with an error naming
/// the step, the endpoint and the provider's error, and `respond resume` must finish it once the
/// fault has cleared. Every run must end with exactly one new Active key. CloudTrail, which moto
/// lacks, is the emulator's, not behind the proxy: no fault here is CloudTrail's, and against
/// moto's HTTP 500 each run spent seconds retrying its searches (the suite took 195 s, now 110).
@Suite(.serialized) final class ProviderFaultTests {
  let services: TestServices
  let moto: MotoFixture
  let cloudtrail: CloudTrailEmulator
  let out = NSTemporaryDirectory() + "respond-fault-" + UUID().uuidString
  let proxy: FaultProxy
  var proxyURL: String { proxy.url }

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
    proxy = try FaultProxy(services, target: services.motoURL)
  }

  /// respond talks to AWS through the proxy, CloudTrail aside; each HTTP exchange may take at most 1 s.
  var environment: [String: String] {
    var env = cloudtrail.awsEnvironment(endpoint: proxyURL)
    env["RESPOND_HTTP_TIMEOUT"] = "1"
    return env
  }

  // MARK: - Talking to the proxy

  func control(_ path: String, _ body: String? = nil) throws -> Value {
    var args = ["-s", "--max-time", "5", proxyURL + path]
    if let body { args += ["-X", "POST", "-H", "Content-Type: application/json", "--data", body] }
    return Value.parseJSON(try runProgram("/usr/bin/env", ["curl"] + args)) ?? .null
  }

  func script(_ rules: [(match: String, kind: String, count: Int, extra: String)]) throws {
    let items = rules.map { r in
      "{\"match\":\"\(r.match)\",\"kind\":\"\(r.kind)\",\"count\":\(r.count)\(r.extra.isEmpty ? "" : "," + r.extra)}"
    }
    _ = try control("/_fault/script", "[" + items.joined(separator: ",") + "]")
  }

  /// Faults injected since the last reset, by kind.
  func injected() throws -> [String: Int] {
    (try control("/_fault/stats")["injected"]?.objectValue ?? [:]).compactMapValues { $0.numberValue.map { Int($0) } }
  }

  // MARK: - Runs

  func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

  /// The right end state: the leaked key gone, exactly one other key, Active, that authenticates? (the
  /// secret is not stored anywhere in these runs, so: Active and not the leaked one).
  func expectRotated(_ user: String, leaked: String, _ label: String) throws {
    let keys = try moto.keys(of: user)
    #expect(!keys.contains { $0.id == leaked }, "\(label): the leaked key is still there: \(keys)")
    #expect(keys.count == 1 && keys.first?.status == "Active", "\(label): want exactly one new Active key: \(keys)")
  }

  func run(_ key: String) throws -> ProcessOutcome {
    try runRespond(["key-compromised", "--key", key, "--yes", "--out", out], environment: environment, timeout: 180)
  }

  /// The fault kinds, each on an operation where it clears within the AWS client's retries:
  /// read-only calls retry 5xx, resets, timeouts and garbled answers; every call retries throttling.
  static let transient: [(match: String, kind: String, count: Int, extra: String)] = [
    ("ListAccessKeys", "status", 3, "\"status\":503"),
    ("GetAccessKeyLastUsed", "status", 2, "\"status\":500"),
    ("UpdateAccessKey", "throttle", 2, "\"retry_after\":1"),
    ("ListAccessKeys", "reset", 3, ""),
    ("GetCallerIdentity", "hang", 2, "\"seconds\":3"),
    ("ListAccessKeys", "malformed", 2, ""),
    ("ListAccessKeys", "truncated", 3, ""),
  ]

  /// One run per kind, the fault cleared within the retries: the run completes.
  @Test(.timeLimit(.minutes(4))) func faultsThatClearWithinTheRetriesDoNotStopTheRun() throws {
    var survived: [String: Int] = [:]
    for rule in Self.transient {
      _ = try control("/_fault/reset", "")
      let user = unique("fault-\(rule.kind)")
      let leaked = try moto.createUser(user)
      try script([rule])
      let started = Date()
      let o = try run(leaked.id)
      let elapsed = Date().timeIntervalSince(started)
      let label = "\(rule.count)× \(rule.kind) on \(rule.match)"
      #expect(o.status == 0, "\(label): \(o.stderr.suffix(1500))")
      let n = try injected()[rule.kind] ?? 0
      #expect(n == rule.count, "\(label): the proxy injected \(n)")
      if rule.kind == "throttle" { #expect(elapsed >= 2, "\(label): Retry-After: 1 was not honoured (\(elapsed) s)") }
      try expectRotated(user, leaked: leaked.id, label)
      if o.status == 0 { survived[rule.kind, default: 0] += n }
    }
    print("fault-survival (cleared within retries): \(survived.sorted { $0.key < $1.key })")
  }

  /// The fault kinds, each persisting on one step's operation until the test clears it; what the
  /// error must name (the step and the provider's error).
  static let persistent: [(match: String, kind: String, extra: String, step: String, error: String)] = [
    ("ListAccessKeys", "status", "\"status\":503", "verify-inactive", "HTTP 503 ServiceUnavailable"),
    ("CreateAccessKey", "status", "\"status\":500", "create", "HTTP 500 InternalFailure"),
    ("UpdateAccessKey", "throttle", "\"retry_after\":0", "deactivate", "HTTP 429 Throttling"),
    ("GetCallerIdentity", "reset", "", "verify-new-key", "127.0.0.1"),
    ("DeleteAccessKey", "hang", "\"seconds\":3", "delete-leaked", "no answer from"),
    ("GetAccessKeyLastUsed", "malformed", "", "owner", "not XML"),
    ("GetAccessKeyLastUsed", "truncated", "", "owner", "127.0.0.1"),
  ]

  /// One run per kind with the fault persisting: exit 1 naming the step, the endpoint and the
  /// error; then, the fault cleared, `respond resume` finishes it.
  @Test(.timeLimit(.minutes(6))) func aPersistentFaultFailsClearlyAndResumeFinishesOnceItClears() throws {
    var survived: [String: Int] = [:]
    for rule in Self.persistent {
      _ = try control("/_fault/reset", "")
      let user = unique("persist-\(rule.kind)")
      let leaked = try moto.createUser(user)
      try script([(rule.match, rule.kind, -1, rule.extra)])
      let o = try run(leaked.id)
      let label = "\(rule.kind) on \(rule.match)"
      #expect(o.status == 1, "\(label): \(o.stderr.suffix(1500))")
      #expect(
        o.stderr.contains("step '\(rule.step)' failed"),
        "\(label): the error must name the step: \(o.stderr.suffix(800))")
      #expect(
        o.stderr.contains(proxyURL.replacingOccurrences(of: "http://", with: "")),
        "\(label): the error must name the endpoint: \(o.stderr.suffix(800))")
      #expect(o.stderr.contains(rule.error), "\(label): the error must carry '\(rule.error)': \(o.stderr.suffix(800))")
      let dir = (o.lastLine as NSString).deletingLastPathComponent
      let state = try IncidentState.load(journal: dir + "/journal.jsonl")
      #expect(state.stoppedAt == rule.step, "\(label): stopped at \(state.stoppedAt ?? "-")")
      let n = try injected()[rule.kind] ?? 0
      #expect(n >= 1)

      _ = try control("/_fault/reset", "")
      let r = try runRespond(["resume", dir, "--yes"], environment: environment, timeout: 180)
      #expect(r.status == 0, "\(label): resume after the fault cleared: \(r.stderr.suffix(1500))")
      try expectRotated(user, leaked: leaked.id, label)
      if r.status == 0 { survived[rule.kind, default: 0] += n }
    }
    print("fault-survival (persisted, then resumed): \(survived.sorted { $0.key < $1.key })")
  }
}
