import Crypto
import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

/// Notification actions: unit tests on recorded answers (what is sent, masking, retries, the
/// message format), and integration tests against the recording receiver and aiosmtpd.
@Suite struct NotifyTests {
  static let incidentID = "20261123T131744Z-key-compromised"
  /// A secret the run knows about (registered with the masker), which a careless message could carry.
  static let leakedSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

  static func context(
    _ parameters: [String: Value], env: [String: String] = [:], transport: any HTTPTransport,
    masker: Masker = Masker(), stepID: String = "notify-step"
  ) -> ActionContext {
    ActionContext(
      stepID: stepID, parameters: parameters, environment: env, transport: transport, masker: masker,
      incident: IncidentInfo(
        id: incidentID, runbook: "key-compromised", startedAt: Date(), mode: .live, directory: NSTemporaryDirectory()))
  }

  static func action(_ name: String) throws -> any Action {
    try #require(NotifyActions.all().first { $0.descriptor.name == name }, "no action \(name)")
  }

  static func maskerWithLeak() -> Masker {
    let m = Masker()
    m.register(leakedSecret)
    return m
  }

  static func hexHMAC(_ secret: String, _ message: Data) -> String {
    HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
      .map { String(format: "%02x", $0) }.joined()
  }

  // MARK: - Descriptors

  @Test func everyNotificationMutates() throws {
    let all = NotifyActions.all()
    #expect(all.map(\.descriptor.name).sorted() == ["notify.email", "notify.pagerduty", "notify.slack", "notify.webhook"])
    #expect(all.allSatisfy { $0.descriptor.mutates })
    #expect(try Self.action("notify.slack").descriptor.parameter("webhook-url")?.secret == true)
    #expect(try Self.action("notify.pagerduty").descriptor.parameter("routing-key")?.secret == true)
    #expect(try Self.action("notify.webhook").descriptor.parameter("url")?.secret == true)
  }

  // MARK: - Slack (recorded)

  @Test func slackMasksTheBodyAndNeverShowsTheURL() async throws {
    let url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
    let transport = RecordedTransport()
    transport.on(urlContaining: "hooks.slack.com", status: 400, reply: "invalid_payload")
    let masker = Self.maskerWithLeak()
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("notify.slack").run(
        Self.context(["text": .string("leaked: \(Self.leakedSecret)")], env: ["SLACK_WEBHOOK_URL": url],
                     transport: transport, masker: masker))
    }
    let body = String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
    #expect(!body.contains(Self.leakedSecret))
    #expect(body == "{\"text\":\"leaked: \(Masker.fingerprint(Self.leakedSecret))\"}")
    #expect(transport.requests.count == 1)  // 400 is final
    guard case .provider(let e)? = error else { Issue.record("expected a provider error"); return }
    #expect(e.status == 400 && e.code == "invalid_payload" && !e.retryable)
    #expect(!e.description.contains("XXXXXXXX"))
    #expect(e.endpoint == "https://hooks.slack.com/…")
    #expect(masker.containsSecret(url))
  }

  @Test func slackNotConfigured() async throws {
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("notify.slack").run(Self.context(["text": "hi"], transport: RecordedTransport()))
    }
    #expect(error.map { "\($0)" } == "Slack is not configured: set SLACK_WEBHOOK_URL (or pass webhook-url)")
  }

  // MARK: - PagerDuty (recorded)

  @Test func pagerDutyBodyCarriesOnlyTheRoutingKeyUnmasked() async throws {
    let routingKey = "R0UT1NGKEY0123456789abcdef012345"
    let transport = RecordedTransport()
    transport.on(urlContaining: "/v2/enqueue", status: 202, reply: #"{"status":"success","message":"Event processed","dedup_key":"\#(Self.incidentID)"}"#)
    let masker = Self.maskerWithLeak()
    let result = try await Self.action("notify.pagerduty").run(
      Self.context(
        ["event-action": "trigger", "summary": .string("AWS key leaked; secret \(Self.leakedSecret)"),
         "custom-details": ["key-id": "AKIAIOSFODNN7EXAMPLE", "note": .string(Self.leakedSecret)]],
        env: ["PAGERDUTY_ROUTING_KEY": routingKey], transport: transport, masker: masker))
    let request = try #require(transport.requests.first)
    #expect(request.url == "https://events.pagerduty.com/v2/enqueue")
    let body = String(decoding: request.body, as: UTF8.self)
    #expect(!body.contains(Self.leakedSecret))
    let json = try #require(Value.parseJSON(request.body))
    #expect(json["routing_key"] == .string(routingKey))
    #expect(json["event_action"] == "trigger")
    #expect(json["dedup_key"] == .string(Self.incidentID))
    #expect(json["payload"]?["severity"] == "critical")
    #expect(json["payload"]?["source"] == "respond")
    #expect(json["payload"]?["custom_details"]?["key-id"] == "AKIAIOSFODNN7EXAMPLE")
    #expect(json["payload"]?["custom_details"]?["note"] == .string(Masker.fingerprint(Self.leakedSecret)))
    #expect(masker.containsSecret(routingKey))
    #expect(result.outputs["dedup-key"] == .string(Self.incidentID))
    #expect(result.outputs["status"] == 202)
  }

  @Test func pagerDutyBadRequestIsNotRetried() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "/v2/enqueue", status: 400,
                 reply: #"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}"#)
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("notify.pagerduty").run(
        Self.context(["event-action": "resolve"], env: ["PAGERDUTY_ROUTING_KEY": "short-key-123"], transport: transport))
    }
    #expect(transport.requests.count == 1)
    #expect(error?.isRetryable == false)
    #expect(error.map { "\($0)" }?.contains("Event object is invalid; Length of 'routing_key' is incorrect") == true)
    // A resolve carries no payload.
    #expect(Value.parseJSON(try #require(transport.requests.first).body)?["payload"] == nil)
  }

  // MARK: - Webhook (recorded)

  @Test func webhookSignsTheExactBodySent() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "hooks.example.test", status: 204, reply: "")
    let secret = "whsec_0123456789abcdef"
    let masker = Self.maskerWithLeak()
    let result = try await Self.action("notify.webhook").run(
      Self.context(
        ["url": "https://hooks.example.test/in/abc123secretpath", "payload": ["event": "contained", "leak": .string(Self.leakedSecret)],
         "secret-env": "RESPOND_WEBHOOK_SECRET"],
        env: ["RESPOND_WEBHOOK_SECRET": secret], transport: transport, masker: masker, stepID: "tell-siem"))
    let request = try #require(transport.requests.first)
    let header = try #require(request.header("X-Respond-Signature"))
    let parts = Dictionary(uniqueKeysWithValues: header.split(separator: ",").map {
      let kv = $0.split(separator: "=", maxSplits: 1)
      return (String(kv[0]), String(kv[1]))
    })
    let t = try #require(parts["t"])
    #expect(abs(Double(t)! - Date().timeIntervalSince1970) < 60)
    #expect(parts["v1"] == Self.hexHMAC(secret, Data((t + ".").utf8) + request.body))
    let json = try #require(Value.parseJSON(request.body))
    #expect(json["id"] == .string("\(Self.incidentID)/tell-siem"))
    #expect(json["leak"] == .string(Masker.fingerprint(Self.leakedSecret)))
    #expect(masker.containsSecret(secret))
    #expect(result.outputs["status"] == 204)
    #expect(result.outputs["signed"] == true)
  }

  @Test func webhookMissingSecretVariableIsNotConfigured() async throws {
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("notify.webhook").run(
        Self.context(["url": "https://hooks.example.test/x", "payload": ["a": 1], "secret-env": "NOPE"],
                     transport: RecordedTransport()))
    }
    #expect(error.map { "\($0)" } == "webhook signing secret: environment variable NOPE is not set")
  }

  // MARK: - E-mail (recorded)

  @Test func emailMessageIsRFC5322WithCRLFAndDotSafeLines() async throws {
    let transport = RecordedTransport()
    let masker = Self.maskerWithLeak()
    masker.register("smtp-password-123")
    let body = "Report\n.\n..hidden\nFrom the team\nsecret: \(Self.leakedSecret)\n" + String(repeating: "x", count: 200) + "\nünïcode ✓"
    let result = try await Self.action("notify.email").run(
      Self.context(
        ["subject": "Incident: key contained ✓", "body": .string(body)],
        env: ["SMTP_URL": "smtp://alerts:smtp-password-123@127.0.0.1:2525", "SMTP_FROM": "respond <respond@example.test>",
              "SMTP_TO": "oncall@example.test, Sec Team <sec@example.test>"],
        transport: transport, masker: masker))
    let mail = try #require(transport.mails.first)
    #expect(mail.url == "smtp://127.0.0.1:2525")
    #expect(mail.username == "alerts" && mail.password == "smtp-password-123")
    #expect(mail.from == "respond@example.test")
    #expect(mail.recipients == ["oncall@example.test", "sec@example.test"])
    #expect(result.outputs["recipients"] == ["oncall@example.test", "sec@example.test"])
    let text = String(decoding: mail.message, as: UTF8.self)
    #expect(!text.contains(Self.leakedSecret))
    #expect(!text.contains("smtp-password-123"))
    // CRLF everywhere, no bare LF, no line over 78 characters, no line starting with a dot.
    #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    let lines = text.components(separatedBy: "\r\n")
    #expect(lines.allSatisfy { $0.utf8.count <= 78 })
    #expect(!lines.contains { $0.hasPrefix(".") || $0.hasPrefix("From ") })
    let headerBlock = text.components(separatedBy: "\r\n\r\n")[0]
    for header in ["Date: ", "From: respond <respond@example.test>", "To: oncall@example.test, Sec Team <sec@example.test>",
                   "Subject: =?UTF-8?B?", "Message-ID: <", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                   "Content-Transfer-Encoding: quoted-printable"] {
      #expect(headerBlock.contains("\r\n" + header) || headerBlock.hasPrefix(header), "missing \(header)")
    }
    #expect(headerBlock.range(of: #"Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000"#, options: .regularExpression) != nil)
    #expect(text.contains("\r\n=2E\r\n=2E.hidden\r\n=46rom the team\r\n"))
    #expect(text.contains("secret: \(Masker.fingerprint(Self.leakedSecret))"))
    #expect(text.contains("=C3=BCn=C3=AFcode =E2=9C=93"))
  }

  @Test func quotedPrintableRoundTrips() throws {
    let samples = ["plain", "trailing space ", "a=b", String(repeating: "é", count: 60), ".lead", String(repeating: "y", count: 75) + ".z"]
    for s in samples {
      let encoded = EmailNotifyAction.quotedPrintable(s)
      #expect(Self.decodeQP(encoded) == s, "\(s)")
      #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.count <= 76 && !$0.hasPrefix(".") })
    }
  }

  /// A minimal quoted-printable decoder (soft breaks and =XX), independent of the encoder.
  static func decodeQP(_ text: String) -> String {
    let u = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
    var bytes: [UInt8] = []
    var k = 0
    while k < u.count {
      if u[k] == UInt8(ascii: "="), k + 2 < u.count,
        let v = UInt8(String(decoding: u[(k + 1)...(k + 2)], as: UTF8.self), radix: 16)
      {
        bytes.append(v)
        k += 3
      } else {
        bytes.append(u[k])
        k += 1
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  @Test func emailRejectsHeaderInjection() async throws {
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("notify.email").run(
        Self.context(["subject": "s", "body": "b", "to": "victim@example.test\r\nBcc: evil@example.test"],
                     env: ["SMTP_URL": "smtps://mail.example.test", "SMTP_FROM": "r@example.test"], transport: RecordedTransport()))
    }
    guard case .badParameter(let name, _)? = error else { Issue.record("expected badParameter"); return }
    #expect(name == "to")
    #expect(EmailNotifyAction.encodeHeader("a\r\nBcc: x") == "a  Bcc: x")
  }
}
