import Crypto
import Foundation
import RespondCore

/// `notify.webhook`: POSTs a JSON payload to a webhook, signed Stripe-style so the receiver can
/// check it came from us and is fresh: `X-Respond-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
/// "<t>.<body>")>`. The payload carries an `id` (incident and step) so the receiver can drop
/// replays and retries. The URL and the signing secret are credentials and are masked.
package struct WebhookNotifyAction: Action {
  package init() {}

  package static let signatureHeader = "X-Respond-Signature"

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "notify.webhook", summary: "POST a signed JSON payload to a webhook",
      parameters: [
        ParameterSpec("url", secret: true, "the webhook URL (or url-env)"),
        ParameterSpec(
          "url-env", .string,
          "name of the environment variable holding the webhook URL (a declared secret variable, e.g. "
            + "RESPOND_WEBHOOK_URL), for a URL that is itself a credential"),
        ParameterSpec("payload", .map, required: true, "the JSON object to send"),
        ParameterSpec(
          "secret-env", .string,
          "name of the environment variable holding the HMAC signing secret (unsigned when absent)"),
      ],
      outputs: [
        OutputSpec("status", "HTTP status of the receiver's answer"),
        OutputSpec("id", "the delivery id in the payload (incident/step), for de-duplication"),
        OutputSpec("signed", "whether the request carried a signature"),
      ],
      mutates: true, idempotent: true)
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let url = try Self.url(context)
    context.masker.register(url)
    try NotifySender.checkURL(url, name: "url")
    guard var payload = context.parameters["payload"]?.objectValue else {
      throw ActionError.badParameter(name: "payload", reason: "must be a map (it is sent as a JSON object)")
    }
    var secret: String?
    if let name = context.optionalString("secret-env") {
      // A provider's credential belongs to its provider: keyed into an HMAC sent with a body the
      // runbook chose, to a URL the runbook chose, it would be an oracle for that credential.
      if let owner = CredentialEndpoints.provider(of: name) {
        throw ActionError.badParameter(
          name: "secret-env",
          reason: "cannot be \(name): it is \(owner.name)'s credential, not a webhook signing secret")
      }
      guard let value = context.environment[name], !value.isEmpty else {
        throw ActionError.notConfigured("webhook signing secret: environment variable \(name) is not set")
      }
      context.masker.register(value)
      secret = value
    }
    let id = payload["id"]?.stringValue ?? "\(context.incident.id)/\(context.stepID)"
    if payload["id"] == nil { payload["id"] = .string(id) }
    let body = context.masker.maskedJSON(.object(payload))

    let sender = NotifySender(
      provider: "Webhook", shownEndpoint: NotifySender.shownURL(url), idempotent: true, masker: context.masker,
      log: context.log)
    let response = try await sender.send(transport: context.transport, operation: "POST") {
      var headers = [("Content-Type", "application/json"), ("User-Agent", "respond")]
      if let secret {
        headers.append((Self.signatureHeader, Self.signature(secret: secret, body: body, time: Date())))
      }
      return HTTPRequest(method: "POST", url: url, headers: headers, body: body, mutates: true, operation: "webhook")
    }
    return ActionResult(
      outputs: ["status": .number(Double(response.status)), "id": .string(id), "signed": .bool(secret != nil)],
      summary: "webhook accepted the payload (HTTP \(response.status)\(secret == nil ? ", unsigned" : ", signed"))")
  }

  /// The URL from `url`, or from the variable `url-env` names: a SIEM's collector URL often
  /// carries its token, so a runbook keeps it in a secret variable it may not read as `env.X`.
  static func url(_ context: ActionContext) throws -> String {
    switch (context.optionalString("url"), context.optionalString("url-env")) {
    case (let url?, nil): return url
    case (nil, let name?):
      if let owner = CredentialEndpoints.provider(of: name) {
        throw ActionError.badParameter(
          name: "url-env", reason: "cannot be \(name): it is \(owner.name)'s credential, not a webhook URL")
      }
      guard let value = context.environment[name], !value.isEmpty else {
        throw ActionError.notConfigured("webhook URL: environment variable \(name) is not set")
      }
      return value
    case (nil, nil): throw ActionError.badParameter(name: "url", reason: "give url or url-env")
    case (_?, _?): throw ActionError.badParameter(name: "url", reason: "give url or url-env, not both")
    }
  }

  /// `t=<unix seconds>,v1=<lower-case hex HMAC-SHA256(secret, "<t>." + body)>`.
  package static func signature(secret: String, body: Data, time: Date) -> String {
    let t = Int(time.timeIntervalSince1970)
    var signed = Data("\(t).".utf8)
    signed.append(body)
    let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
    return "t=\(t),v1=" + mac.map { String(format: "%02x", $0) }.joined()
  }
}
