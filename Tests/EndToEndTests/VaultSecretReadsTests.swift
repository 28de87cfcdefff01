import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 16 item 6 for a leaked Vault/OpenBao token: every path it read (the file audit device's
/// successful reads) is a follow-up naming the path and the requests proving the read; a read
/// Vault refused exposed nothing and is not one. Real OpenBao, real audit log.
@Suite(.serialized) struct VaultSecretReadsTests {
  let services: TestServices
  let out = NSTemporaryDirectory() + "respond-e2e-vault-reads-" + UUID().uuidString

  init() throws { services = try TestServices.load() }

  var root: [String: String] { ["VAULT_ADDR": services.baoAddr, "VAULT_TOKEN": services.baoToken] }

  func bao(_ args: [String], _ environment: [String: String]) throws -> String {
    try runProgram("/usr/bin/env", ["bao"] + args, environment: environment)
  }

  @Test func thePathsTheLeakedTokenReadAreFollowUps() throws {
    let prefix = "reads-\(UUID().uuidString.prefix(8).lowercased())"
    let (value, other) = ("pw-" + UUID().uuidString, "pw-" + UUID().uuidString)
    for v in [value, other] { recordTestSecret(v) }
    try BaoFixture(services).put(prefix + "/db", ["password": value])
    try BaoFixture(services).put(prefix + "/other", ["password": other])
    let policy = NSTemporaryDirectory() + prefix + ".hcl"
    try "path \"secret/data/\(prefix)/db\" { capabilities = [\"read\"] }\n".write(
      toFile: policy, atomically: true, encoding: .utf8)
    _ = try bao(["policy", "write", prefix, policy], root)
    let created = try bao(["token", "create", "-format=json", "-policy=\(prefix)", "-ttl=1h"], root)
    let token = try #require(Value.parseJSON(created)?.pointer("/auth/client_token")?.stringValue)
    recordTestSecret(token)
    // What the holder of the leaked token did: one read, one refused.
    let leaked = ["VAULT_ADDR": services.baoAddr, "VAULT_TOKEN": token]
    #expect(try bao(["kv", "get", "-format=json", "-mount=secret", prefix + "/db"], leaked).contains(value))
    #expect((try? bao(["kv", "get", "-mount=secret", prefix + "/other"], leaked)) == nil, "the policy refuses it")

    let o = try runRespond(
      ["key-compromised", "--key", token, "--audit-log", services.auditLog, "--yes", "--out", out],
      environment: root)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let dir = (o.lastLine as NSString).deletingLastPathComponent
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    let reads = state.steps["vault-audit"]?.outputs["secrets-read"]?.arrayValue ?? []
    #expect(reads.map { $0["name"] } == [.string("secret/data/\(prefix)/db")], "\(reads)")
    let ids = (reads.first?["event-ids"]?.arrayValue ?? []).compactMap(\.stringValue)
    #expect(ids.count == 1)

    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    let line =
      "- [ ] What the leaked token read: Rotate the secret at Vault path `secret/data/\(prefix)/db` and update what "
      + "uses it: read by the leaked token (read at "
    #expect(report.contains(line), "report.md names the path")
    #expect(report.contains("event \(ids.first ?? "?"))"), "and the request proving the read")
    #expect(!report.contains("Vault path `secret/data/\(prefix)/other`"), "a refused read exposed nothing")
    let json = try #require(
      Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))))
    let followUps = (json["follow-ups"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
    #expect(followUps.contains { $0.contains("`secret/data/\(prefix)/db`") })
    let postmortem = try String(contentsOfFile: dir + "/postmortem.md", encoding: .utf8)
    #expect((postmortem.components(separatedBy: "## Action items").last ?? "").contains("secret/data/\(prefix)/db"))
    for secret in [token, value, other, services.baoToken] {
      #expect(!o.stdout.contains(secret) && !o.stderr.contains(secret))
      for (path, text) in allFileContents(under: dir) { #expect(!text.contains(secret), "in \(path)") }
    }
  }
}
