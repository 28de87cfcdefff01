import Crypto
import Foundation
import Yams

/// An action defined in YAML on top of the generic `http` action: how simple REST providers are
/// added without Swift. The file declares the action like a Swift one would (parameters,
/// outputs, mutates, idempotent, the environment it needs) and the request to send; inside the
/// request, `inputs.<name>` are the action's parameters and `env.<NAME>` its declared variables.
///
///     actions:
///       slack.auth.revoke:
///         summary: Revoke a Slack token with the token itself
///         mutates: true
///         idempotent: true
///         env: [SLACK_API_URL]
///         parameters:
///           token: { type: string, required: true, secret: true }
///         outputs: [revoked]
///         request:
///           method: POST
///           url: ${{ default(env.SLACK_API_URL, 'https://slack.com/api') }}/auth.revoke
///           auth: { type: bearer, token: "${{ inputs.token }}" }
///           outputs: { revoked: /revoked }
package struct ActionDefinition: Sendable {
  package var name: String
  package var summary: String
  package var mutates: Bool
  package var idempotent: Bool
  package var parameters: [ParameterSpec]
  package var outputs: [OutputSpec]
  /// Environment variables the request may read as `env.NAME`.
  package var env: [String]
  package var requirements: [Requirement]
  /// The `http` action's parameters, as templates.
  package var request: [(String, TemplateValue)]
  package var location: SourceLocation
}

extension RunbookLoader {
  /// Loads every action definition in a file (`actions:` map).
  package func loadActions(path: String) -> ([ActionDefinition], [Diagnostic]) {
    switch RunbookLoader.composeFile(path, what: "action files") {
    case .problem(let problem): return ([], [problem])
    case .composed(let node, _, var reader):
      let defs = reader.actionDefinitions(node)
      return (defs, reader.diagnostics)
    }
  }

  /// Loads the action files in a folder (`*.yaml`, `*.yml`), sorted by name.
  package func loadActions(folder: String) -> ([ActionDefinition], [Diagnostic]) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return ([], []) }
    var defs: [ActionDefinition] = []
    var diags: [Diagnostic] = []
    for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
      let (d, g) = loadActions(path: folder + "/" + name)
      defs += d
      diags += g
    }
    return (defs, diags)
  }
}

extension NodeReader {
  mutating func actionDefinitions(_ node: YAMLNode) -> [ActionDefinition] {
    guard let top = mapping(node, what: "action file", allowed: ["actions"]) else { return [] }
    guard let actions = top.first(where: { $0.0 == "actions" })?.2 else {
      error(node, "missing required key 'actions'")
      return []
    }
    var out: [ActionDefinition] = []
    for (name, keyNode, value) in mapping(actions, what: "'actions'", allowed: nil) ?? [] {
      if let d = actionDefinition(name, keyNode, value) { out.append(d) }
    }
    return out
  }

  mutating func actionDefinition(_ name: String, _ keyNode: YAMLNode, _ node: YAMLNode) -> ActionDefinition? {
    let allowed = ["summary", "mutates", "idempotent", "env", "requires", "parameters", "outputs", "request"]
    guard let pairs = mapping(node, what: "action '\(name)'", allowed: allowed) else { return nil }
    var def = ActionDefinition(
      name: name, summary: "", mutates: true, idempotent: false, parameters: [], outputs: [], env: [],
      requirements: [], request: [], location: loc(keyNode))
    let nameOK =
      name.split(separator: ".").count >= 2
      && name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "." || $0 == "-" }
    if !nameOK { error(keyNode, "action name '\(name)' must be dotted lower-case words, e.g. github.token.revoke") }
    var requestNode: YAMLNode?
    var envNodes: [(String, YAMLNode)] = []
    for (k, _, v) in pairs {
      switch k {
      case "summary": def.summary = string(v, what: "'summary'") ?? ""
      case "mutates": def.mutates = bool(v, what: "'mutates'") ?? true
      case "idempotent": def.idempotent = bool(v, what: "'idempotent'") ?? false
      case "env":
        for n in sequence(v, what: "'env'") ?? [] {
          if let envName = string(n, what: "an env name") { envNodes.append((envName, n)) }
        }
        def.env = envNodes.map(\.0)
      case "requires":
        if let requirement = requirement(name, v) { def.requirements = [requirement] }
      case "parameters": def.parameters = parameterSpecs(v)
      case "outputs": def.outputs = outputSpecs(v)
      case "request":
        requestNode = v
        def.request = parameters(v, what: "'request'").0
        validateRequest(v, action: name)
      default: break
      }
    }
    // A credential goes only to its provider's endpoint: the definition must be one that can
    // say which (the table in CredentialEndpoints), and DefinedAction checks the URL when it runs.
    for (envName, n) in envNodes {
      if let problem = CredentialEndpoints.definitionProblem(envName, declaredEnv: def.env) { error(n, problem) }
    }
    guard let requestNode else {
      error(node, "action '\(name)' is missing required key 'request' (the http request to send)")
      return nil
    }
    if !def.request.contains(where: { $0.0 == "url" }) { error(requestNode, "the request of '\(name)' needs a 'url'") }
    checkReferences(of: def)
    def.outputs = requestOutputs(of: def, requestNode)
    return def
  }

  /// `requires`: a list of alternatives, each a list of variables that must all be set.
  mutating func requirement(_ name: String, _ v: YAMLNode) -> Requirement? {
    let alternatives = (sequence(v, what: "'requires'") ?? []).map { alt -> [String] in
      if case .scalar = alt { return [string(alt, what: "a variable name") ?? ""] }
      return (sequence(alt, what: "a 'requires' alternative") ?? []).compactMap {
        string($0, what: "a variable name")
      }
    }
    return alternatives.isEmpty ? nil : Requirement(name, anyOf: alternatives)
  }

  mutating func parameterSpecs(_ v: YAMLNode) -> [ParameterSpec] {
    var specs: [ParameterSpec] = []
    for (pname, _, pv) in mapping(v, what: "'parameters'", allowed: nil) ?? [] {
      var spec = ParameterSpec(pname)
      for (pk, _, pvv) in mapping(
        pv, what: "parameter '\(pname)'", allowed: ["type", "required", "secret", "description"]) ?? []
      {
        switch pk {
        case "type":
          let t = string(pvv, what: "'type'") ?? "string"
          if let pt = ParameterType(rawValue: t) {
            spec.type = pt
          } else {
            error(
              pvv,
              "unknown parameter type '\(t)'; types are \(ParameterType.allCases.map(\.rawValue).joined(separator: ", "))"
            )
          }
        case "required": spec.required = bool(pvv, what: "'required'") ?? false
        case "secret": spec.secret = bool(pvv, what: "'secret'") ?? false
        case "description": spec.description = string(pvv, what: "'description'") ?? ""
        default: break
        }
      }
      specs.append(spec)
    }
    return specs
  }

  mutating func outputSpecs(_ v: YAMLNode) -> [OutputSpec] {
    if case .sequence = v {
      return (sequence(v, what: "'outputs'") ?? []).compactMap {
        string($0, what: "an output name").map { OutputSpec($0) }
      }
    }
    return (mapping(v, what: "'outputs'", allowed: nil) ?? []).map { oname, _, ov in
      var secret = false
      if case .mapping = ov {
        for (ok, _, ovv) in mapping(ov, what: "output '\(oname)'", allowed: ["secret", "description"]) ?? []
        where ok == "secret" {
          secret = bool(ovv, what: "'secret'") ?? false
        }
      }
      return OutputSpec(oname, secret: secret)
    }
  }

  /// Every reference in the request must be a declared parameter or env variable.
  mutating func checkReferences(of def: ActionDefinition) {
    for (template, location) in def.request.flatMap(\.1.templates) {
      for ref in template.references where ref.path.count >= 2 {
        let at = location.advanced(by: ref.offset)
        switch ref.path[0] {
        case "inputs" where !def.parameters.contains { $0.name == ref.path[1] }:
          error(at, "'\(ref.path[1])' is not a parameter of action '\(def.name)'")
        case "env" where !def.env.contains(ref.path[1]):
          error(at, "env '\(ref.path[1])' is not declared in action '\(def.name)' (add it to 'env')")
        case "steps", "incident", "configured":
          error(at, "an action's request can read only inputs (its parameters) and env")
        default: break
        }
      }
    }
  }

  /// The declared outputs, each checked to be extracted, plus the http action's own outputs and
  /// the names the request extracts.
  mutating func requestOutputs(of def: ActionDefinition, _ requestNode: YAMLNode) -> [OutputSpec] {
    var outputs = Set(["status", "body", "json", "headers"])
    if let extracted = def.request.first(where: { $0.0 == "outputs" })?.1, case .map(let pairs) = extracted {
      outputs.formUnion(pairs.map(\.0))
    }
    for o in def.outputs where !outputs.contains(o.name) {
      error(
        requestNode,
        "output '\(o.name)' of action '\(def.name)' is not extracted by its request (add it under request.outputs)")
    }
    var result = def.outputs
    let declared = Set(def.outputs.map(\.name))
    for o in outputs.sorted() where !declared.contains(o) { result.append(OutputSpec(o)) }
    return result
  }
}
