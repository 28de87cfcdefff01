import Foundation
import RespondCore

#if canImport(Glibc)
  import Glibc
#endif

/// `Tests/Support/cloudtrail_emulator.py` in front of moto: CloudTrail LookupEvents (which moto
/// lacks) answered from loaded events, checked against botocore's model, 2 requests per second
/// per region, every request recorded. Started per test; stopped when the fixture goes away.
package final class CloudTrailEmulator: @unchecked Sendable {
  package let url: String
  let services: TestServices
  let process: Process
  let directory: String

  /// One LookupEvents the emulator was asked for.
  package struct Request: Sendable {
    package var region: String
    package var start: Double
    package var end: Double
    package var status: Int
    package var error: String?
    package var problems: [String]
    package var params: Value
  }

  /// Starts the emulator (extra arguments: `--latency-ms 80`, `--rate 2`); waits for its port.
  package init(_ services: TestServices, arguments: [String] = []) throws {
    self.services = services
    directory = NSTemporaryDirectory() + "respond-cloudtrail-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    (process, url) = try startLocalServer(
      services.repoRoot + "/Tests/Support/cloudtrail_emulator.py",
      ["--upstream", services.motoURL, "--port", "0"] + arguments, quietErrors: true)
  }

  /// What an end-to-end suite hands a `respond` it runs against moto: the admin key
  /// (`TestServices.awsEnvironment`), OpenBao's address and token when `vault`, AWS at `endpoint`
  /// when a proxy sits in front of moto, and CloudTrail's LookupEvents here. moto answers them
  /// with HTTP 500, and a run then spent about 7 s retrying its two searches in 20 regions.
  package func awsEnvironment(vault: Bool = false, endpoint: String? = nil) -> [String: String] {
    var env = services.awsEnvironment
    if vault { env.merge(services.vaultEnvironment) { a, _ in a } }
    if let endpoint { env["AWS_ENDPOINT_URL"] = endpoint }
    env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = url
    return env
  }

  deinit {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    try? FileManager.default.removeItem(atPath: directory)
  }

  private func post(_ path: String, _ body: Value) throws {
    let file = directory + "/\(UUID().uuidString).json"
    try body.jsonString().write(toFile: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: file) }
    _ = try runProgram(
      "/usr/bin/curl", ["-sS", "--fail", "--noproxy", "*", "-X", "POST", "--data-binary", "@" + file, url + path])
  }

  /// Adds CloudTrail records (as CloudTrail writes them) to a region's event history.
  package func load(region: String, records: [Value]) throws {
    try post("/_ct/events", ["region": .string(region), "records": .array(records)])
  }

  /// Serves the records of a CloudWatch Logs group (what `MotoFixture.trail` and `attack`
  /// wrote) as the region's event history too: the same events in both audit sources.
  package func load(region: String, logGroup: String) throws {
    let text = try runProgram(
      "/usr/bin/env",
      ["python3", services.repoRoot + "/Tests/Support/moto_fixture.py", "trail-records", services.motoURL, logGroup],
      environment: [
        "RESPOND_TEST_AWS_ACCESS_KEY_ID": services.awsAccessKeyID,
        "RESPOND_TEST_AWS_SECRET_ACCESS_KEY": services.awsSecretAccessKey,
      ])
    try load(region: region, records: Value.parseJSON(text)?.arrayValue ?? [])
  }

  /// Forgets every event, request and throttle.
  package func reset() throws { try post("/_ct/reset", [:]) }

  /// The next `count` requests in `region` are throttled whatever the rate.
  package func throttle(region: String, count: Int) throws {
    try post("/_ct/throttle", ["region": .string(region), "count": .number(Double(count))])
  }

  /// Every LookupEvents asked so far, in arrival order.
  package func requests() throws -> [Request] {
    let text = try runProgram("/usr/bin/curl", ["-sS", "--fail", "--noproxy", "*", url + "/_ct/requests"])
    return (Value.parseJSON(text)?.arrayValue ?? []).map { r in
      Request(
        region: r["region"]?.stringValue ?? "", start: r["start"]?.numberValue ?? 0, end: r["end"]?.numberValue ?? 0,
        status: r["status"]?.intValue ?? 0, error: r["error"]?.stringValue,
        problems: r["problems"]?.arrayValue?.compactMap(\.stringValue) ?? [], params: r["params"] ?? .null)
    }.sorted { $0.start < $1.start }
  }

  /// The most requests of one region within any window [t, t + 1 s − allowance) starting at an
  /// arrival (throttled ones included: they were sent too).
  package static func busiestSecond(_ times: [Double], allowance: Double = 0.05) -> Int {
    let sorted = times.sorted()
    var best = 0
    for (i, t) in sorted.enumerated() {
      best = max(best, sorted[i...].prefix { $0 < t + 1.0 - allowance }.count)
    }
    return best
  }
}
