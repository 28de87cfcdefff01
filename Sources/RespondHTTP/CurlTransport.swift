import CCurl
import Foundation
import RespondCore

/// The real network: HTTP(S) and SMTP through libcurl.
///
/// Policy, enforced before any connection: https always; plain http only to loopback; only the
/// http/https (or smtp/smtps) protocols; redirects never followed (a 3xx is the answer); TLS
/// peer and host verification always on (`caBundle` adds trust, never removes checks); proxies
/// from the usual environment variables (libcurl's own handling), except that loopback targets
/// are never proxied. Transfers run on one dedicated libcurl thread (`CurlEngine`), sharing
/// connections across requests.
package final class CurlTransport: HTTPTransport {
  /// Hosts to treat as remote even when they are loopback: lets a test prove that STARTTLS is
  /// demanded (and plain http refused) for a remote host while talking to a local server.
  private let treatAsRemoteHosts: Set<String>
  private let defaultConnectTimeout: Duration
  private let defaultTimeout: Duration
  private let userAgent: String
  /// The largest answer body accepted; a bigger one fails the request rather than exhaust memory.
  private let maxResponseBytes: Int
  /// CURLOPT_RESOLVE entries (`host:port:address`): lets a test make a loopback name resolve to
  /// another address, as a hostile resolver would, to prove the connect-time check. Empty in use.
  private let resolve: [String]

  package init(
    connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30), userAgent: String = "respond",
    maxResponseBytes: Int = 64 * 1024 * 1024, treatAsRemoteHosts: Set<String> = [], resolve: [String] = []
  ) {
    self.maxResponseBytes = maxResponseBytes
    self.resolve = resolve
    self.defaultConnectTimeout = connectTimeout
    self.defaultTimeout = timeout
    self.userAgent = userAgent
    self.treatAsRemoteHosts = Set(treatAsRemoteHosts.map { $0.lowercased() })
  }

  private func isLocal(_ target: CurlTarget) -> Bool {
    target.isLoopback && !treatAsRemoteHosts.contains(target.host)
  }

  // MARK: - HTTP

  package func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    try CurlLibrary.require(for: request.url)
    let target = try CurlTarget.parse(request.url)
    switch target.scheme {
    case "https": break
    case "http":
      guard isLocal(target) else {
        throw TransportError.refused(
          url: target.redacted, reason: "plain http is only allowed to loopback hosts; use https")
      }
    default:
      throw TransportError.refused(url: target.redacted, reason: "unsupported scheme '\(target.scheme)'")
    }
    let timeout = request.timeout ?? defaultTimeout
    let engine = CurlEngine.shared
    let transfer = CurlTransfer(easy: engine.checkoutHandle(), target: target)
    transfer.maxResponseBytes = maxResponseBytes
    do {
      try configureHTTP(transfer, request, timeout: timeout)
    } catch {
      engine.returnHandle(transfer.easy)
      throw error
    }
    return try await perform(transfer, engine) { [self] code in
      if code == CURLE_OK {
        var status = 0
        respond_getinfo_long(transfer.easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: transfer.responseHeaders, body: transfer.responseBody))
      }
      return .failure(mapError(code, transfer, timeout: timeout, mail: false))
    }
  }

  private func configureHTTP(_ t: CurlTransfer, _ request: HTTPRequest, timeout: Duration) throws {
    let h = t.easy
    var rc = CURLE_OK
    func check(_ code: CURLcode, _ what: String) throws {
      guard code == CURLE_OK else {
        throw TransportError.refused(
          url: t.target.redacted, reason: "\(what): \(String(cString: respond_curl_easy_strerror(code)))")
      }
    }
    try check(respond_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https"), "protocols")
    try check(respond_setopt_curlu(h, t.target.handle), "url")
    try common(t, timeout: timeout, connectTimeout: request.connectTimeout ?? defaultConnectTimeout)
    // Plain http passed the name check; the address libcurl connects to must be loopback too.
    if t.target.scheme == "http" { try check(respond_setopt_loopback_only(h, t.loopbackGuard), "loopback rule") }
    try check(respond_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0), "redirects")
    if let ca = request.caBundle {
      try check(respond_setopt_string(h, CURLOPT_CAINFO, ca), "CA bundle")
    }

    // Method and body: exactly as given.
    let method = request.method
    let hasBody = !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(method)
    if method == "HEAD" {
      rc = respond_setopt_long(h, CURLOPT_NOBODY, 1)
    } else if !hasBody {
      rc = respond_setopt_long(h, CURLOPT_HTTPGET, 1)
      if rc == CURLE_OK && method != "GET" { rc = respond_setopt_string(h, CURLOPT_CUSTOMREQUEST, method) }
    } else {
      rc = respond_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
      if rc == CURLE_OK {
        rc = request.body.withUnsafeBytes { raw in
          // COPYPOSTFIELDS copies POSTFIELDSIZE bytes now: binary bodies are safe.
          respond_setopt_ptr(
            h, CURLOPT_COPYPOSTFIELDS,
            UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
        }
      }
      if rc == CURLE_OK && method != "POST" { rc = respond_setopt_string(h, CURLOPT_CUSTOMREQUEST, method) }
    }
    try check(rc, "method")

    // Headers as given; libcurl's own additions are removed unless the caller set them.
    var lines: [String] = []
    for (name, value) in request.headers {
      guard !name.isEmpty, !hasLineBreakOrNul(name + value),
        !name.contains(":")
      else {
        throw TransportError.refused(url: t.target.redacted, reason: "header '\(name.prefix(40))' is malformed")
      }
      // "Name;" is libcurl's way to send a header with an empty value ("Name:" would remove it).
      lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
    }
    if request.header("Expect") == nil { lines.append("Expect:") }
    if hasBody && request.header("Content-Type") == nil { lines.append("Content-Type:") }
    if request.header("User-Agent") == nil { lines.append("User-Agent: \(userAgent)") }
    try check(respond_setopt_slist(h, CURLOPT_HTTPHEADER, t.makeList(lines)), "headers")

    try check(respond_setopt_write_function(h, CurlTransfer.writeCallback), "write callback")
    try check(respond_setopt_ptr(h, CURLOPT_WRITEDATA, t.opaque), "write data")
    try check(respond_setopt_header_function(h, CurlTransfer.headerCallback), "header callback")
    try check(respond_setopt_ptr(h, CURLOPT_HEADERDATA, t.opaque), "header data")
  }

  /// Options every transfer gets: timeouts, TLS verification, signals, errors, proxy rule.
  private func common(_ t: CurlTransfer, timeout: Duration, connectTimeout: Duration) throws {
    let h = t.easy
    let results = [
      respond_setopt_long(h, CURLOPT_NOSIGNAL, 1),
      respond_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1),
      respond_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2),
      respond_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout)),
      respond_setopt_long(h, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout)),
      respond_setopt_ptr(h, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(t.errorBuffer)),
    ]
    if let bad = results.first(where: { $0 != CURLE_OK }) {
      throw TransportError.refused(url: t.target.redacted, reason: String(cString: respond_curl_easy_strerror(bad)))
    }
    if !resolve.isEmpty {
      let rc = respond_setopt_slist(h, CURLOPT_RESOLVE, t.makeList(resolve))
      guard rc == CURLE_OK else {
        throw TransportError.refused(url: t.target.redacted, reason: String(cString: respond_curl_easy_strerror(rc)))
      }
    }
    // A loopback target is never sent through a proxy (it would reach the proxy's loopback, and
    // plain http would leave this machine). Every other target keeps libcurl's env handling.
    if t.target.isLoopback {
      _ = respond_setopt_string(h, CURLOPT_PROXY, "")
    }
  }

  private static func milliseconds(_ d: Duration) -> Int {
    max(1, Int((d.seconds * 1000).rounded(.up)))
  }

  /// Runs the configured transfer on the engine and maps its completion; cancelling the task
  /// aborts the transfer.
  private func perform<T: Sendable>(
    _ t: CurlTransfer, _ engine: CurlEngine, _ result: @escaping @Sendable (CURLcode) -> Result<T, Error>
  ) async throws -> T {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
        t.onDone = { code in
          if code == CURLE_ABORTED_BY_CALLBACK && t.wasCancelled {
            cont.resume(throwing: CancellationError())
          } else {
            cont.resume(with: result(code))
          }
        }
        engine.start(t)
      }
    } onCancel: {
      engine.cancel(t)
    }
  }

  // MARK: - SMTP

  /// Sends `mail` over SMTP. `smtps://` is implicit TLS; `smtp://` must upgrade with STARTTLS
  /// (the transfer fails as `.tls` if the server does not offer it) unless the server is loopback.
  package func sendMail(_ mail: MailRequest) async throws {
    try CurlLibrary.require(for: mail.url)
    let target = try CurlTarget.parse(mail.url)
    guard target.scheme == "smtp" || target.scheme == "smtps" else {
      throw TransportError.refused(url: target.redacted, reason: "unsupported scheme '\(target.scheme)' for e-mail")
    }
    let addresses = [mail.from] + mail.recipients
    guard !mail.recipients.isEmpty,
      addresses.allSatisfy({ !$0.isEmpty && !hasLineBreakOrNul($0) })
    else {
      throw TransportError.refused(
        url: target.redacted, reason: "sender and recipients must be non-empty single-line addresses")
    }
    let timeout = mail.timeout ?? defaultTimeout
    let engine = CurlEngine.shared
    let transfer = CurlTransfer(easy: engine.checkoutHandle(), target: target, upload: mail.message)
    do {
      try configureMail(transfer, mail, timeout: timeout)
    } catch {
      engine.returnHandle(transfer.easy)
      throw error
    }
    let _: Bool = try await perform(transfer, engine) { [self] code in
      code == CURLE_OK ? .success(true) : .failure(mapError(code, transfer, timeout: timeout, mail: true))
    }
  }

  private func configureMail(_ t: CurlTransfer, _ mail: MailRequest, timeout: Duration) throws {
    let h = t.easy
    func check(_ code: CURLcode, _ what: String) throws {
      guard code == CURLE_OK else {
        throw TransportError.refused(
          url: t.target.redacted, reason: "\(what): \(String(cString: respond_curl_easy_strerror(code)))")
      }
    }
    try check(respond_setopt_string(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps"), "protocols")
    try check(respond_setopt_curlu(h, t.target.handle), "url")
    try common(t, timeout: timeout, connectTimeout: defaultConnectTimeout)
    if t.target.scheme == "smtp" && !isLocal(t.target) {
      try check(respond_setopt_long(h, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)), "STARTTLS")
    } else if t.target.scheme == "smtp" {
      // Unencrypted SMTP (credentials included) is for loopback only: checked on the address too.
      try check(respond_setopt_loopback_only(h, t.loopbackGuard), "loopback rule")
    }
    func bracketed(_ a: String) -> String { a.hasPrefix("<") ? a : "<\(a)>" }
    try check(respond_setopt_string(h, CURLOPT_MAIL_FROM, bracketed(mail.from)), "sender")
    try check(respond_setopt_slist(h, CURLOPT_MAIL_RCPT, t.makeList(mail.recipients.map(bracketed))), "recipients")
    if let user = mail.username {
      try check(respond_setopt_string(h, CURLOPT_USERNAME, user), "user name")
      try check(respond_setopt_string(h, CURLOPT_PASSWORD, mail.password ?? ""), "password")
    }
    try check(respond_setopt_long(h, CURLOPT_UPLOAD, 1), "upload")
    try check(respond_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(mail.message.count)), "size")
    try check(respond_setopt_read_function(h, CurlTransfer.readCallback), "read callback")
    try check(respond_setopt_ptr(h, CURLOPT_READDATA, t.opaque), "read data")
  }

  // MARK: - Errors

  /// Maps a libcurl failure to the transport's error kinds. URLs in messages never carry a query.
  private func mapError(_ code: CURLcode, _ t: CurlTransfer, timeout: Duration, mail: Bool) -> TransportError {
    let url = t.target.redacted
    if let address = t.refusedAddress {
      let what = mail ? "unencrypted SMTP" : "plain http"
      return .refused(
        url: url, reason: "\(what) is only allowed to loopback addresses; \(t.target.host) resolved to \(address)")
    }
    let detail = t.errorText.isEmpty ? String(cString: respond_curl_easy_strerror(code)) : t.errorText
    switch code.rawValue {
    case 5, 6, 7:  // couldn't resolve proxy / host, couldn't connect
      return .connectionFailed(url: url, detail: detail)
    case 28:  // operation timed out
      // Nothing of the request sent (still connecting, or the TLS handshake never finished): it
      // cannot have been processed, which makes it a failure to connect.
      var sent = 0
      respond_getinfo_long(t.easy, CURLINFO_REQUEST_SIZE, &sent)
      if sent == 0 && !mail {
        return .connectionFailed(url: url, detail: detail)
      }
      return .timedOut(url: url, after: timeout)
    case 35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98:
      return .tls(url: url, detail: detail)
    case 23 where t.overflowed:
      return .connectionLost(url: url, detail: "the answer is larger than \(t.maxResponseBytes / (1024 * 1024)) MiB")
    case 1, 3:  // unsupported protocol, malformed URL
      return .refused(url: url, reason: detail)
    case 8, 9, 55, 56, 67:
      if mail {
        var reply = 0
        respond_getinfo_long(t.easy, CURLINFO_RESPONSE_CODE, &reply)
        if reply >= 500 || code.rawValue == 67 {
          return .refused(url: url, reason: "the mail server rejected the message: \(detail)")
        }
      }
      return .connectionLost(url: url, detail: detail)
    default:  // 16 HTTP/2, 18 partial file, 52 got nothing, 92 HTTP/2 stream, and anything else
      return .connectionLost(url: url, detail: detail)
    }
  }
}
