import Foundation
import RespondCore

/// The generic HTTP family: one `http` action that simple REST providers are built on (in YAML,
/// without Swift code).
package enum HTTPActions {
  package static func all() -> [any Action] { [HTTPAction()] }
}

/// `http`: sends one request and reads the answer.
///
/// The request is built from declared parts only: query values and form fields are
/// percent-encoded (raw input is never spliced into a URL's query), header names and values with
/// CR/LF are refused (header injection), and only http/https URLs are accepted (the transport
/// further refuses plain http to anything but loopback). Authentication secrets are registered
/// with the masker before anything is sent. The request says whether it mutates (the method's
/// default, or read-only when an action definition declares it), which the dry-run gate decides on.
package struct HTTPAction: Action {
  package init() {}

  /// The most of the body kept as the `body` output.
  static let bodyOutputLimit = 64 * 1024

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "http",
      summary: "Send an HTTP request (https, or http to loopback) and extract outputs from the JSON answer",
      parameters: [
        ParameterSpec("method", .string, "GET (default), POST, PUT, PATCH, DELETE, HEAD, OPTIONS"),
        ParameterSpec(
          "url", .string, required: true, interpolation: .url,
          "http(s) URL; values spliced into its path are encoded as one segment; put query parameters in `query`"),
        ParameterSpec("query", .map, "query parameters (values percent-encoded; a list repeats the name)"),
        ParameterSpec("headers", .map, "request headers"),
        ParameterSpec("json", .any, "a value sent as the JSON body (Content-Type: application/json)"),
        ParameterSpec("form", .map, "fields sent as an application/x-www-form-urlencoded body"),
        ParameterSpec("body", .string, "a raw body, sent as is"),
        // Not declared secret as a whole (the header name and user name are not secrets): the
        // token, password and header value are registered with the masker when the request is built.
        ParameterSpec(
          "auth", .map, "{type: bearer, token} | {type: basic, username, password} | {type: header, name, value}"),
        ParameterSpec("expect", .list, "accepted statuses (e.g. [200, 404] or [2xx]); default: any 2xx"),
        ParameterSpec("outputs", .map, "output name → JSON pointer into the answer, e.g. {user-id: /id}"),
        ParameterSpec("secret-outputs", .list, "names of outputs whose values are secrets (masked everywhere)"),
        // Only `true` (a GET that changes state): a runbook step must not be able to wave a POST
        // through the dry-run gate. A read-only POST (a search API) is declared by an action
        // definition file (`mutates: false`), which DefinedAction passes as `readOnly`.
        ParameterSpec(
          "mutates", .boolean, allowed: ["true"],
          "true marks a GET as changing state (a request mutates unless it is GET/HEAD/OPTIONS)"),
        ParameterSpec("timeout", .number, "seconds for the whole request (default 30)"),
      ],
      outputs: [
        OutputSpec("status", "the HTTP status"),
        OutputSpec("body", "the answer as text (at most 64 KiB)"),
        OutputSpec("json", "the answer parsed as JSON (null when it is not JSON)"),
        OutputSpec("headers", "the answer's headers, lower-case names"),
      ],
      mutates: true, idempotent: false)
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    try await run(context, readOnly: false)
  }

  /// Sends the request; `readOnly` comes from an action definition's own `mutates: false`
  /// (never from a parameter), and is what lets a read-only POST pass the dry-run gate.
  package func run(_ context: ActionContext, readOnly: Bool) async throws -> ActionResult {
    let built = try Self.buildRequest(context, readOnly: readOnly)
    let request = built.request
    let response: HTTPResponse
    do {
      response = try await context.transport.send(request)
    } catch let error as TransportError {
      throw ActionError.transport(error)
    }

    // Secrets first: before any error message or output can carry them.
    let extraction = try Self.extractions(context)
    let json = response.json
    var named: [String: Value] = [:]
    for (name, pointer) in extraction {
      named[name] = json?.pointer(pointer) ?? .null
    }
    let secretNames = try Self.secretOutputNames(context)
    for name in secretNames {
      if let v = named[name] { context.masker.register(v) }
    }

    let accepted = try Self.acceptedStatuses(context)
    guard accepted.contains(response.status) else {
      let rateLimited = Self.isRateLimited(response)
      let retryable = rateLimited || response.status >= 500
      throw ActionError.provider(
        ProviderError(
          provider: "HTTP", operation: "\(request.method) \(built.path)", endpoint: built.shownURL,
          status: response.status, code: Self.errorCode(json),
          message: Self.errorMessage(response, json: json, masker: context.masker),
          retryable: retryable,
          processed: !(response.status == 429 || response.status == 503 || (400..<500).contains(response.status)),
          retryAfter: rateLimited ? Self.rateLimitWait(response) : (retryable ? response.retryAfter : nil)))
    }

    var outputs: [String: Value] = [
      "status": .number(Double(response.status)),
      "body": .string(Self.truncatedText(response.body, masker: context.masker)),
      "json": json ?? .null,
      "headers": .object(Self.headerMap(response.headers)),
    ]
    for name in secretNames where named[name] == nil {
      if let v = outputs[name] { context.masker.register(v) }
    }
    outputs.merge(named) { _, extracted in extracted }
    return ActionResult(outputs: outputs, summary: "\(request.method) \(built.shownURL) → HTTP \(response.status)")
  }

  // MARK: - Building the request

  /// The request plus how to show its URL (no query: it may hold secrets).
  struct Built {
    var request: HTTPRequest
    var shownURL: String
    var path: String
  }

  static func buildRequest(_ context: ActionContext, readOnly: Bool = false) throws -> Built {
    let p = context.parameters
    let method = (context.optionalString("method") ?? "GET").uppercased()
    guard !method.isEmpty, method.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
      throw ActionError.badParameter(name: "method", reason: "must be an HTTP method such as GET or POST")
    }
    let target = try target(context)
    var headers = try headerList(p["headers"])
    if let auth = p["auth"], !auth.isNull {
      let (name, value) = try authHeader(auth, masker: context.masker)
      guard !headers.contains(where: { $0.0.caseInsensitiveCompare(name) == .orderedSame }) else {
        throw ActionError.badParameter(
          name: "auth", reason: "conflicts with the '\(name)' header also given in headers")
      }
      headers.append((name, value))
    }
    let body = try requestBody(p, headers: &headers)

    var timeout: Duration?
    if let t = p["timeout"], !t.isNull {
      guard let secs = t.numberValue, secs > 0, secs <= 3600 else {
        throw ActionError.badParameter(name: "timeout", reason: "must be a number of seconds between 0 and 3600")
      }
      timeout = .milliseconds(Int64((secs * 1000).rounded()))
    }
    // The method decides, then the definition's declaration; a parameter can only add `true`.
    var mutatesOverride: Bool? = readOnly ? false : nil
    if let m = p["mutates"], !m.isNull {
      guard try context.bool("mutates", default: true) else {
        throw ActionError.badParameter(
          name: "mutates", reason: "cannot be false: only an action definition file may declare a request read-only")
      }
      mutatesOverride = true
    }

    let request = HTTPRequest(
      method: method, url: target.url, headers: headers, body: body, mutates: mutatesOverride, timeout: timeout,
      operation: "http \(method) \(target.host)\(target.path)")
    return Built(request: request, shownURL: target.shownURL, path: target.path)
  }

  /// The URL to send (the query encoded onto it), how to show it, its host and path.
  static func target(_ context: ActionContext) throws -> (url: String, shownURL: String, host: String, path: String) {
    // URL: http(s) only, no control characters; the fragment is never sent.
    var url = try context.string("url")
    guard !url.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
      throw ActionError.badParameter(name: "url", reason: "must not contain spaces or control characters")
    }
    if let hash = url.firstIndex(of: "#") { url = String(url[..<hash]) }
    guard let scheme = url.range(of: "://").map({ url[..<$0.lowerBound].lowercased() }),
      ["http", "https"].contains(scheme),
      let components = URLComponents(string: url), let host = components.host, !host.isEmpty
    else {
      throw ActionError.badParameter(name: "url", reason: "must be an http:// or https:// URL with a host")
    }
    let shownURL = Self.withoutQuery(url)
    let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath

    if let query = context.parameters["query"], !query.isNull {
      guard let map = query.objectValue else {
        throw ActionError.badParameter(name: "query", reason: "must be a map of names to values")
      }
      let encoded = try formEncode(map, parameter: "query")
      if !encoded.isEmpty {
        if url.hasSuffix("?") || url.hasSuffix("&") {
          url += encoded
        } else {
          url += (url.contains("?") ? "&" : "?") + encoded
        }
      }
    }
    return (url, shownURL, host, path)
  }

  /// The `headers` parameter as checked (name, value) pairs, sorted by name; null values left out.
  static func headerList(_ given: Value?) throws -> [(String, String)] {
    guard let given, !given.isNull else { return [] }
    guard let map = given.objectValue else {
      throw ActionError.badParameter(name: "headers", reason: "must be a map of header names to values")
    }
    var headers: [(String, String)] = []
    for name in map.keys.sorted() {
      let value = map[name] ?? .null
      if value.isNull { continue }
      guard let text = scalarText(value) else {
        throw ActionError.badParameter(
          name: "headers", reason: "header '\(name)' must be a string, not a \(value.typeName)")
      }
      try checkHeader(name, text, parameter: "headers")
      headers.append((name, text))
    }
    return headers
  }

  /// The body from at most one of json, form, body; its Content-Type added unless given.
  static func requestBody(_ p: [String: Value], headers: inout [(String, String)]) throws -> Data {
    func hasHeader(_ name: String) -> Bool { headers.contains { $0.0.caseInsensitiveCompare(name) == .orderedSame } }
    let bodies = ["json", "form", "body"].filter { p[$0].map { !$0.isNull } ?? false }
    guard bodies.count <= 1 else {
      throw ActionError.badParameter(name: bodies[1], reason: "cannot be combined with '\(bodies[0])': give one body")
    }
    switch bodies.first {
    case "json":
      if !hasHeader("Content-Type") { headers.append(("Content-Type", "application/json")) }
      return Data(p["json"]!.jsonString().utf8)
    case "form":
      guard let map = p["form"]?.objectValue else {
        throw ActionError.badParameter(name: "form", reason: "must be a map of field names to values")
      }
      let body = Data(try formEncode(map, parameter: "form").utf8)
      if !hasHeader("Content-Type") { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
      return body
    case "body":
      guard let text = p["body"].flatMap(scalarText) else {
        throw ActionError.badParameter(name: "body", reason: "must be a string (use json for structured bodies)")
      }
      return Data(text.utf8)
    default:
      return Data()
    }
  }

  /// The `Authorization` (or custom) header for `auth`; its secret parts are registered first.
  static func authHeader(_ auth: Value, masker: Masker) throws -> (String, String) {
    guard let map = auth.objectValue, let type = map["type"]?.stringValue?.lowercased() else {
      throw ActionError.badParameter(name: "auth", reason: "must be a map with a type: bearer, basic or header")
    }
    func field(_ name: String) throws -> String {
      guard let v = map[name].flatMap(scalarText), !v.isEmpty else {
        throw ActionError.badParameter(name: "auth", reason: "\(type) authentication needs '\(name)'")
      }
      return v
    }
    switch type {
    case "bearer":
      let token = try field("token")
      masker.register(token)
      try checkHeader("Authorization", token, parameter: "auth")
      return ("Authorization", "Bearer \(token)")
    case "basic":
      let user = try field("username")
      let password = map["password"].flatMap(scalarText) ?? ""
      masker.register(password)
      let encoded = Data("\(user):\(password)".utf8).base64EncodedString()
      masker.register(encoded)
      return ("Authorization", "Basic \(encoded)")
    case "header":
      let name = try field("name")
      let value = try field("value")
      masker.register(value)
      try checkHeader(name, value, parameter: "auth")
      return (name, value)
    default:
      throw ActionError.badParameter(name: "auth", reason: "type must be bearer, basic or header, not '\(type)'")
    }
  }

  /// Refuses header names that are not HTTP tokens and values with CR, LF or NUL.
  static func checkHeader(_ name: String, _ value: String, parameter: String) throws {
    let tokenChars = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".unicodeScalars)
    guard !name.isEmpty, name.unicodeScalars.allSatisfy({ tokenChars.contains($0) }) else {
      throw ActionError.badParameter(name: parameter, reason: "'\(name.prefix(40))' is not a valid header name")
    }
    guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
      throw ActionError.badParameter(name: parameter, reason: "the value of header '\(name)' contains a line break")
    }
  }

  /// RFC 3986: everything but the unreserved characters in a query or form is percent-encoded.
  static func percentEncode(_ s: String) -> String { s.percentEncoded(keeping: "-._~") }

  /// `a=1&b=x%20y`, names sorted (stable requests, stable signatures); a list repeats the name;
  /// null values are left out.
  static func formEncode(_ map: [String: Value], parameter: String) throws -> String {
    var pairs: [String] = []
    for name in map.keys.sorted() {
      let value = map[name] ?? .null
      let items: [Value] = value.arrayValue ?? [value]
      for item in items where !item.isNull {
        guard let text = scalarText(item) else {
          throw ActionError.badParameter(name: parameter, reason: "'\(name)' must be a string, number or boolean")
        }
        pairs.append("\(percentEncode(name))=\(percentEncode(text))")
      }
    }
    return pairs.joined(separator: "&")
  }

  /// Text for strings, numbers and booleans (whole numbers without `.0`); nil for maps and lists.
  static func scalarText(_ v: Value) -> String? {
    switch v {
    case .string, .number, .bool: return v.stringValue
    default: return nil
    }
  }

  static func withoutQuery(_ url: String) -> String { redactedURL(url) }

  // MARK: - Reading the answer

  static func acceptedStatuses(_ context: ActionContext) throws -> Set<Int> {
    guard let expect = context.parameters["expect"], !expect.isNull else { return Set(200..<300) }
    let items = expect.arrayValue ?? [expect]
    var accepted = Set<Int>()
    for item in items {
      if let n = item.numberValue, n == n.rounded(), (100..<600).contains(Int(n)) {
        accepted.insert(Int(n))
      } else if let s = item.stringValue?.lowercased(), s.count == 3, s.hasSuffix("xx"), let d = Int(s.prefix(1)),
        (1...5).contains(d)
      {
        accepted.formUnion(d * 100..<(d + 1) * 100)
      } else {
        throw ActionError.badParameter(
          name: "expect", reason: "'\(item.description)' is not a status (200) or a class (2xx)")
      }
    }
    return accepted
  }

  static func extractions(_ context: ActionContext) throws -> [String: String] {
    guard let outputs = context.parameters["outputs"], !outputs.isNull else { return [:] }
    guard let map = outputs.objectValue else {
      throw ActionError.badParameter(name: "outputs", reason: "must be a map of output names to JSON pointers")
    }
    var result: [String: String] = [:]
    for (name, pointer) in map {
      guard let p = pointer.stringValue, p.isEmpty || p.hasPrefix("/") else {
        throw ActionError.badParameter(name: "outputs", reason: "'\(name)' must be a JSON pointer such as /id")
      }
      guard !["status", "body", "json", "headers"].contains(name) else {
        throw ActionError.badParameter(name: "outputs", reason: "'\(name)' is a built-in output")
      }
      result[name] = p
    }
    return result
  }

  static func secretOutputNames(_ context: ActionContext) throws -> [String] {
    guard let list = context.parameters["secret-outputs"], !list.isNull else { return [] }
    let items = (list.arrayValue ?? [list]).compactMap { v -> String? in
      if case .string(let s) = v { return s }
      return nil
    }
    guard items.count == (list.arrayValue ?? [list]).count else {
      throw ActionError.badParameter(name: "secret-outputs", reason: "must be a list of output names")
    }
    return items
  }

  /// The body as text, bounded: a longer one is masked whole before it is cut (cut first, a
  /// secret straddling the limit would keep its first half, which no longer matches).
  static func truncatedText(_ body: Data, masker: Masker) -> String {
    guard body.count > bodyOutputLimit else { return String(decoding: body, as: UTF8.self) }
    let masked = masker.mask(String(decoding: body, as: UTF8.self))
    guard masked.utf8.count > bodyOutputLimit else { return masked }
    var text = String(decoding: masked.utf8.prefix(bodyOutputLimit), as: UTF8.self)
    while text.hasSuffix("\u{FFFD}") { text.removeLast() }  // a multi-byte character cut in half
    return text
  }

  /// Lower-case names; repeated headers joined with ", " in order.
  static func headerMap(_ headers: [(String, String)]) -> [String: Value] {
    var map: [String: String] = [:]
    for (name, value) in headers {
      let key = name.lowercased()
      map[key] = map[key].map { $0 + ", " + value } ?? value
    }
    return map.mapValues { .string($0) }
  }

  // MARK: - Rate limiting

  /// The longest wait a rate-limit reset header is believed for (the executor caps it further at
  /// the step's max delay); a reset further away than this is read as a broken header.
  package static let longestRateLimitWait: Duration = .seconds(3600)

  /// Whether an answer says "too many requests": any 429, and a 403 that carries a rate-limit
  /// signal — GitHub answers an exhausted primary limit with 403 and `x-ratelimit-remaining: 0`,
  /// and a secondary limit with 403 and `Retry-After`. A plain 403 (forbidden) is not retryable.
  package static func isRateLimited(_ response: HTTPResponse) -> Bool {
    switch response.status {
    case 429: return true
    case 403:
      return response.header("Retry-After") != nil
        || response.header("x-ratelimit-remaining")?.trimmingCharacters(in: .whitespaces) == "0"
    default: return false
    }
  }

  /// How long to wait before retrying a rate-limited request: `Retry-After` when present, else
  /// the time until the limit resets — `x-ratelimit-reset` (epoch seconds; GitHub, SendGrid,
  /// OpenBao) when `x-ratelimit-remaining` is 0 or absent, else `RateLimit-Reset` (GitLab: epoch
  /// seconds; the IETF draft's delta seconds when the number is too small to be a time). Nil when
  /// there is no usable hint (the executor then backs off exponentially); at most an hour.
  package static func rateLimitWait(_ response: HTTPResponse, now: Date = Date()) -> Duration? {
    if let retryAfter = response.retryAfter { return min(retryAfter, longestRateLimitWait) }
    func number(_ name: String) -> Double? {
      response.header(name).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.flatMap {
        $0.isFinite ? $0 : nil
      }
    }
    // A reset header counts only when its window is the exhausted one (remaining 0 or not said).
    let reset: Double?
    if let r = number("x-ratelimit-reset"), (number("x-ratelimit-remaining") ?? 0) <= 0 {
      reset = r
    } else if let r = number("RateLimit-Reset"), (number("RateLimit-Remaining") ?? 0) <= 0 {
      reset = r
    } else {
      reset = nil
    }
    guard let reset, reset >= 0 else { return nil }
    // Epoch seconds are ~1.7e9; anything below a year's worth of seconds is a delta.
    let seconds = reset > 365 * 24 * 3600 ? reset - now.timeIntervalSince1970 : reset
    guard seconds <= longestRateLimitWait.seconds else { return nil }
    // A reset already past (clock skew, or the window just rolled over): retry promptly.
    return .milliseconds(Int64((max(0, seconds) * 1000).rounded(.up)))
  }

  /// A provider's own error code when the JSON has one (`code`, `error`, `status` as text).
  static func errorCode(_ json: Value?) -> String? {
    for key in ["code", "error", "error_code"] {
      if let s = json?[key]?.stringValue, !s.isEmpty, s.count <= 64, json?[key]?.objectValue == nil { return s }
    }
    return nil
  }

  /// The most readable message in the answer: common JSON fields, else the text (shortened).
  static func errorMessage(_ response: HTTPResponse, json: Value?, masker: Masker) -> String {
    if let json {
      for key in ["message", "error_description", "error_message", "detail", "msg"] {
        if let s = json[key]?.stringValue, !s.isEmpty { return shorten(s, masker) }
      }
      if let errors = json["errors"]?.arrayValue, let first = errors.first {
        if let s = first["message"]?.stringValue ?? first["detail"]?.stringValue ?? first.stringValue {
          return shorten(s, masker)
        }
      }
      if let e = json["error"] {
        if let s = e["message"]?.stringValue { return shorten(s, masker) }
        if let s = e.stringValue { return shorten(s, masker) }
      }
    }
    return shorten(response.text.trimmingCharacters(in: .whitespacesAndNewlines), masker)
  }

  /// One line of at most 301 characters, masked before it is cut.
  static func shorten(_ s: String, _ masker: Masker) -> String {
    masker.excerpt(s.replacingASCII([UInt8(ascii: "\r"): " ", UInt8(ascii: "\n"): " "]), limit: 301)
  }
}
