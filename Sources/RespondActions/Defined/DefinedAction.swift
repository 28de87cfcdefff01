import RespondCore

/// An action defined in YAML (see `ActionDefinition`): resolves its request template against its
/// parameters and declared environment, then sends it through the generic `http` action, so it
/// gets the same transport, dry-run gate, status checks, retries classification and masking.
///
/// Action files sit beside the runbooks, so whoever can write a runbook can write one: a
/// credential the definition reads goes only to the endpoint `CredentialEndpoints` names for it,
/// checked on the resolved URL before anything is sent.
package struct DefinedAction: Action {
  package let definition: ActionDefinition
  let http: HTTPAction

  package init(_ definition: ActionDefinition, http: HTTPAction = HTTPAction()) {
    self.definition = definition
    self.http = http
  }

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: definition.name, summary: definition.summary, parameters: definition.parameters,
      outputs: definition.outputs, mutates: definition.mutates, idempotent: definition.idempotent,
      requirements: definition.requirements)
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    var env: [String: String] = [:]
    for name in definition.env { if let v = context.environment[name] { env[name] = v } }
    let evaluation = EvaluationContext(inputs: context.parameters, env: env)
    var request: [String: Value] = [:]
    // The request's parameters are the http action's: its `url` encodes what it splices by
    // position (a path segment, a query value), so `inputs.org` cannot change the path.
    let specs = http.descriptor.parameters
    for (key, template) in definition.request {
      let interpolation = specs.first { $0.name == key }?.interpolation ?? .plain
      do {
        request[key] = try template.evaluate(evaluation, interpolation: interpolation)
      } catch {
        throw ActionError.badParameter(name: "request.\(key)", reason: "could not be evaluated: \(error.message)")
      }
    }
    let credentials = definition.env.filter { CredentialEndpoints.isCredential($0) }
    if let problem = CredentialEndpoints.refusal(
      url: request["url"]?.stringValue ?? "", carrying: credentials, environment: context.environment)
    {
      throw ActionError.notConfigured("\(definition.name): \(problem)")
    }
    var inner = context
    inner.parameters = request
    // A read-only definition (a search API behind POST) passes the dry-run gate; this file's
    // declaration is the only way a request other than GET/HEAD/OPTIONS can.
    var result = try await http.run(inner, readOnly: !definition.mutates)
    for o in definition.outputs where o.secret {
      if let v = result.outputs[o.name] { context.masker.register(v) }
    }
    result.summary = result.summary ?? "\(definition.name): HTTP \(result.outputs["status"]?.description ?? "?")"
    return result
  }
}
