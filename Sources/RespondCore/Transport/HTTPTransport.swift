import Foundation

/// One HTTP request as an action wants it sent. `mutates` says whether sending it changes
/// anything at the provider: the dry-run gate refuses exactly those. It defaults from the method
/// (GET/HEAD/OPTIONS are safe), and protocols that read with POST (AWS Query, search APIs) set it.
package struct HTTPRequest: Sendable, Equatable {
  package var method: String
  package var url: String
  package var headers: [(String, String)]
  package var body: Data
  package var mutates: Bool
  /// Connect and whole-transfer limits; the transport applies defaults when nil.
  package var connectTimeout: Duration?
  package var timeout: Duration?
  /// A short label for progress and errors, e.g. "iam:UpdateAccessKey".
  package var operation: String?
  /// Extra CA bundle to trust (e.g. `VAULT_CACERT`); verification itself is never turned off.
  package var caBundle: String?
  /// Every value in the (JSON) body is a secret, however short (a Vault KV write's fields: a
  /// 5-digit PIN is below what the masker can safely match in free text). A dry run shows such a
  /// body only as its shape, each value as its fingerprint.
  package var bodyIsSecret = false

  package init(
    method: String, url: String, headers: [(String, String)] = [], body: Data = Data(),
    mutates: Bool? = nil, connectTimeout: Duration? = nil, timeout: Duration? = nil, operation: String? = nil,
    caBundle: String? = nil
  ) {
    self.caBundle = caBundle
    self.method = method.uppercased()
    self.url = url
    self.headers = headers
    self.body = body
    self.mutates = mutates ?? !["GET", "HEAD", "OPTIONS"].contains(method.uppercased())
    self.connectTimeout = connectTimeout
    self.timeout = timeout
    self.operation = operation
  }

  /// The first header with this name (case-insensitive).
  package func header(_ name: String) -> String? {
    headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
  }

  package static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
    a.method == b.method && a.url == b.url && a.body == b.body && a.mutates == b.mutates
      && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
  }
}

/// What came back. Headers keep their order and repeats.
package struct HTTPResponse: Sendable {
  package var status: Int
  package var headers: [(String, String)]
  package var body: Data

  package init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  package func header(_ name: String) -> String? {
    headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
  }

  package var text: String { String(decoding: body, as: UTF8.self) }
  package var json: Value? { Value.parseJSON(body) }

  /// `Retry-After` in seconds (delta form; an HTTP date is converted against now).
  package var retryAfter: Duration? {
    guard let raw = header("Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
    if let secs = Double(raw) { return .milliseconds(Int64(max(0, secs) * 1000)) }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    if let d = f.date(from: raw) { return .milliseconds(Int64(max(0, d.timeIntervalSinceNow) * 1000)) }
    return nil
  }
}

/// An e-mail to hand to an SMTP server.
package struct MailRequest: Sendable {
  /// `smtp://host:port` (STARTTLS required except on loopback) or `smtps://host:port`.
  package var url: String
  package var from: String
  package var recipients: [String]
  /// The whole RFC 5322 message: headers, blank line, body, CRLF line endings.
  package var message: Data
  package var username: String?
  package var password: String?
  package var timeout: Duration?

  package init(
    url: String, from: String, recipients: [String], message: Data, username: String? = nil,
    password: String? = nil, timeout: Duration? = nil
  ) {
    self.url = url
    self.from = from
    self.recipients = recipients
    self.message = message
    self.username = username
    self.password = password
    self.timeout = timeout
  }
}

/// The network as the core sees it. The real one is libcurl (RespondHTTP); tests use recorded
/// ones. Implementations refuse plain http:// (and smtp:// without TLS) to anything but loopback,
/// always verify TLS, and honour the usual proxy variables.
package protocol HTTPTransport: Sendable {
  func send(_ request: HTTPRequest) async throws -> HTTPResponse
  func sendMail(_ mail: MailRequest) async throws
}

extension HTTPTransport {
  package func sendMail(_ mail: MailRequest) async throws {
    throw TransportError.unsupported("this transport cannot send e-mail")
  }
}

/// Failures below HTTP: no answer at all. Distinguishes "never reached the server" (safe to
/// retry anything) from "may have been processed" (retry only idempotent work).
package enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The connection was refused or the host did not resolve: the request was not processed.
  case connectionFailed(url: String, detail: String)
  /// No complete answer in time: the request may or may not have been processed.
  case timedOut(url: String, after: Duration)
  /// The connection broke mid-exchange: the request may or may not have been processed.
  case connectionLost(url: String, detail: String)
  /// The URL or scheme is refused by policy (plain http to a non-loopback host, bad scheme).
  case refused(url: String, reason: String)
  /// TLS failed: untrusted certificate, wrong host name, handshake error.
  case tls(url: String, detail: String)
  case unsupported(String)

  package var description: String {
    switch self {
    case .connectionFailed(let url, let d): return "could not connect to \(url): \(d)"
    case .timedOut(let url, let after): return "no answer from \(url) within \(after.shortDescription)"
    case .connectionLost(let url, let d): return "connection to \(url) broke: \(d)"
    case .refused(let url, let r): return "refused to send to \(url): \(r)"
    case .tls(let url, let d): return "TLS failure talking to \(url): \(d)"
    case .unsupported(let s): return s
    }
  }

  /// Whether the server cannot have processed the request (so a retry is safe even for a
  /// non-idempotent call).
  package var requestNotProcessed: Bool {
    switch self {
    case .connectionFailed, .refused, .tls, .unsupported: return true
    case .timedOut, .connectionLost: return false
    }
  }
}

extension Duration {
  /// `850ms`, `2.3s`, `1m05s`: short forms for progress lines and reports.
  package var shortDescription: String {
    let ms = Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    if ms < 1000 { return "\(Int(ms.rounded()))ms" }
    let s = ms / 1000
    if s < 60 { return String(format: "%.1fs", s) }
    let whole = Int(s.rounded())
    if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
    return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
  }

  /// The duration in (fractional) seconds.
  package var seconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}

/// URLs as they may be shown: query, fragment and user-info cut off (any of them can carry a
/// secret), line breaks dropped. One helper for every error message, log line and dry-run record.
package func redactedURL(_ url: String) -> String {
  var s = Substring(url)
  if let cut = s.firstIndex(where: { $0 == "?" || $0 == "#" }) { s = s[..<cut] }
  if let schemeEnd = s.range(of: "://") {
    let rest = s[schemeEnd.upperBound...]
    let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
    if let at = rest[..<authorityEnd].lastIndex(of: "@") {
      s = s[..<schemeEnd.upperBound] + rest[rest.index(after: at)...]
    }
  }
  return String(s.filter { !$0.isNewline })
}
