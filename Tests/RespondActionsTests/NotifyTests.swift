import Crypto
import Foundation
import RespondActions
import RespondCore
import RespondHTTP
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
    #expect(
      all.map(\.descriptor.name).sorted() == ["notify.email", "notify.pagerduty", "notify.slack", "notify.webhook"])
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
        Self.context(
          ["text": .string("leaked: \(Self.leakedSecret)")], env: ["SLACK_WEBHOOK_URL": url],
          transport: transport, masker: masker))
    }
    let body = String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
    #expect(!body.contains(Self.leakedSecret))
    #expect(body == "{\"text\":\"leaked: \(Masker.fingerprint(Self.leakedSecret))\"}")
    #expect(transport.requests.count == 1)  // 400 is final
    guard case .provider(let e)? = error else {
      Issue.record("expected a provider error")
      return
    }
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
    transport.on(
      urlContaining: "/v2/enqueue", status: 202,
      reply: #"{"status":"success","message":"Event processed","dedup_key":"\#(Self.incidentID)"}"#)
    let masker = Self.maskerWithLeak()
    let result = try await Self.action("notify.pagerduty").run(
      Self.context(
        [
          "event-action": "trigger", "summary": .string("AWS key leaked; secret \(Self.leakedSecret)"),
          "custom-details": ["key-id": "AKIAIOSFODNN7EXAMPLE", "note": .string(Self.leakedSecret)],
        ],
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
    transport.on(
      urlContaining: "/v2/enqueue", status: 400,
      reply:
        #"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}"#
    )
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("notify.pagerduty").run(
        Self.context(["event-action": "resolve"], env: ["PAGERDUTY_ROUTING_KEY": "short-key-123"], transport: transport)
      )
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
        [
          "url": "https://hooks.example.test/in/abc123secretpath",
          "payload": ["event": "contained", "leak": .string(Self.leakedSecret)],
          "secret-env": "RESPOND_WEBHOOK_SECRET",
        ],
        env: ["RESPOND_WEBHOOK_SECRET": secret], transport: transport, masker: masker, stepID: "tell-siem"))
    let request = try #require(transport.requests.first)
    let header = try #require(request.header("X-Respond-Signature"))
    let parts = Dictionary(
      uniqueKeysWithValues: header.split(separator: ",").map {
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
        Self.context(
          ["url": "https://hooks.example.test/x", "payload": ["a": 1], "secret-env": "NOPE"],
          transport: RecordedTransport()))
    }
    #expect(error.map { "\($0)" } == "webhook signing secret: environment variable NOPE is not set")
  }

  /// A SIEM collector URL often holds its token: `url-env` reads it from a secret variable and
  /// masks it; a provider's credential variable is refused; url and url-env together are refused.
  @Test func webhookURLFromAVariableIsUsedAndMasked() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "siem.example.test", status: 202, reply: "")
    let url = "https://siem.example.test/collector/tok_5f0e2c9a81"
    let masker = Masker()
    let result = try await Self.action("notify.webhook").run(
      Self.context(
        ["url-env": "RESPOND_WEBHOOK_URL", "payload": ["a": 1]], env: ["RESPOND_WEBHOOK_URL": url],
        transport: transport, masker: masker))
    #expect(transport.requests.first?.url == url)
    #expect(result.outputs["status"] == 202)
    #expect(masker.containsSecret(url))
    let refused = await #expect(throws: ActionError.self) {
      try await Self.action("notify.webhook").run(
        Self.context(
          ["url-env": "AWS_SECRET_ACCESS_KEY", "payload": ["a": 1]], env: ["AWS_SECRET_ACCESS_KEY": "x"],
          transport: RecordedTransport()))
    }
    #expect(refused.map { "\($0)" }?.contains("not a webhook URL") == true)
    let both = await #expect(throws: ActionError.self) {
      try await Self.action("notify.webhook").run(
        Self.context(
          ["url": .string(url), "url-env": "RESPOND_WEBHOOK_URL", "payload": ["a": 1]],
          env: ["RESPOND_WEBHOOK_URL": url], transport: RecordedTransport()))
    }
    #expect(both.map { "\($0)" }?.contains("not both") == true)
  }

  // MARK: - E-mail (recorded)

  @Test func emailMessageIsRFC5322WithCRLFAndDotSafeLines() async throws {
    let transport = RecordedTransport()
    let masker = Self.maskerWithLeak()
    masker.register("smtp-password-123")
    let body =
      "Report\n.\n..hidden\nFrom the team\nsecret: \(Self.leakedSecret)\n" + String(repeating: "x", count: 200)
      + "\nünïcode ✓"
    let result = try await Self.action("notify.email").run(
      Self.context(
        ["subject": "Incident: key contained ✓", "body": .string(body)],
        env: [
          "SMTP_URL": "smtp://alerts:smtp-password-123@127.0.0.1:2525", "SMTP_FROM": "respond <respond@example.test>",
          "SMTP_TO": "oncall@example.test, Sec Team <sec@example.test>",
        ],
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
    for header in [
      "Date: ", "From: respond <respond@example.test>", "To: oncall@example.test, Sec Team <sec@example.test>",
      "Subject: =?UTF-8?B?", "Message-ID: <", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
    ] {
      #expect(headerBlock.contains("\r\n" + header) || headerBlock.hasPrefix(header), "missing \(header)")
    }
    #expect(
      headerBlock.range(of: #"Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000"#, options: .regularExpression)
        != nil)
    #expect(text.contains("\r\n=2E\r\n=2E.hidden\r\n=46rom the team\r\n"))
    #expect(text.contains("secret: \(Masker.fingerprint(Self.leakedSecret))"))
    #expect(text.contains("=C3=BCn=C3=AFcode =E2=9C=93"))
  }

  @Test func quotedPrintableRoundTrips() throws {
    let samples = [
      "plain", "trailing space ", "a=b", String(repeating: "é", count: 60), ".lead",
      String(repeating: "y", count: 75) + ".z",
    ]
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
        Self.context(
          ["subject": "s", "body": "b", "to": "victim@example.test\r\nBcc: evil@example.test"],
          env: ["SMTP_URL": "smtps://mail.example.test", "SMTP_FROM": "r@example.test"], transport: RecordedTransport())
      )
    }
    guard case .badParameter(let name, _)? = error else {
      Issue.record("expected badParameter")
      return
    }
    #expect(name == "to")
    #expect(EmailNotifyAction.encodeHeader("a\r\nBcc: x") == "a  Bcc: x")
  }
}

// MARK: - Integration: the recording receiver and aiosmtpd

/// Notifications against real local servers: the recording HTTP receiver (Slack, PagerDuty,
/// webhooks) and aiosmtpd delivering into a maildir. Each test uses its own receiver path.
@Suite struct NotifyServerTests {
  let services: TestServices
  let transport = CurlTransport()

  init() throws { services = try TestServices.load() }

  static func uniquePath(_ label: String) -> String { "/\(label)/\(UUID().uuidString.lowercased())" }

  /// Scripts the receiver's answers for one path.
  func script(_ path: String, _ responses: [Value]) async throws {
    let spec: Value = ["path": .string(path), "responses": .array(responses)]
    let r = try await transport.send(
      HTTPRequest(
        method: "POST", url: services.receiverURL + "/_control/script", headers: [("Content-Type", "application/json")],
        body: Data(spec.jsonString().utf8)))
    #expect(r.status == 200)
  }

  /// What the receiver recorded for one path.
  func recorded(_ path: String) async throws -> [Value] {
    let r = try await transport.send(
      HTTPRequest(method: "GET", url: services.receiverURL + "/_control/requests?path=" + path))
    return r.json?.arrayValue ?? []
  }

  func run(
    _ name: String, _ parameters: [String: Value], env: [String: String] = [:], masker: Masker,
    log: @escaping @Sendable (String) -> Void = { _ in }, stepID: String = "notify-step"
  ) async throws -> ActionResult {
    let ctx = ActionContext(
      stepID: stepID, parameters: parameters, environment: env, transport: transport, masker: masker,
      incident: IncidentInfo(
        id: NotifyTests.incidentID, runbook: "key-compromised", startedAt: Date(), mode: .live,
        directory: NSTemporaryDirectory()),
      log: log)
    return try await NotifyTests.action(name).run(ctx)
  }

  @Test func slackPostsMaskedTextToTheWebhook() async throws {
    let secretPath = "/services/T0RESPOND/B0RESPOND/" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    let url = services.receiverURL + secretPath
    let masker = NotifyTests.maskerWithLeak()
    let logs = LogLines()
    let result = try await run(
      "notify.slack", ["text": .string("Key contained. Old secret was \(NotifyTests.leakedSecret)")],
      env: ["SLACK_WEBHOOK_URL": url], masker: masker, log: { logs.add($0) })
    #expect(result.outputs["delivered"] == true)
    let requests = try await recorded(secretPath)
    #expect(requests.count == 1)
    let request = try #require(requests.first)
    #expect(request["method"] == "POST")
    #expect(request["headers"]?["Content-Type"]?.stringValue?.hasPrefix("application/json") == true)
    let body = try #require(request["body"]?.stringValue)
    #expect(
      Value.parseJSON(body) == [
        "text": .string("Key contained. Old secret was \(Masker.fingerprint(NotifyTests.leakedSecret))")
      ])
    #expect(!body.contains(NotifyTests.leakedSecret))
    #expect(masker.containsSecret(url))
    #expect(!logs.text.contains(secretPath))
  }

  @Test func retriesA503WithRetryAfterThenDelivers() async throws {
    let path = Self.uniquePath("slack-retry")
    try await script(
      path, [["status": 503, "headers": ["Retry-After": "1"], "body": "busy"], ["status": 200, "body": "ok"]])
    let started = ContinuousClock.now
    let logs = LogLines()
    let result = try await run(
      "notify.slack", ["text": "retry me", "webhook-url": .string(services.receiverURL + path)], masker: Masker(),
      log: { logs.add($0) })
    let elapsed = ContinuousClock.now - started
    #expect(result.outputs["delivered"] == true)
    let requests = try await recorded(path)
    #expect(requests.count == 2)
    let gap = (requests[1]["time"]?.numberValue ?? 0) - (requests[0]["time"]?.numberValue ?? 0)
    #expect(gap >= 0.95, "Retry-After: 1 was not honoured (gap \(gap)s)")
    #expect(elapsed < .seconds(10))
    #expect(logs.text.contains("HTTP 503"))
  }

  @Test func pagerDutyTriggerCarriesTheRoutingKeyOnlyWhereItMustBe() async throws {
    let path = Self.uniquePath("v2/enqueue")
    try await script(
      path,
      [
        [
          "status": 202, "headers": ["Content-Type": "application/json"],
          "body": ["status": "success", "message": "Event processed", "dedup_key": "leak:aws:1234"],
        ]
      ])
    let routingKey = "e93facc04764012d7bfb002500d5d1a6"
    let masker = NotifyTests.maskerWithLeak()
    let logs = LogLines()
    let result = try await run(
      "notify.pagerduty",
      [
        "event-action": "trigger",
        "summary": .string("AWS key AKIAIOSFODNN7EXAMPLE leaked (\(NotifyTests.leakedSecret))"),
        "dedup-key": "leak:aws:1234", "severity": "error", "custom-details": ["owner": "ci-deploy"],
      ],
      env: ["PAGERDUTY_ROUTING_KEY": routingKey, "PAGERDUTY_EVENTS_URL": services.receiverURL + path],
      masker: masker, log: { logs.add($0) })
    #expect(result.outputs["dedup-key"] == "leak:aws:1234")
    #expect(result.outputs["status"] == 202)
    let request = try #require(try await recorded(path).first)
    let body = try #require(request["body"]?.stringValue)
    let json = try #require(Value.parseJSON(body))
    #expect(json["routing_key"] == .string(routingKey))
    #expect(json["event_action"] == "trigger")
    #expect(
      json["payload"]?["summary"]
        == .string("AWS key AKIAIOSFODNN7EXAMPLE leaked (\(Masker.fingerprint(NotifyTests.leakedSecret)))"))
    #expect(json["payload"]?["severity"] == "error")
    #expect(json["payload"]?["custom_details"] == ["owner": "ci-deploy"])
    #expect(!body.contains(NotifyTests.leakedSecret))
    // The key is in the body by PagerDuty's design, and nowhere else: not in headers, not in logs,
    // and the masker knows it, so every writer of the run replaces it.
    let headers = request["headers"]?.jsonString() ?? ""
    #expect(headers.contains("User-Agent") && !headers.contains(routingKey))
    #expect(masker.containsSecret(routingKey))
    #expect(masker.mask(body).contains(Masker.fingerprint(routingKey)))
    #expect(!logs.text.contains(routingKey))
    #expect(result.summary?.contains(routingKey) == false)
  }

  @Test func webhookSignatureVerifiesWithTheSharedSecret() async throws {
    let path = Self.uniquePath("hook")
    let secret = "whsec_" + UUID().uuidString
    let masker = NotifyTests.maskerWithLeak()
    let result = try await run(
      "notify.webhook",
      [
        "url": .string(services.receiverURL + path),
        "payload": [
          "event": "key.contained", "key-id": "AKIAIOSFODNN7EXAMPLE",
          "note": .string(NotifyTests.leakedSecret),
        ],
        "secret-env": "RESPOND_TEST_HOOK_SECRET",
      ],
      env: ["RESPOND_TEST_HOOK_SECRET": secret], masker: masker, stepID: "siem")
    #expect(result.outputs["status"] == 200)
    let request = try #require(try await recorded(path).first)
    let raw = Data(base64Encoded: try #require(request["body_b64"]?.stringValue))!
    let header = try #require(request["headers"]?["X-Respond-Signature"]?.stringValue)
    // Verify as a receiver would: split, check freshness, recompute over the raw body.
    var t: String?
    var v1: [String] = []
    for element in header.split(separator: ",") {
      let kv = element.split(separator: "=", maxSplits: 1).map(String.init)
      if kv[0] == "t" { t = kv[1] } else if kv[0] == "v1" { v1.append(kv[1]) }
    }
    let stamp = try #require(t.flatMap(Double.init))
    #expect(abs(Date().timeIntervalSince1970 - stamp) <= 300)
    #expect(v1.contains(NotifyTests.hexHMAC(secret, Data("\(t!).".utf8) + raw)))
    #expect(!v1.contains(NotifyTests.hexHMAC("wrong-secret", Data("\(t!).".utf8) + raw)))
    let json = try #require(Value.parseJSON(raw))
    #expect(json["id"] == .string("\(NotifyTests.incidentID)/siem"))
    #expect(json["event"] == "key.contained")
    let text = String(decoding: raw, as: UTF8.self)
    #expect(!text.contains(NotifyTests.leakedSecret) && !text.contains(secret))
    let headers = request["headers"]?.jsonString() ?? ""
    #expect(headers.contains("X-Respond-Signature") && !headers.contains(secret))
  }

  @Test func emailArrivesWithHeadersAndAMaskedBody() async throws {
    let subject = "respond test \(UUID().uuidString.prefix(8)) — key contained"
    let masker = NotifyTests.maskerWithLeak()
    let report =
      "# Incident report\n\nKey AKIAIOSFODNN7EXAMPLE was deactivated.\n.\nOld secret: \(NotifyTests.leakedSecret)\n"
    let result = try await run(
      "notify.email", ["subject": .string(subject), "body": .string(report)],
      env: [
        "SMTP_URL": services.smtpURL, "SMTP_FROM": "respond <respond@example.test>",
        "SMTP_TO": "oncall@example.test,security@example.test",
      ],
      masker: masker)
    #expect(result.outputs["recipients"] == ["oncall@example.test", "security@example.test"])
    let messageID = try #require(result.outputs["message-id"]?.stringValue)

    // Parse what aiosmtpd stored with Python's own e-mail parser (independent of our encoder).
    let parser = """
      import json, mailbox, sys
      from email.header import decode_header, make_header
      box = mailbox.Maildir(sys.argv[1], create=False)
      for key, msg in box.items():
          if msg.get('Message-ID') == sys.argv[2]:
              print(json.dumps({h: str(msg.get(h)) for h in ['From','To','Subject','Date','MIME-Version','Content-Type','X-MailFrom','X-RcptTo']}
                               | {'Subject': str(make_header(decode_header(msg.get('Subject')))), 'body': msg.get_payload(decode=True).decode('utf-8'), 'defects': len(msg.defects)}))
              break
      """
    var stored: Value?
    for _ in 0..<50 {
      let out = try runProgram("/usr/bin/env", ["python3", "-c", parser, services.maildir, messageID])
      if !out.isEmpty {
        stored = Value.parseJSON(out)
        break
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    let mail = try #require(stored, "the message did not arrive in \(services.maildir)")
    #expect(mail["From"] == "respond <respond@example.test>")
    #expect(mail["To"] == "oncall@example.test, security@example.test")
    #expect(mail["X-MailFrom"] == "respond@example.test")
    #expect(mail["X-RcptTo"] == "oncall@example.test, security@example.test")
    #expect(mail["Subject"] == .string(subject))
    #expect(mail["MIME-Version"] == "1.0")
    #expect(
      mail["Content-Type"] == "text/plain; charset=\"utf-8\"" || mail["Content-Type"] == "text/plain; charset=utf-8")
    #expect(mail["Date"]?.stringValue?.hasSuffix("+0000") == true)
    #expect(mail["defects"] == 0)
    let body = try #require(mail["body"]?.stringValue)
    #expect(
      body.replacingOccurrences(of: "\r\n", with: "\n")
        == "# Incident report\n\nKey AKIAIOSFODNN7EXAMPLE was deactivated.\n.\nOld secret: \(Masker.fingerprint(NotifyTests.leakedSecret))\n"
    )
    #expect(!body.contains(NotifyTests.leakedSecret))
  }
}

/// Collects progress lines.
final class LogLines: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [String] = []
  func add(_ line: String) { lock.withLock { lines.append(line) } }
  var text: String { lock.withLock { lines.joined(separator: "\n") } }
}
