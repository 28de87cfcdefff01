import Foundation
import RespondCore
import RespondTestSupport
import Testing

@testable import RespondActions

/// `github.actions.put-secrets` on a recorded transport: the calls GitHub requires, in order, the
/// value sealed (never sent in the clear), and the checks on what GitHub answers. The sealed box
/// itself is opened by PyNaCl in the end-to-end test (GitHubSecretsStoreTests).
@Suite struct GitHubSecretsTests {
  static let env = ["GITHUB_TOKEN": "ghp_testtesttesttesttesttesttesttest0000", "GITHUB_API_URL": "http://127.0.0.1:9"]
  static let publicKey = Data((0..<32).map { UInt8($0) * 7 }).base64EncodedString()

  static func run(_ t: RecordedTransport, _ parameters: [String: Value], masker: Masker = Masker()) async throws
    -> ActionResult
  {
    let context = ActionContext(
      stepID: "store-github", parameters: parameters, environment: env, transport: t, masker: masker,
      incident: IncidentInfo(id: "i", runbook: "key-compromised", startedAt: Date(), mode: .live, directory: "/tmp"))
    return try await GitHubPutSecretsAction().run(context)
  }

  static func github(_ t: RecordedTransport, key: String = publicKey, updatedAt: String = ISO8601.string(Date())) {
    t.on(urlContaining: "/public-key", reply: #"{"key_id":"568250167242549743","key":"\#(key)"}"#)
    t.on { req in
      guard req.method == "PUT" else { return nil }
      return HTTPResponse(status: 201, headers: [], body: Data("{}".utf8))
    }
    t.on(
      urlContaining: "/actions/secrets/",
      reply: #"{"name":"X","created_at":"2020-01-10T14:59:22Z","updated_at":"\#(updatedAt)"}"#)
  }

  @Test func eachValueIsSealedToTheRepositoryKeyAndReadBack() async throws {
    let t = RecordedTransport()
    Self.github(t)
    let masker = Masker()
    let result = try await Self.run(
      t, ["repository": "octo-org/deploy", "secrets": ["B_SECRET": "new-secret-value-1", "A_ID": "AKIANEW"]],
      masker: masker)
    #expect(result.outputs["names"] == ["A_ID", "B_SECRET"] && result.outputs["key-id"] == "568250167242549743")
    #expect(
      t.requests.map { "\($0.method) \($0.url)" } == [
        "GET http://127.0.0.1:9/repos/octo-org/deploy/actions/secrets/public-key",
        "PUT http://127.0.0.1:9/repos/octo-org/deploy/actions/secrets/A_ID",
        "GET http://127.0.0.1:9/repos/octo-org/deploy/actions/secrets/A_ID",
        "PUT http://127.0.0.1:9/repos/octo-org/deploy/actions/secrets/B_SECRET",
        "GET http://127.0.0.1:9/repos/octo-org/deploy/actions/secrets/B_SECRET",
      ])
    let put = Value.parseJSON(t.requests[3].body) ?? [:]
    #expect(put["key_id"] == "568250167242549743")
    let sealed = try #require(Data(base64Encoded: put["encrypted_value"]?.stringValue ?? ""))
    #expect(sealed.count == "new-secret-value-1".utf8.count + 48, "an ephemeral key and a MAC around the value")
    #expect(!String(decoding: t.requests[3].body, as: UTF8.self).contains("new-secret-value-1"))
    #expect(t.requests.allSatisfy { $0.header("Authorization") == "Bearer \(Self.env["GITHUB_TOKEN"]!)" })
    #expect(t.requests.map(\.mutates) == [false, true, false, true, false])
    #expect(masker.containsSecret("new-secret-value-1"))
  }

  @Test func aStaleSecretOrABadKeyOrNameFails() async throws {
    let stale = RecordedTransport()
    Self.github(stale, updatedAt: "2020-01-10T14:59:22Z")
    await #expect {
      _ = try await Self.run(stale, ["repository": "o/r", "secrets": ["A": "value-1"]])
    } throws: { "\($0)".hasPrefix("GitHub lists o/r secret A as last updated 2020-01-10T14:59:22Z") }
    let short = RecordedTransport()
    Self.github(short, key: Data([1, 2, 3]).base64EncodedString())
    await #expect {
      _ = try await Self.run(short, ["repository": "o/r", "secrets": ["A": "value-1"]])
    } throws: { "\($0)" == "the repository's public key is 3 bytes, not the 32 of a Curve25519 key" }
    #expect(short.requests.count == 1, "nothing is PUT with a bad key")
    await #expect {
      _ = try await Self.run(RecordedTransport(), ["repository": "o/r", "secrets": ["GITHUB_X": "v"]])
    } throws: { "\($0)".contains("'GITHUB_X' is not a name GitHub allows") }
  }
}
