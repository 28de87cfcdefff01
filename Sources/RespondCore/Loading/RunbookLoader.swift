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
    let folder = (path as NSString).deletingLastPathComponent
    return load(text: text, file: path, digest: digest, providers: (folder.isEmpty ? "." : folder) + "/providers")
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

  /// One of the runbooks folder's smaller YAML files (an action file, a provider's formats, its
  /// part of the response), taken in as a runbook is: under the size limit, refused with anchors
  /// or aliases, composed into its root node. `what` names the files in the diagnostics. The reader
  /// that composed it goes on to read the node, so every later problem is located in the file.
  static func composeFile(_ path: String, what: String) -> ComposedFile {
    let top = SourceLocation(file: path, line: 1, column: 1)
    let data: Data
    switch readLimited(path, what: what) {
    case .data(let d): data = d
    case .problem(let problem): return .problem(problem)
    }
    guard let text = String(data: data, encoding: .utf8) else { return .problem(Diagnostic(top, "cannot read file")) }
    if let at = firstAnchorOrAlias(in: text) {
      let location = SourceLocation(file: path, line: at.line, column: at.column)
      return .problem(Diagnostic(location, "YAML anchors and aliases are not allowed in \(what)"))
    }
    let reader = NodeReader(file: path)
    do {
      guard let node = try Yams.compose(yaml: text, PlainScalar.resolver) else {
        return .problem(Diagnostic(top, "file is empty"))
      }
      return .composed(node, data: data, reader: reader)
    } catch let error as YamlError {
      return .problem(reader.diagnostic(for: error))
    } catch {
      return .problem(Diagnostic(top, "cannot parse YAML: \(error)"))
    }
  }

  /// A file's root node (with its bytes and the reader to go on with), or why there is none.
  enum ComposedFile {
    case composed(YAMLNode, data: Data, reader: NodeReader)
    case problem(Diagnostic)
  }

  /// Loads runbook text (tests and `validate -` use this directly). The digest defaults to the
  /// text's own SHA-256: every runbook has one, so resume can always check it is the same.
  /// `providers`: the folder whose provider folders' `response.yaml` parts fill the runbook's
  /// `provider-steps` entries (nil: none, the entries stay empty).
  package func load(text: String, file: String, digest: String? = nil, providers: String? = nil)
    -> (Runbook?, [Diagnostic])
  {
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
    guard var runbook = parser.runbook(node, digest: digest ?? sha256Hex(Array(text.utf8))) else {
      return (nil, parser.diagnostics)
    }
    var diagnostics = parser.diagnostics
    if runbook.dispatch != nil || !runbook.providerSlots.isEmpty {
      let (parts, problems) = providers.map { loadProviderParts(folder: $0) } ?? ([], [])
      diagnostics += problems + compose(&runbook, parts: parts)
    }
    return (runbook, diagnostics)
  }
}

/// Walks the YAML node tree, building the model and collecting diagnostics.
struct NodeReader {
  let file: String
  var diagnostics: [Diagnostic] = []
  /// The `- provider-steps: <slot>` entries met while reading the phases.
  var providerSlots: [ProviderSlot] = []

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
    let topKeys = [
      "runbook", "description", "inputs", "env", "phases", "on-stop", "report", "drill", "dispatch", "provided",
    ]
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
      case "dispatch": rb.dispatch = dispatch(value)
      case "provided": rb.providedNames = providedNames(value)
      default: break
      }
    }
    if !sawName { error(node, "missing required key 'runbook' (the runbook's name)") }
    if !sawPhases { error(node, "missing required key 'phases'") }
    rb.providerSlots = providerSlots
    if rb.dispatch == nil, let first = providerSlots.first {
      error(
        first.location, "'provider-steps' needs a top-level 'dispatch' (e.g. dispatch: ${{ steps.identify.provider }})")
    }
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
      var steps: [Step] = []
      for entry in sequence(value, what: "phase '\(name)'") ?? [] {
        if let slot = providerSlot(entry, phase: phase, index: steps.count) {
          providerSlots.append(slot)
        } else if let step = step(entry, phase: phase) {
          steps.append(step)
        }
      }
      out.append((phase, steps))
    }
    return out.sorted { $0.0 < $1.0 }
  }

  mutating func report(_ node: YAMLNode) -> ReportSpec {
    var spec = ReportSpec(facts: [], title: nil)
    for (k, _, v) in mapping(node, what: "'report'", allowed: ["title", "facts"]) ?? [] {
      if k == "title" { spec.title = string(v, what: "'title'") }
      if k == "facts" { (spec.facts, spec.factSlots) = reportFacts(v) }
    }
    return spec
  }

  /// The report's facts, and where it places the dispatched provider part's own: an entry
  /// `provider-facts.<slot>:` (or `provider-facts:` for a part's facts of no slot), with no value.
  mutating func reportFacts(_ node: YAMLNode) -> (
    [(String, TemplateValue)], [(name: String, index: Int, location: SourceLocation)]
  ) {
    var facts: [(String, TemplateValue)] = []
    var slots: [(name: String, index: Int, location: SourceLocation)] = []
    for (label, keyNode, value) in mapping(node, what: "'facts'", allowed: nil) ?? [] {
      guard label == "provider-facts" || label.hasPrefix("provider-facts.") else {
        facts.append((label, templateValue(value)))
        continue
      }
      let name = String(label.dropFirst("provider-facts".count).drop { $0 == "." })
      if label != "provider-facts" && !isIdentifier(name) {
        error(keyNode, "fact slot name '\(name)' must be lower-case letters, digits and '-'")
      }
      if case .scalar(let s) = value, s.string.isEmpty || s.string == "~" || s.string == "null" {
        slots.append((name, facts.count, loc(keyNode)))
      } else {
        error(value, "'\(label)' marks where the provider's facts go and takes no value")
      }
    }
    return (facts, slots)
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
