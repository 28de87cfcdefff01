import Foundation
import RespondCore

/// Every notification action, for the registry. All of them mutate (a dry run never sends them)
/// and mask what they send.
package enum NotifyActions {
  package static func all() -> [any Action] {
    [SlackNotifyAction(), PagerDutyNotifyAction(), EmailNotifyAction(), WebhookNotifyAction()]
  }
}

/// Sends a notification request, retrying throttling (429) and server errors (5xx) a bounded number
/// of times with `Retry-After` honoured, and connection failures when the request cannot have been
/// delivered (or the action is idempotent). Everything else comes back as a `ProviderError`.
package struct NotifySender: Sendable {
  package var provider: String
  /// The URL as it may be shown (webhook URLs are secrets: scheme and host only).
  package var shownEndpoint: String
  /// 4 attempts, 500 ms doubling; a `Retry-After` longer than 60 s ends the retries (the
  /// executor may try later).
  package var retry: RetryPolicy
  /// Whether sending twice is harmless (the receiver de-duplicates), so an answer lost in transit
  /// may be retried.
  package var idempotent: Bool
  /// Progress lines (retries).
  package var log: @Sendable (String) -> Void
  /// Masks a provider's answer before it is cut to an error message's length.
  package var masker: Masker

  package init(
    provider: String, shownEndpoint: String, idempotent: Bool, masker: Masker,
    retry: RetryPolicy = RetryPolicy(
      attempts: 4, backoff: .milliseconds(500), maxDelay: .seconds(60), maxTotal: nil, longHint: .endsRetries),
    log: @escaping @Sendable (String) -> Void = { _ in }
  ) {
    self.provider = provider
    self.shownEndpoint = shownEndpoint
    self.idempotent = idempotent
    self.retry = retry
    self.log = log
    self.masker = masker
  }

  /// Sends `build()`'s request (rebuilt per attempt, so signatures carry a fresh timestamp) until
  /// it gets a 2xx, a final error, or runs out of attempts.
  package func send(
    transport: any HTTPTransport, operation: String, build: () throws -> HTTPRequest
  ) async throws -> HTTPResponse {
    try await retry.run(
      onRetry: { failed, wait, error in
        let what: String
        switch error {
        case ActionError.provider(let e): what = "\(provider) answered HTTP \(e.status)"
        case ActionError.transport(let e): what = "\(provider): \(e)"
        default: what = "\(provider): \(error)"
        }
        log("\(what) — retrying in \(wait.shortDescription) (attempt \(failed + 1) of \(retry.attempts))")
      },
      attempt: { _ in
        let request = try build()
        let response: HTTPResponse
        do {
          response = try await transport.send(request)
        } catch let raw as TransportError {
          // Name the endpoint as it may be shown: a secret webhook URL would otherwise be masked
          // whole, leaving an error that says nothing of where it failed.
          let error = raw.naming(shownEndpoint)
          let wrapped = ActionError.transport(error)
          let safe = error.requestNotProcessed || idempotent
          return wrapped.isRetryable && safe ? .retry(wrapped) : .fail(wrapped)
        }
        if (200..<300).contains(response.status) { return .done(response) }
        let retryable = response.status == 429 || response.status >= 500
        let error = ProviderError(
          provider: provider, operation: operation, endpoint: shownEndpoint, status: response.status,
          code: Self.errorCode(response), message: Self.errorMessage(response, masker: masker), retryable: retryable,
          processed: !(response.status == 429 || response.status == 503 || (400..<500).contains(response.status)),
          retryAfter: retryable ? response.retryAfter : nil)
        return retryable
          ? .retry(ActionError.provider(error), hint: response.retryAfter) : .fail(ActionError.provider(error))
      })
  }

  /// A short error code from the body: Slack's plain-text codes (`invalid_payload`), PagerDuty's
  /// `status` field.
  static func errorCode(_ response: HTTPResponse) -> String? {
    if let json = response.json { return json["status"]?.stringValue ?? json["error"]?.stringValue }
    let text = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
    if !text.isEmpty, text.count <= 64, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { return text }
    return nil
  }

  /// The provider's explanation, bounded in length.
  static func errorMessage(_ response: HTTPResponse, masker: Masker) -> String {
    if let json = response.json {
      var parts: [String] = []
      if let m = json["message"]?.stringValue { parts.append(m) }
      if let errs = json["errors"]?.arrayValue { parts.append(contentsOf: errs.map(\.description)) }
      if !parts.isEmpty { return masker.excerpt(parts.joined(separator: "; "), limit: 500) }
    }
    return masker.excerpt(response.text.trimmingCharacters(in: .whitespacesAndNewlines), limit: 500)
  }

  /// How a secret URL may be shown: scheme and host, the path elided.
  package static func shownURL(_ url: String) -> String {
    guard let u = URL(string: url), let scheme = u.scheme, let host = u.host else { return "(webhook URL)" }
    let port = u.port.map { ":\($0)" } ?? ""
    return "\(scheme)://\(host)\(port)/…"
  }

  /// Checks a configured URL before anything is sent (a clear error rather than a transport one).
  static func checkURL(_ url: String, name: String) throws {
    guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), ["http", "https"].contains(scheme),
      u.host != nil
    else {
      throw ActionError.badParameter(name: name, reason: "must be an https URL")
    }
  }
}

extension TransportError {
  /// The same error naming `url` instead of the URL it was raised for.
  func naming(_ url: String) -> TransportError {
    switch self {
    case .connectionFailed(_, let d): return .connectionFailed(url: url, detail: d)
    case .timedOut(_, let after): return .timedOut(url: url, after: after)
    case .connectionLost(_, let d): return .connectionLost(url: url, detail: d)
    case .refused(_, let r): return .refused(url: url, reason: r)
    case .tls(_, let d): return .tls(url: url, detail: d)
    case .unsupported: return self
    }
  }
}

extension Masker {
  /// The bytes to send for a payload: serialized, then masked. Masking the serialized text (not
  /// the fields one by one) is what makes it hold by construction for everything in the body.
  func maskedJSON(_ payload: Value) -> Data {
    Data(mask(payload.jsonString()).utf8)
  }
}
