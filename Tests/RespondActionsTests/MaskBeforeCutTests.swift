import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

@testable import RespondActions

/// Every place that shortens a provider's text masks it whole first (issue 12, item 9): a 502
/// body cut at 300 characters showed the first 16 characters of the new Vault secret, because the
/// half left at the cut no longer matched the registered secret. Each test puts a registered
/// secret across the cut and checks that none of its head survives.
@Suite struct MaskBeforeCutTests {
  static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

  static func masker() -> Masker {
    let m = Masker()
    m.register(secret)
    return m
  }

  /// Filler so that the secret starts 12 characters before `limit`: cut there, its first 12
  /// characters would be left.
  static func straddling(_ limit: Int) -> String {
    String(repeating: "x", count: limit - 12) + secret + " and more text after it"
  }

  static func leaksHead(_ text: String) -> Bool { text.contains(String(secret.prefix(8))) }

  @Test func vaultErrorBodyIsMaskedBeforeItIsCut() {
    let body = Data(Self.straddling(300).utf8)
    let messages = VaultClient.errorMessages(body, masker: Self.masker())
    #expect(messages.count == 1)
    #expect(!Self.leaksHead(messages[0]), "\(messages[0].suffix(30))")
    let error = VaultClient.providerError(
      status: 502, body: body, retryAfter: nil, operation: "PUT /v1/secret/data/x", endpoint: "e",
      masker: Self.masker())
    #expect(!Self.leaksHead(error.description))
  }

  @Test func awsNonAWSAnswerIsMaskedBeforeItIsCut() {
    let error = AWSErrors.providerError(
      service: .secretsManager, operation: "PutSecretValue", endpoint: "e",
      response: HTTPResponse(status: 502, body: Data(Self.straddling(200).utf8)), masker: Self.masker())
    #expect(error.message.hasPrefix("non-AWS answer: "))
    #expect(!Self.leaksHead(error.message), "\(error.message.suffix(30))")
  }

  @Test func httpActionErrorAndBodyAreMaskedBeforeTheyAreCut() {
    let response = HTTPResponse(status: 502, body: Data(Self.straddling(300).utf8))
    let message = HTTPAction.errorMessage(response, json: nil, masker: Self.masker())
    #expect(!Self.leaksHead(message), "\(message.suffix(30))")
    let big = Data(Self.straddling(HTTPAction.bodyOutputLimit).utf8)
    let body = HTTPAction.truncatedText(big, masker: Self.masker())
    #expect(body.utf8.count <= HTTPAction.bodyOutputLimit)
    #expect(!Self.leaksHead(body), "\(body.suffix(30))")
  }

  @Test func notificationErrorIsMaskedBeforeItIsCut() {
    let response = HTTPResponse(status: 500, body: Data(Self.straddling(500).utf8))
    let message = NotifySender.errorMessage(response, masker: Self.masker())
    #expect(!Self.leaksHead(message), "\(message.suffix(30))")
  }

  @Test func pagerDutySummaryIsMaskedBeforeItIsCut() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "/v2/enqueue", status: 202, reply: #"{"status":"success","dedup_key":"d"}"#)
    let action = try #require(NotifyActions.all().first { $0.descriptor.name == "notify.pagerduty" })
    _ = try await action.run(
      ActionContext(
        stepID: "page", parameters: ["event-action": "trigger", "summary": .string(Self.straddling(1024))],
        environment: ["PAGERDUTY_ROUTING_KEY": "R0UT1NGKEY0123456789abcdef012345"], transport: transport,
        masker: Self.masker(),
        incident: IncidentInfo(
          id: "i", runbook: "key-compromised", startedAt: Date(), mode: .live, directory: NSTemporaryDirectory())))
    let body = String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
    #expect(!Self.leaksHead(body), "\(body)")
  }
}
