import CCurl
import Foundation
import RespondCore

/// A URL parsed by libcurl's own URL parser (so the policy checks exactly the host libcurl will
/// connect to: no parser differential), with the parts the policy and error messages need.
final class CurlTarget: @unchecked Sendable {
  /// The CURLU handle given to the transfer through CURLOPT_CURLU.
  let handle: OpaquePointer
  let scheme: String
  /// The host as libcurl stores it: lower-cased names, normalised IPv4, bracketed IPv6.
  let host: String
  /// `scheme://host[:port]/path`: no user info, query or fragment, which may carry secrets.
  let redacted: String

  private init(handle: OpaquePointer, scheme: String, host: String, redacted: String) {
    self.handle = handle
    self.scheme = scheme
    self.host = host
    self.redacted = redacted
  }

  deinit { respond_curl_url_cleanup(handle) }

  /// Parses `url`, or throws `.refused` when libcurl cannot parse it or it has no host.
  static func parse(_ url: String) throws -> CurlTarget {
    let shown = redact(url)
    guard let u = respond_curl_url() else { throw TransportError.refused(url: shown, reason: "cannot parse the URL") }
    guard !hasLineBreakOrNul(url) else {
      respond_curl_url_cleanup(u)
      throw TransportError.refused(url: shown, reason: "the URL contains control characters")
    }
    let rc = respond_curl_url_set(u, CURLUPART_URL, url, 0)
    guard rc == CURLUE_OK else {
      let why = String(cString: respond_curl_url_strerror(rc))
      respond_curl_url_cleanup(u)
      throw TransportError.refused(url: shown, reason: "malformed URL (\(why))")
    }
    func part(_ p: CURLUPart) -> String? {
      var out: UnsafeMutablePointer<CChar>?
      guard respond_curl_url_get(u, p, &out, 0) == CURLUE_OK, let out else { return nil }
      defer { respond_curl_free(out) }
      return String(cString: out)
    }
    guard let scheme = part(CURLUPART_SCHEME)?.lowercased(), let host = part(CURLUPART_HOST), !host.isEmpty else {
      respond_curl_url_cleanup(u)
      throw TransportError.refused(url: shown, reason: "the URL needs a scheme and a host")
    }
    var clean = "\(scheme)://\(host)"
    if let port = part(CURLUPART_PORT) { clean += ":\(port)" }
    clean += part(CURLUPART_PATH) ?? "/"
    return CurlTarget(handle: u, scheme: scheme, host: host.lowercased(), redacted: clean)
  }

  /// Whether the host names this machine: `localhost`, 127.0.0.0/8 or ::1. Only a first check:
  /// `localhost.` (trailing dot) is not accepted, because libcurl resolves it through DNS, and a
  /// resolver can answer another address for any name; the transport therefore also checks the
  /// address libcurl connects to (`respond_setopt_loopback_only`).
  var isLoopback: Bool { Self.isLoopback(host) }

  static func isLoopback(_ rawHost: String) -> Bool {
    var host = rawHost.lowercased()
    if host == "localhost" { return true }
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    var v4 = in_addr()
    if inet_pton(AF_INET, host, &v4) == 1 {
      return UInt32(bigEndian: v4.s_addr) >> 24 == 127
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, host, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { b in b.prefix(15).allSatisfy { $0 == 0 } && b[15] == 1 }
    }
    return false
  }

  /// A URL fit for error messages when libcurl could not parse it: query, fragment and user
  /// info cut off.
  static func redact(_ url: String) -> String { redactedURL(url) }
}

/// Whether `s` holds CR, LF or NUL (checked on scalars: "\r\n" is one Character in Swift).
func hasLineBreakOrNul(_ s: String) -> Bool {
  s.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
}
