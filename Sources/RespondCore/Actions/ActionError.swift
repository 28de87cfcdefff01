import Foundation

/// Why an action failed, in terms the executor can act on: retry or not, and what to tell the
/// operator. Every message is masked before it is printed or journaled.
package enum ActionError: Error, Sendable, CustomStringConvertible {
  /// A parameter is missing or malformed (no retry).
  case badParameter(name: String, reason: String)
  /// What the action needs from the environment is not there (no retry).
  case notConfigured(String)
  /// The provider answered with an error. `code` is the provider's own error code (AWS
  /// `NoSuchEntity`, Vault's message...). `retryable` covers throttling and 5xx; `retryAfter`
  /// is the provider's hint. `processed` is false when the provider certainly did not act on
  /// the request (throttling, 4xx), so even a non-idempotent call may be retried.
  case provider(ProviderError)
  /// Below HTTP: refused, timed out, broken connection, TLS.
  case transport(TransportError)
  /// A condition the action checks failed (e.g. "the key is still Active").
  case verification(String)
  /// Anything else, already phrased for the operator.
  case failed(String)

  package var description: String {
    switch self {
    case .badParameter(let name, let reason): return "parameter '\(name)' \(reason)"
    case .notConfigured(let s): return s
    case .provider(let e): return e.description
    case .transport(let t): return t.description
    case .verification(let s): return s
    case .failed(let s): return s
    }
  }

  /// Whether trying again might help at all.
  package var isRetryable: Bool {
    switch self {
    case .provider(let e): return e.retryable
    case .transport(let t):
      if case .refused = t { return false }
      if case .tls = t { return false }
      if case .unsupported = t { return false }
      return true
    default: return false
    }
  }

  /// Whether the provider certainly did not act on the request (safe to retry anything).
  package var requestNotProcessed: Bool {
    switch self {
    case .provider(let e): return !e.processed
    case .transport(let t): return t.requestNotProcessed
    case .badParameter, .notConfigured: return true  // nothing was sent
    case .verification, .failed: return false  // e.g. an answer the action could not read: proves nothing
    }
  }

  package var retryAfter: Duration? {
    if case .provider(let e) = self { return e.retryAfter }
    return nil
  }
}

/// An error answer from a provider, normalised across XML, JSON and plain-text bodies.
package struct ProviderError: Error, Sendable, CustomStringConvertible, Equatable {
  package var provider: String  // "AWS IAM", "Vault", "Slack"
  package var operation: String  // "UpdateAccessKey", "POST /v1/secret/data/ci/aws"
  package var endpoint: String  // the URL (no query secrets)
  package var status: Int
  package var code: String?  // provider's error code
  package var message: String
  package var retryable: Bool
  package var processed: Bool
  package var retryAfter: Duration?

  package init(
    provider: String, operation: String, endpoint: String, status: Int, code: String?, message: String,
    retryable: Bool, processed: Bool = true, retryAfter: Duration? = nil
  ) {
    self.provider = provider
    self.operation = operation
    self.endpoint = endpoint
    self.status = status
    self.code = code
    self.message = message
    self.retryable = retryable
    self.processed = processed
    self.retryAfter = retryAfter
  }

  /// "AWS IAM UpdateAccessKey failed: HTTP 404 NoSuchEntity: The user with name x cannot be found. (http://127.0.0.1:5000/)"
  package var description: String {
    var s = "\(provider) \(operation) failed: HTTP \(status)"
    if let code, !code.isEmpty { s += " \(code)" }
    if !message.isEmpty { s += ": \(message)" }
    s += " (\(endpoint))"
    return s
  }
}
