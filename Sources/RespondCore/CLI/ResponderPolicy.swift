import Foundation

/// The least privilege a responder needs to run a runbook, derived from the permissions each of
/// its actions declares, for every step it could run (all branches, `on-stop` steps and undos):
/// an IAM policy document and a Vault/OpenBao policy. A team creates the responder's role from
/// it before the incident, instead of finding a missing permission in the middle of one. Pure.
package struct ResponderPolicy: Sendable, Equatable {
  /// One IAM statement: the calls of one purpose, read-only or changing, on one service.
  package struct Statement: Sendable, Equatable {
    package var sid: String
    package var mutates: Bool
    package var actions: [String]
    package var resources: [String]
    package var steps: [String]
  }

  /// One Vault/OpenBao path rule.
  package struct VaultRule: Sendable, Equatable {
    package var path: String
    package var capabilities: [String]
    package var steps: [String]
    /// Set when the path could not be narrowed (it comes from an input not given).
    package var widened: String?
  }

  package var runbook: String
  package var statements: [Statement]
  package var vault: [VaultRule]
  /// Steps whose action talks to AWS or Vault but declares no permissions: the policy cannot
  /// cover them, and says so.
  package var undeclared: [String]

  /// Builds the policy. `inputs` narrow what they can (a `--vault-path` given names its secret).
  package static func build(_ runbook: Runbook, registry: ActionRegistry, inputs: [String: String] = [:])
    -> ResponderPolicy
  {
    var values: [String: Value] = [:]
    for spec in runbook.inputs {
      if let v = inputs[spec.name] ?? spec.defaultValue { values[spec.name] = .string(v) }
    }
    var awsCalls: [(step: String, permission: AWSPermission)] = []
    var vaultRules: [VaultRule] = []
    var undeclared: [String] = []
    for call in calls(runbook) {
      guard let descriptor = registry.action(named: call.action)?.descriptor else { continue }
      guard let permissions = descriptor.permissions else {
        if call.action.hasPrefix("aws.") || call.action.hasPrefix("vault.") {
          undeclared.append("\(call.step) (\(call.action))")
        }
        continue
      }
      let given = Dictionary(call.with.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
      for permission in permissions {
        switch permission {
        case .aws(let p):
          if let only = p.onlyWith, given[only] == nil { continue }
          if let prefix = p.valuePrefix, let only = p.onlyWith,
            let literal = given[only].flatMap({ resolve($0, values) })?.stringValue, !literal.hasPrefix(prefix)
          {
            continue
          }
          awsCalls.append((call.step, p))
        case .vault(let p):
          if let only = p.onlyWith, given[only] == nil { continue }
          vaultRules += rules(p, step: call.step, with: given, values: values)
        }
      }
    }
    // The preflight asks IAM about the caller itself (a user or a role) before the first change.
    if !awsCalls.isEmpty {
      for resource in ["arn:aws:iam::*:user/*", "arn:aws:iam::*:role/*"] {
        awsCalls.append(
          (
            "preflight",
            AWSPermission("iam", "SimulatePrincipalPolicy", resource: resource, mutates: false, purpose: "Preflight")
          ))
      }
    }
    return ResponderPolicy(
      runbook: runbook.name, statements: statements(awsCalls), vault: merge(vaultRules), undeclared: undeclared)
  }

  /// Every action a run of the runbook could call, with the step that calls it.
  private static func calls(_ runbook: Runbook) -> [(step: String, action: String, with: [(String, TemplateValue)])] {
    var out: [(step: String, action: String, with: [(String, TemplateValue)])] = []
    for step in runbook.steps + runbook.onStop {
      out.append((step.id, step.action, step.with))
      if let undo = step.undo { out.append(("\(step.id) (undo)", undo.action, undo.with)) }
    }
    return out
  }

  /// A parameter's value when it is a literal or reads only inputs; nil otherwise.
  private static func resolve(_ value: TemplateValue, _ inputs: [String: Value]) -> Value? {
    if let literal = value.literalValue { return literal }
    let onlyInputs = value.templates.allSatisfy { t in t.0.references.allSatisfy { $0.path.first == "inputs" } }
    guard onlyInputs, let v = try? value.evaluate(EvaluationContext(inputs: inputs)), !v.isNull else { return nil }
    if let s = v.stringValue, s.isEmpty { return nil }
    return v
  }

  // MARK: - IAM

  /// Groups the calls into statements: read-only apart from changes, one per purpose and service,
  /// actions and resources sorted, read-only statements first.
  private static func statements(_ calls: [(step: String, permission: AWSPermission)]) -> [Statement] {
    struct Key: Hashable {
      var mutates: Bool
      var purpose: String
      var service: String
    }
    var groups: [Key: (actions: Set<String>, resources: Set<String>, steps: [String])] = [:]
    for (step, p) in calls {
      let key = Key(mutates: p.mutates, purpose: p.purpose, service: p.service)
      var g = groups[key] ?? ([], [], [])
      g.actions.insert(p.iamAction)
      g.resources.insert(p.resource)
      if !g.steps.contains(step) { g.steps.append(step) }
      groups[key] = g
    }
    let servicesPerPurpose = Dictionary(grouping: groups.keys, by: { "\($0.mutates)\($0.purpose)" })
    var out = groups.map { key, g -> Statement in
      var sid = (key.mutates ? "Change" : "Read") + key.purpose
      if (servicesPerPurpose["\(key.mutates)\(key.purpose)"]?.count ?? 0) > 1 { sid += serviceName(key.service) }
      // A call with no resource-level permissions makes the whole statement `*`.
      let resources = g.resources.contains("*") ? ["*"] : g.resources.sorted()
      return Statement(
        sid: sid, mutates: key.mutates, actions: g.actions.sorted(), resources: resources, steps: g.steps)
    }
    out.sort { ($0.mutates ? 1 : 0, $0.sid) < ($1.mutates ? 1 : 0, $1.sid) }
    return out
  }

  private static func serviceName(_ service: String) -> String {
    let known = [
      "iam": "IAM", "s3": "S3", "ssm": "SSM", "sts": "STS", "cloudtrail": "CloudTrail", "logs": "Logs",
      "secretsmanager": "SecretsManager",
    ]
    return known[service] ?? service.prefix(1).uppercased() + service.dropFirst()
  }

  /// The IAM policy document (JSON, version 2012-10-17), ready for `aws iam create-policy`.
  package var iamJSON: String {
    func list(_ items: [String]) -> String {
      items.count == 1
        ? Value.string(items[0]).json()
        : "[\n" + items.map { "        " + Value.string($0).json() }.joined(separator: ",\n")
          + "\n      ]"
    }
    let body = statements.map { s in
      """
          {
            "Sid": \(Value.string(s.sid).json()),
            "Effect": "Allow",
            "Action": \(list(s.actions)),
            "Resource": \(list(s.resources))
          }
      """
    }
    return "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n" + body.joined(separator: ",\n") + "\n  ]\n}"
  }

  // MARK: - Vault/OpenBao

  private static func rules(
    _ p: VaultPermission, step: String, with given: [String: TemplateValue], values: [String: Value]
  )
    -> [VaultRule]
  {
    func known(_ parameter: String) -> (mount: String, path: String)? {
      guard let raw = given[parameter].flatMap({ resolve($0, values) })?.stringValue else { return nil }
      return VaultPermission.kvLocation(raw, mount: given["mount"].flatMap { resolve($0, values) }?.stringValue)
    }
    func widened(_ parameter: String) -> String? {
      let source = given[parameter]?.templates.first.map { $0.0.source } ?? parameter
      return "any mount and path: \(source) is not known here; pass the input to narrow it"
    }
    switch p.path {
    case .fixed(let path):
      return [VaultRule(path: path, capabilities: p.capabilities, steps: [step], widened: nil)]
    case .kvData(let parameter):
      guard let (mount, path) = known(parameter) else {
        return [VaultRule(path: "+/data/*", capabilities: p.capabilities, steps: [step], widened: widened(parameter))]
      }
      return [VaultRule(path: "\(mount)/data/\(path)", capabilities: p.capabilities, steps: [step], widened: nil)]
    case .kvTree(let parameter):
      guard let (mount, path) = known(parameter) else {
        let why = widened(parameter)
        return
          (p.capabilities.contains("list")
          ? [VaultRule(path: "+/metadata/*", capabilities: ["list"], steps: [step], widened: why)] : [])
          + [
            VaultRule(
              path: "+/data/*", capabilities: p.capabilities.filter { $0 != "list" }, steps: [step], widened: why)
          ]
      }
      let under = path.isEmpty ? "*" : "\(path)/*"
      // A walk lists and reads; a tree's copies rewritten (replace-copies) are read and updated
      // without listing.
      let data = p.capabilities.filter { $0 != "list" }
      return
        (p.capabilities.contains("list")
        ? [VaultRule(path: "\(mount)/metadata/\(under)", capabilities: ["list"], steps: [step], widened: nil)] : [])
        + [VaultRule(path: "\(mount)/data/\(under)", capabilities: data, steps: [step], widened: nil)]
    }
  }

  /// One rule per path, capabilities in Vault's usual order.
  private static func merge(_ rules: [VaultRule]) -> [VaultRule] {
    let order = ["create", "read", "update", "patch", "delete", "list", "sudo"]
    var out: [VaultRule] = []
    for r in rules {
      guard let i = out.firstIndex(where: { $0.path == r.path }) else {
        out.append(r)
        continue
      }
      out[i].capabilities += r.capabilities.filter { !out[i].capabilities.contains($0) }
      out[i].steps += r.steps.filter { !out[i].steps.contains($0) }
      out[i].widened = out[i].widened ?? r.widened
    }
    for i in out.indices {
      out[i].capabilities.sort { (order.firstIndex(of: $0) ?? 99) < (order.firstIndex(of: $1) ?? 99) }
    }
    return out.sorted { $0.path < $1.path }
  }

  /// The Vault/OpenBao policy (HCL), ready for `bao policy write` / `vault policy write`.
  package var vaultHCL: String {
    var lines = ["# respond \(runbook): what the responder's Vault/OpenBao token must be allowed to do"]
    for r in vault {
      lines.append("")
      lines.append("# steps: \(r.steps.joined(separator: ", "))")
      if let w = r.widened { lines.append("# \(w)") }
      let caps = r.capabilities.map { Value.string($0).json() }.joined(separator: ", ")
      lines += ["path \(Value.string(r.path).json()) {", "  capabilities = [\(caps)]", "}"]
    }
    return lines.joined(separator: "\n")
  }
}
