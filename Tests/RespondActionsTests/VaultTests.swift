import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

/// Vault/OpenBao actions: unit tests on recorded answers (configuration, error parsing, what is
/// sent), and integration tests against the real OpenBao dev server and its file audit log.
@Suite struct VaultTests {
  static let addr = "https://vault.example.test:8200"
  static let rootToken = "s.unitTestTokenAbcdefghijklmn"
  static let env = ["VAULT_ADDR": addr, "VAULT_TOKEN": rootToken]

  static func context(
    _ parameters: [String: Value], env: [String: String] = VaultTests.env, transport: any HTTPTransport,
    masker: Masker = Masker(), log: @escaping @Sendable (String) -> Void = { _ in }
  ) -> ActionContext {
    ActionContext(
      stepID: "vault-step", parameters: parameters, environment: env, transport: transport, masker: masker,
      incident: IncidentInfo(
        id: "20261123T131744Z-key-compromised", runbook: "key-compromised", startedAt: Date(), mode: .live,
        directory: NSTemporaryDirectory()),
      log: log)
  }

  static func action(_ name: String) throws -> any Action {
    try #require(VaultActions.all().first { $0.descriptor.name == name }, "no action \(name)")
  }

  // MARK: - Descriptors

  @Test func descriptorsDeclareMutationAndRequirements() throws {
    let names = VaultActions.all().map(\.descriptor.name).sorted()
    #expect(names == [
      "vault.audit.hash", "vault.audit.search", "vault.kv.find", "vault.kv.read", "vault.kv.write",
      "vault.token.lookup", "vault.token.revoke", "vault.token.revoke-accessor",
    ])
    let mutating = VaultActions.all().filter(\.descriptor.mutates).map(\.descriptor.name).sorted()
    #expect(mutating == ["vault.kv.write", "vault.token.revoke", "vault.token.revoke-accessor"])
    #expect(try Self.action("vault.kv.read").descriptor.output("data")?.secret == true)
    #expect(try Self.action("vault.kv.find").descriptor.parameter("value")?.secret == true)
    #expect(try Self.action("vault.token.revoke").descriptor.parameter("token")?.secret == true)
    #expect(try Self.action("vault.kv.write").descriptor.parameter("fields")?.secret == true)
    #expect(try Self.action("vault.audit.search").descriptor.requirements.isEmpty)
    let req = try Self.action("vault.kv.read").descriptor.requirements
    #expect(req == [VaultActions.requirement])
    #expect(VaultActions.requirement.isMet(in: ["BAO_ADDR": "http://127.0.0.1:8200", "BAO_TOKEN": "x"]))
    #expect(!VaultActions.requirement.isMet(in: ["VAULT_ADDR": "http://127.0.0.1:8200"]))
  }

  // MARK: - Configuration

  @Test func missingConfigurationIsAClearError() async throws {
    let transport = RecordedTransport()
    let ctx = Self.context(["path": "secret/ci/aws"], env: ["VAULT_ADDR": Self.addr], transport: transport)
    let error = await #expect(throws: ActionError.self) { try await Self.action("vault.kv.read").run(ctx) }
    guard case .notConfigured(let message)? = error else {
      Issue.record("expected notConfigured, got \(String(describing: error))")
      return
    }
    #expect(
      message
        == "Vault/OpenBao is not configured: VAULT_TOKEN (or BAO_TOKEN) not set; Vault/OpenBao: set VAULT_ADDR and "
        + "VAULT_TOKEN, or BAO_ADDR and BAO_TOKEN")
    #expect(transport.requests.isEmpty)
  }

  @Test func openBaoVariablesNamespaceAndCABundle() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "/v1/secret/data/ci/aws", reply: """
      {"data":{"data":{"access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
      "metadata":{"version":3,"created_time":"2026-11-23T13:17:33.120513551Z"}}}
      """)
    let masker = Masker()
    let env = [
      "BAO_ADDR": "https://bao.example.test:8200/", "BAO_TOKEN": "s.baoTokenAbcdefghijklmnopq",
      "VAULT_NAMESPACE": "team-a", "VAULT_CACERT": "/etc/ssl/vault-ca.pem",
    ]
    let result = try await Self.action("vault.kv.read").run(
      Self.context(["path": "/secret/ci/aws"], env: env, transport: transport, masker: masker))
    let request = try #require(transport.requests.first)
    #expect(request.method == "GET")
    #expect(request.url == "https://bao.example.test:8200/v1/secret/data/ci/aws")
    #expect(request.mutates == false)
    #expect(request.header("X-Vault-Token") == "s.baoTokenAbcdefghijklmnopq")
    #expect(request.header("X-Vault-Namespace") == "team-a")
    #expect(request.caBundle == "/etc/ssl/vault-ca.pem")
    #expect(result.outputs["found"] == true)
    #expect(result.outputs["version"] == 3)
    #expect(result.outputs["created-time"] == "2026-11-23T13:17:33Z")
    #expect(result.outputs["data"]?["access_key_id"] == "AKIAIOSFODNN7EXAMPLE")
    // The token and every secret value are masked from the moment they were read.
    #expect(masker.mask("t=s.baoTokenAbcdefghijklmnopq").contains("sha256:"))
    #expect(!masker.mask("k=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").contains("wJalr"))
  }

  @Test func kvPathParsing() throws {
    #expect(try KVPath.parse("secret/ci/aws", mount: nil, parameter: "path") == KVPath(mount: "secret", path: "ci/aws"))
    #expect(try KVPath.parse("team/kv/app/db", mount: "team/kv", parameter: "path") == KVPath(mount: "team/kv", path: "app/db"))
    #expect(try KVPath.parse("secret", mount: nil, parameter: "path", allowEmptyPath: true) == KVPath(mount: "secret", path: ""))
    #expect(throws: ActionError.self) { try KVPath.parse("secret", mount: nil, parameter: "path") }
    #expect(throws: ActionError.self) { try KVPath.parse("", mount: nil, parameter: "path") }
  }

  // MARK: - Errors

  @Test func errorBodiesBecomeProviderErrors() throws {
    let multi = Data(#"{"errors":["1 error occurred:\n\t* invalid accessor\n\n"]}"#.utf8)
    #expect(VaultClient.errorMessages(multi) == ["invalid accessor"])

    let sealed = VaultClient.providerError(
      status: 503, body: Data(#"{"errors":["Vault is sealed"]}"#.utf8), retryAfter: nil,
      operation: "GET /v1/secret/data/x", endpoint: "https://v/v1/secret/data/x")
    #expect(sealed.provider == "Vault")
    #expect(sealed.code == "sealed")
    #expect(sealed.retryable && !sealed.processed)
    #expect(sealed.description
      == "Vault GET /v1/secret/data/x failed: HTTP 503 sealed: Vault is sealed: it must be unsealed before respond can "
      + "continue (Vault is sealed) (https://v/v1/secret/data/x)")

    let throttled = VaultClient.providerError(
      status: 429, body: Data(#"{"errors":["request path \"secret/data/x\": rate limit quota exceeded"]}"#.utf8),
      retryAfter: .seconds(7), operation: "GET /v1/secret/data/x", endpoint: "https://v/v1/secret/data/x")
    #expect(throttled.retryable && !throttled.processed && throttled.retryAfter == .seconds(7))

    let cas = VaultClient.providerError(
      status: 400, body: Data(#"{"errors":["check-and-set parameter did not match the current version"]}"#.utf8),
      retryAfter: nil, operation: "POST /v1/secret/data/x", endpoint: "https://v/v1/secret/data/x")
    #expect(cas.code == "cas-mismatch" && !cas.retryable)

    let denied = VaultClient.providerError(
      status: 403, body: Data(#"{"errors":["permission denied"]}"#.utf8), retryAfter: nil, operation: "op",
      endpoint: "e")
    #expect(denied.code == "permission-denied" && !denied.retryable && denied.message == "permission denied")
  }

  @Test func retriesUnavailableThenSucceeds() async throws {
    let transport = RecordedTransport()
    let calls = VaultCallCounter()
    transport.on { request in
      guard request.url.hasSuffix("/v1/secret/data/ci/aws") else { return nil }
      if calls.next() == 1 {
        return HTTPResponse(status: 503, headers: [("Retry-After", "0")], body: Data(#"{"errors":["Vault is sealed"]}"#.utf8))
      }
      return HTTPResponse(status: 200, body: Data(#"{"data":{"data":{"a":"1"},"metadata":{"version":1}}}"#.utf8))
    }
    let result = try await Self.action("vault.kv.read").run(Self.context(["path": "secret/ci/aws"], transport: transport))
    #expect(transport.requests.count == 2)
    #expect(result.outputs["found"] == true)
  }

  @Test func persistentThrottlingIsRetryableWithItsHint() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "/v1/", status: 429, headers: [("Retry-After", "120")], reply: #"{"errors":["rate limit quota exceeded"]}"#)
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("vault.kv.read").run(Self.context(["path": "secret/ci/aws"], transport: transport))
    }
    // A hint longer than the client's own limit goes straight to the executor.
    #expect(transport.requests.count == 1)
    #expect(error?.isRetryable == true)
    #expect(error?.retryAfter == .seconds(120))
  }

  // MARK: - KV write (recorded)

  @Test func kvWriteSkipsWhenNothingChanges() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "/v1/secret/data/ci/aws", reply: """
      {"data":{"data":{"access_key_id":"AKIAIOSFODNN7EXAMPLE","region":"eu-west-1"},"metadata":{"version":4}}}
      """)
    let result = try await Self.action("vault.kv.write").run(
      Self.context(["path": "secret/ci/aws", "fields": ["access_key_id": "AKIAIOSFODNN7EXAMPLE"]], transport: transport))
    #expect(transport.requests.map(\.method) == ["GET"])
    #expect(result.outputs["changed"] == false)
    #expect(result.outputs["version"] == 4)
  }

  @Test func kvWriteMergesAndSendsCheckAndSet() async throws {
    let transport = RecordedTransport()
    transport.on { request in
      guard request.method == "GET" else { return nil }
      return HTTPResponse(status: 200, body: Data(#"{"data":{"data":{"keep":"me","old":"x"},"metadata":{"version":4}}}"#.utf8))
    }
    transport.on { request in
      guard request.method == "POST" else { return nil }
      return HTTPResponse(status: 200, body: Data(#"{"data":{"version":5}}"#.utf8))
    }
    let result = try await Self.action("vault.kv.write").run(
      Self.context(["path": "secret/ci/aws", "fields": ["old": "new-secret-value"]], transport: transport))
    let post = try #require(transport.requests.last)
    #expect(post.mutates)
    #expect(Value.parseJSON(post.body) == ["options": ["cas": 4], "data": ["keep": "me", "old": "new-secret-value"]])
    #expect(result.outputs["changed"] == true)
    #expect(result.outputs["version"] == 5)
    #expect(result.outputs["previous-version"] == 4)
  }

  // MARK: - Tokens (recorded)

  @Test func tokenLookupIsAReadAndUnknownTokensAreNotFound() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "/v1/auth/token/lookup", status: 403, reply: #"{"errors":["bad token"]}"#)
    let result = try await Self.action("vault.token.lookup").run(
      Self.context(["token": "s.leakedTokenAbcdefghijklmn"], transport: transport))
    let request = try #require(transport.requests.first)
    #expect(request.method == "POST" && request.mutates == false)
    #expect(result.outputs["found"] == false)
    #expect(result.outputs["accessor"] == .null)
    #expect(result.summary?.contains("leakedToken") == false)
  }

  @Test func tokenLookupPermissionDeniedIsAnError() async throws {
    let transport = RecordedTransport()
    transport.on(urlContaining: "/v1/auth/token/lookup", status: 403, reply: #"{"errors":["permission denied"]}"#)
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("vault.token.lookup").run(
        Self.context(["token": "s.leakedTokenAbcdefghijklmn"], transport: transport))
    }
    guard case .provider(let e)? = error else { Issue.record("expected a provider error"); return }
    #expect(e.code == "permission-denied" && e.status == 403)
  }

  // MARK: - Audit search (local file)

  @Test func auditSearchCountsMalformedLinesAndMatchesOnlyTheHashes() async throws {
    let target = "hmac-sha256:aaaa"
    let other = "hmac-sha256:bbbb"
    func record(_ type: String, id: String, time: String, token: String, path: String, op: String, addr: String,
                error: String? = nil) -> String {
      var r: Value = [
        "time": .string(time), "type": .string(type), "auth": ["client_token": .string(token), "accessor": "hmac-sha256:acc"],
        "request": ["id": .string(id), "operation": .string(op), "path": .string(path), "remote_address": .string(addr),
                    "client_token": .string(token)],
      ]
      if let error, case .object(var o) = r { o["error"] = .string(error); r = .object(o) }
      return r.jsonString()
    }
    let lines = [
      record("request", id: "1", time: "2026-11-23T10:00:00.5Z", token: target, path: "secret/data/ci/aws", op: "read", addr: "203.0.113.7"),
      record("response", id: "1", time: "2026-11-23T10:00:00.6Z", token: target, path: "secret/data/ci/aws", op: "read", addr: "203.0.113.7"),
      "this is not json",
      record("request", id: "2", time: "2026-11-23T10:05:00Z", token: other, path: "sys/health", op: "read", addr: "10.0.0.1"),
      "{\"truncated\": ",
      record("request", id: "3", time: "2026-11-23T11:00:00.75+01:00", token: target, path: "auth/token/lookup-self", op: "read", addr: "198.51.100.2"),
      record("response", id: "3", time: "2026-11-23T10:00:01Z", token: target, path: "auth/token/lookup-self", op: "read", addr: "198.51.100.2",
             error: "1 error occurred:\n\t* permission denied\n\n"),
      "",
    ]
    let file = NSTemporaryDirectory() + "respond-audit-\(UUID().uuidString).log"
    try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: file) }

    let result = try await Self.action("vault.audit.search").run(
      Self.context(["log-file": .string(file), "hashes": .array([.string(target)])], transport: RecordedTransport()))
    #expect(result.outputs["event-count"] == 2)
    #expect(result.outputs["record-count"] == 4)
    #expect(result.outputs["error-count"] == 1)
    #expect(result.outputs["malformed-lines"] == 2)
    #expect(result.outputs["paths"] == ["auth/token/lookup-self", "secret/data/ci/aws"])
    #expect(result.outputs["remote-addresses"] == ["198.51.100.2", "203.0.113.7"])
    #expect(result.outputs["operations"] == ["read"])
    #expect(result.outputs["first-seen"] == "2026-11-23T10:00:00Z")
    #expect(result.outputs["last-seen"] == "2026-11-23T10:00:01Z")
    let evidence = try #require(result.evidence)
    #expect(evidence.source == "Vault audit log")
    #expect(evidence.endpoint == file)
    #expect(evidence.query.contains("hmac-sha256:aaaa @ auth.client_token (4 records)"))
    #expect(evidence.query.contains("hmac-sha256:aaaa @ request.client_token (4 records)"))
    #expect(evidence.windowStart == ISO8601.parse("2026-11-23T10:00:00.5Z"))
    #expect(evidence.windowEnd == ISO8601.parse("2026-11-23T10:05:00Z"))
    #expect(evidence.events.map(\.name) == ["read secret/data/ci/aws", "read auth/token/lookup-self"])
    #expect(evidence.events.last?.detail == "permission denied")
    #expect(evidence.caveats.contains { $0.hasPrefix("2 of 7 line(s) were not JSON audit records") })
  }

  @Test func auditSearchRefusesAPlaintextToken() async throws {
    let token = "s.plaintextTokenAbcdefghijk"
    let error = await #expect(throws: ActionError.self) {
      try await Self.action("vault.audit.search").run(
        Self.context(["log-file": "/nonexistent", "hashes": .string(token)], transport: RecordedTransport()))
    }
    #expect(error.map { String(describing: $0) }?.contains(token) == false)
    #expect(error.map { String(describing: $0) }?.contains("never the token itself") == true)
  }

  @Test func rfc3339ParsingMatchesFoundation() throws {
    for text in ["2026-11-23T13:17:44.008325961Z", "2026-02-28T23:59:59Z", "2024-02-29T00:00:00.5+02:00",
                 "1999-12-31T23:59:59-05:30"] {
      let fast = try #require(RFC3339.parse(text))
      let slow = try #require(ISO8601.parse(text))
      #expect(abs(fast.timeIntervalSince(slow)) < 0.001, "\(text)")
    }
    #expect(RFC3339.parse("2026-11-23 nonsense") == nil)
  }
}

/// A thread-safe counter for scripted responders.
final class VaultCallCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var value = 0
  func next() -> Int { lock.withLock { value += 1; return value } }
}
