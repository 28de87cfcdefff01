import Foundation
import RespondActions
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

/// An action context for the `http` action over `transport`.
private func context(_ parameters: [String: Value], transport: any HTTPTransport, masker: Masker = Masker())
  -> ActionContext
{
  ActionContext(
    stepID: "call", parameters: parameters, environment: [:], transport: transport, masker: masker,
    incident: IncidentInfo(id: "test", runbook: "test", startedAt: Date(), mode: .live, directory: "/tmp"))
}

/// A transport answering every request with `status`, `headers` and `body`.
private func answering(_ status: Int = 200, headers: [(String, String)] = [], body: String = "{}") -> RecordedTransport
{
  let t = RecordedTransport()
  t.on { _ in HTTPResponse(status: status, headers: headers, body: Data(body.utf8)) }
  return t
}

private func providerError(_ error: any Error) -> ProviderError? {
  if case .provider(let e) = error as? ActionError { return e }
  return nil
}

private func isBadParameter(_ error: any Error, _ name: String) -> Bool {
  if case .badParameter(let n, _) = error as? ActionError { return n == name }
  return false
}

/// What the `http` action sends, on a recorded transport.
@Suite("http action: what is sent")
struct HTTPActionRequestTests {
  let action = HTTPAction()

  @Test func descriptorDeclaresTheContract() {
    let d = action.descriptor
    #expect(d.name == "http")
    #expect(d.mutates)
    #expect(!d.idempotent)
    #expect(d.requirements.isEmpty)
    #expect(d.parameter("url")?.required == true)
    #expect(Set(d.outputs.map(\.name)) == ["status", "body", "json", "headers"])
    #expect(HTTPActions.all().map(\.descriptor.name) == ["http"])
  }

  @Test func getWithHostileQueryValuesIsPercentEncoded() async throws {
    let t = answering()
    _ = try await action.run(
      context(
        [
          "url": "https://api.example.test/search",
          "query": ["q": "a b&c=d#e\n", "x y": 1, "list": ["1", "two"], "skip": nil, "ü": "é/?"],
        ], transport: t))
    let sent = try #require(t.requests.first)
    #expect(sent.method == "GET")
    #expect(
      sent.url == "https://api.example.test/search?list=1&list=two&q=a%20b%26c%3Dd%23e%0A&x%20y=1&%C3%BC=%C3%A9%2F%3F")
    #expect(!sent.mutates)
    #expect(sent.body.isEmpty)
  }

  @Test func queryIsAppendedToAnExistingQueryAndFragmentDropped() async throws {
    let t = answering()
    _ = try await action.run(context(["url": "https://h.example.test/p?a=1#frag", "query": ["b": "2"]], transport: t))
    #expect(t.requests.first?.url == "https://h.example.test/p?a=1&b=2")
  }

  @Test func jsonBodySetsContentType() async throws {
    let t = answering(201)
    let result = try await action.run(
      context(
        [
          "method": "post", "url": "https://h.example.test/items",
          "json": ["name": "x", "tags": ["a", "b"], "n": 2, "ok": true],
          "headers": ["X-Request-Id": "abc", "Accept": "application/json"],
        ], transport: t))
    let sent = try #require(t.requests.first)
    #expect(sent.method == "POST")
    #expect(sent.mutates)
    #expect(Value.parseJSON(sent.body) == ["name": "x", "tags": ["a", "b"], "n": 2, "ok": true])
    #expect(sent.header("Content-Type") == "application/json")
    #expect(sent.header("X-Request-Id") == "abc")
    #expect(sent.header("Accept") == "application/json")
    #expect(result.outputs["status"] == 201)
  }

  @Test func explicitContentTypeWins() async throws {
    let t = answering()
    _ = try await action.run(
      context(
        [
          "method": "POST", "url": "https://h.example.test/x", "json": ["a": 1],
          "headers": ["content-type": "application/vnd.api+json"],
        ], transport: t))
    let sent = try #require(t.requests.first)
    #expect(sent.headers.filter { $0.0.lowercased() == "content-type" }.map(\.1) == ["application/vnd.api+json"])
  }

  @Test func formBodyIsURLEncoded() async throws {
    let t = answering()
    _ = try await action.run(
      context(
        [
          "method": "POST", "url": "https://h.example.test/token", "form": ["grant_type": "x y", "scope": "a&b=c"],
        ], transport: t))
    let sent = try #require(t.requests.first)
    #expect(String(decoding: sent.body, as: UTF8.self) == "grant_type=x%20y&scope=a%26b%3Dc")
    #expect(sent.header("Content-Type") == "application/x-www-form-urlencoded")
  }

  @Test func rawBodyIsSentAsIs() async throws {
    let t = answering()
    _ = try await action.run(
      context(
        [
          "method": "PUT", "url": "https://h.example.test/raw", "body": "line1\nline2 & more",
          "headers": ["Content-Type": "text/plain"],
        ], transport: t))
    let sent = try #require(t.requests.first)
    #expect(String(decoding: sent.body, as: UTF8.self) == "line1\nline2 & more")
    #expect(sent.method == "PUT")
  }

  @Test func onlyOneBodyKind() async throws {
    await #expect {
      _ = try await action.run(
        context(
          ["method": "POST", "url": "https://h.example.test/", "json": ["a": 1], "body": "x"], transport: answering()))
    } throws: { isBadParameter($0, "body") }
  }

  @Test func bearerAuthIsSentAndMasked() async throws {
    let t = answering()
    let masker = Masker()
    let token = "ghp_secretTokenValue1234567890"
    _ = try await action.run(
      context(
        ["url": "https://h.example.test/user", "auth": ["type": "bearer", "token": .string(token)]], transport: t,
        masker: masker))
    #expect(t.requests.first?.header("Authorization") == "Bearer \(token)")
    #expect(!masker.mask("sent \(token)").contains(token))
  }

  @Test func basicAuthIsEncodedAndMasked() async throws {
    let t = answering()
    let masker = Masker()
    _ = try await action.run(
      context(
        [
          "url": "https://h.example.test/",
          "auth": ["type": "basic", "username": "api", "password": "pa55word-secret"],
        ],
        transport: t, masker: masker))
    let header = try #require(t.requests.first?.header("Authorization"))
    let encoded = Data("api:pa55word-secret".utf8).base64EncodedString()
    #expect(header == "Basic \(encoded)")
    #expect(!masker.mask(header).contains(encoded))
    #expect(!masker.mask("pa55word-secret").contains("pa55word-secret"))
  }

  @Test func headerAuthIsSentAndMasked() async throws {
    let t = answering()
    let masker = Masker()
    _ = try await action.run(
      context(
        [
          "url": "https://h.example.test/",
          "auth": ["type": "header", "name": "PRIVATE-TOKEN", "value": "glpat-abcdefghijklmnop"],
        ],
        transport: t, masker: masker))
    #expect(t.requests.first?.header("PRIVATE-TOKEN") == "glpat-abcdefghijklmnop")
    #expect(masker.mask("glpat-abcdefghijklmnop") != "glpat-abcdefghijklmnop")
    #expect(masker.mask("PRIVATE-TOKEN") == "PRIVATE-TOKEN", "the header name is not a secret")
  }

  @Test(
    arguments: [
      ["type": "bearer"], ["type": "oauth", "token": "x"], ["type": "header", "name": "X-A"], "just a string",
    ] as [Value])
  func badAuthIsRefused(_ auth: Value) async throws {
    let t = answering()
    await #expect {
      _ = try await action.run(context(["url": "https://h.example.test/", "auth": auth], transport: t))
    } throws: { isBadParameter($0, "auth") }
    #expect(t.requests.isEmpty)
  }

  @Test(
    arguments: [
      ["X-A": "1\r\nX-Injected: yes"], ["X-A": "1\nX-Injected: yes"], ["Bad Name": "1"], ["X-A:B": "1"], ["": "1"],
    ] as [Value])
  func headerInjectionIsRefused(_ headers: Value) async throws {
    let t = answering()
    await #expect {
      _ = try await action.run(context(["url": "https://h.example.test/", "headers": headers], transport: t))
    } throws: { isBadParameter($0, "headers") }
    #expect(t.requests.isEmpty)
  }

  @Test func bearerTokenWithLineBreakIsRefused() async throws {
    let t = answering()
    await #expect {
      _ = try await action.run(
        context(
          ["url": "https://h.example.test/", "auth": ["type": "bearer", "token": "abc\r\nX-Evil: 1"]], transport: t))
    } throws: { isBadParameter($0, "auth") }
    #expect(t.requests.isEmpty)
  }

  @Test(arguments: [
    "ftp://h.example.test/x", "file:///etc/passwd", "javascript:alert(1)", "h.example.test/x", "https://",
    "https://h.example.test/a b", "https://h.example.test/\r\nX: y", "",
  ])
  func nonHTTPURLsAreRefused(_ url: String) async throws {
    let t = answering()
    await #expect {
      _ = try await action.run(context(["url": .string(url)], transport: t))
    } throws: { isBadParameter($0, "url") }
    #expect(t.requests.isEmpty)
  }

  @Test(
    arguments: [
      ("GET", nil, false), ("HEAD", nil, false), ("OPTIONS", nil, false), ("POST", nil, true), ("DELETE", nil, true),
      ("GET", true, true), ("GET", "true", true),
    ] as [(String, Value?, Bool)])
  func mutatesComesFromMethodOrOverride(_ method: String, _ override: Value?, _ expected: Bool) async throws {
    let t = answering()
    var params: [String: Value] = ["method": .string(method), "url": "https://h.example.test/"]
    if let override { params["mutates"] = override }
    _ = try await action.run(context(params, transport: t))
    #expect(t.requests.first?.mutates == expected)
  }

  /// Only an action definition file declares a request read-only (issue 12 item 2): a runbook
  /// step's `mutates: false` would let its POST out of a dry run.
  @Test(arguments: [("POST", false), ("PATCH", "false"), ("GET", false)] as [(String, Value)])
  func mutatesFalseIsRefused(_ method: String, _ override: Value) async throws {
    let t = answering()
    await #expect {
      _ = try await action.run(
        context(
          ["method": .string(method), "url": "https://h.example.test/", "mutates": override],
          transport: t))
    } throws: { isBadParameter($0, "mutates") }
    #expect(t.requests.isEmpty)
  }

  @Test func timeoutIsPassedOn() async throws {
    let t = answering()
    _ = try await action.run(context(["url": "https://h.example.test/", "timeout": .number(2.5)], transport: t))
    #expect(t.requests.first?.timeout == .milliseconds(2500))
    await #expect {
      _ = try await action.run(context(["url": "https://h.example.test/", "timeout": "soon"], transport: t))
    } throws: { isBadParameter($0, "timeout") }
  }
}

/// How the `http` action reads answers: outputs, expect, errors, secrets.
@Suite("http action: reading the answer")
struct HTTPActionResponseTests {
  let action = HTTPAction()

  @Test func outputsAreExtractedByPointer() async throws {
    let body = #"{"id": 42, "user": {"login": "octo", "token": "s3cr3t-token-value"}, "items": [{"name": "a/b"}]}"#
    let t = answering(
      200, headers: [("Content-Type", "application/json"), ("X-Rate", "1"), ("x-rate", "2")], body: body)
    let masker = Masker()
    let result = try await action.run(
      context(
        [
          "url": "https://h.example.test/",
          "outputs": [
            "user-id": "/id", "login": "/user/login", "first": "/items/0/name", "token": "/user/token",
            "missing": "/nope/0",
          ],
          "secret-outputs": ["token"],
        ], transport: t, masker: masker))
    #expect(result.outputs["user-id"] == 42)
    #expect(result.outputs["login"] == "octo")
    #expect(result.outputs["first"] == "a/b")
    #expect(result.outputs["missing"] == .null)
    #expect(result.outputs["token"] == "s3cr3t-token-value")
    #expect(!masker.mask(body).contains("s3cr3t-token-value"), "secret outputs are registered with the masker")
    #expect(result.outputs["status"] == 200)
    #expect(result.outputs["json"]?["user"]?["login"] == "octo")
    #expect(result.outputs["body"]?.stringValue == body)
    #expect(result.outputs["headers"]?["content-type"] == "application/json")
    #expect(result.outputs["headers"]?["x-rate"] == "1, 2")
  }

  @Test func nonJSONAnswerHasNullJSON() async throws {
    let result = try await action.run(
      context(["url": "https://h.example.test/"], transport: answering(body: "plain ok")))
    #expect(result.outputs["json"] == .null)
    #expect(result.outputs["body"] == "plain ok")
  }

  @Test func longBodyIsTruncated() async throws {
    let long = String(repeating: "é", count: 40_000)  // 80,000 bytes
    let result = try await action.run(context(["url": "https://h.example.test/"], transport: answering(body: long)))
    let text = try #require(result.outputs["body"]?.stringValue)
    #expect(text.utf8.count <= 64 * 1024)
    #expect(text.utf8.count >= 64 * 1024 - 1)
    #expect(text.allSatisfy { $0 == "é" })
  }

  @Test func unexpectedStatusIsAProviderErrorWithTheBodysMessage() async throws {
    let t = answering(404, body: #"{"message": "Not Found", "documentation_url": "https://docs"}"#)
    await #expect {
      _ = try await action.run(
        context(["method": "DELETE", "url": "https://h.example.test/keys/1?token=abc"], transport: t))
    } throws: { error in
      guard let e = providerError(error) else { return false }
      return e.status == 404 && e.message == "Not Found" && !e.retryable && !e.processed
        && e.endpoint == "https://h.example.test/keys/1" && e.operation == "DELETE /keys/1"
        && !(error as? ActionError)!.isRetryable
    }
  }

  @Test func expectedNon2xxIsAccepted() async throws {
    let t = answering(401, body: #"{"message": "Bad credentials"}"#)
    let result = try await action.run(
      context(
        ["url": "https://h.example.test/user", "expect": [200, 401], "outputs": ["login": "/login"]], transport: t))
    #expect(result.outputs["status"] == 401)
    #expect(result.outputs["login"] == .null)
  }

  @Test func expectedStatusClass() async throws {
    let result = try await action.run(
      context(
        ["url": "https://h.example.test/", "expect": ["4xx"]], transport: answering(409, body: "conflict")))
    #expect(result.outputs["status"] == 409)
    await #expect {
      _ = try await action.run(
        context(["url": "https://h.example.test/", "expect": ["4xx"]], transport: answering(200)))
    } throws: { providerError($0)?.status == 200 }
  }

  @Test func twoHundredIsRefusedWhenNotExpected() async throws {
    await #expect {
      _ = try await action.run(context(["url": "https://h.example.test/", "expect": [202]], transport: answering(200)))
    } throws: { providerError($0)?.status == 200 }
  }

  @Test(arguments: [["abc"], [99], ["7xx"], [.number(200.5)]] as [Value])
  func badExpectIsRefused(_ expect: Value) async throws {
    await #expect {
      _ = try await action.run(context(["url": "https://h.example.test/", "expect": expect], transport: answering()))
    } throws: { isBadParameter($0, "expect") }
  }

  @Test func throttlingIsRetryableWithRetryAfter() async throws {
    let t = answering(429, headers: [("Retry-After", "5")], body: #"{"error": {"message": "slow down"}}"#)
    await #expect {
      _ = try await action.run(context(["method": "POST", "url": "https://h.example.test/"], transport: t))
    } throws: { error in
      guard let e = providerError(error) else { return false }
      return e.retryable && e.retryAfter == .seconds(5) && e.message == "slow down" && !e.processed
        && (error as? ActionError)!.isRetryable
    }
  }

  @Test func serverErrorIsRetryable() async throws {
    await #expect {
      _ = try await action.run(
        context(["url": "https://h.example.test/"], transport: answering(502, body: "bad gateway")))
    } throws: { error in
      guard let e = providerError(error) else { return false }
      return e.retryable && e.retryAfter == nil && e.message == "bad gateway" && e.processed
    }
  }

  /// Epoch seconds `delta` from now, as a rate-limit reset header carries them.
  private func epoch(in delta: Double) -> String { String(Int(Date().timeIntervalSince1970 + delta)) }

  @Test func githubPrimaryLimitAs403IsRetryableUntilTheReset() async throws {
    let t = answering(
      403,
      headers: [
        ("x-ratelimit-limit", "60"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-used", "60"),
        ("x-ratelimit-reset", epoch(in: 8)),
      ], body: #"{"message": "API rate limit exceeded for 127.0.0.1."}"#)
    await #expect {
      _ = try await action.run(
        context(["method": "POST", "url": "https://h.example.test/credentials/revoke"], transport: t))
    } throws: { error in
      guard let e = providerError(error), let wait = e.retryAfter else { return false }
      // Whole epoch seconds: the reset is 7 to 8 s away.
      return e.retryable && !e.processed && (error as? ActionError)!.isRetryable && e.status == 403
        && wait >= .seconds(6) && wait <= .seconds(9) && e.message.contains("rate limit exceeded")
    }
  }

  @Test func a403WithoutRateLimitSignalsIsNotRetryable() async throws {
    for headers in [[], [("x-ratelimit-remaining", "4999"), ("x-ratelimit-reset", epoch(in: 100))]]
      as [[(String, String)]]
    {
      await #expect {
        _ = try await action.run(
          context(["url": "https://h.example.test/"], transport: answering(403, headers: headers, body: "forbidden")))
      } throws: { error in
        guard let e = providerError(error) else { return false }
        return !e.retryable && e.retryAfter == nil && !(error as? ActionError)!.isRetryable
      }
    }
  }

  @Test func githubSecondaryLimitAs403WithRetryAfterIsRetryable() async throws {
    let t = answering(
      403, headers: [("Retry-After", "3"), ("x-ratelimit-remaining", "4000")],
      body: #"{"message": "You have exceeded a secondary rate limit."}"#)
    await #expect {
      _ = try await action.run(context(["url": "https://h.example.test/user"], transport: t))
    } throws: { error in
      guard let e = providerError(error) else { return false }
      return e.retryable && e.retryAfter == .seconds(3)
    }
  }

  @Test func sendGrid429WithoutRetryAfterWaitsForXRateLimitReset() async throws {
    let t = answering(
      429,
      headers: [
        ("X-RateLimit-Limit", "600"), ("X-RateLimit-Remaining", "0"),
        ("X-RateLimit-Reset", epoch(in: 5)),
      ],
      body: #"{"errors": [{"field": null, "message": "too many requests"}]}"#)
    await #expect {
      _ = try await action.run(
        context(["method": "DELETE", "url": "https://h.example.test/v3/api_keys/x"], transport: t))
    } throws: { error in
      guard let e = providerError(error), let wait = e.retryAfter else { return false }
      return e.retryable && wait >= .seconds(3) && wait <= .seconds(6) && e.message == "too many requests"
    }
  }

  @Test func gitLab429WaitsForRateLimitReset() async throws {
    let t = answering(
      429,
      headers: [
        ("RateLimit-Limit", "60"), ("RateLimit-Observed", "61"), ("RateLimit-Remaining", "0"),
        ("RateLimit-Reset", epoch(in: 4)),
      ], body: "Retry later")
    await #expect {
      _ = try await action.run(
        context(["url": "https://h.example.test/api/v4/personal_access_tokens/self"], transport: t))
    } throws: { error in
      guard let e = providerError(error), let wait = e.retryAfter else { return false }
      return e.retryable && wait >= .seconds(2) && wait <= .seconds(5)
    }
  }

  @Test func rateLimitWaitPrefersRetryAfterAndReadsResetHeaders() {
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    func wait(_ headers: [(String, String)], status: Int = 429) -> Duration? {
      HTTPAction.rateLimitWait(HTTPResponse(status: status, headers: headers), now: now)
    }
    // Retry-After wins over a reset header.
    #expect(
      wait([("Retry-After", "2"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700000030")]) == .seconds(2))
    // Epoch reset with the window exhausted, or with no remaining count given.
    #expect(wait([("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700000030")]) == .seconds(30))
    #expect(wait([("X-RateLimit-Reset", "1700000012")]) == .seconds(12))
    // A reset for a window that is not exhausted says nothing about this 429.
    #expect(wait([("x-ratelimit-remaining", "17"), ("x-ratelimit-reset", "1700000030")]) == nil)
    // GitLab: RateLimit-Reset as epoch seconds, or as the IETF draft's delta seconds.
    #expect(wait([("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1700000007")]) == .seconds(7))
    #expect(wait([("RateLimit-Reset", "9")]) == .seconds(9))
    // A reset already past: retry at once. Far away or garbage: no hint (the executor backs off).
    #expect(wait([("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1699999990")]) == .zero)
    #expect(wait([("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700090000")]) == nil)
    #expect(wait([("x-ratelimit-reset", "soon")]) == nil)
    #expect(wait([("RateLimit-Reset", "-5")]) == nil)
    #expect(wait([]) == nil)
  }

  @Test func rateLimitSignalsOnlyMakeA403Retryable() {
    func limited(_ status: Int, _ headers: [(String, String)] = []) -> Bool {
      HTTPAction.isRateLimited(HTTPResponse(status: status, headers: headers))
    }
    #expect(limited(429))
    #expect(limited(403, [("X-RateLimit-Remaining", " 0 ")]))
    #expect(limited(403, [("retry-after", "60")]))
    #expect(!limited(403))
    #expect(!limited(403, [("x-ratelimit-remaining", "12")]))
    #expect(!limited(401, [("x-ratelimit-remaining", "0")]))
    #expect(!limited(500))
  }

  @Test func secretOutputIsRegisteredBeforeAnErrorCanCarryIt() async throws {
    let masker = Masker()
    let t = answering(500, body: #"{"message": "failed for new-secret-123456", "token": "new-secret-123456"}"#)
    await #expect(throws: ActionError.self) {
      _ = try await action.run(
        context(
          ["url": "https://h.example.test/", "outputs": ["token": "/token"], "secret-outputs": ["token"]],
          transport: t, masker: masker))
    }
    #expect(!masker.mask("failed for new-secret-123456").contains("new-secret-123456"))
  }

  @Test func transportFailureIsATransportError() async throws {
    let t = RecordedTransport()
    t.on { req in throw TransportError.timedOut(url: req.url, after: .seconds(1)) }
    await #expect {
      _ = try await action.run(context(["url": "https://h.example.test/"], transport: t))
    } throws: { error in
      guard case .transport(.timedOut) = error as? ActionError else { return false }
      return true
    }
  }
}

/// The `http` action over the real transport against the recording receiver.
@Suite("http action through libcurl")
struct HTTPActionIntegrationTests {
  @Test func postsJSONWithAuthAndQueryToTheReceiver() async throws {
    let services = try TestServices.load()
    let path = "/http-action-\(UUID().uuidString.prefix(8))"
    _ = try runProgram(
      "/usr/bin/curl",
      [
        "-sS", "--fail", "-X", "POST", "--data-binary",
        #"{"path": "\#(path)", "responses": [{"status": 201, "headers": {"Content-Type": "application/json", "X-Id": "7"}, "body": {"id": "user-7", "secret": "minted-secret-abcdef"}}]}"#,
        services.receiverURL + "/_control/script",
      ])
    let masker = Masker()
    let result = try await HTTPAction().run(
      context(
        [
          "method": "POST", "url": .string(services.receiverURL + path),
          "query": ["q": "a b&c=d#e\n"], "json": ["name": "respond", "n": 1],
          "auth": ["type": "bearer", "token": "tok-1234567890"],
          "outputs": ["user-id": "/id", "secret": "/secret"], "secret-outputs": ["secret"],
        ], transport: CurlTransport(), masker: masker))
    #expect(result.outputs["status"] == 201)
    #expect(result.outputs["user-id"] == "user-7")
    #expect(result.outputs["headers"]?["x-id"] == "7")
    #expect(!masker.mask("minted-secret-abcdef").contains("minted-secret-abcdef"))

    let recorded = Value.parseJSON(
      try runProgram(
        "/usr/bin/curl", ["-sS", "--fail", services.receiverURL + "/_control/requests?path=" + path]))
    let request = try #require(recorded?.arrayValue?.first)
    #expect(request["method"] == "POST")
    #expect(request["query"] == "q=a%20b%26c%3Dd%23e%0A")
    #expect(request["headers"]?["Authorization"] == "Bearer tok-1234567890")
    #expect(request["headers"]?["Content-Type"] == "application/json")
    #expect(Value.parseJSON(request["body"]?.stringValue ?? "") == ["name": "respond", "n": 1])
  }
}
