import Foundation
import RespondCore
import RespondTestSupport
import Testing

@testable import RespondActions

/// AWS error answers in their three shapes, throttling classification, and the client's bounded
/// retries (read-only vs mutating) on a recorded transport.
@Suite struct AWSErrorTests {
  static let endpoint = "http://127.0.0.1:5000/"

  func error(
    _ status: Int, _ body: String, headers: [(String, String)] = [], service: AWSService = .iam,
    operation: String = "UpdateAccessKey"
  ) -> ProviderError {
    AWSErrors.providerError(
      service: service, operation: operation, endpoint: Self.endpoint,
      response: HTTPResponse(status: status, headers: headers, body: Data(body.utf8)), masker: Masker())
  }

  // MARK: - Parsing

  @Test func queryXMLError() {
    let e = error(
      404,
      """
      <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
      <Message>The user with name x cannot be found.</Message></Error><RequestId>abc</RequestId></ErrorResponse>
      """)
    #expect(e.code == "NoSuchEntity")
    #expect(e.message == "The user with name x cannot be found.")
    #expect(!e.retryable && !e.processed)
    #expect(e.provider == "AWS IAM" && e.operation == "UpdateAccessKey" && e.status == 404)
    #expect(
      e.description
        == "AWS IAM UpdateAccessKey failed: HTTP 404 NoSuchEntity: The user with name x cannot be found. (http://127.0.0.1:5000/)"
    )
  }

  /// moto's (and STS's) nested `<Errors><Error>` form with an XML declaration.
  @Test func nestedXMLError() {
    let e = error(
      403,
      """
      <?xml version="1.0" encoding="utf-8"?>
      <ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>
      """, service: .sts, operation: "GetCallerIdentity")
    #expect(e.code == "SignatureDoesNotMatch")
    #expect(e.message == "The request signature we calculated does not match.")
    #expect(!e.retryable)
  }

  @Test func queryThrottling() {
    let e = error(
      400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>")
    #expect(e.code == "Throttling" && e.retryable && !e.processed)
  }

  @Test func jsonNamespacedType() {
    let e = error(
      400, #"{"__type":"com.amazonaws.logs#ThrottlingException","message":"Rate exceeded"}"#, service: .logs,
      operation: "FilterLogEvents")
    #expect(e.code == "ThrottlingException" && e.message == "Rate exceeded")
    #expect(e.retryable && !e.processed)
    #expect(e.provider == "AWS CloudWatch Logs")
  }

  @Test func jsonCapitalMessage() {
    let e = error(
      400, #"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#,
      service: .secretsManager, operation: "PutSecretValue")
    #expect(e.code == "ResourceNotFoundException")
    #expect(e.message == "Secrets Manager can't find the specified secret.")
    #expect(!e.retryable && !e.processed)
  }

  @Test func errorTypeHeaderOnly() {
    let e = error(
      400, "{}",
      headers: [
        ("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/")
      ],
      service: .ssm, operation: "PutParameter")
    #expect(e.code == "ThrottlingException" && e.retryable)
    let plain = error(400, "", headers: [("X-Amzn-ErrorType", "ValidationException")])
    #expect(plain.code == "ValidationException" && plain.message == "empty response body")
  }

  @Test func serverErrorsAreRetryableAndMaybeProcessed() {
    let e = error(
      500, "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>",
      service: .cloudtrail, operation: "LookupEvents")
    #expect(e.code == nil)
    #expect(e.message == "non-AWS answer: 500 Internal Server Error")
    #expect(e.retryable && e.processed)
    let json = error(503, #"{"__type":"ServiceUnavailableException","message":"try later"}"#, service: .ssm)
    #expect(json.retryable && json.processed && json.code == "ServiceUnavailableException")
  }

  @Test func tooManyRequestsStatusIsThrottling() {
    let e = error(429, "slow down", headers: [("Retry-After", "3")])
    #expect(e.retryable && !e.processed)
    #expect(e.retryAfter == .seconds(3))
  }

  @Test func throttlingCodes() {
    for code in [
      "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
      "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "EC2ThrottledException",
    ] {
      #expect(AWSErrors.isThrottling(code: code, status: 400), "\(code)")
    }
    // IAM's quota error is not throttling: retrying cannot help.
    #expect(!AWSErrors.isThrottling(code: "LimitExceeded", status: 409))
    #expect(!AWSErrors.isThrottling(code: "AccessDenied", status: 403))
    #expect(!AWSErrors.isThrottling(code: nil, status: 500))
  }

  @Test func xmlTree() throws {
    let xml = try #require(
      AWSXMLNode.parse(
        Data(
          """
          <A xmlns="urn:x"><B><C>one</C><C>two</C></B><D><![CDATA[x<y]]></D></A>
          """.utf8)))
    #expect(xml.name == "A")
    #expect(xml.path("B")?.children("C").map(\.text) == ["one", "two"])
    #expect(xml.string("D") == "x<y")
    #expect(xml.descendant("C")?.text == "one")
    #expect(AWSXMLNode.parse(Data("not xml".utf8)) == nil)
  }

  // MARK: - Retries through the client

  static let env = [
    "AWS_ACCESS_KEY_ID": "AKIAADMINADMINADMIN1", "AWS_SECRET_ACCESS_KEY": "adminsecret-123", "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "HOME": "/nonexistent",
  ]

  func context(_ transport: RecordedTransport) -> ActionContext {
    ActionContext(
      stepID: "s", parameters: [:], environment: Self.env, transport: transport, masker: Masker(),
      incident: IncidentInfo(id: "i", runbook: "r", startedAt: Date(), mode: .live, directory: "/tmp"))
  }

  /// Answers with `statuses` in turn (then 200), counting calls.
  func scripted(_ statuses: [(Int, String)], ok: String = "<R/>") -> RecordedTransport {
    let t = RecordedTransport()
    let box = Counter()
    t.on { _ in
      let n = box.next()
      if n < statuses.count { return HTTPResponse(status: statuses[n].0, body: Data(statuses[n].1.utf8)) }
      return HTTPResponse(status: 200, body: Data(ok.utf8))
    }
    return t
  }

  final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int {
      lock.withLock {
        defer { n += 1 }
        return n
      }
    }
  }

  static let throttle = (
    400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
  )
  static let html500 = (500, "<html><title>500 Internal Server Error</title></html>")

  @Test func readsRetryServerErrors() async throws {
    let t = scripted([Self.html500, Self.html500])
    try await AWSRetryPolicy.$current.withValue(.fast) {
      let client = try AWSClient(context(t))
      _ = try await client.query(.iam, "ListAccessKeys", [], mutates: false)
    }
    #expect(t.requests.count == 3)
    #expect(t.requests.allSatisfy { !$0.mutates })
  }

  @Test func mutationsDoNotRetryServerErrors() async throws {
    let t = scripted([Self.html500])
    await #expect {
      try await AWSRetryPolicy.$current.withValue(.fast) {
        _ = try await AWSClient(context(t)).query(.iam, "CreateAccessKey", [("UserName", "u")], mutates: true)
      }
    } throws: { error in
      guard case .provider(let e) = error as? ActionError else { return false }
      return e.status == 500 && e.retryable && e.processed && e.operation == "CreateAccessKey"
    }
    #expect(t.requests.count == 1)
  }

  @Test func mutationsRetryThrottling() async throws {
    let t = scripted([Self.throttle, Self.throttle])
    try await AWSRetryPolicy.$current.withValue(.fast) {
      _ = try await AWSClient(context(t)).query(.iam, "UpdateAccessKey", [], mutates: true)
    }
    #expect(t.requests.count == 3)
    // Each attempt is signed afresh.
    #expect(
      t.requests.allSatisfy {
        $0.header("Authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIAADMINADMINADMIN1/") == true
      })
  }

  @Test func retriesAreBoundedInCount() async throws {
    let t = scripted(Array(repeating: Self.html500, count: 10))
    await #expect {
      try await AWSRetryPolicy.$current.withValue(.fast) {
        _ = try await AWSClient(context(t)).json(.cloudtrail, target: "X.LookupEvents", [:], mutates: false)
      }
    } throws: { error in
      "\(error)"
        == "AWS CloudTrail LookupEvents failed: HTTP 500: non-AWS answer: 500 Internal Server Error (after 4 attempts) (http://127.0.0.1:5000/)"
    }
    #expect(t.requests.count == 4)
  }

  @Test func clientErrorsAreNotRetried() async throws {
    let t = scripted([
      (403, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>")
    ])
    await #expect(throws: ActionError.self) {
      try await AWSRetryPolicy.$current.withValue(.fast) {
        _ = try await AWSClient(context(t)).query(.iam, "ListAccessKeys", [], mutates: false)
      }
    }
    #expect(t.requests.count == 1)
  }

  @Test func connectionFailuresRetryForReadsAndUnsentMutations() async throws {
    // RecordedTransport with no responder throws connectionFailed (never reached the server).
    let t = RecordedTransport()
    await #expect(throws: ActionError.self) {
      try await AWSRetryPolicy.$current.withValue(.fast) {
        _ = try await AWSClient(context(t)).query(.iam, "UpdateAccessKey", [], mutates: true)
      }
    }
    #expect(t.requests.count == 4)
    // A broken connection may have been processed: a mutation is not repeated.
    let lost = RecordedTransport()
    lost.on { req in throw TransportError.connectionLost(url: req.url, detail: "reset") }
    await #expect(throws: ActionError.self) {
      try await AWSRetryPolicy.$current.withValue(.fast) {
        _ = try await AWSClient(context(lost)).query(.iam, "CreateAccessKey", [], mutates: true)
      }
    }
    #expect(lost.requests.count == 1)
  }

  @Test func retryDelaysAreBounded() {
    let p = AWSRetryPolicy.standard
    #expect(p.delay(afterAttempt: 4, elapsed: .zero, retryAfter: nil) == nil)
    let first = p.delay(afterAttempt: 1, elapsed: .zero, retryAfter: nil)!
    #expect(first >= .milliseconds(250) && first <= .milliseconds(500))
    let third = p.delay(afterAttempt: 3, elapsed: .zero, retryAfter: nil)!
    #expect(third >= .seconds(1) && third <= .seconds(2))
    #expect(p.delay(afterAttempt: 1, elapsed: .seconds(19.9), retryAfter: nil) == nil)
    #expect(p.delay(afterAttempt: 1, elapsed: .zero, retryAfter: .seconds(5)) == .seconds(5))
    #expect(p.delay(afterAttempt: 1, elapsed: .zero, retryAfter: .seconds(30)) == nil)
  }
}
