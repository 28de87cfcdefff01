import Crypto
import Foundation
import RespondCore

/// AWS Signature Version 4, as pure functions of the request, the credentials and an explicit
/// date, so the official test vectors (and every intermediate value) can be checked exactly.
/// Each step of the algorithm is its own function; `sign` strings them together and returns
/// the headers to add to the request.
package enum SigV4 {
  /// The algorithm name written in the string to sign and the Authorization header.
  package static let algorithm = "AWS4-HMAC-SHA256"

  /// What signs a request: an access key id, its secret, and a session token for temporary
  /// credentials. `description` never shows the secret or the token.
  package struct Credentials: Sendable, Equatable, CustomStringConvertible {
    package var accessKeyID: String
    package var secretAccessKey: String
    package var sessionToken: String?

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
      self.accessKeyID = accessKeyID
      self.secretAccessKey = secretAccessKey
      self.sessionToken = sessionToken
    }

    package var description: String {
      "Credentials(\(accessKeyID)\(sessionToken == nil ? "" : ", with session token"))"
    }
  }

  /// Every intermediate value of one signature: what tests compare against the published vectors
  /// and what a signature mismatch can be debugged with (none of it is secret except the key).
  package struct Signature: Sendable {
    package var canonicalRequest: String
    package var canonicalRequestHash: String
    package var stringToSign: String
    package var signingKey: [UInt8]
    package var signature: String
    package var signedHeaders: String
    package var credentialScope: String
    package var amzDate: String
    /// The value of the Authorization header.
    package var authorization: String
    /// The headers to send in addition to the request's own: Host (if it had none), X-Amz-Date,
    /// X-Amz-Security-Token (temporary credentials) and Authorization, in that order.
    package var headersToAdd: [(String, String)]

    package var signingKeyHex: String { SigV4.hex(signingKey) }
  }

  // MARK: - Signing

  /// Signs a request. Adds `Host` (from the URL, with a non-default port) unless present,
  /// `X-Amz-Date`, and `X-Amz-Security-Token` when the credentials carry a session token; signs
  /// `host`, `x-amz-*`, `content-type` (and `content-md5`) when present.
  package static func sign(
    method: String, url: String, headers: [(String, String)], body: Data, credentials: Credentials,
    region: String, service: String, date: Date
  ) throws -> Signature {
    guard let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty else {
      throw ActionError.failed("cannot sign a request to '\(url)': not an absolute URL")
    }
    let amzDate = amzDateString(date)
    let day = String(amzDate.prefix(8))
    var all = headers.filter { lowercase($0.0) != "x-amz-date" && lowercase($0.0) != "authorization" }
    var added: [(String, String)] = []
    if !all.contains(where: { lowercase($0.0) == "host" }) {
      added.append(("Host", hostHeader(parts)))
    }
    added.append(("X-Amz-Date", amzDate))
    if let token = credentials.sessionToken, !token.isEmpty,
      !all.contains(where: { lowercase($0.0) == "x-amz-security-token" })
    {
      added.append(("X-Amz-Security-Token", token))
    }
    all += added
    let toSign = all.filter { isSignedHeader(lowercase($0.0)) }
    let (headerBlock, signedHeaders) = canonicalHeaders(toSign)
    let canonical = canonicalRequest(
      method: method, canonicalURI: canonicalURI(parts.percentEncodedPath, service: service),
      canonicalQuery: canonicalQueryString(parts.percentEncodedQuery ?? ""), canonicalHeaders: headerBlock,
      signedHeaders: signedHeaders, payloadHash: sha256Hex(body))
    let scope = credentialScope(day: day, region: region, service: service)
    let canonicalHash = sha256Hex(Data(canonical.utf8))
    let toSignText = stringToSign(amzDate: amzDate, scope: scope, canonicalRequestHash: canonicalHash)
    let key = signingKey(secret: credentials.secretAccessKey, day: day, region: region, service: service)
    let signature = hex(hmac(key: key, Data(toSignText.utf8)))
    let authorization =
      "\(algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    added.append(("Authorization", authorization))
    return Signature(
      canonicalRequest: canonical, canonicalRequestHash: canonicalHash, stringToSign: toSignText, signingKey: key,
      signature: signature, signedHeaders: signedHeaders, credentialScope: scope, amzDate: amzDate,
      authorization: authorization, headersToAdd: added)
  }

  /// The request with the signature's headers added (the request's own headers kept as they were).
  package static func sign(
    _ request: HTTPRequest, credentials: Credentials, region: String, service: String, date: Date
  ) throws -> HTTPRequest {
    let sig = try sign(
      method: request.method, url: request.url, headers: request.headers, body: request.body,
      credentials: credentials, region: region, service: service, date: date)
    var signed = request
    signed.headers =
      request.headers.filter {
        lowercase($0.0) != "x-amz-date" && lowercase($0.0) != "authorization"
      } + sig.headersToAdd
    return signed
  }

  /// Which headers are signed: host, content-type, content-md5 and every x-amz-* header
  /// (x-amz-date, x-amz-target, x-amz-security-token, x-amz-content-sha256).
  static func isSignedHeader(_ lowercasedName: String) -> Bool {
    lowercasedName == "host" || lowercasedName == "content-type" || lowercasedName == "content-md5"
      || lowercasedName.hasPrefix("x-amz-")
  }

  // MARK: - Algorithm steps

  /// `20150830T123600Z`: the X-Amz-Date form of a date, in UTC.
  package static func amzDateString(_ date: Date) -> String {
    ISO8601.compact(date)  // same shape; hand-formatted (Foundation formatters are slow to create)
  }

  /// The Host header for a URL: the host, plus the port when it is not the scheme's default.
  package static func hostHeader(_ parts: URLComponents) -> String {
    var host = parts.percentEncodedHost ?? parts.host ?? ""
    if host.contains(":"), !host.hasPrefix("[") { host = "[\(host)]" }  // bare IPv6
    guard let port = parts.port else { return host }
    let scheme = parts.scheme?.lowercased()
    if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) { return host }
    return "\(host):\(port)"
  }

  /// `<day>/<region>/<service>/aws4_request`
  package static func credentialScope(day: String, region: String, service: String) -> String {
    "\(day)/\(region)/\(service)/aws4_request"
  }

  /// The six parts of the canonical request, joined with newlines.
  package static func canonicalRequest(
    method: String, canonicalURI: String, canonicalQuery: String, canonicalHeaders: String, signedHeaders: String,
    payloadHash: String
  ) -> String {
    [method.uppercased(), canonicalURI, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash]
      .joined(separator: "\n")
  }

  /// The string to sign: algorithm, date, scope and the hash of the canonical request.
  package static func stringToSign(amzDate: String, scope: String, canonicalRequestHash: String) -> String {
    [algorithm, amzDate, scope, canonicalRequestHash].joined(separator: "\n")
  }

  /// The derived signing key: HMAC chain over day, region, service and "aws4_request".
  package static func signingKey(secret: String, day: String, region: String, service: String) -> [UInt8] {
    let kDate = hmac(key: Array(("AWS4" + secret).utf8), Data(day.utf8))
    let kRegion = hmac(key: kDate, Data(region.utf8))
    let kService = hmac(key: kRegion, Data(service.utf8))
    return hmac(key: kService, Data("aws4_request".utf8))
  }

  /// The canonical URI of a URL path (given as it appears in the URL, percent-encoded). Every
  /// service but S3 normalises the path (drops `.`/`..` and empty segments) and encodes each
  /// segment again, so `%20` in the URL becomes `%2520`; S3 encodes each decoded segment once.
  package static func canonicalURI(_ encodedPath: String, service: String) -> String {
    if encodedPath.isEmpty { return "/" }
    let segments = encodedPath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    if service == "s3" {
      let encoded = segments.map { uriEncode($0.removingPercentEncoding ?? $0) }.joined(separator: "/")
      return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }
    var stack: [String] = []
    for seg in segments.dropFirst() {  // the path starts with "/", so the first segment is empty
      switch seg {
      case "", ".": continue
      case "..": if !stack.isEmpty { stack.removeLast() }
      default: stack.append(seg)
      }
    }
    let trailingSlash = encodedPath.hasSuffix("/") && !stack.isEmpty
    let path = "/" + stack.map { uriEncode($0) }.joined(separator: "/") + (trailingSlash ? "/" : "")
    return path
  }

  /// The canonical query string: names and values decoded from the URL, re-encoded strictly
  /// (space as `%20`), sorted by name then value, joined with `&`.
  package static func canonicalQueryString(_ encodedQuery: String) -> String {
    guard !encodedQuery.isEmpty else { return "" }
    var pairs: [(String, String)] = []
    for item in encodedQuery.split(separator: "&", omittingEmptySubsequences: true) {
      let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
      let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
      pairs.append((uriEncode(name), uriEncode(value)))
    }
    pairs.sort { a, b in
      a.0 != b.0
        ? Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
        : Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8))
    }
    return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
  }

  /// The canonical headers block (each `name:value\n`, names lower-cased, values trimmed with
  /// inner runs of spaces collapsed, repeats joined with `,`, sorted by name) and the
  /// `;`-joined signed-headers list.
  package static func canonicalHeaders(_ headers: [(String, String)]) -> (block: String, signed: String) {
    var merged: [String: [String]] = [:]
    for (name, value) in headers {
      merged[lowercase(name), default: []].append(collapseSpaces(value))
    }
    let names = merged.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    let block = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
    return (block, names.joined(separator: ";"))
  }

  /// RFC 3986 encoding as SigV4 wants it: only `A-Z a-z 0-9 - _ . ~` stay, hex is upper-case;
  /// `/` is encoded unless `encodeSlash` is false.
  package static func uriEncode(_ text: String, encodeSlash: Bool = true) -> String {
    text.percentEncoded(keeping: encodeSlash ? "-_.~" : "-_.~/")
  }

  // MARK: - Primitives

  /// Trims a header value and collapses inner runs of spaces (and tabs) to one space.
  static func collapseSpaces(_ value: String) -> String {
    var out = ""
    var lastWasSpace = false
    for ch in value.trimmingCharacters(in: .whitespacesAndNewlines) {
      if ch == " " || ch == "\t" {
        if !lastWasSpace { out.append(" ") }
        lastWasSpace = true
      } else {
        out.append(ch)
        lastWasSpace = false
      }
    }
    return out
  }

  static func lowercase(_ s: String) -> String { s.lowercased() }

  package static func sha256Hex(_ data: Data) -> String { RespondCore.sha256Hex(data) }

  static func hmac(key: [UInt8], _ data: Data) -> [UInt8] {
    Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
  }

  package static func hex(_ bytes: [UInt8]) -> String { hexString(bytes) }
}
