import Foundation
import Yams

/// What an action definition's `request:` may say: the generic `http` action's parameters.
///
/// The http action checks its parameters only when a step runs, and by then a typo has already
/// been acted on: `methd: DELETE` sent a GET and the step reported ok, `expect: [4044]` and a
/// pointer without `/` failed only in the middle of an incident. Everything that can be known
/// from the file is therefore checked when it is loaded, each problem located (file:line) like
/// the rest of the loader. Values that are expressions are left to the run, except where text
/// around them already says something (a URL's scheme and host).
package enum RequestSchema {
  /// The keys of a `request:` block. RespondActions' tests hold this equal to the http action's
  /// parameters (less `mutates`, which a definition declares on the action itself).
  package static let keys = [
    "method", "url", "query", "headers", "json", "form", "body", "auth", "expect", "outputs", "secret-outputs",
    "timeout",
  ]
  /// The methods the http action sends.
  package static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
  /// `auth` types and the fields each needs, then the ones it may have.
  package static let authTypes: [(type: String, required: [String], optional: [String])] = [
    ("bearer", ["token"], []), ("basic", ["username"], ["password"]), ("header", ["name", "value"], []),
  ]
  /// Outputs every http request has; `outputs:` cannot rename them.
  package static let builtInOutputs = ["status", "body", "json", "headers"]
  /// The longest `timeout` the http action accepts, in seconds.
  package static let longestTimeout = 3600.0

  /// Whether `host` is a literal loopback name, the only place plain http may go.
  package static func isLoopback(_ host: String) -> Bool {
    let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    if h == "localhost" || h == "::1" { return true }
    let octets = h.split(separator: ".", omittingEmptySubsequences: false)
    return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
  }

  /// Why `text` is not an accepted status (200) or class (2xx), or nil.
  package static func statusProblem(_ text: String, plain: Bool) -> String? {
    if plain, let n = Int(text) {
      return (100...599).contains(n) ? nil : "status \(n) is not an HTTP status (100 to 599)"
    }
    let lower = text.lowercased()
    if lower.count == 3, lower.hasSuffix("xx"), let d = Int(lower.prefix(1)), (1...5).contains(d) { return nil }
    return "'\(text)' is not a status (200) or a class of statuses (2xx)"
  }
}

extension NodeReader {
  /// Checks a `request:` block of action `action`, reporting each problem where it is.
  mutating func validateRequest(_ node: YAMLNode, action: String) {
    guard case .mapping(let map) = node else { return }  // `parameters` already said it must be a map
    var bodies: [(String, YAMLNode)] = []
    for (keyNode, value) in map {
      guard let key = keyNode.string else { continue }
      checkPlaceholders(value)
      switch key {
      case "method": checkMethod(value)
      case "url": checkURL(value)
      case "query", "form": checkFlatMap(value, what: "'\(key)'")
      case "headers": checkHeaders(value)
      case "auth": checkAuth(value)
      case "expect": checkExpect(value)
      case "outputs": checkOutputs(value)
      case "secret-outputs": checkSecretOutputs(value, outputs: map["outputs"])
      case "timeout": checkTimeout(value)
      case "json", "body": break
      case "mutates":
        error(
          keyNode,
          "'mutates' belongs to the action, not its request: write 'mutates: \(value.string ?? "...")' beside 'request'"
        )
      default:
        let hint = closest(key, among: RequestSchema.keys).map { "; did you mean '\($0)'?" } ?? ""
        error(
          keyNode,
          "unknown key '\(key)' in the request of '\(action)'\(hint) (keys: \(RequestSchema.keys.joined(separator: ", ")))"
        )
      }
      if ["json", "form", "body"].contains(key) { bodies.append((key, keyNode)) }
    }
    if bodies.count > 1 {
      error(bodies[1].1, "'\(bodies[1].0)' cannot be combined with '\(bodies[0].0)': a request has one body")
    }
  }

  /// A literal scalar's text, nil (and nothing said) for an expression, which is checked when it runs.
  func literalText(_ node: YAMLNode) -> String? {
    guard case .scalar(let s) = node, !s.string.contains("${{") else { return nil }
    return s.string
  }

  mutating func checkMethod(_ node: YAMLNode) {
    guard case .scalar(let s) = node else { return error(node, "'method' must be a string, found \(kind(node))") }
    guard !s.string.contains("${{") else {
      return error(
        node, "'method' must be written out (GET, POST, ...): the dry-run gate decides on it before anything runs")
    }
    if !RequestSchema.methods.contains(s.string.uppercased()) {
      let hint = closest(s.string.uppercased(), among: RequestSchema.methods).map { "; did you mean \($0)?" } ?? ""
      error(
        node,
        "'\(s.string)' is not an HTTP method respond sends\(hint) (\(RequestSchema.methods.joined(separator: ", ")))")
    }
  }

  /// The URL's scheme and host where the file writes them, in the text or in a quoted default
  /// inside an expression (`default(env.X, 'http://...')`): https, or plain http to loopback.
  mutating func checkURL(_ node: YAMLNode) {
    guard case .scalar(let s) = node else { return error(node, "'url' must be a string, found \(kind(node))") }
    let text = s.string
    let start = valueStart(node)
    for range in urlStarts(in: text) {
      let rest = text[range.upperBound...]
      // A bracketed IPv6 literal keeps its colons; any other host ends at a port, path or quote.
      let host =
        rest.hasPrefix("[")
        ? String(rest.prefix { $0 != "]" }) + "]" : String(rest.prefix { !"/:?#'\" }".contains($0) })
      let scheme = text[range].lowercased()
      if scheme.hasPrefix("http:"), !RequestSchema.isLoopback(host) {
        error(
          start.advanced(by: text.distance(from: text.startIndex, to: range.lowerBound)),
          "plain http to '\(host)' would send the request unencrypted: use https (http is for loopback only)")
      }
    }
    if !text.hasPrefix("${{") {
      let lower = text.lowercased()
      if !lower.hasPrefix("https://") && !lower.hasPrefix("http://") {
        error(node, "'url' must start with https:// (or with an endpoint variable such as ${{ env.X_API_URL }})")
        return
      }
    }
    if urlPath(text).allSatisfy({ $0 == "/" }) {
      error(node, "'url' is a bare root (no path after the host): name the endpoint the request is for")
    }
  }

  /// Where `http://` and `https://` begin in `text`.
  func urlStarts(in text: String) -> [Range<String.Index>] {
    var found: [Range<String.Index>] = []
    var from = text.startIndex
    while let r = text.range(of: "://", options: .caseInsensitive, range: from..<text.endIndex) {
      let schemeStart =
        text[..<r.lowerBound].lastIndex { !$0.isLetter }.map { text.index(after: $0) } ?? text.startIndex
      let scheme = text[schemeStart..<r.lowerBound].lowercased()
      if scheme == "http" || scheme == "https" { found.append(schemeStart..<r.upperBound) }
      from = r.upperBound
    }
    return found
  }

  /// The part of a URL template after its host: after the leading expression (the endpoint) or
  /// after `scheme://host`.
  func urlPath(_ text: String) -> Substring {
    if text.hasPrefix("${{"), let close = text.range(of: "}}") { return text[close.upperBound...] }
    guard let scheme = text.range(of: "://") else { return text[...] }
    let afterHost = text[scheme.upperBound...]
    return afterHost.firstIndex(of: "/").map { afterHost[$0...] } ?? ""
  }

  /// `${` without a second brace, and `{{` without the `$`, are not expressions: sent as written,
  /// a literal `${inputs.id}` would reach the provider.
  mutating func checkPlaceholders(_ node: YAMLNode) {
    switch node {
    case .scalar(let s):
      let chars = Array(s.string)
      for i in chars.indices where chars[i] == "{" {
        let dollar = i > 0 && chars[i - 1] == "$"
        let next = i + 1 < chars.count && chars[i + 1] == "{"
        let previousBrace = i > 0 && chars[i - 1] == "{"
        if dollar && !next {
          error(valueStart(node).advanced(by: i - 1), "'${' is not an expression: write ${{ inputs.name }}")
        } else if !dollar && next && !previousBrace {
          error(valueStart(node).advanced(by: i), "'{{' is not an expression: write ${{ inputs.name }}")
        }
      }
    case .sequence(let seq): for item in seq { checkPlaceholders(item) }
    case .mapping(let m): for (_, v) in m { checkPlaceholders(v) }
    case .alias: break
    }
  }

  /// `query` and `form`: names to scalars (or lists of scalars, which repeat the name).
  mutating func checkFlatMap(_ node: YAMLNode, what: String) {
    guard case .mapping(let m) = node else { return error(node, "\(what) must be a map of names to values") }
    for (k, v) in m {
      let items: [YAMLNode] = v.sequence.map { Array($0) } ?? [v]
      if items.contains(where: { $0.mapping != nil || $0.sequence != nil }) {
        error(v, "'\(k.string ?? "?")' in \(what) must be a string, number, boolean or a list of them")
      }
    }
  }

  mutating func checkHeaders(_ node: YAMLNode) {
    guard case .mapping(let m) = node else { return error(node, "'headers' must be a map of header names to values") }
    let token = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for (k, v) in m {
      let name = k.string ?? ""
      if name.isEmpty || !name.allSatisfy({ token.contains($0) }) {
        error(k, "'\(name)' is not a valid header name")
      }
      if v.scalar == nil { error(v, "header '\(name)' must be a string, found \(kind(v))") }
    }
  }

  mutating func checkAuth(_ node: YAMLNode) {
    guard case .mapping(let m) = node else {
      return error(node, "'auth' must be a map with a type: bearer, basic or header")
    }
    let names = RequestSchema.authTypes.map(\.type)
    guard let typeNode = m["type"] else { return error(node, "'auth' needs a type: \(names.joined(separator: ", "))") }
    guard let type = literalText(typeNode)?.lowercased() else {
      return error(typeNode, "the auth type must be written out: \(names.joined(separator: ", "))")
    }
    guard let spec = RequestSchema.authTypes.first(where: { $0.type == type }) else {
      let hint = closest(type, among: names).map { "; did you mean '\($0)'?" } ?? ""
      return error(typeNode, "unknown auth type '\(type)'\(hint) (types: \(names.joined(separator: ", ")))")
    }
    let allowed = ["type"] + spec.required + spec.optional
    for (k, _) in m {
      let key = k.string ?? ""
      if !allowed.contains(key) {
        let hint = closest(key, among: allowed).map { "; did you mean '\($0)'?" } ?? ""
        error(k, "unknown key '\(key)' in \(type) auth\(hint) (keys: \(allowed.joined(separator: ", ")))")
      }
    }
    for field in spec.required where m[field] == nil { error(node, "\(type) auth needs '\(field)'") }
  }

  mutating func checkExpect(_ node: YAMLNode) {
    let items: [YAMLNode] = node.sequence.map { Array($0) } ?? [node]
    if items.isEmpty { error(node, "'expect' lists no status: leave it out to accept any 2xx") }
    for item in items {
      guard case .scalar(let s) = item else {
        error(item, "'expect' holds statuses (200) or classes (2xx), found \(kind(item))")
        continue
      }
      if let problem = RequestSchema.statusProblem(s.string, plain: s.style == .plain) { error(item, problem) }
    }
  }

  mutating func checkOutputs(_ node: YAMLNode) {
    guard case .mapping(let m) = node else {
      return error(node, "'outputs' must be a map of output names to JSON pointers, e.g. {id: /id}")
    }
    for (k, v) in m {
      let name = k.string ?? ""
      if RequestSchema.builtInOutputs.contains(name) { error(k, "'\(name)' is a built-in output of every request") }
      guard let pointer = literalText(v), v.scalar != nil else {
        error(v, "output '\(name)' must be a JSON pointer written out, such as /id")
        continue
      }
      if !pointer.isEmpty && !pointer.hasPrefix("/") {
        error(v, "'\(pointer)' is not a JSON pointer: it starts with '/', e.g. /\(pointer)")
      }
    }
  }

  mutating func checkSecretOutputs(_ node: YAMLNode, outputs: YAMLNode?) {
    let extracted = outputs?.mapping.map { $0.keys.compactMap(\.string) } ?? []
    let known = RequestSchema.builtInOutputs + extracted
    for item in node.sequence.map({ Array($0) }) ?? [node] {
      guard let name = literalText(item), item.scalar != nil else {
        error(item, "'secret-outputs' is a list of output names")
        continue
      }
      if !known.contains(name) { error(item, "secret output '\(name)' is not an output of the request") }
    }
  }

  mutating func checkTimeout(_ node: YAMLNode) {
    guard case .scalar(let s) = node, s.style == .plain, let n = PlainScalar.number(s.string) else {
      return error(node, "'timeout' must be a number of seconds")
    }
    if n <= 0 || n > RequestSchema.longestTimeout {
      error(node, "'timeout' must be between 0 and \(Int(RequestSchema.longestTimeout)) seconds")
    }
  }
}
