import Crypto
import Foundation
import Yams

/// The YAML tree (the expression AST has its own `Node`).
typealias YAMLNode = Yams.Node

/// Reads a runbook file into the model, keeping a source location for every part so that later
/// checks (unknown action, bad reference) can point at the exact line and column. Collects every
/// problem instead of stopping at the first.
package struct RunbookLoader {
  /// Files larger than this are refused before parsing: a runbook is a page of YAML, not data.
  package static let maxFileSize = 1 << 20

  package init() {}

  /// Loads `path`. The runbook is nil only when the file could not be read or parsed at all.
  package func load(path: String) -> (Runbook?, [Diagnostic]) {
    let top = SourceLocation(file: path, line: 1, column: 1)
    let data: Data
    switch Self.readLimited(path, what: "runbooks") {
    case .data(let d): data = d
    case .problem(let problem): return (nil, [problem])
    }
    guard let text = String(data: data, encoding: .utf8) else {
      return (nil, [Diagnostic(top, "file is not valid UTF-8")])
    }
    let digest = sha256Hex(data)
    return load(text: text, file: path, digest: digest)
  }

  /// Reads a runbook or action file under the runbooks' size limit, which holds before reading:
  /// a huge file is refused from its size, never read whole. `what` names the files in the
  /// diagnostic ("runbooks are limited to ...").
  static func readLimited(_ path: String, what: String) -> LimitedRead {
    let top = SourceLocation(file: path, line: 1, column: 1)
    switch BoundedFile.read(path, limit: RunbookLoader.maxFileSize) {
    case .success(let d): return .data(d)
    case .failure(.tooLarge(let size, let limit)):
      let found = size.map { "file is \($0) bytes" } ?? "file is larger than that"
      return .problem(Diagnostic(top, "\(found); \(what) are limited to \(limit)"))
    case .failure:
      return .problem(Diagnostic(top, "cannot read file"))
    }
  }

  /// A file's bytes, or why they could not be read.
  enum LimitedRead {
    case data(Data)
    case problem(Diagnostic)
  }

  /// Loads runbook text (tests and `validate -` use this directly). The digest defaults to the
  /// text's own SHA-256: every runbook has one, so resume can always check it is the same.
  package func load(text: String, file: String, digest: String? = nil) -> (Runbook?, [Diagnostic]) {
    var parser = NodeReader(file: file)
    // Anchors and aliases are refused before parsing: runbooks are short and explicit, and an
    // alias bomb would make walking the tree exponential. (Yams does not keep anchors.)
    if let at = RunbookLoader.firstAnchorOrAlias(in: text) {
      return (
        nil,
        [
          Diagnostic(
            SourceLocation(file: file, line: at.line, column: at.column),
            "YAML anchors and aliases are not allowed in runbooks")
        ]
      )
    }
    let node: YAMLNode
    do {
      guard let n = try Yams.compose(yaml: text, PlainScalar.resolver) else {
        return (nil, [Diagnostic(SourceLocation(file: file, line: 1, column: 1), "file is empty")])
      }
      node = n
    } catch let error as YamlError {
      return (nil, [parser.diagnostic(for: error)])
    } catch {
      return (nil, [Diagnostic(SourceLocation(file: file, line: 1, column: 1), "cannot parse YAML: \(error)")])
    }
    let runbook = parser.runbook(node, digest: digest ?? sha256Hex(Array(text.utf8)))
    return (runbook, parser.diagnostics)
  }
}

/// Walks the YAML node tree, building the model and collecting diagnostics.
struct NodeReader {
  let file: String
  var diagnostics: [Diagnostic] = []

  init(file: String) { self.file = file }

  func loc(_ node: YAMLNode) -> SourceLocation {
    let m = node.mark
    return SourceLocation(file: file, line: m?.line ?? 1, column: m?.column ?? 1)
  }

  mutating func error(_ node: YAMLNode, _ message: String) {
    diagnostics.append(Diagnostic(loc(node), message))
  }

  mutating func error(_ location: SourceLocation, _ message: String) {
    diagnostics.append(Diagnostic(location, message))
  }

  func diagnostic(for error: YamlError) -> Diagnostic {
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      var msg = "invalid YAML: \(problem)"
      if let context { msg += " \(context.text)" }
      return Diagnostic(SourceLocation(file: file, line: mark.line, column: mark.column), msg)
    case .duplicatedKeysInMapping(let duplicates, let context):
      return Diagnostic(
        SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
        "duplicate key '\(duplicates.joined(separator: "', '"))'")
    default:
      return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
    }
  }

  // MARK: - Shapes

  /// The pairs of a mapping, reporting unknown keys and anchors/aliases.
  mutating func mapping(_ node: YAMLNode, what: String, allowed: [String]?) -> [(String, YAMLNode, YAMLNode)]? {
    guard case .mapping(let m) = node else {
      error(node, "\(what) must be a map, found \(kind(node))")
      return nil
    }
    if m.anchor != nil {
      error(node, "YAML anchors and aliases are not allowed in runbooks")
      return nil
    }
    var out: [(String, YAMLNode, YAMLNode)] = []
    for (k, v) in m {
      guard let key = k.string else {
        error(k, "\(what) keys must be strings")
        continue
      }
      if let allowed, !allowed.contains(key) {
        error(k, "unknown key '\(key)' in \(what); expected one of: \(allowed.joined(separator: ", "))")
        continue
      }
      out.append((key, k, v))
    }
    return out
  }

  mutating func sequence(_ node: YAMLNode, what: String) -> [YAMLNode]? {
    guard case .sequence(let s) = node else {
      error(node, "\(what) must be a list, found \(kind(node))")
      return nil
    }
    if s.anchor != nil {
      error(node, "YAML anchors and aliases are not allowed in runbooks")
      return nil
    }
    return Array(s)
  }

  mutating func string(_ node: YAMLNode, what: String) -> String? {
    guard case .scalar(let s) = node else {
      error(node, "\(what) must be a string, found \(kind(node))")
      return nil
    }
    return s.string
  }

  mutating func bool(_ node: YAMLNode, what: String) -> Bool? {
    guard case .scalar(let s) = node, s.style == .plain, let b = PlainScalar.bool(s.string) else {
      error(node, "\(what) must be true or false")
      return nil
    }
    return b
  }

  func kind(_ node: YAMLNode) -> String {
    switch node {
    case .scalar: return "a scalar"
    case .mapping: return "a map"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
  }

  /// `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
  mutating func duration(_ node: YAMLNode, what: String) -> Duration? {
    guard let text = string(node, what: what)?.trimmingCharacters(in: .whitespaces) else { return nil }
    if let d = parseDuration(text), d > .zero { return d }
    error(node, "\(what) must be a positive duration like 30s, 500ms, 2m or 1h, found '\(text)'")
    return nil
  }

  // MARK: - Runbook

  mutating func runbook(_ node: YAMLNode, digest: String) -> Runbook? {
    let topKeys = ["runbook", "description", "inputs", "env", "phases", "on-stop", "report", "drill"]
    guard let pairs = mapping(node, what: "runbook", allowed: topKeys) else { return nil }
    var rb = Runbook(
      name: "", description: "", file: file, digest: digest, inputs: [], env: [], phases: [],
      report: ReportSpec(facts: [], title: nil))
    var sawName = false
    var sawPhases = false
    for (key, _, value) in pairs {
      switch key {
      case "runbook":
        if let s = string(value, what: "'runbook'") {
          sawName = true
          rb.name = s
          if !isIdentifier(s) { error(value, "runbook name '\(s)' must be lower-case letters, digits and '-'") }
        }
      case "description": rb.description = string(value, what: "'description'") ?? ""
      case "inputs": rb.inputs = inputs(value)
      case "env": rb.env = envSpecs(value)
      case "phases":
        sawPhases = true
        rb.phases = phases(value)
      case "report": rb.report = report(value)
      case "on-stop": rb.onStop = onStop(value)
      case "drill": rb.drillTarget = drill(value)
      default: break
      }
    }
    if !sawName { error(node, "missing required key 'runbook' (the runbook's name)") }
    if !sawPhases { error(node, "missing required key 'phases'") }
    return rb
  }

  /// `drill: {target: 2m}`: the time a drill's containment path is scored against.
  mutating func drill(_ node: YAMLNode) -> Duration? {
    var target: Duration?
    for (key, _, value) in mapping(node, what: "'drill'", allowed: ["target"]) ?? [] where key == "target" {
      target = duration(value, what: "'drill: target'")
    }
    return target
  }

  mutating func inputs(_ node: YAMLNode) -> [InputSpec] {
    guard let pairs = mapping(node, what: "'inputs'", allowed: nil) else { return [] }
    var out: [InputSpec] = []
    for (name, keyNode, value) in pairs {
      if !isIdentifier(name) { error(keyNode, "input name '\(name)' must be lower-case letters, digits and '-'") }
      if ["dry-run", "yes", "out", "runbooks", "help", "from", "parallel", "approver"].contains(name) {
        error(keyNode, "input name '\(name)' is reserved for respond's own flag --\(name)")
      }
      var spec = InputSpec(
        name: name, description: "", required: false, defaultValue: nil, secret: false, pattern: nil,
        location: loc(keyNode))
      let allowed = ["description", "required", "default", "secret", "pattern"]
      for (k, _, v) in mapping(value, what: "input '\(name)'", allowed: allowed) ?? [] {
        switch k {
        case "description": spec.description = string(v, what: "'description'") ?? ""
        case "required": spec.required = bool(v, what: "'required'") ?? false
        case "default": spec.defaultValue = string(v, what: "'default'")
        case "secret": spec.secret = bool(v, what: "'secret'") ?? false
        case "pattern":
          if let p = string(v, what: "'pattern'") {
            if (try? NSRegularExpression(pattern: p)) == nil {
              error(v, "pattern '\(p)' is not a valid regular expression")
            } else {
              spec.pattern = p
            }
          }
        default: break
        }
      }
      if let p = spec.pattern, let d = spec.defaultValue, !InputSpec.matches(d, pattern: p) {
        error(keyNode, "default of input '\(name)' does not match its pattern")
      }
      out.append(spec)
    }
    return out
  }

  /// `env:` is a list of names, or a map name → {secret, description}.
  mutating func envSpecs(_ node: YAMLNode) -> [EnvSpec] {
    if case .sequence = node {
      return (sequence(node, what: "'env'") ?? []).compactMap { n in
        guard let name = string(n, what: "an env entry") else { return nil }
        return EnvSpec(name: name, secret: EnvSpec.looksSecret(name), description: "", location: loc(n))
      }
    }
    guard let pairs = mapping(node, what: "'env'", allowed: nil) else { return [] }
    return pairs.map { name, keyNode, value in
      var spec = EnvSpec(name: name, secret: EnvSpec.looksSecret(name), description: "", location: loc(keyNode))
      if case .scalar(let s) = value, s.string.isEmpty || s.string == "~" { return spec }
      for (k, _, v) in mapping(value, what: "env '\(name)'", allowed: ["secret", "description"]) ?? [] {
        if k == "secret" { spec.secret = bool(v, what: "'secret'") ?? spec.secret }
        if k == "description" { spec.description = string(v, what: "'description'") ?? "" }
      }
      return spec
    }
  }

  mutating func phases(_ node: YAMLNode) -> [(Phase, [Step])] {
    let names = Phase.allCases.map(\.rawValue)
    guard case .mapping = node else {
      error(node, "'phases' must be a map of phase name to steps (\(names.joined(separator: ", ")))")
      return []
    }
    var out: [(Phase, [Step])] = []
    for (name, keyNode, value) in mapping(node, what: "'phases'", allowed: nil) ?? [] {
      guard let phase = Phase(rawValue: name) else {
        error(keyNode, "unknown phase '\(name)'; phases are \(names.joined(separator: ", "))")
        continue
      }
      if case .scalar(let s) = value, s.string.isEmpty {
        out.append((phase, []))
        continue
      }
      let steps = (sequence(value, what: "phase '\(name)'") ?? []).compactMap { step($0, phase: phase) }
      out.append((phase, steps))
    }
    return out.sorted { $0.0 < $1.0 }
  }

  /// `on-stop:` is a list of steps like a phase's, limited to what cannot hold a stuck run up
  /// further: notify actions only, no approval gate, nothing to undo or verify.
  mutating func onStop(_ node: YAMLNode) -> [Step] {
    if case .scalar(let s) = node, s.string.isEmpty { return [] }
    let steps = (sequence(node, what: "'on-stop'") ?? []).compactMap { step($0, phase: .notify) }
    for step in steps {
      if !step.action.isEmpty && !step.action.hasPrefix("notify.") {
        error(
          step.actionLocation,
          "on-stop step '\(step.id)' must use a notify action (notify.*), found '\(step.action)'")
      }
      if step.approvalRequired {
        error(step.location, "on-stop step '\(step.id)' cannot require approval: it runs when the run is already stuck")
      }
      if step.undo != nil { error(step.location, "on-stop step '\(step.id)' cannot have 'undo'") }
      if let at = step.verifiesLocation { error(at, "on-stop step '\(step.id)' cannot verify containment") }
    }
    return steps
  }

  mutating func step(_ node: YAMLNode, phase: Phase) -> Step? {
    let allowed = [
      "id", "name", "action", "with", "when", "retry", "timeout", "continue-on-error", "approval", "undo", "verifies",
      "concurrent",
    ]
    guard let pairs = mapping(node, what: "a step", allowed: allowed) else { return nil }
    var step = Step(
      id: "", phase: phase, name: nil, action: "", with: [], when: nil, whenSource: nil, retry: nil, timeout: nil,
      continueOnError: false, approvalRequired: false, undo: nil, location: loc(node), actionLocation: loc(node),
      whenLocation: nil, parameterLocations: [:])
    var sawID = false
    var sawAction = false
    for (key, _, value) in pairs {
      switch key {
      case "id":
        if let s = string(value, what: "'id'") {
          sawID = true
          step.id = s
          step.location = loc(value)
          if !isIdentifier(s) { error(value, "step id '\(s)' must be lower-case letters, digits and '-'") }
        }
      case "name": step.name = string(value, what: "'name'")
      case "action":
        if let s = string(value, what: "'action'") {
          sawAction = true
          step.action = s
          step.actionLocation = loc(value)
        }
      case "with":
        let (params, locations) = parameters(value, what: "'with'")
        step.with = params
        step.parameterLocations = locations
      case "when":
        if let s = string(value, what: "'when'") {
          // `when` is an expression with or without the ${{ }} wrapper, as in GitHub Actions.
          let text = s.contains("${{") ? s : "${{ \(s) }}"
          // Offsets in `text` are 4 characters ahead of the file's when the wrapper was added.
          let base = valueStart(value).advanced(by: s.contains("${{") ? 0 : -4)
          step.whenLocation = base
          step.whenSource = s
          step.when = template(text, at: base, shift: 0)
        }
      case "retry": step.retry = retry(value)
      case "timeout": step.timeout = duration(value, what: "'timeout'")
      case "continue-on-error": step.continueOnError = bool(value, what: "'continue-on-error'") ?? false
      case "concurrent":
        step.concurrent = bool(value, what: "'concurrent'") ?? false
        step.concurrentLocation = loc(value)
      case "approval":
        switch string(value, what: "'approval'") {
        case "required": step.approvalRequired = true
        case "two-person":
          step.approvalRequired = true
          step.twoPersonApproval = true
        case "none": step.approvalRequired = false
        case let other?:
          error(value, "'approval' must be 'required', 'two-person' or 'none', found '\(other)'")
        case nil: break
        }
      case "undo": step.undo = undo(value)
      case "verifies":
        step.verifiesLocation = loc(value)
        if case .scalar = value {
          step.verifies = string(value, what: "'verifies'").map { [$0] } ?? []
        } else {
          step.verifies = (sequence(value, what: "'verifies'") ?? []).compactMap { string($0, what: "a step id") }
        }
      default: break
      }
    }
    if !sawID { error(node, "step is missing required key 'id'") }
    if !sawAction { error(node, "step\(sawID ? " '\(step.id)'" : "") is missing required key 'action'") }
    return sawID ? step : nil
  }

  mutating func undo(_ node: YAMLNode) -> UndoSpec? {
    guard let pairs = mapping(node, what: "'undo'", allowed: ["action", "with"]) else { return nil }
    var spec = UndoSpec(action: "", with: [], location: loc(node))
    for (k, _, v) in pairs {
      if k == "action" {
        spec.action = string(v, what: "'action'") ?? ""
        spec.location = loc(v)
      }
      if k == "with" { spec.with = parameters(v, what: "'with'").0 }
    }
    if spec.action.isEmpty { error(node, "'undo' is missing required key 'action'") }
    return spec
  }

  mutating func retry(_ node: YAMLNode) -> RetryPolicy? {
    var policy = RetryPolicy()
    for (k, _, v) in mapping(node, what: "'retry'", allowed: ["attempts", "backoff", "max-delay", "max-total"]) ?? [] {
      switch k {
      case "attempts":
        if case .scalar(let s) = v, let n = Int(s.string), (1...20).contains(n) {
          policy.attempts = n
        } else {
          error(v, "'attempts' must be a whole number from 1 to 20")
        }
      case "backoff": policy.backoff = duration(v, what: "'backoff'") ?? policy.backoff
      case "max-delay": policy.maxDelay = duration(v, what: "'max-delay'") ?? policy.maxDelay
      case "max-total": policy.maxTotal = duration(v, what: "'max-total'") ?? policy.maxTotal
      default: break
      }
    }
    return policy
  }

  mutating func report(_ node: YAMLNode) -> ReportSpec {
    var spec = ReportSpec(facts: [], title: nil)
    for (k, _, v) in mapping(node, what: "'report'", allowed: ["title", "facts"]) ?? [] {
      if k == "title" { spec.title = string(v, what: "'title'") }
      if k == "facts" { spec.facts = parameters(v, what: "'facts'").0 }
    }
    return spec
  }

  // MARK: - Values and templates

  mutating func parameters(_ node: YAMLNode, what: String) -> ([(String, TemplateValue)], [String: SourceLocation]) {
    var locations: [String: SourceLocation] = [:]
    let pairs = (mapping(node, what: what, allowed: nil) ?? []).map { key, keyNode, value -> (String, TemplateValue) in
      locations[key] = loc(keyNode)
      return (key, templateValue(value))
    }
    return (pairs, locations)
  }

  mutating func templateValue(_ node: YAMLNode) -> TemplateValue {
    switch node {
    case .scalar(let s):
      if s.style == .plain {
        if s.string.isEmpty || s.string == "~" || s.string == "null" { return .literal(.null) }
        if let b = PlainScalar.bool(s.string) { return .literal(.bool(b)) }
        if let n = PlainScalar.number(s.string) { return .literal(.number(n)) }
      }
      guard s.string.contains("${{") else { return .literal(.string(s.string)) }
      let start = valueStart(node)
      if let t = template(s.string, at: start, shift: 0) { return .template(t, start) }
      return .literal(.string(s.string))
    case .sequence(let seq):
      if seq.anchor != nil { error(node, "YAML anchors and aliases are not allowed in runbooks") }
      return .list(seq.map { templateValue($0) })
    case .mapping(let m):
      if m.anchor != nil { error(node, "YAML anchors and aliases are not allowed in runbooks") }
      return .map(m.compactMap { k, v in k.string.map { ($0, templateValue(v)) } })
    case .alias:
      error(node, "YAML anchors and aliases are not allowed in runbooks")
      return .literal(.null)
    }
  }

  /// Where a scalar's text starts: after the opening quote for quoted scalars.
  func valueStart(_ node: YAMLNode) -> SourceLocation {
    let l = loc(node)
    if case .scalar(let s) = node, s.style == .singleQuoted || s.style == .doubleQuoted { return l.advanced(by: 1) }
    return l
  }

  mutating func template(_ text: String, at start: SourceLocation, shift: Int) -> Template? {
    do {
      return try Template.parse(text)
    } catch let problem {
      error(start.advanced(by: max(0, problem.offset + shift)), "invalid expression: \(problem.message)")
      return nil
    }
  }
}

// MARK: - Helpers

/// What an unquoted YAML scalar means, decided here rather than by Yams's default resolver: that
/// resolver runs a set of regular expressions over every scalar of every file (a large part of
/// loading a runbook), while respond only ever asks whether a plain scalar is a boolean or a
/// number. The YAML 1.1 spellings Yams resolves are kept: true/false/yes/no/on/off in lower, Title
/// or UPPER case; decimal integers and decimals (with an optional sign, and an exponent after a
/// dot), `_` allowed.
enum PlainScalar {
  /// Tags every scalar as a string; booleans and numbers are read by `bool` and `number`.
  static let resolver = Resolver.basic

  static func bool(_ text: String) -> Bool? {
    switch text {
    case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
    case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
    default: return nil
    }
  }

  static func number(_ text: String) -> Double? {
    var digits = 0
    var sawDot = false
    var sawExponent = false
    var previous: UInt8 = 0
    for (i, b) in text.utf8.enumerated() {
      switch b {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
      case UInt8(ascii: "_"): guard digits > 0 else { return nil }
      case UInt8(ascii: "+"), UInt8(ascii: "-"):
        guard i == 0 || previous == UInt8(ascii: "e") || previous == UInt8(ascii: "E") else { return nil }
      case UInt8(ascii: "."):
        guard !sawDot, !sawExponent else { return nil }
        sawDot = true
      case UInt8(ascii: "e"), UInt8(ascii: "E"):
        guard digits > 0, !sawExponent else { return nil }
        sawExponent = true
      default: return nil
      }
      previous = b
    }
    // YAML 1.1 floats need a dot: `1e5` is a string there.
    guard digits > 0, sawDot || !sawExponent, previous != UInt8(ascii: "e"), previous != UInt8(ascii: "E") else {
      return nil
    }
    return Double(text.replacingASCII([UInt8(ascii: "_"): ""]))
  }
}

extension RunbookLoader {
  /// The first `&anchor` or `*alias` token outside quotes and comments, if any.
  static func firstAnchorOrAlias(in text: String) -> (line: Int, column: Int)? {
    // A scan of the UTF-8 bytes (every byte it looks for is ASCII, and ASCII bytes never occur
    // inside a multi-byte sequence): this runs on every file before parsing.
    let bytes = Array(text.utf8)
    let space = UInt8(ascii: " ")
    let hash = UInt8(ascii: "#")
    let newline = UInt8(ascii: "\n")
    let single = UInt8(ascii: "'")
    let double = UInt8(ascii: "\"")
    let amp = UInt8(ascii: "&")
    let star = UInt8(ascii: "*")
    let openers: Set<UInt8> = [space, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":")]
    let beforeMarker: Set<UInt8> = [space, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ",")]
    var lineNo = 1
    var lineStart = 0
    var i = 0
    var quote: UInt8?
    var previous = space
    var inComment = false
    while i < bytes.count {
      let c = bytes[i]
      if c == newline {
        lineNo += 1
        lineStart = i + 1
        quote = nil
        inComment = false
        previous = space
        i += 1
        continue
      }
      if inComment {
        i += 1
        continue
      }
      let atLineStart = i == lineStart
      if let q = quote {
        if c == q { quote = nil }
      } else if c == single || c == double {
        if atLineStart || openers.contains(previous) { quote = c }
      } else if c == hash && (atLineStart || previous == space) {
        inComment = true
      } else if (c == amp || c == star) && (atLineStart || beforeMarker.contains(previous)), i + 1 < bytes.count,
        RunbookLoader.startsName(bytes, at: i + 1)
      {
        let column = String(decoding: bytes[lineStart..<i], as: UTF8.self).count + 1
        return (lineNo, column)
      }
      previous = c
      i += 1
    }
    return nil
  }

  /// Whether an anchor or alias name starts at `i`: a letter, digit, '_' or '-'.
  private static func startsName(_ bytes: [UInt8], at i: Int) -> Bool {
    let b = bytes[i]
    if b < 0x80 {
      let c = Character(Unicode.Scalar(b))
      return c.isLetter || c.isNumber || c == "_" || c == "-"
    }
    var end = i + 1
    while end < bytes.count, end < i + 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
    guard let c = String(decoding: bytes[i..<end], as: UTF8.self).first else { return false }
    return c.isLetter || c.isNumber
  }
}

/// Lower-case letters, digits and '-' (and '_'), starting with a letter: ids, input and runbook names.
package func isIdentifier(_ s: String) -> Bool {
  guard let first = s.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
  return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
}

/// `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
package func parseDuration(_ text: String) -> Duration? {
  let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
  for (suffix, factor) in units where text.hasSuffix(suffix) {
    guard let n = Double(text.dropLast(suffix.count)), n.isFinite, n >= 0 else { return nil }
    return .milliseconds(Int64(n * factor * 1000))
  }
  guard let n = Double(text), n.isFinite, n >= 0 else { return nil }
  return .milliseconds(Int64(n * 1000))
}

extension InputSpec {
  /// Whether the whole value matches the pattern.
  package static func matches(_ value: String, pattern: String) -> Bool {
    guard let re = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return false }
    return re.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
  }
}

extension EnvSpec {
  /// Names that by convention hold credentials are secret unless declared otherwise.
  package static func looksSecret(_ name: String) -> Bool {
    let n = name.uppercased()
    return ["TOKEN", "SECRET", "PASSWORD", "KEY", "WEBHOOK", "CREDENTIAL"].contains { n.contains($0) }
  }
}
