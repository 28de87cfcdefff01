import Crypto
import Foundation
import RespondCore

/// The team's shared state in S3 (`RESPOND_STATE_URL`), through the same SigV4 client, retries,
/// rate limits and credential resolution as every AWS action (path-style requests, like the
/// trail archive's reads). Conditional writes carry the lock: `If-None-Match: *` creates an
/// object only when none exists (S3 answers 412, or 409 while another conditional write to the
/// key is in flight), `If-Match` replaces one only when it is still what was read.
package struct S3StateStore: SharedStateStore {
  let client: AWSClient
  package let location: SharedStateLocation

  /// Resolves AWS credentials, region and the S3 endpoint from `environment` (a clear error
  /// naming what is missing); registers the secrets with `masker`.
  package init(
    location: SharedStateLocation, environment: [String: String], transport: any HTTPTransport, masker: Masker
  ) throws {
    let context = ActionContext(
      stepID: "shared-state", parameters: [:], environment: environment, transport: transport, masker: masker,
      incident: IncidentInfo(id: "", runbook: "", startedAt: Date(), mode: .live, directory: ""))
    client = try AWSClient(context)
    _ = try client.configuration.endpoint(for: .s3)
    self.location = location
  }

  private var bucketPath: String { "/" + location.bucket }

  private func objectPath(_ key: String) -> String {
    bucketPath + "/" + SigV4.uriEncode(key, encodeSlash: false)
  }

  package func objectLockEnabled() async throws -> Bool {
    do {
      let answer = try await client.s3(
        "GET", operation: "GetObjectLockConfiguration", path: bucketPath, query: [("object-lock", "")])
      return AWSXMLNode.parse(answer.body)?.child("ObjectLockEnabled")?.text == "Enabled"
    } catch let error as ActionError {
      switch error.awsCode {
      case "ObjectLockConfigurationNotFoundError": return false
      case "NoSuchBucket":
        throw UsageError("the shared state's bucket '\(location.bucket)' does not exist (\(location))")
      default:
        throw UsageError("cannot reach the shared state \(location): \(error)")
      }
    }
  }

  package func createIfAbsent(_ key: String, body: Data, retainUntil: String?) async throws -> String? {
    do {
      let answer = try await client.s3(
        "PUT", operation: "PutObject", path: objectPath(key),
        headers: [("If-None-Match", "*")] + lockHeaders(retainUntil),
        body: body)
      return answer.header("ETag") ?? ""
    } catch let error as ActionError where Self.lostCondition(error) {
      return nil
    }
  }

  package func replace(_ key: String, body: Data, ifMatch etag: String, retainUntil: String?) async throws
    -> String?
  {
    do {
      let answer = try await client.s3(
        "PUT", operation: "PutObject", path: objectPath(key), headers: [("If-Match", etag)] + lockHeaders(retainUntil),
        body: body)
      return answer.header("ETag") ?? ""
    } catch let error as ActionError where Self.lostCondition(error) || error.awsCode == "NoSuchKey" {
      return nil
    }
  }

  package func get(_ key: String) async throws -> (body: Data, etag: String)? {
    do {
      let answer = try await client.s3("GET", operation: "GetObject", path: objectPath(key))
      return (answer.body, answer.header("ETag") ?? "")
    } catch let error as ActionError where error.awsCode == "NoSuchKey" {
      return nil
    }
  }

  package func put(_ key: String, body: Data, retainUntil: String?) async throws {
    _ = try await client.s3(
      "PUT", operation: "PutObject", path: objectPath(key), headers: lockHeaders(retainUntil), body: body)
  }

  package func delete(_ key: String) async throws {
    _ = try await client.s3("DELETE", operation: "DeleteObject", path: objectPath(key))
  }

  /// The Object Lock headers of a retained write (none when the bucket has no Object Lock).
  func lockHeaders(_ retainUntil: String?) -> [(String, String)] {
    guard let retainUntil else { return [] }
    return [("x-amz-object-lock-mode", SharedRetention.mode), ("x-amz-object-lock-retain-until-date", retainUntil)]
  }

  /// A conditional write that lost: the object exists (412) or another conditional write to it
  /// is in flight (409).
  static func lostCondition(_ error: ActionError) -> Bool {
    guard case .provider(let e) = error else { return false }
    return e.status == 412 || e.code == "PreconditionFailed" || e.code == "ConditionalRequestConflict"
  }
}

extension AWSClient {
  /// A REST call to S3: `path` already percent-encoded, `query` pairs encoded here. The payload's
  /// SHA-256 (which S3 requires signed) and, for a PUT, its Content-MD5 (which S3 requires with
  /// Object Lock headers and on a bucket with default retention) are added.
  func s3(
    _ method: String, operation: String, path: String, query: [(String, String)] = [],
    headers: [(String, String)] = [], body: Data = Data()
  ) async throws -> HTTPResponse {
    let endpoint = try configuration.endpoint(for: .s3)
    var url = endpoint.url.hasSuffix("/") ? String(endpoint.url.dropLast()) : endpoint.url
    url += path
    if !query.isEmpty {
      url += "?" + query.map { "\(SigV4.uriEncode($0.0))=\(SigV4.uriEncode($0.1))" }.joined(separator: "&")
    }
    var all = headers + [("x-amz-content-sha256", sha256Hex(body))]
    if method == "PUT" {
      all.append(("Content-MD5", Data(Insecure.MD5.hash(data: body)).base64EncodedString()))
    }
    return try await send(
      endpoint: endpoint, operation: operation, body: body, headers: all, mutates: method != "GET",
      perSecond: Self.defaultPerSecond, method: method, url: url)
  }
}
