import Foundation

/// One provider's credential variables and the only places they may be sent: the endpoint
/// variables the user sets (`GITHUB_API_URL`) or, when none is set, the provider's standard URL.
///
/// The table lives in code, not in YAML, because the YAML (runbooks and action definitions) is
/// exactly what a hostile contributor controls: a definition cannot widen where a token goes.
package struct CredentialProvider: Sendable, Equatable {
  package var name: String
  /// The environment variables that authenticate to this provider.
  package var variables: [String]
  /// Variables naming the endpoint the user chose (any one that is set is allowed).
  package var endpointVariables: [String]
  /// A prefix of further endpoint variables (`AWS_ENDPOINT_URL_` for per-service endpoints).
  package var endpointVariablePrefix: String?
  /// The standard endpoint, used when no endpoint variable is set; nil when there is none.
  package var defaultURL: String?
  /// Whether a YAML action definition may send these at all. AWS requests are signed (SigV4)
  /// and e-mail goes over SMTP: only respond's own Swift actions use those credentials.
  package var usableByDefinitions: Bool

  package init(
    _ name: String, variables: [String], endpoints: [String], prefix: String? = nil, defaultURL: String?,
    usableByDefinitions: Bool = true
  ) {
    self.name = name
    self.variables = variables
    self.endpointVariables = endpoints
    self.endpointVariablePrefix = prefix
    self.defaultURL = defaultURL
    self.usableByDefinitions = usableByDefinitions
  }
}

/// Which environment variables are credentials, which provider owns each, and whether a request
/// may carry one to a given URL. Pure decisions: the validator, the runner and `DefinedAction`
/// all ask here, so the rule "a credential goes only to its provider's endpoint" has one home.
package enum CredentialEndpoints {
  /// Every credential respond knows by name, with its provider's endpoints.
  package static let providers: [CredentialProvider] = [
    CredentialProvider(
      "aws", variables: ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"], endpoints: ["AWS_ENDPOINT_URL"],
      prefix: "AWS_ENDPOINT_URL_", defaultURL: nil, usableByDefinitions: false),
    CredentialProvider(
      "vault", variables: ["VAULT_TOKEN", "BAO_TOKEN"], endpoints: ["VAULT_ADDR", "BAO_ADDR"], defaultURL: nil),
    CredentialProvider(
      "github", variables: ["GITHUB_TOKEN"], endpoints: ["GITHUB_API_URL"], defaultURL: "https://api.github.com"),
    CredentialProvider(
      "gitlab", variables: ["GITLAB_TOKEN"], endpoints: ["GITLAB_URL"], defaultURL: "https://gitlab.com"),
    // An incoming webhook's URL is its own credential and its own endpoint.
    CredentialProvider(
      "slack-webhook", variables: ["SLACK_WEBHOOK_URL"], endpoints: ["SLACK_WEBHOOK_URL"], defaultURL: nil),
    CredentialProvider(
      "slack", variables: ["SLACK_TOKEN", "SLACK_BOT_TOKEN", "SLACK_USER_TOKEN", "SLACK_APP_TOKEN"],
      endpoints: ["SLACK_API_URL"], defaultURL: "https://slack.com/api"),
    CredentialProvider(
      "sendgrid", variables: ["SENDGRID_API_KEY"], endpoints: ["SENDGRID_API_URL"],
      defaultURL: "https://api.sendgrid.com"),
    CredentialProvider(
      "twilio", variables: ["TWILIO_AUTH_TOKEN"], endpoints: ["TWILIO_API_URL"], defaultURL: "https://api.twilio.com"),
    CredentialProvider(
      "pagerduty", variables: ["PAGERDUTY_ROUTING_KEY"], endpoints: ["PAGERDUTY_EVENTS_URL"],
      defaultURL: "https://events.pagerduty.com"),
    CredentialProvider(
      "smtp", variables: ["SMTP_URL", "SMTP_PASSWORD"], endpoints: ["SMTP_URL"], defaultURL: nil,
      usableByDefinitions: false),
    CredentialProvider(
      "openai", variables: ["OPENAI_ADMIN_KEY"], endpoints: ["OPENAI_BASE_URL"], defaultURL: "https://api.openai.com"),
    // Datadog's clients read DD_API_KEY and DD_APP_KEY; DATADOG_HOST (the site's API URL, as its
    // Terraform provider reads it) is the endpoint, since DD_SITE is a bare domain.
    CredentialProvider(
      "datadog", variables: ["DD_API_KEY", "DD_APP_KEY"], endpoints: ["DATADOG_HOST"],
      defaultURL: "https://api.datadoghq.com"),
  ]

  /// Names that look like credentials but identify rather than authenticate.
  static let identifiers: Set<String> = ["AWS_ACCESS_KEY_ID"]

  /// The provider owning a credential variable, if respond knows it by name.
  package static func provider(of variable: String) -> CredentialProvider? {
    providers.first { $0.variables.contains(variable) }
  }

  /// Whether `name` holds a credential: one of the table's, any name that by convention holds
  /// one (`*_TOKEN`, `*_SECRET`, `*_KEY`...), or one the runbook declares `secret: true`. A
  /// runbook's `secret: false` cannot make a known or conventional name readable.
  package static func isCredential(_ name: String, declaredSecret: Bool = false) -> Bool {
    if provider(of: name) != nil || declaredSecret { return true }
    return EnvSpec.looksSecret(name) && !identifiers.contains(name)
  }

  /// The credential variables among a runbook's `env`.
  package static func credentials(in env: [EnvSpec]) -> [String] {
    env.filter { isCredential($0.name, declaredSecret: $0.secret) }.map(\.name)
  }

  /// `scheme://host:port`, lower-cased with the default port filled in; nil when the URL has no
  /// host or is not http(s), and nil when it has user-info or a backslash: URL parsers disagree
  /// on where such a host starts (`https://api.github.com@evil.test/`), and a host that is not
  /// certain may receive no credential.
  package static func origin(of url: String) -> String? {
    guard !url.contains("\\"), let c = URLComponents(string: url), c.user == nil, c.password == nil,
      let scheme = c.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = c.host?.lowercased(),
      !host.isEmpty
    else { return nil }
    let port = c.port ?? (scheme == "https" ? 443 : 80)
    return "\(scheme)://\(host):\(port)"
  }

  /// Where a credential may go, as (origin, the variable or "default" that says so), given the
  /// environment: every endpoint variable that is set, else the provider's standard URL.
  package static func allowedEndpoints(for variable: String, environment: [String: String]) -> [(String, String)] {
    guard let provider = provider(of: variable) else { return [] }
    var names = provider.endpointVariables
    if let prefix = provider.endpointVariablePrefix {
      names += environment.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }
    var out: [(String, String)] = []
    for name in names {
      if let value = environment[name], !value.isEmpty, let o = origin(of: value) { out.append((o, name)) }
    }
    if out.isEmpty, let d = provider.defaultURL, let o = origin(of: d) { out.append((o, "default")) }
    return out
  }

  /// Why a request to `url` must not carry `variables` (those of them set in `environment`),
  /// or nil when every one of them may go there. An unknown credential may go nowhere.
  package static func refusal(url: String, carrying variables: [String], environment: [String: String]) -> String? {
    let target = origin(of: url)
    for name in variables where !(environment[name] ?? "").isEmpty {
      let allowed = allowedEndpoints(for: name, environment: environment)
      if let target, allowed.contains(where: { $0.0 == target }) { continue }
      let shown = target.map(displayOrigin) ?? "a URL without an http(s) host"
      if allowed.isEmpty {
        let set = provider(of: name).map { " (set \($0.endpointVariables.joined(separator: " or ")))" } ?? ""
        return "\(name) may be sent only to its provider's endpoint and none is configured\(set); "
          + "not sending it to \(shown)"
      }
      let list = allowed.map { "\(displayOrigin($0.0)) (\($0.1))" }.joined(separator: ", ")
      return "\(name) may be sent only to \(list), not to \(shown); nothing was sent"
    }
    return nil
  }

  /// Why an action definition must not declare `variable` in its `env` (given the rest of its
  /// `env`), or nil when it may: the credential must be one whose endpoint respond knows, usable
  /// over plain HTTP, and the definition must read that endpoint variable to build its URL.
  package static func definitionProblem(_ variable: String, declaredEnv: [String]) -> String? {
    guard isCredential(variable) else { return nil }
    guard let provider = provider(of: variable) else {
      let known = providers.filter(\.usableByDefinitions).flatMap(\.variables).joined(separator: ", ")
      return "env '\(variable)' looks like a credential, and an action definition may read only credentials whose "
        + "endpoint respond knows (\(known))"
    }
    guard provider.usableByDefinitions else {
      return "env '\(variable)' is used only by respond's own \(provider.name) actions, never by an action definition"
    }
    if !provider.endpointVariables.contains(where: { declaredEnv.contains($0) }) {
      return "env '\(variable)' may be sent only to \(provider.name)'s endpoint: add "
        + "\(provider.endpointVariables.joined(separator: " or ")) to 'env' and build the url on it"
    }
    return nil
  }

  /// `https://api.github.com` for `https://api.github.com:443`: the default port is noise.
  static func displayOrigin(_ origin: String) -> String {
    if origin.hasPrefix("https://") && origin.hasSuffix(":443") { return String(origin.dropLast(4)) }
    if origin.hasPrefix("http://") && origin.hasSuffix(":80") { return String(origin.dropLast(3)) }
    return origin
  }
}

extension CredentialEndpoints {
  /// Why a runbook's expression may not make `reference`, or nil: a runbook reads no credential,
  /// neither by name (`env.VAULT_TOKEN`) nor through the whole `env` (`toJSON(env)`, `env[x]`)
  /// while its `env` lists one. Only the actions that own a credential read it, and they send it
  /// only to its provider's endpoint; `configured.NAME` says whether it is set.
  package static func runbookReadProblem(_ reference: Reference, env: [EnvSpec]) -> String? {
    guard reference.path.first == "env" else { return nil }
    if reference.path.count >= 2 {
      let name = reference.path[1]
      guard let spec = env.first(where: { $0.name == name }), isCredential(name, declaredSecret: spec.secret) else {
        return nil
      }
      return "env '\(name)' is a credential: a runbook cannot read it (only the actions that own it do, and they "
        + "send it only to its provider's endpoint); use configured.\(name) to test whether it is set"
    }
    let held = credentials(in: env)
    guard !held.isEmpty else { return nil }
    return "the whole env cannot be read while it holds credentials (\(held.joined(separator: ", "))): "
      + "name the variables you need, e.g. env.AWS_REGION"
  }
}
