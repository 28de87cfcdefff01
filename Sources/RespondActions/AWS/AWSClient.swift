import Foundation
import RespondCore

/// How hard the AWS client tries before giving up on one call: bounded in attempts and in total
/// time, with jittered exponential backoff. Read-only calls retry throttling, 5xx and broken
/// connections; mutating calls retry only what the provider certainly did not process
/// (throttling, a connection that never opened). Tests shorten the delays with a task-local.
package struct AWSRetryPolicy: Sendable {
  package var maxAttempts: Int
  package var baseDelay: Duration
  package var maxDelay: Duration
  /// No retry starts once this much time has gone by since the first attempt.
  package var totalBudget: Duration
  /// Waits between checks of a brand-new key that IAM has not propagated yet (~10 s in all).
  package var propagationWaits: [Duration]

  package init(
    maxAttempts: Int, baseDelay: Duration, maxDelay: Duration, totalBudget: Duration, propagationWaits: [Duration]
  ) {
    self.maxAttempts = maxAttempts
    self.baseDelay = baseDelay
    self.maxDelay = maxDelay
    self.totalBudget = totalBudget
    self.propagationWaits = propagationWaits
  }

  /// 4 attempts, 0.5 s doubling to at most 8 s, within 20 s; new keys checked over 10 s.
  package static let standard = AWSRetryPolicy(
    maxAttempts: 4, baseDelay: .milliseconds(500), maxDelay: .seconds(8), totalBudget: .seconds(20),
    propagationWaits: [.seconds(1), .seconds(2), .seconds(3), .seconds(4)])

  /// The same attempts with millisecond delays, for tests (a generous time budget, so a busy
  /// machine never cuts the count short).
  package static let fast = AWSRetryPolicy(
    maxAttempts: 4, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5), totalBudget: .seconds(120),
    propagationWaits: Array(repeating: .milliseconds(5), count: 4))

  /// The policy in force (tests bind `.fast` with `AWSRetryPolicy.$current.withValue`).
  @TaskLocal package static var current: AWSRetryPolicy = .standard

  /// The wait before attempt `attempt + 1`, or nil when no attempt is left in count or time.
  /// Full jitter over the upper half of the exponential step; the provider's hint wins if longer.
  package func delay(afterAttempt attempt: Int, elapsed: Duration, retryAfter: Duration?) -> Duration? {
    guard attempt < maxAttempts else { return nil }
    let exp = baseDelay * (1 << min(attempt - 1, 20))
    let capped = min(exp, maxDelay)
    let jittered = capped * Double.random(in: 0.5...1.0)
    let wait = max(jittered, retryAfter ?? .zero)
    guard elapsed + wait <= totalBudget else { return nil }
    return wait
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

  /// The Query protocol versions.
  package static func queryVersion(_ service: AWSService) -> String {
    switch service {
    case .iam: return "2010-05-08"
    case .sts: return "2011-06-15"
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
    let policy = AWSRetryPolicy.current
    let started = ContinuousClock.now
    var tries = 0
    while true {
      tries += 1
      let (status, parsed) = try await attempt()
      if let parsed { return parsed }
      if !mutates, let wait = policy.delay(afterAttempt: tries, elapsed: ContinuousClock.now - started, retryAfter: nil)
      {
        context.log(
          "\(operation): the answer is not \(format); retrying in \(wait.shortDescription) (attempt \(tries + 1) of \(policy.maxAttempts))"
        )
        try await Task.sleep(for: wait)
        continue
      }
      let after = tries > 1 ? " (after \(tries) attempts)" : ""
      throw ActionError.failed(
        "\(operation) answered HTTP \(status) with a body that is not \(format)\(after) (\(endpoint.url))")
    }
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
    let policy = AWSRetryPolicy.current
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
    let started = ContinuousClock.now
    var attempt = 0
    while true {
      attempt += 1
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
        if retryable,
          let wait = policy.delay(afterAttempt: attempt, elapsed: ContinuousClock.now - started, retryAfter: nil)
        {
          context.log(
            "\(label): \(error.description); retrying in \(wait.shortDescription) (attempt \(attempt + 1) of \(policy.maxAttempts))"
          )
          try await Task.sleep(for: wait)
          continue
        }
        throw ActionError.transport(error)
      }
      if (200..<300).contains(response.status) {
        await limiter.recover()
        return response
      }

      var error = AWSErrors.providerError(
        service: service, operation: operation, endpoint: url, response: response, masker: context.masker)
      let throttled = AWSErrors.isThrottling(code: error.code, status: response.status)
      if throttled { await limiter.penalize(retryAfter: error.retryAfter) }
      if throttled || (error.retryable && !mutates),
        let wait = policy.delay(
          afterAttempt: attempt, elapsed: ContinuousClock.now - started, retryAfter: error.retryAfter)
      {
        context.log(
          "\(label): HTTP \(response.status) \(error.code ?? ""); retrying in \(wait.shortDescription) (attempt \(attempt + 1) of \(policy.maxAttempts))"
        )
        try await Task.sleep(for: wait)
        continue
      }
      if attempt > 1 { error.message += " (after \(attempt) attempts)" }
      throw ActionError.provider(error)
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
