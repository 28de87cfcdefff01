import Foundation
import RespondCore

/// Every GitHub action written in Swift (the rest are YAML definitions on the `http` action).
package enum GitHubActions {
  package static func all() -> [any Action] { [GitHubPutSecretsAction()] }
}

/// `github.actions.put-secrets`: writes the replacement credential into a repository's GitHub
/// Actions secrets. GitHub accepts a value only sealed (libsodium `crypto_box_seal`) to the
/// repository's current public key, so the key is fetched, each value sealed and PUT with the
/// key's id, then each secret is read back (GitHub never returns a value: its `updated_at` must
/// not be older than the write). Values exist in the clear only in memory, sealed on the wire.
struct GitHubPutSecretsAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "github.actions.put-secrets",
      summary: "Write GitHub Actions repository secrets, sealed to the repository's public key (libsodium)",
      parameters: [
        ParameterSpec("repository", required: true, "owner/name of the repository"),
        ParameterSpec("secrets", .map, required: true, secret: true, "secret name → new value"),
      ],
      outputs: [
        OutputSpec("names", "the secrets written and read back"),
        OutputSpec("key-id", "the id of the repository public key the values were sealed to"),
      ],
      // No declared requirement: the step runs only when --github-repo asks for it, and a drill
      // without it must not count the step unready; a missing GITHUB_TOKEN fails it clearly.
      mutates: true, idempotent: true, requirements: [])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let repository = try context.string("repository")
    guard repository.wholeMatch(of: /[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}/) != nil else {
      throw ActionError.badParameter(name: "repository", reason: "must be owner/name, got '\(repository)'")
    }
    guard let map = context.parameters["secrets"]?.objectValue, !map.isEmpty else {
      throw ActionError.badParameter(name: "secrets", reason: "must be a non-empty map of secret names to values")
    }
    var secrets: [(String, String)] = []
    for (name, value) in map.sorted(by: { $0.key < $1.key }) {
      guard name.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*/) != nil, !name.uppercased().hasPrefix("GITHUB_") else {
        throw ActionError.badParameter(name: "secrets", reason: "'\(name)' is not a name GitHub allows for a secret")
      }
      guard let text = value.stringValue, !text.isEmpty else {
        throw ActionError.badParameter(name: "secrets", reason: "'\(name)' has no value")
      }
      context.masker.register(text)
      secrets.append((name, text))
    }
    let api = try GitHubAPI(context)
    let base = "/repos/\(repository)/actions/secrets"
    let key = try await api.call("GET", base + "/public-key", mutates: false)
    guard let keyID = key["key_id"]?.stringValue, let keyText = key["key"]?.stringValue,
      let publicKey = Data(base64Encoded: keyText)
    else { throw ActionError.failed("GitHub's answer for \(repository)'s public key has no key_id and key") }
    let started = Date().addingTimeInterval(-5)
    for (name, value) in secrets {
      let sealed = try SealedBox.seal(Data(value.utf8), publicKey: publicKey)
      let body: Value = ["encrypted_value": .string(sealed.base64EncodedString()), "key_id": .string(keyID)]
      _ = try await api.call("PUT", "\(base)/\(name)", body: body, mutates: true)
      let back = try await api.call("GET", "\(base)/\(name)", mutates: false)
      let updated = back["updated_at"]?.stringValue.flatMap { ISO8601.parse($0) }
      guard let updated, updated >= started.addingTimeInterval(-60) else {
        throw ActionError.verification(
          "GitHub lists \(repository) secret \(name) as last updated \(back["updated_at"]?.stringValue ?? "never"), "
            + "before this write; check it in the repository's settings, then resume")
      }
    }
    let names = secrets.map(\.0)
    return ActionResult(
      outputs: ["names": .array(names.map(Value.string)), "key-id": .string(keyID)],
      summary: "wrote \(names.joined(separator: ", ")) to \(repository)'s Actions secrets (sealed to key \(keyID)); "
        + "GitHub lists each as just updated")
  }
}

/// GitHub's REST API with `GITHUB_TOKEN`, at `GITHUB_API_URL` or api.github.com; the token goes
/// only where `CredentialEndpoints` allows.
struct GitHubAPI {
  let base: String
  let token: String
  let transport: any HTTPTransport
  let masker: Masker
  let environment: [String: String]

  init(_ context: ActionContext) throws {
    guard let token = context.environment["GITHUB_TOKEN"], !token.isEmpty else {
      throw ActionError.notConfigured("GITHUB_TOKEN is not set: a token that may write the repository's secrets")
    }
    context.masker.register(token)
    var base = context.environment["GITHUB_API_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://api.github.com"
    while base.hasSuffix("/") { base.removeLast() }
    self.base = base
    self.token = token
    transport = context.transport
    masker = context.masker
    environment = context.environment
  }

  /// One call; a 2xx answer's JSON (`{}` when empty), anything else a provider error.
  func call(_ method: String, _ path: String, body: Value? = nil, mutates: Bool) async throws -> Value {
    let url = base + path
    if let refusal = CredentialEndpoints.refusal(url: url, carrying: ["GITHUB_TOKEN"], environment: environment) {
      throw ActionError.failed(refusal)
    }
    var headers = [
      ("Authorization", "Bearer \(token)"), ("Accept", "application/vnd.github+json"),
      ("X-GitHub-Api-Version", "2022-11-28"),
    ]
    if body != nil { headers.append(("Content-Type", "application/json")) }
    let request = HTTPRequest(
      method: method, url: url, headers: headers, body: body.map { Data($0.jsonString().utf8) } ?? Data(),
      mutates: mutates, operation: "github:\(method) \(path)")
    let response: HTTPResponse
    do {
      response = try await transport.send(request)
    } catch let error as TransportError {
      throw ActionError.transport(error)
    }
    guard (200..<300).contains(response.status) else {
      let message = Value.parseJSON(response.body)?["message"]?.stringValue ?? "no message"
      throw ActionError.provider(
        ProviderError(
          provider: "GitHub", operation: "\(method) \(path)", endpoint: url, status: response.status, code: nil,
          message: masker.excerpt(message, limit: 300),
          retryable: response.status == 429 || response.status >= 500, retryAfter: response.retryAfter))
    }
    return response.body.isEmpty ? [:] : (Value.parseJSON(response.body) ?? [:])
  }
}
