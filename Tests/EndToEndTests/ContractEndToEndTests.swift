import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond key-compromised` on a leaked Twilio API key SID, as the built executable, against the
/// receiver checking every request against Twilio's own OpenAPI description (issue 15 item 4): the
/// key is deleted, looked up again, and the incident is CONTAINED without a manual step; the
/// account's auth token appears in no output.
@Suite struct ContractEndToEndTests {
  static let accountSID = "AC" + String(repeating: "1c", count: 16)

  /// A random `n` hex digits.
  static func hex(_ n: Int) -> String { String((0..<n).map { _ in "0123456789abcdef".randomElement()! }) }

  static func post(_ url: String, _ body: Value) throws {
    _ = try runProgram("/usr/bin/curl", ["-sS", "--fail", "-X", "POST", "--data-binary", body.jsonString(), url])
  }

  @Test func aLeakedTwilioKeyIsDeletedThroughTwiliosPublishedAPI() throws {
    let services = try TestServices.load()
    let prefix = "/twilio-\(UUID().uuidString.prefix(8).lowercased())"
    let keySID = "SK" + Self.hex(32)
    let authToken = Self.hex(32)
    // Not added to the secrets scan's manifest: the receiver stands in for Twilio, which must
    // receive it (in Basic auth); the incident's own outputs are checked below.
    let path = "\(prefix)/2010-04-01/Accounts/\(Self.accountSID)/Keys/\(keySID).json"
    try Self.post(services.receiverURL + "/_control/contract", ["prefix": .string(prefix), "spec": "twilio.json"])
    try Self.post(
      services.receiverURL + "/_control/script",
      [
        "path": .string(path),
        "responses": [
          ["status": 204, "body": ""], ["status": 404, "body": ["code": 20404, "message": "not found"]],
        ],
      ])
    let out = NSTemporaryDirectory() + "respond-contract-" + UUID().uuidString
    let home = out + "-home"
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    defer {
      removeTestOutput(out)
      removeTestOutput(home)
    }
    let o = try runRespond(
      [
        "key-compromised", "--key", keySID, "--yes", "--runbooks", TestServices.repositoryRoot() + "/Runbooks",
        "--out", out,
      ],
      environment: [
        "HOME": home, "TWILIO_API_URL": services.receiverURL + prefix, "TWILIO_ACCOUNT_SID": Self.accountSID,
        "TWILIO_AUTH_TOKEN": authToken,
      ])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("LIVE: CONTAINED"))

    let sent = Value.parseJSON(
      try runProgram("/usr/bin/curl", ["-sS", "--fail", services.receiverURL + "/_control/requests?path=" + path]))
    let requests = sent?.arrayValue ?? []
    #expect(requests.map { $0["method"]?.stringValue ?? "" } == ["DELETE", "GET"])
    #expect(requests.allSatisfy { $0["contract"] == nil }, "\(requests.map { $0["contract"] ?? .null })")

    let directory = (o.lastLine as NSString).deletingLastPathComponent
    #expect(!o.stdout.contains(authToken) && !o.stderr.contains(authToken))
    for (file, text) in allFileContents(under: directory) {
      #expect(!text.contains(authToken), "the auth token is in \(file)")
    }
  }

  /// Without the account's credentials nothing is sent to Twilio: the key SID gets Twilio's
  /// manual steps, and the run waits for a person (exit 4).
  @Test func withoutTwilioCredentialsTheKeyGetsTheManualSteps() throws {
    let out = NSTemporaryDirectory() + "respond-contract-" + UUID().uuidString
    let home = out + "-home"
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    defer {
      removeTestOutput(out)
      removeTestOutput(home)
    }
    let o = try runRespond(
      [
        "key-compromised", "--key", "SK" + Self.hex(32), "--yes", "--runbooks",
        TestServices.repositoryRoot() + "/Runbooks", "--out", out,
      ],
      environment: ["HOME": home, "TWILIO_API_URL": "http://127.0.0.1:9/unused"])
    #expect(o.status == 4, "stderr: \(o.stderr)")
    let state = try IncidentState.load(
      journal: (o.lastLine as NSString).deletingLastPathComponent + "/journal.jsonl")
    #expect(state.steps["twilio-delete"]?.outcome == .skippedCondition)
    #expect(state.steps["not-automated"]?.outcome == .succeeded, "the manual steps ran")
    #expect(try String(contentsOfFile: o.lastLine, encoding: .utf8).contains("console.twilio.com"))
  }
}
