import Foundation
import RespondCore

/// How hard the AWS client tries before giving up on one call: the shared `RetryPolicy` (bounded
/// in attempts and in total time, jittered exponential backoff, the provider's hint honoured up
/// to the time budget) and the waits for a new key's propagation. Read-only calls retry
/// throttling, 5xx and broken connections; mutating calls retry only what the provider certainly
/// did not process (throttling, a connection that never opened). Tests shorten the delays with a
/// task-local.
package struct AWSRetryPolicy: Sendable {
  package var retry: RetryPolicy
  /// Waits between checks of a brand-new key that IAM has not propagated yet (~10 s in all).
  package var propagationWaits: [Duration]

  package init(retry: RetryPolicy, propagationWaits: [Duration]) {
    self.retry = retry
    self.propagationWaits = propagationWaits
  }

  /// 4 attempts, 0.5 s doubling, within 20 s (a hint up to that long is waited); new keys
  /// checked over 10 s.
  package static let standard = AWSRetryPolicy(
    retry: RetryPolicy(
      attempts: 4, backoff: .milliseconds(500), maxDelay: .seconds(20), maxTotal: .seconds(20),
      longHint: .endsRetries),
    propagationWaits: [.seconds(1), .seconds(2), .seconds(3), .seconds(4)])

  /// The same attempts with millisecond backoff, for tests (a generous time budget, so a busy
  /// machine never cuts the count short; a provider's hint is still waited).
  package static let fast = AWSRetryPolicy(
    retry: RetryPolicy(
      attempts: 4, backoff: .milliseconds(1), maxDelay: .seconds(120), maxTotal: .seconds(120),
      longHint: .endsRetries),
    propagationWaits: Array(repeating: .milliseconds(5), count: 4))

  /// The policy in force (tests bind `.fast` with `AWSRetryPolicy.$current.withValue`).
  @TaskLocal package static var current: AWSRetryPolicy = .standard

  /// Total attempts for one call.
  package var maxAttempts: Int { retry.attempts }

  /// The wait before attempt `attempt + 1`, or nil when no attempt is left in count or time.
  package func delay(afterAttempt attempt: Int, elapsed: Duration, retryAfter: Duration?) -> Duration? {
    retry.delay(afterAttempt: attempt, elapsed: elapsed, hint: retryAfter)
  }
}

/// Error answers from AWS, normalised: Query/XML (`<Error><Code>`), JSON 1.1 (`__type`,
/// `message`) and the `x-amzn-ErrorType` header; throttling is recognised by code.
package enum AWSErrors {
  /// Codes that mean "slow down": retryable, and the request was not processed.
  package static let throttlingCodes: Set<String> = [
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "EC2ThrottledException", "RateExceeded", "TooManyUpdates",
  ]

  /// Whether an answer is throttling (by code, or HTTP 429).
  package static func isThrottling(code: String?, status: Int) -> Bool {
    if status == 429 { return true }
    guard let code else { return false }
    return throttlingCodes.contains(code)
  }

  /// The provider's error code and message from an error answer, whatever its format.
  package static func parse(
    status: Int, headers: [(String, String)], body: Data, masker: Masker
  ) -> (code: String?, message: String) {
    let response = HTTPResponse(status: status, headers: headers, body: body)
    let headerCode = response.header("x-amzn-ErrorType").flatMap { raw -> String? in
      let c = raw.split(separator: ":").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
      return c.isEmpty ? nil : c
    }
    // JSON 1.1
    if let json = Value.parseJSON(body), case .object(let o) = json {
      let rawType = o["__type"]?.stringValue ?? o["code"]?.stringValue ?? o["Code"]?.stringValue
      let code = rawType.map { t in t.split(separator: "#").last.map(String.init) ?? t } ?? headerCode
      let message = o["message"]?.stringValue ?? o["Message"]?.stringValue ?? o["errorMessage"]?.stringValue
      return (code, message ?? "no message")
    }
    // Query / XML
    if let xml = AWSXMLNode.parse(body) {
      let error = xml.name == "Error" ? xml : xml.first { $0.name == "Error" && $0.child("Code") != nil }
      if let error {
        let message = error.child("Message")?.text ?? error.child("message")?.text
        return (error.child("Code")?.text ?? headerCode, message ?? "no message")
      }
    }
    return (headerCode, describeBody(response, masker: masker))
  }

  /// A readable stand-in for a body that is not an AWS error: an HTML page's title, or the first
  /// line of text, bounded.
  static func describeBody(_ response: HTTPResponse, masker: Masker) -> String {
    let text = response.text
    if text.isEmpty { return "empty response body" }
    if let start = text.range(of: "<title>", options: .caseInsensitive),
      let end = text.range(of: "</title>", options: .caseInsensitive, range: start.upperBound..<text.endIndex)
    {
      return "non-AWS answer: " + text[start.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespaces)
    }
    let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
    return "non-AWS answer: " + masker.excerpt(flat, limit: 201)
  }

  /// The `ProviderError` for an error answer: throttling and 5xx are retryable; throttling and
  /// other 4xx were not processed; 5xx may have been.
  package static func providerError(
    service: AWSService, operation: String, endpoint: String, response: HTTPResponse, masker: Masker
  ) -> ProviderError {
    let (code, message) = parse(status: response.status, headers: response.headers, body: response.body, masker: masker)
    let throttled = isThrottling(code: code, status: response.status)
    let serverSide = response.status >= 500
    return ProviderError(
      provider: service.displayName, operation: operation, endpoint: endpoint, status: response.status, code: code,
      message: message, retryable: throttled || serverSide, processed: serverSide && !throttled,
      retryAfter: response.retryAfter)
  }
}

/// A parsed AWS Query / S3 answer: the core's strict `XMLTree` (`AWSXMLNode.parse(data)` reads a
/// whole document, nil when it is not well-formed).
package typealias AWSXMLNode = XMLTree

/// Talks to AWS for one action run: resolves configuration from the step's environment, signs
/// with SigV4, paces through the run's shared rate limiters, retries within `AWSRetryPolicy`,
/// and turns error answers into `ActionError.provider`. Two protocols: Query (IAM, STS: form
/// POST, XML answers) and JSON 1.1 (X-Amz-Target: Secrets Manager, SSM, Logs, CloudTrail).
package struct AWSClient: Sendable {
  package var context: ActionContext
  package var configuration: AWSConfiguration
  /// Signs with these instead of the configured credentials (checking a new key).
  package var credentials: SigV4.Credentials

  /// The Query protocol versions (EC2's query dialect too: DescribeRegions).
  package static func queryVersion(_ service: AWSService) -> String {
    switch service {
    case .iam: return "2010-05-08"
    case .sts: return "2011-06-15"
    case .ec2: return "2016-11-15"
    default: return ""
    }
  }

  /// Requests per second by default, per service and region (CloudTrail and Logs callers pass
  /// their documented quotas).
  package static let defaultPerSecond: Double = 10

  /// Resolves configuration from the context (registering its secrets with the masker).
  package init(_ context: ActionContext, credentials override: SigV4.Credentials? = nil) throws {
    self.context = context
    self.configuration = try AWSConfiguration.resolve(environment: context.environment, masker: context.masker)
    if let override {
      context.masker.register(override.secretAccessKey)
      if let t = override.sessionToken { context.masker.register(t) }
    }
    self.credentials = override ?? configuration.credentials.sigV4
  }

  // MARK: - Protocols

  /// A Query-protocol call (IAM, STS): `Action=<action>&Version=...&params`, XML answer.
  package func query(
    _ service: AWSService, _ action: String, _ parameters: [(String, String)], mutates: Bool,
    region: String? = nil
  ) async throws -> AWSXMLNode {
    let endpoint = try configuration.endpoint(for: service, region: region)
    let fields = [("Action", action), ("Version", Self.queryVersion(service))] + parameters
    let body = fields.map { "\(SigV4.uriEncode($0.0))=\(SigV4.uriEncode($0.1))" }.joined(separator: "&")
    return try await parsedAnswer(
      operation: "\(service.displayName) \(action)", format: "XML", endpoint: endpoint,
      mutates: mutates
    ) {
      let response = try await send(
        endpoint: endpoint, operation: action, body: Data(body.utf8),
        headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], mutates: mutates,
        perSecond: Self.defaultPerSecond)
      return (response.status, AWSXMLNode.parse(response.body))
    }
  }

  /// Sends until the 2xx answer parses. A garbled answer (cut short or mangled on the way) to a
  /// read is retried within the retry policy like a 5xx; to a change it is not: the change may
  /// have been made, so it fails and resume reconciles.
  private func parsedAnswer<T>(
    operation: String, format: String, endpoint: AWSEndpoint, mutates: Bool,
    _ attempt: () async throws -> (status: Int, parsed: T?)
  ) async throws -> T {
    let policy = AWSRetryPolicy.current.retry
    return try await policy.run(
      onRetry: { failed, wait, _ in
        context.log(
          "\(operation): the answer is not \(format); retrying in \(wait.shortDescription) (attempt \(failed + 1) of \(policy.attempts))"
        )
      },
      attempt: { tries in
        let (status, parsed) = try await attempt()
        if let parsed { return .done(parsed) }
        let after = tries > 1 ? " (after \(tries) attempts)" : ""
        let error = ActionError.failed(
          "\(operation) answered HTTP \(status) with a body that is not \(format)\(after) (\(endpoint.url))")
        return mutates ? .fail(error) : .retry(error)
      })
  }

  /// A JSON 1.1 call: `X-Amz-Target: <target>`, JSON body and answer (`{}` for an empty one).
  package func json(
    _ service: AWSService, target: String, _ body: Value, mutates: Bool, region: String? = nil,
    perSecond: Double = AWSClient.defaultPerSecond
  ) async throws -> Value {
    let endpoint = try configuration.endpoint(for: service, region: region)
    let operation = String(target.split(separator: ".").last ?? Substring(target))
    return try await parsedAnswer(
      operation: "\(service.displayName) \(operation)", format: "JSON", endpoint: endpoint,
      mutates: mutates
    ) {
      let response = try await send(
        endpoint: endpoint, operation: operation, body: Data(body.jsonString().utf8),
        headers: [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target)], mutates: mutates,
        perSecond: perSecond)
      return (response.status, response.body.isEmpty ? Value.object([:]) : response.json)
    }
  }

  /// A REST GET (S3): `path` is already percent-encoded, `query` pairs are encoded here. The
  /// payload hash header S3 requires is added and signed.
  package func get(
    _ service: AWSService, operation: String, path: String, query: [(String, String)] = [], region: String? = nil
  ) async throws -> HTTPResponse {
    let endpoint = try configuration.endpoint(for: service, region: region)
    var url = endpoint.url.hasSuffix("/") ? String(endpoint.url.dropLast()) : endpoint.url
    url += path
    if !query.isEmpty {
      url += "?" + query.map { "\(SigV4.uriEncode($0.0))=\(SigV4.uriEncode($0.1))" }.joined(separator: "&")
    }
    let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    return try await send(
      endpoint: endpoint, operation: operation, body: Data(), headers: [("x-amz-content-sha256", emptyHash)],
      mutates: false, perSecond: Self.defaultPerSecond, method: "GET", url: url)
  }

  /// The URL requests go to: the endpoint with at least a `/` path.
  static func requestURL(_ endpoint: AWSEndpoint) -> String {
    guard let parts = URLComponents(string: endpoint.url), parts.path.isEmpty else { return endpoint.url }
    return endpoint.url + "/"
  }

  // MARK: - Sending

  /// The shared limiter's key: one per provider, account (the responder's access key id stands
  /// for it: the account is not known without a call), endpoint, service and region, and for the
  /// APIs with a documented per-API quota (`operation`, e.g. CloudTrail LookupEvents 2/s) one
  /// per API. Every runner of a batch that shares `RateLimiters` shares these.
  package static func limiterKey(service: String, operation: String?, region: String, endpoint: String, account: String)
    -> String
  {
    "aws:\(service)\(operation.map { ":" + $0 } ?? ""):\(region)|\(account)|\(endpoint)"
  }

  /// `RESPOND_AWS_RATE_LIMITS="cloudtrail:LookupEvents=50,iam=200"`: requests per second to use
  /// instead of the documented quota, for a limiter whose key starts with `aws:<prefix>` (the
  /// longest matching prefix wins). For endpoints with other quotas than AWS's (a local emulator,
  /// a raised account quota); nil when nothing matches.
  package static func configuredRate(_ key: String, environment: [String: String]) -> Double? {
    guard let spec = environment["RESPOND_AWS_RATE_LIMITS"], !spec.isEmpty else { return nil }
    let name = key.split(separator: "|").first.map(String.init) ?? key
    var best: (length: Int, rate: Double)?
    for entry in spec.split(separator: ",") {
      let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2, let rate = Double(parts[1]), rate > 0 else { continue }
      let prefix = "aws:" + parts[0]
      guard name == prefix || name.hasPrefix(prefix + ":") else { continue }
      if best == nil || prefix.count > best!.length { best = (prefix.count, rate) }
    }
    return best?.rate
  }

  /// Signs, paces, sends and retries one call; returns a 2xx answer or throws.
  func send(
    endpoint: AWSEndpoint, operation: String, body: Data, headers: [(String, String)], mutates: Bool,
    perSecond: Double, method: String = "POST", url explicitURL: String? = nil
  ) async throws -> HTTPResponse {
    let service = endpoint.service
    let policy = AWSRetryPolicy.current.retry
    // Documented hard limits (CloudTrail LookupEvents 2/s, FilterLogEvents 5/s) are paced evenly,
    // never in bursts; other services may burst up to a second's worth.
    let strict = perSecond <= 5
    let key = Self.limiterKey(
      service: service.signingName, operation: strict ? operation : nil, region: endpoint.region,
      endpoint: endpoint.url, account: configuration.credentials.accessKeyID)
    let rate = Self.configuredRate(key, environment: context.environment) ?? perSecond
    let limiter = context.limiters.limiter(key, perSecond: rate, burst: strict ? 1 : nil)
    let url = explicitURL ?? Self.requestURL(endpoint)
    let label = "\(service.displayName) \(operation)"
    return try await policy.run(
      onRetry: { failed, wait, error in
        context.log(
          "\(label): \(Self.retryReason(error)); retrying in \(wait.shortDescription) (attempt \(failed + 1) of \(policy.attempts))"
        )
      },
      attempt: { attempt in
        try await limiter.acquire()
        let request = try SigV4.sign(
          HTTPRequest(
            method: method, url: url, headers: headers, body: body, mutates: mutates,
            operation: "\(service.signingName):\(operation)"),
          credentials: credentials, region: endpoint.signingRegion, service: service.signingName, date: Date())
        let response: HTTPResponse
        do {
          response = try await context.transport.send(request)
        } catch let error as TransportError {
          let retryable = ActionError.transport(error).isRetryable && (!mutates || error.requestNotProcessed)
          return retryable ? .retry(ActionError.transport(error)) : .fail(ActionError.transport(error))
        }
        if (200..<300).contains(response.status) {
          await limiter.recover()
          return .done(response)
        }
        var error = AWSErrors.providerError(
          service: service, operation: operation, endpoint: url, response: response, masker: context.masker)
        let throttled = AWSErrors.isThrottling(code: error.code, status: response.status)
        if throttled { await limiter.penalize(retryAfter: error.retryAfter) }
        // Said only if this is the error that is finally thrown.
        if attempt > 1 { error.message += " (after \(attempt) attempts)" }
        let retryable = throttled || (error.retryable && !mutates)
        return retryable
          ? .retry(ActionError.provider(error), hint: error.retryAfter) : .fail(ActionError.provider(error))
      })
  }

  /// What a retry log line says of the failed attempt: the broken connection, or the HTTP status
  /// and AWS's error code.
  private static func retryReason(_ error: any Error) -> String {
    switch error {
    case ActionError.transport(let e): return e.description
    case ActionError.provider(let e): return "HTTP \(e.status) \(e.code ?? "")"
    default: return String(describing: error)
    }
  }
}

extension ActionError {
  /// The provider's error code, when this is a provider error.
  package var awsCode: String? {
    if case .provider(let e) = self { return e.code }
    return nil
  }
}
