import Foundation
import RespondCore

/// Every Vault/OpenBao action, for the registry.
package enum VaultActions {
  package static func all() -> [any Action] {
    [
      VaultKVReadAction(), VaultKVWriteAction(), VaultKVFindAction(), VaultKVReplaceCopiesAction(),
      VaultTokenLookupAction(), VaultTokenRevokeAction(), VaultTokenRevokeAccessorAction(),
      VaultAuditHashAction(), VaultAuditSearchAction(),
    ]
  }

  /// What every networked Vault action needs: an address and a token, under Vault's or OpenBao's names.
  package static let requirement = Requirement(
    "Vault/OpenBao", anyOf: [["VAULT_ADDR", "VAULT_TOKEN"], ["BAO_ADDR", "BAO_TOKEN"]])
}

/// Where Vault is and how to authenticate, read from the action's environment (never the process's):
/// `VAULT_ADDR`/`VAULT_TOKEN`, falling back to OpenBao's `BAO_ADDR`/`BAO_TOKEN`; `VAULT_NAMESPACE` and
/// `VAULT_CACERT` likewise. The token is registered with the masker the moment it is read.
package struct VaultConfig: Sendable, Equatable {
  package var address: String
  package var token: String
  package var namespace: String?
  package var caBundle: String?

  package init(address: String, token: String, namespace: String? = nil, caBundle: String? = nil) {
    self.address = address
    self.token = token
    self.namespace = namespace
    self.caBundle = caBundle
  }

  /// Reads the configuration, registering the token; a clear `notConfigured` names what is missing.
  package static func load(_ env: [String: String], masker: Masker) throws -> VaultConfig {
    func first(_ names: String...) -> String? {
      for n in names {
        if let v = env[n]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty { return v }
      }
      return nil
    }
    let token = first("VAULT_TOKEN", "BAO_TOKEN")
    if let token { masker.register(token) }
    let address = first("VAULT_ADDR", "BAO_ADDR")
    var missing: [String] = []
    if address == nil { missing.append("VAULT_ADDR (or BAO_ADDR)") }
    if token == nil { missing.append("VAULT_TOKEN (or BAO_TOKEN)") }
    guard let address, let token else {
      throw ActionError.notConfigured(
        "Vault/OpenBao is not configured: \(missing.joined(separator: " and ")) not set; "
          + VaultActions.requirement.missingDescription)
    }
    guard let url = URL(string: address), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
      url.host != nil
    else {
      throw ActionError.notConfigured("VAULT_ADDR must be an http(s) URL such as https://vault.example.com:8200")
    }
    var trimmed = address
    while trimmed.hasSuffix("/") { trimmed.removeLast() }
    return VaultConfig(
      address: trimmed, token: token, namespace: first("VAULT_NAMESPACE", "BAO_NAMESPACE"),
      caBundle: first("VAULT_CACERT", "BAO_CACERT"))
  }
}

/// A thin Vault HTTP API client over the action's transport: builds `/v1/...` requests with the
/// token and namespace headers, retries throttling and unavailability a bounded number of times
/// (every Vault call respond makes is idempotent), and turns `{"errors":[...]}` answers into
/// `ProviderError`s.
package struct VaultClient: Sendable {
  package var config: VaultConfig
  package var transport: any HTTPTransport
  /// Retries when Vault answers 429/5xx or the connection fails: 3 attempts, 250 ms doubling;
  /// a `Retry-After` longer than 30 s is left to the executor (the step's own retry).
  package var retry: RetryPolicy
  /// Masks Vault's answers before they are cut to an error message's length.
  package var masker: Masker

  package init(
    config: VaultConfig, transport: any HTTPTransport, masker: Masker,
    retry: RetryPolicy = RetryPolicy(
      attempts: 3, backoff: .milliseconds(250), maxDelay: .seconds(30), maxTotal: nil, longHint: .endsRetries)
  ) {
    self.masker = masker
    self.config = config
    self.transport = transport
    self.retry = retry
  }

  /// A client for the action's context (reads and registers the configuration).
  package init(_ context: ActionContext) throws {
    self.init(
      config: try VaultConfig.load(context.environment, masker: context.masker), transport: context.transport,
      masker: context.masker)
  }

  /// A Vault answer: status and parsed JSON body (nil when empty or not JSON).
  package struct Reply: Sendable {
    package var status: Int
    package var json: Value?
    package var headers: [(String, String)]
    package var body: Data
    /// `POST /v1/auth/token/lookup`, for errors.
    package var operation: String
    package var endpoint: String
    package var masker: Masker

    package var data: Value? { json?["data"] }
    package var warnings: [String] { json?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    /// Vault's error messages in this reply.
    package var errors: [String] { VaultClient.errorMessages(body, masker: masker) }

    /// This (accepted but unwanted) reply as the error it is.
    package func error() -> ActionError {
      .provider(
        VaultClient.providerError(
          status: status, body: body, retryAfter: nil, operation: operation, endpoint: endpoint, masker: masker))
    }
  }

  /// The full URL for an API path (`auth/token/lookup` → `<addr>/v1/auth/token/lookup`). Path
  /// segments are percent-encoded; `query` is appended as given (names and values must be URL-safe).
  package func url(_ path: String, query: String? = nil) -> String {
    let encoded = path.split(separator: "/", omittingEmptySubsequences: false).map {
      $0.addingPercentEncoding(withAllowedCharacters: VaultClient.segmentAllowed) ?? String($0)
    }.joined(separator: "/")
    var s = config.address + "/v1/" + encoded
    if let query, !query.isEmpty { s += "?" + query }
    return s
  }

  private static let segmentAllowed: CharacterSet = {
    var c = CharacterSet.alphanumerics
    c.insert(charactersIn: "-._~@:+=,")
    return c
  }()

  /// Sends one request and returns the reply when its status is 2xx or listed in `accept`;
  /// anything else becomes an `ActionError.provider`. `mutates` must say whether Vault changes
  /// anything (lookups and audit hashing are POSTs that change nothing).
  package func call(
    _ method: String, _ path: String, query: String? = nil, body: Value? = nil, mutates: Bool,
    accept: Set<Int> = [], secretBody: Bool = false
  ) async throws -> Reply {
    let url = url(path, query: query)
    var headers: [(String, String)] = [("X-Vault-Token", config.token), ("Accept", "application/json")]
    if let ns = config.namespace { headers.append(("X-Vault-Namespace", ns)) }
    var data = Data()
    if let body {
      data = Data(body.jsonString().utf8)
      headers.append(("Content-Type", "application/json"))
    }
    let operation = "\(method) /v1/\(path)"
    var request = HTTPRequest(
      method: method, url: url, headers: headers, body: data, mutates: mutates, operation: "vault:\(path)",
      caBundle: config.caBundle)
    request.bodyIsSecret = secretBody

    let endpoint = config.address + "/v1/" + path
    return try await retry.run { _ in
      let response: HTTPResponse
      do {
        response = try await transport.send(request)
      } catch let error as TransportError {
        let wrapped = ActionError.transport(error)
        return wrapped.isRetryable ? .retry(wrapped) : .fail(wrapped)
      }
      let reply = Reply(
        status: response.status, json: response.json, headers: response.headers, body: response.body,
        operation: operation, endpoint: endpoint, masker: masker)
      if (200..<300).contains(response.status) || accept.contains(response.status) { return .done(reply) }
      let error = VaultClient.providerError(
        status: response.status, body: response.body, retryAfter: response.retryAfter, operation: operation,
        endpoint: endpoint, masker: masker)
      return error.retryable
        ? .retry(ActionError.provider(error), hint: error.retryAfter) : .fail(ActionError.provider(error))
    }
  }

  /// Vault's error messages from a body: `{"errors":[...]}`, with the multi-error wrapping
  /// ("1 error occurred:\n\t* invalid accessor\n\n") reduced to its items.
  /// A body that is not Vault's JSON (a proxy's 502 page) is masked whole, then bounded.
  package static func errorMessages(_ body: Data, masker: Masker) -> [String] {
    guard let list = Value.parseJSON(body)?["errors"]?.arrayValue else {
      let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      return text.isEmpty ? [] : [masker.excerpt(text, limit: 300)]
    }
    var out: [String] = []
    for item in list.compactMap(\.stringValue) {
      let lines = item.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
      let bullets = lines.filter { $0.hasPrefix("* ") }.map { String($0.dropFirst(2)) }
      if !bullets.isEmpty, lines.first?.range(of: #"^\d+ errors? occurred:$"#, options: .regularExpression) != nil {
        out.append(contentsOf: bullets)
      } else {
        let joined = lines.filter { !$0.isEmpty }.joined(separator: " ")
        if !joined.isEmpty { out.append(joined) }
      }
    }
    return out
  }

  /// Normalises a Vault error answer. 429 (quota) and 5xx are retryable, 503 means sealed or in
  /// maintenance; `processed` is false where Vault certainly did nothing (4xx, 429, 503).
  package static func providerError(
    status: Int, body: Data, retryAfter: Duration?, operation: String, endpoint: String, masker: Masker
  ) -> ProviderError {
    let messages = errorMessages(body, masker: masker)
    var message = messages.joined(separator: "; ")
    var code: String?
    let lower = message.lowercased()
    switch status {
    case 503:
      code = lower.contains("sealed") ? "sealed" : "unavailable"
      message =
        code == "sealed"
        ? "Vault is sealed: it must be unsealed before respond can continue (\(message))"
        : "Vault is unavailable (sealed, in maintenance or a standby): \(message.isEmpty ? "no detail" : message)"
    case 429:
      code = "rate-limited"
      if message.isEmpty { message = "rate limit quota exceeded" }
    case 403:
      code = "permission-denied"
      if message.isEmpty { message = "permission denied" }
    case 404:
      code = "not-found"
      if message.isEmpty { message = "nothing at this path" }
    case 400 where lower.contains("check-and-set parameter did not match"):
      code = "cas-mismatch"
    case 400 where lower.contains("batch tokens cannot be revoked"):
      code = "batch-token"
    default:
      break
    }
    if message.isEmpty { message = "no error message" }
    let retryable = status == 429 || status >= 500
    let processed = status >= 500 && status != 503
    return ProviderError(
      provider: "Vault", operation: operation, endpoint: endpoint, status: status, code: code, message: message,
      retryable: retryable, processed: processed, retryAfter: retryable ? retryAfter : nil)
  }
}

/// A KV v2 secret location: the mount and the path inside it (`secret/ci/aws` → `secret`, `ci/aws`).
package struct KVPath: Sendable, Equatable, CustomStringConvertible {
  package var mount: String
  package var path: String

  package init(mount: String, path: String) {
    self.mount = mount
    self.path = path
  }

  /// Parses `<mount>/<path>`: the first segment is the mount unless `mount` is given, in which case
  /// the whole of `raw` is inside it (mounts with slashes in their name). `allowEmptyPath` is for
  /// prefixes (searching a whole mount).
  package static func parse(
    _ raw: String, mount explicitMount: String?, parameter: String,
    allowEmptyPath: Bool = false
  ) throws -> KVPath {
    let trimmed = raw.trimmingCharacters(in: CharacterSet(charactersIn: "/ "))
    // A path is spliced into the request URL: `..` would climb out of the mount once the URL is
    // normalised (secret/../sys/...), and `?`, `#`, `%` or control characters would change what
    // the URL means. Such paths are refused, never passed on.
    for raw in [trimmed, explicitMount ?? ""] {
      let segments = raw.split(separator: "/", omittingEmptySubsequences: false)
      if segments.contains(where: { $0 == ".." || $0 == "." }) {
        throw ActionError.badParameter(name: parameter, reason: "must not contain '.' or '..' segments")
      }
      if raw.unicodeScalars.contains(where: {
        $0 == "?" || $0 == "#" || $0 == "%" || $0.value < 0x20 || $0.value == 0x7F
      }) {
        throw ActionError.badParameter(name: parameter, reason: "must not contain '?', '#', '%' or control characters")
      }
    }
    if let explicitMount {
      let m = explicitMount.trimmingCharacters(in: CharacterSet(charactersIn: "/ "))
      guard !m.isEmpty else { throw ActionError.badParameter(name: "mount", reason: "must not be empty") }
      var inside = trimmed
      if inside.hasPrefix(m + "/") {
        inside = String(inside.dropFirst(m.count + 1))
      } else if inside == m {
        inside = ""
      }
      guard allowEmptyPath || !inside.isEmpty else {
        throw ActionError.badParameter(name: parameter, reason: "must name a secret inside mount '\(m)'")
      }
      return KVPath(mount: m, path: inside)
    }
    let parts = trimmed.split(separator: "/", maxSplits: 1).map(String.init)
    guard let first = parts.first, !first.isEmpty else {
      throw ActionError.badParameter(name: parameter, reason: "must be <mount>/<path>, e.g. secret/ci/aws")
    }
    let inside = parts.count > 1 ? parts[1] : ""
    guard allowEmptyPath || !inside.isEmpty else {
      throw ActionError.badParameter(
        name: parameter, reason: "must be <mount>/<path>, e.g. secret/ci/aws (got only the mount '\(first)')")
    }
    return KVPath(mount: first, path: inside)
  }

  package var description: String { path.isEmpty ? mount : "\(mount)/\(path)" }
  package var dataPath: String { "\(mount)/data/\(path)" }
  package var metadataPath: String { "\(mount)/metadata/\(path)" }
}
