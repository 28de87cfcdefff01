import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// The shipped runbook hands report.json to a SIEM through the signed webhook when
/// RESPOND_WEBHOOK_URL is set: a live run against moto, the recording receiver as the SIEM, the
/// signature checked by an independent HMAC (Python's), the payload checked against the report.
@Suite(.serialized) struct SIEMWebhookTests {
  let services: TestServices
  let moto: MotoFixture

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
  }

  func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

  /// What the receiver recorded for exactly `path`.
  func recorded(_ path: String) throws -> [Value] {
    let out = try runProgram(
      "/usr/bin/curl", ["-sS", "--fail", services.receiverURL + "/_control/requests?path=" + path])
    return Value.parseJSON(out)?.arrayValue ?? []
  }

  /// `v1` of `X-Respond-Signature`, recomputed outside Swift: HMAC-SHA256(secret, "<t>." + body).
  func independentSignature(secret: String, t: String, body: Data) throws -> String {
    let script = """
      import base64, hashlib, hmac, sys
      secret, t, body = sys.argv[1], sys.argv[2], base64.b64decode(sys.argv[3])
      print(hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest())
      """
    return try runProgram("/usr/bin/env", ["python3", "-c", script, secret, t, body.base64EncodedString()])
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test func theReportReachesTheSIEMSignedAndMasked() throws {
    let user = unique("siem-owner")
    let leaked = try moto.createUser(user)
    let path = "/" + unique("siem")
    let secret = "whsec_" + UUID().uuidString
    recordTestSecret(secret)
    let out = NSTemporaryDirectory() + "respond-siem-" + UUID().uuidString
    var environment = services.awsEnvironment
    environment["RESPOND_WEBHOOK_URL"] = services.receiverURL + path
    environment["RESPOND_WEBHOOK_SECRET"] = secret
    let o = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", out], environment: environment)
    #expect(o.status == 0, "\(o.stderr)")
    let dir = (o.lastLine as NSString).deletingLastPathComponent
    let incident = (dir as NSString).lastPathComponent

    let requests = try recorded(path)
    #expect(requests.count == 1, "one delivery: \(requests.count)")
    let request = try #require(requests.first)
    #expect(request["method"]?.stringValue == "POST")
    let body = try #require(request["body_b64"]?.stringValue.flatMap { Data(base64Encoded: $0) })
    let header = try #require(request["headers"]?["X-Respond-Signature"]?.stringValue)
    let fields = Dictionary(
      header.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
        .filter { $0.count == 2 }.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
    let t = try #require(fields["t"])
    #expect(fields["v1"] == (try independentSignature(secret: secret, t: t, body: body)))
    #expect(try independentSignature(secret: "another secret", t: t, body: body) != fields["v1"])

    let payload = try #require(Value.parseJSON(body))
    #expect(payload["type"]?.stringValue == "respond.incident-report")
    #expect(payload["incident"]?.stringValue == incident)
    #expect(payload["verdict"]?.stringValue == "CONTAINED")
    #expect(payload["id"]?.stringValue == "\(incident)/siem")
    // The report itself, as report.json holds it: same incident, verdict and leaked-key display.
    let onDisk = try #require(Value.parseJSON(String(contentsOfFile: dir + "/report.json", encoding: .utf8)))
    let sent = try #require(payload["report"])
    for field in ["incident", "runbook", "verdict", "contained-at", "started-at", "facts"] {
      #expect(sent[field] == onDisk[field], "report field \(field)")
    }
    let text = String(decoding: body, as: UTF8.self)
    #expect(!text.contains(leaked.secret) && !text.contains(secret))
    // The delivery is a step like any other: journaled, in the final report.
    let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(report.contains("`siem`"))
  }
}
