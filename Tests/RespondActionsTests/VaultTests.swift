import Foundation
import RespondActions
import RespondCore
import RespondHTTP
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
    #expect(
      names == [
        "vault.audit.hash", "vault.audit.search", "vault.kv.find", "vault.kv.read", "vault.kv.replace-copies",
        "vault.kv.write",
        "vault.token.lookup", "vault.token.revoke", "vault.token.revoke-accessor",
      ])
    let mutating = VaultActions.all().filter(\.descriptor.mutates).map(\.descriptor.name).sorted()
    #expect(
      mutating == ["vault.kv.replace-copies", "vault.kv.write", "vault.token.revoke", "vault.token.revoke-accessor"])
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
    transport.on(
      urlContaining: "/v1/secret/data/ci/aws",
      reply: """
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
    #expect(
      try KVPath.parse("team/kv/app/db", mount: "team/kv", parameter: "path")
        == KVPath(mount: "team/kv", path: "app/db"))
    #expect(
      try KVPath.parse("secret", mount: nil, parameter: "path", allowEmptyPath: true)
        == KVPath(mount: "secret", path: ""))
    #expect(throws: ActionError.self) { try KVPath.parse("secret", mount: nil, parameter: "path") }
    #expect(throws: ActionError.self) { try KVPath.parse("", mount: nil, parameter: "path") }
    // Hostile paths are refused, never spliced into the URL.
    for hostile in [
      "secret/../sys/policy/root", "secret/ci/./aws", "secret/ci?list=true", "secret/ci#x",
      "secret/ci%2F..%2Fsys", "secret/ci\naws",
    ] {
      #expect(throws: ActionError.self, "\(hostile)") { try KVPath.parse(hostile, mount: nil, parameter: "path") }
    }
    #expect(throws: ActionError.self) { try KVPath.parse("app", mount: "team/../sys", parameter: "path") }
  }

  // MARK: - Errors

  @Test func errorBodiesBecomeProviderErrors() throws {
    let multi = Data(#"{"errors":["1 error occurred:\n\t* invalid accessor\n\n"]}"#.utf8)
    #expect(VaultClient.errorMessages(multi, masker: Masker()) == ["invalid accessor"])

    let sealed = VaultClient.providerError(
      status: 503, body: Data(#"{"errors":["Vault is sealed"]}"#.utf8), retryAfter: nil,
      operation: "GET /v1/secret/data/x", endpoint: "https://v/v1/secret/data/x", masker: Masker())
    #expect(sealed.provider == "Vault")
    #expect(sealed.code == "sealed")
    #expect(sealed.retryable && !sealed.processed)
    #expect(
      sealed.description
        == "Vault GET /v1/secret/data/x failed: HTTP 503 sealed: Vault is sealed: it must be unsealed before respond can "
        + "continue (Vault is sealed) (https://v/v1/secret/data/x)")

    let throttled = VaultClient.providerError(
      status: 429, body: Data(#"{"errors":["request path \"secret/data/x\": rate limit quota exceeded"]}"#.utf8),
      retryAfter: .seconds(7), operation: "GET /v1/secret/data/x", endpoint: "https://v/v1/secret/data/x",
      masker: Masker())
    #expect(throttled.retryable && !throttled.processed && throttled.retryAfter == .seconds(7))

    let cas = VaultClient.providerError(
      status: 400, body: Data(#"{"errors":["check-and-set parameter did not match the current version"]}"#.utf8),
      retryAfter: nil, operation: "POST /v1/secret/data/x", endpoint: "https://v/v1/secret/data/x", masker: Masker())
    #expect(cas.code == "cas-mismatch" && !cas.retryable)

    let denied = VaultClient.providerError(
      status: 403, body: Data(#"{"errors":["permission denied"]}"#.utf8), retryAfter: nil, operation: "op",
      endpoint: "e", masker: Masker())
    #expect(denied.code == "permission-denied" && !denied.retryable && denied.message == "permission denied")
  }

  @Test func retriesUnavailableThenSucceeds() async throws {
    let transport = RecordedTransport()
    let calls = VaultCallCounter()
    transport.on { request in
      guard request.url.hasSuffix("/v1/secret/data/ci/aws") else { return nil }
      if calls.next() == 1 {
        return HTTPResponse(
          status: 503, headers: [("Retry-After", "0")], body: Data(#"{"errors":["Vault is sealed"]}"#.utf8))
      }
      return HTTPResponse(status: 200, body: Data(#"{"data":{"data":{"a":"1"},"metadata":{"version":1}}}"#.utf8))
    }
    let result = try await Self.action("vault.kv.read").run(
      Self.context(["path": "secret/ci/aws"], transport: transport))
    #expect(transport.requests.count == 2)
    #expect(result.outputs["found"] == true)
  }

  @Test func persistentThrottlingIsRetryableWithItsHint() async throws {
    let transport = RecordedTransport()
    transport.on(
      urlContaining: "/v1/", status: 429, headers: [("Retry-After", "120")],
      reply: #"{"errors":["rate limit quota exceeded"]}"#)
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
    transport.on(
      urlContaining: "/v1/secret/data/ci/aws",
      reply: """
        {"data":{"data":{"access_key_id":"AKIAIOSFODNN7EXAMPLE","region":"eu-west-1"},"metadata":{"version":4}}}
        """)
    let result = try await Self.action("vault.kv.write").run(
      Self.context(
        ["path": "secret/ci/aws", "fields": ["access_key_id": "AKIAIOSFODNN7EXAMPLE"]], transport: transport))
    #expect(transport.requests.map(\.method) == ["GET"])
    #expect(result.outputs["changed"] == false)
    #expect(result.outputs["version"] == 4)
  }

  @Test func kvWriteMergesAndSendsCheckAndSet() async throws {
    let transport = RecordedTransport()
    transport.on { request in
      guard request.method == "GET" else { return nil }
      return HTTPResponse(
        status: 200, body: Data(#"{"data":{"data":{"keep":"me","old":"x"},"metadata":{"version":4}}}"#.utf8))
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
    guard case .provider(let e)? = error else {
      Issue.record("expected a provider error")
      return
    }
    #expect(e.code == "permission-denied" && e.status == 403)
  }

  // MARK: - Audit search (local file)

  @Test func auditSearchCountsMalformedLinesAndMatchesOnlyTheHashes() async throws {
    let target = "hmac-sha256:aaaa"
    let other = "hmac-sha256:bbbb"
    func record(
      _ type: String, id: String, time: String, token: String, path: String, op: String, addr: String,
      error: String? = nil
    ) -> String {
      var r: Value = [
        "time": .string(time), "type": .string(type),
        "auth": ["client_token": .string(token), "accessor": "hmac-sha256:acc"],
        "request": [
          "id": .string(id), "operation": .string(op), "path": .string(path), "remote_address": .string(addr),
          "client_token": .string(token),
        ],
      ]
      if let error, case .object(var o) = r {
        o["error"] = .string(error)
        r = .object(o)
      }
      return r.jsonString()
    }
    let lines = [
      record(
        "request", id: "1", time: "2026-11-23T10:00:00.5Z", token: target, path: "secret/data/ci/aws", op: "read",
        addr: "203.0.113.7"),
      record(
        "response", id: "1", time: "2026-11-23T10:00:00.6Z", token: target, path: "secret/data/ci/aws", op: "read",
        addr: "203.0.113.7"),
      "this is not json",
      record(
        "request", id: "2", time: "2026-11-23T10:05:00Z", token: other, path: "sys/health", op: "read", addr: "10.0.0.1"
      ),
      "{\"truncated\": ",
      // Real records start with the time: these take the fast path (no full parse).
      #"{"time":"2026-11-23T09:00:00Z","type":"request","auth":{"client_token":"hmac-sha256:cccc""#,
      #"{"time":"2026-11-23T09:00:01Z","type":"request"}{"time":"2026-11-23T09:00:02Z","type":"response"}"#,
      #"{"time":"2026-11-23T10:06:00Z","type":"request","auth":{"client_token":"hmac-sha256:dddd"}}"#,
      record(
        "request", id: "3", time: "2026-11-23T11:00:00.75+01:00", token: target, path: "auth/token/lookup-self",
        op: "read", addr: "198.51.100.2"),
      record(
        "response", id: "3", time: "2026-11-23T10:00:01Z", token: target, path: "auth/token/lookup-self", op: "read",
        addr: "198.51.100.2",
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
    #expect(result.outputs["malformed-lines"] == 4)
    #expect(result.outputs["lines"] == 10)
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
    #expect(evidence.windowEnd == ISO8601.parse("2026-11-23T10:06:00Z"))
    #expect(evidence.events.map(\.name) == ["read secret/data/ci/aws", "read auth/token/lookup-self"])
    #expect(evidence.events.last?.detail == "permission denied")
    #expect(evidence.caveats.contains { $0.hasPrefix("4 of 10 line(s) were not JSON audit records") })
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
    for text in [
      "2026-11-23T13:17:44.008325961Z", "2026-02-28T23:59:59Z", "2024-02-29T00:00:00.5+02:00",
      "1999-12-31T23:59:59-05:30",
    ] {
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
  func next() -> Int {
    lock.withLock {
      value += 1
      return value
    }
  }
}

// MARK: - Integration: the real OpenBao dev server

/// Vault/OpenBao actions against the real OpenBao dev server started by `scripts/services.sh up`
/// (KV v2 at `secret/`, a file audit device at `file/`). Each test works under its own unique path.
@Suite struct VaultServerTests {
  let services: TestServices
  let transport = CurlTransport()

  init() throws { services = try TestServices.load() }

  var env: [String: String] { services.vaultEnvironment }

  func context(
    _ parameters: [String: Value], env: [String: String]? = nil, masker: Masker = Masker(),
    log: @escaping @Sendable (String) -> Void = { _ in }
  ) -> ActionContext {
    VaultTests.context(parameters, env: env ?? self.env, transport: transport, masker: masker, log: log)
  }

  func run(
    _ name: String, _ parameters: [String: Value], env: [String: String]? = nil,
    masker: Masker = Masker(), log: @escaping @Sendable (String) -> Void = { _ in }
  ) async throws -> ActionResult {
    try await VaultTests.action(name).run(context(parameters, env: env, masker: masker, log: log))
  }

  /// A raw Vault call with a given token, independent of the actions under test.
  @discardableResult
  func raw(_ method: String, _ path: String, token: String? = nil, body: Value? = nil) async throws -> (Int, Value?) {
    var headers = [("X-Vault-Token", token ?? services.baoToken)]
    if body != nil { headers.append(("Content-Type", "application/json")) }
    let response = try await transport.send(
      HTTPRequest(
        method: method, url: services.baoAddr + "/v1/" + path, headers: headers,
        body: body.map { Data($0.jsonString().utf8) } ?? Data()))
    return (response.status, response.json)
  }

  func createToken(type: String = "service") async throws -> (token: String, accessor: String) {
    let (status, json) = try await raw(
      "POST", "auth/token/create",
      body: ["policies": ["default"], "ttl": "1h", "type": .string(type), "display_name": "respond-test"])
    #expect(status == 200)
    let token = try #require(json?["auth"]?["client_token"]?.stringValue)
    return (token, json?["auth"]?["accessor"]?.stringValue ?? "")
  }

  static func unique(_ label: String) -> String { "respond-test/\(label)-\(UUID().uuidString.prefix(8).lowercased())" }

  // MARK: KV

  @Test func kvReadOfAMissingSecretIsNotFound() async throws {
    let result = try await run("vault.kv.read", ["path": .string("secret/\(Self.unique("missing"))/aws")])
    #expect(result.outputs["found"] == false)
    #expect(result.outputs["version"] == 0)
  }

  @Test func kvWriteMergesKeepsOtherFieldsAndIsIdempotent() async throws {
    let path = Self.unique("merge") + "/aws"
    try await raw(
      "POST", "secret/data/\(path)",
      body: [
        "data": [
          "access_key_id": "AKIAOLD0000000000000", "secret_access_key": "old-secret-value-1", "region": "eu-west-1",
        ]
      ])
    let masker = Masker()
    let first = try await run(
      "vault.kv.write",
      [
        "path": .string("secret/\(path)"),
        "fields": ["access_key_id": "AKIANEW0000000000000", "secret_access_key": "new-secret-value-2"],
      ],
      masker: masker)
    #expect(first.outputs["changed"] == true)
    #expect(first.outputs["previous-version"] == 1)
    #expect(first.outputs["version"] == 2)
    #expect(masker.containsSecret("new-secret-value-2"))
    let (_, stored) = try await raw("GET", "secret/data/\(path)")
    #expect(
      stored?["data"]?["data"] == [
        "access_key_id": "AKIANEW0000000000000", "secret_access_key": "new-secret-value-2", "region": "eu-west-1",
      ])

    let again = try await run(
      "vault.kv.write",
      [
        "path": .string("secret/\(path)"),
        "fields": ["access_key_id": "AKIANEW0000000000000", "secret_access_key": "new-secret-value-2"],
      ])
    #expect(again.outputs["changed"] == false)
    #expect(again.outputs["version"] == 2)
    let (_, meta) = try await raw("GET", "secret/metadata/\(path)")
    #expect(meta?["data"]?["current_version"] == 2)

    let read = try await run("vault.kv.read", ["path": .string("secret/\(path)")])
    #expect(read.outputs["data"]?["region"] == "eu-west-1")
    #expect(read.outputs["version"] == 2)
  }

  @Test func kvWriteCreatesANewSecretAndRewritesASoftDeletedOne() async throws {
    let path = Self.unique("new") + "/aws"
    let created = try await run(
      "vault.kv.write", ["path": .string("secret/\(path)"), "fields": ["token": "first-value-123"]])
    #expect(created.outputs["version"] == 1 && created.outputs["previous-version"] == 0)
    try await raw("DELETE", "secret/data/\(path)")
    let rewritten = try await run(
      "vault.kv.write", ["path": .string("secret/\(path)"), "fields": ["token": "second-value-456"]])
    #expect(rewritten.outputs["version"] == 2 && rewritten.outputs["changed"] == true)
  }

  @Test func concurrentWritersOfDifferentFieldsAllLand() async throws {
    let path = "secret/" + Self.unique("cas") + "/shared"
    try await raw("POST", "secret/data/" + path.dropFirst("secret/".count), body: ["data": ["base": "kept-value-000"]])
    let writers = 8
    let races = RaceLog()
    try await withThrowingTaskGroup(of: ActionResult.self) { group in
      for i in 0..<writers {
        group.addTask {
          try await run(
            "vault.kv.write", ["path": .string(path), "fields": .object(["field-\(i)": .string("value-\(i)-abcdef")])],
            log: { races.add($0) })
        }
      }
      for try await result in group { #expect(result.outputs["changed"] == true) }
    }
    let (_, stored) = try await raw("GET", "secret/data/" + path.dropFirst("secret/".count))
    var expected: [String: Value] = ["base": "kept-value-000"]
    for i in 0..<writers { expected["field-\(i)"] = .string("value-\(i)-abcdef") }
    #expect(stored?["data"]?["data"] == .object(expected))
    #expect(stored?["data"]?["metadata"]?["version"] == .number(Double(1 + writers)))
    #expect(races.count > 0, "the writers never raced: the test did not exercise check-and-set")
  }

  @Test func findLocatesExactlyTheCopiesAmongHundredsOfSecrets() async throws {
    let root = Self.unique("find")
    let needle =
      "AKIA" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).uppercased() + "-leaked-secret"
    // 216 secrets across three levels; copies planted in 5 of them (one twice), near misses elsewhere.
    var writes: [(String, Value)] = []
    var expected: [[String: Value]] = []
    for team in 0..<6 {
      for app in 0..<6 {
        for env in ["dev", "stage", "prod", "qa", "ci", "ops"] {
          let path = "\(root)/team\(team)/app\(app)/\(env)"
          var data: [String: Value] = ["user": .string("svc-\(team)-\(app)"), "other": .string(needle + "x")]
          if (team, app, env) == (0, 0, "dev") || (team, app, env) == (5, 5, "ops")
            || (team, app, env) == (2, 3, "prod")
          {
            data["secret_access_key"] = .string(needle)
            expected.append(["path": .string("secret/\(path)"), "field": "secret_access_key"])
          }
          if (team, app, env) == (2, 3, "prod") {
            data["backup"] = .string(needle)
            expected.append(["path": .string("secret/\(path)"), "field": "backup"])
          }
          if (team, app, env) == (4, 1, "qa") {
            data["nested"] = ["aws": ["key": .string(needle)]]
            expected.append(["path": .string("secret/\(path)"), "field": "nested.aws.key"])
          }
          writes.append((path, .object(data)))
        }
      }
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for chunk in stride(from: 0, to: writes.count, by: 27) {
        let slice = writes[chunk..<min(chunk + 27, writes.count)]
        group.addTask {
          for (path, data) in slice { try await raw("POST", "secret/data/\(path)", body: ["data": data]) }
        }
      }
      try await group.waitForAll()
    }
    let masker = Masker()
    let started = ContinuousClock.now
    let result = try await run(
      "vault.kv.find", ["path": .string("secret/\(root)"), "value": .string(needle)], masker: masker)
    let elapsed = ContinuousClock.now - started
    let sortedExpected = expected.sorted {
      ($0["path"]!.description, $0["field"]!.description) < ($1["path"]!.description, $1["field"]!.description)
    }
    #expect(result.outputs["matches"] == .array(sortedExpected.map(Value.object)))
    #expect(result.outputs["count"] == 5)
    #expect(result.outputs["paths"]?.arrayValue?.count == 4)
    #expect(result.outputs["scanned"] == .number(Double(writes.count)))
    #expect(result.outputs["complete"] == true)
    #expect(masker.containsSecret(needle))
    #expect(result.summary?.contains(needle) == false)
    #expect(!result.outputs.values.map(\.description).joined().contains(needle))
    #expect(elapsed < .seconds(30))

    // Searching one sub-tree finds only the copies there.
    let sub = try await run("vault.kv.find", ["path": .string("secret/\(root)/team2"), "value": .string(needle)])
    #expect(sub.outputs["count"] == 2)
    #expect(sub.outputs["scanned"] == 36)
  }

  // MARK: Tokens

  @Test func tokenLookupRevokeAndLookupAgain() async throws {
    let (token, accessor) = try await createToken()
    #expect(token.hasPrefix("s.") && token.count >= 26)
    let masker = Masker()
    let found = try await run("vault.token.lookup", ["token": .string(token)], masker: masker)
    #expect(masker.containsSecret(token))
    #expect(found.outputs["found"] == true)
    #expect(found.outputs["type"] == "service")
    #expect(found.outputs["accessor"] == .string(accessor))
    #expect(found.outputs["display-name"] == "token-respond-test")
    #expect(found.outputs["policies"] == ["default"])
    #expect(found.outputs["path"] == "auth/token/create")
    #expect(found.outputs["orphan"] == false)
    #expect(found.outputs["renewable"] == true)
    let ttl = try #require(found.outputs["ttl"]?.intValue)
    #expect(ttl > 3500 && ttl <= 3600)
    let expiry = try #require(found.outputs["expire-time"]?.stringValue.flatMap(ISO8601.parse))
    #expect(abs(expiry.timeIntervalSinceNow - 3600) < 120)

    let byAccessor = try await run("vault.token.lookup", ["accessor": .string(accessor)])
    #expect(byAccessor.outputs["found"] == true && byAccessor.outputs["type"] == "service")

    let revoked = try await run("vault.token.revoke", ["token": .string(token)])
    #expect(revoked.outputs["revoked"] == true)
    let gone = try await run("vault.token.lookup", ["token": .string(token)])
    #expect(gone.outputs["found"] == false)
    let goneByAccessor = try await run("vault.token.lookup", ["accessor": .string(accessor)])
    #expect(goneByAccessor.outputs["found"] == false)
    // The token really is dead, and revoking again is harmless.
    let (status, _) = try await raw("GET", "auth/token/lookup-self", token: token)
    #expect(status == 403)
    let again = try await run("vault.token.revoke", ["token": .string(token)])
    #expect(again.outputs["revoked"] == true)
  }

  @Test func revokeByAccessorIsIdempotent() async throws {
    let (token, accessor) = try await createToken()
    let first = try await run("vault.token.revoke-accessor", ["accessor": .string(accessor)])
    #expect(first.outputs["found"] == true)
    let (status, _) = try await raw("GET", "auth/token/lookup-self", token: token)
    #expect(status == 403)
    let second = try await run("vault.token.revoke-accessor", ["accessor": .string(accessor)])
    #expect(second.outputs["found"] == false && second.outputs["revoked"] == true)
  }

  @Test func batchTokensCannotBeRevokedAndSaySo() async throws {
    let (token, _) = try await createToken(type: "batch")
    let lookup = try await run("vault.token.lookup", ["token": .string(token)])
    #expect(lookup.outputs["type"] == "batch")
    let error = await #expect(throws: ActionError.self) {
      try await run("vault.token.revoke", ["token": .string(token)])
    }
    guard case .provider(let e)? = error else {
      Issue.record("expected a provider error, got \(String(describing: error))")
      return
    }
    #expect(e.code == "batch-token")
    #expect(e.status == 400)
    #expect(!e.retryable)
    #expect(
      e.message.hasPrefix(
        "batch tokens cannot be revoked: a batch token stays valid until its TTL runs out or its parent"))
    #expect(!e.description.contains(token))
    #expect(error?.isRetryable == false)
  }

  @Test func wrongTokenIsAPermissionError() async throws {
    let error = await #expect(throws: ActionError.self) {
      try await run(
        "vault.kv.read", ["path": "secret/ci/aws"],
        env: ["VAULT_ADDR": services.baoAddr, "VAULT_TOKEN": "s.notAValidToken0123456789"])
    }
    guard case .provider(let e)? = error else {
      Issue.record("expected a provider error")
      return
    }
    #expect(e.status == 403 && e.code == "permission-denied" && e.provider == "Vault")
    #expect(e.operation == "GET /v1/secret/data/ci/aws")
  }

  // MARK: Audit

  @Test func auditHashAndSearchFindExactlyTheTokensRequests() async throws {
    let (token, accessor) = try await createToken()
    let path = Self.unique("audit") + "/probe"
    try await raw("POST", "secret/data/\(path)", body: ["data": ["k": "v-123456"]])
    // What the "leaked" token does: three requests, one of them denied by policy.
    #expect(try await raw("GET", "auth/token/lookup-self", token: token).0 == 200)
    #expect(try await raw("GET", "secret/data/\(path)", token: token).0 == 403)
    #expect(try await raw("POST", "auth/token/renew-self", token: token, body: [:]).0 == 200)
    // Revoked by the responder (the root token's request is not the leaked token's), then tried again.
    _ = try await run("vault.token.revoke", ["token": .string(token)])
    #expect(try await raw("GET", "auth/token/lookup-self", token: token).0 == 403)

    let masker = Masker()
    let hash = try await run("vault.audit.hash", ["input": .string(token), "device": "file"], masker: masker)
    let tokenHash = try #require(hash.outputs["hash"]?.stringValue)
    #expect(tokenHash.hasPrefix("hmac-sha256:") && tokenHash.count == 12 + 64)
    #expect(masker.containsSecret(token))
    let accessorHash = try #require(
      try await run("vault.audit.hash", ["input": .string(accessor)]).outputs["hash"]?.stringValue)

    let result = try await run(
      "vault.audit.search", ["log-file": .string(services.auditLog), "hashes": .array([.string(tokenHash)])])
    #expect(result.outputs["event-count"] == 4)
    #expect(result.outputs["record-count"] == 8)
    #expect(result.outputs["error-count"] == 2)
    #expect(
      Set(result.outputs["paths"]?.arrayValue ?? []) == [
        "auth/token/lookup-self", .string("secret/data/\(path)"), "auth/token/renew-self",
      ])
    #expect(result.outputs["remote-addresses"] == ["127.0.0.1"])
    #expect(result.outputs["malformed-lines"] == 0)
    let evidence = try #require(result.evidence)
    #expect(evidence.eventCount == 4)
    #expect(evidence.query.contains("\(tokenHash) @ request.client_token (8 records)"))
    #expect(evidence.events.last?.name == "read auth/token/lookup-self")
    #expect(evidence.events.last?.detail == "permission denied")
    #expect(evidence.endpoint == services.auditLog)
    #expect(evidence.query.contains("\(tokenHash) @ auth.client_token"))
    #expect(evidence.events.contains { $0.name == "read secret/data/\(path)" && $0.detail == "permission denied" })
    let first = try #require(evidence.firstSeen)
    let last = try #require(evidence.lastSeen)
    #expect(first <= last && abs(last.timeIntervalSinceNow) < 120)
    #expect(result.outputs["first-seen"] == .string(ISO8601.string(first)))

    // The accessor's hash finds the requests made while the token was valid (a revoked token has no
    // accessor any more); the root token's own requests about this token are never among them.
    let byAccessor = try await run(
      "vault.audit.search", ["log-file": .string(services.auditLog), "accessor-hashes": .string(accessorHash)])
    #expect(byAccessor.outputs["event-count"] == 3)
    #expect(
      byAccessor.outputs["paths"].map { Set($0.arrayValue ?? []) } == Set(result.outputs["paths"]?.arrayValue ?? []))
  }
}

/// Collects log lines from concurrent writers.
final class RaceLog: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [String] = []
  func add(_ line: String) { lock.withLock { lines.append(line) } }
  var count: Int { lock.withLock { lines.count } }
}
