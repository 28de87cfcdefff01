import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 17, item 1: every provider answer the AWS response relies on is kept, masked, under
/// `evidence/` with its SHA-256 in the journal, the report links the files, and `respond verify`
/// names the first evidence file or report fact that no longer matches. The built CLI against
/// real moto and OpenBao.
@Suite(.serialized) struct EvidenceVerifyTests {
  let services: TestServices
  let moto: MotoFixture
  let bao: BaoFixture
  let out = NSTemporaryDirectory() + "respond-evidence-e2e-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    bao = BaoFixture(services)
  }

  func cli(_ args: [String]) throws -> ProcessOutcome {
    try runRespond(args, environment: ["HOME": out])
  }

  /// A live AWS response with a CloudTrail log group and a Vault store: the incident folder.
  func respondToALeak() throws -> (dir: String, secret: String) {
    let user = "evidence-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let group = "trail-\(UUID().uuidString.prefix(8).lowercased())"
    try moto.trail(group: group, key: leaked.id, decoys: [], agent: "Boto3/1.34.0 k=" + leaked.secret)
    try bao.put("e2e/\(user)", ["access_key_id": leaked.id, "secret_access_key": leaked.secret])
    let o = try runRespond(
      [
        "key-compromised", "--key", leaked.id, "--vault-path", "secret/e2e/\(user)", "--log-group", group, "--yes",
        "--out", out,
      ],
      environment: services.awsEnvironment.merging(services.vaultEnvironment) { a, _ in a })
    #expect(o.status == 0, "stderr: \(o.stderr)")
    return ((o.lastLine as NSString).deletingLastPathComponent, leaked.secret)
  }

  func read(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
  func write(_ data: Data, _ path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }

  @Test func everyAnswerIsKeptHashedLinkedAndItsTamperingNamed() throws {
    let (dir, secret) = try respondToALeak()
    let report = try #require(Value.parseJSON(try read(dir + "/report.json")))
    let files = try #require(report["evidence-files"]?.arrayValue)
    let steps = files.compactMap { $0["step"]?.stringValue }
    for step in ["owner", "deactivate", "verify-inactive", "logs", "create", "verify-deleted"] {
      #expect(steps.contains(step), "evidence kept for \(step): \(steps)")
    }
    for step in ["identify", "check-inactive", "report"] {
      #expect(!steps.contains(step), "\(step) asked no provider for the response: not evidence")
    }
    let markdown = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    for file in files {
      let path = try #require(file["path"]?.stringValue)
      #expect(sha256Hex(try read(dir + "/" + path)) == file["sha256"]?.stringValue, "\(path) hashes as recorded")
      #expect(markdown.contains("](\(path))"), "report.md links \(path)")
      let mode = try FileManager.default.attributesOfItem(atPath: dir + "/" + path)[.posixPermissions] as? Int
      #expect(mode == 0o600)
    }
    // The CloudTrail events keep their event ids; the secret in a user agent is masked.
    let logs = try #require(Value.parseJSON(try read(dir + "/evidence/logs.json")))
    let ids = (logs["evidence"]?["events"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    #expect(ids.count == 3 && Set(ids).count == 3 && ids.allSatisfy { UUID(uuidString: $0) != nil }, "\(ids)")
    for (path, text) in allFileContents(under: dir) { #expect(!text.contains(secret), "secret in \(path)") }

    let intact = try cli(["verify", dir])
    #expect(intact.status == 0, "stdout: \(intact.stdout) stderr: \(intact.stderr)")

    // One byte of one evidence file.
    let logsPath = dir + "/evidence/logs.json"
    let original = try read(logsPath)
    var bytes = [UInt8](original)
    let at = try #require(bytes.firstIndex(of: UInt8(ascii: "3")))
    bytes[at] = UInt8(ascii: "4")
    try write(Data(bytes), logsPath)
    let changed = try cli(["verify", dir])
    #expect(changed.status == 1)
    #expect(changed.stdout.contains("evidence/logs.json: does not match the SHA-256 in journal record"))
    #expect(changed.stderr.contains("the first is evidence/logs.json: does not match"), "\(changed.stderr)")
    try write(original, logsPath)

    // One evidence file deleted.
    let ownerPath = dir + "/evidence/owner.json"
    let owner = try read(ownerPath)
    try FileManager.default.removeItem(atPath: ownerPath)
    let deleted = try cli(["verify", dir])
    #expect(deleted.status == 1)
    #expect(deleted.stdout.contains("evidence/owner.json: is missing (journal record"), "\(deleted.stdout)")
    try write(owner, ownerPath)
    chmod(ownerPath, 0o600)
    #expect(try cli(["verify", dir]).status == 0, "restored, the incident verifies again")
  }

  @Test func aReportFactAlteredIsNamed() throws {
    let (dir, _) = try respondToALeak()
    let jsonPath = dir + "/report.json"
    let json = try String(contentsOfFile: jsonPath, encoding: .utf8)
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    let replacement = try #require(state.steps["create"]?.outputs["access-key-id"]?.stringValue)
    let forged = "AKIAFORGEDFORGED0000"
    try json.replacingOccurrences(of: "\"value\" : \"\(replacement)\"", with: "\"value\" : \"\(forged)\"")
      .write(toFile: jsonPath, atomically: true, encoding: .utf8)
    let edited = try cli(["verify", dir])
    #expect(edited.status == 1)
    #expect(edited.stdout.contains("report.json: 'facts' does not match the journal"), "\(edited.stdout)")
    try json.write(toFile: jsonPath, atomically: true, encoding: .utf8)

    let mdPath = dir + "/report.md"
    let md = try String(contentsOfFile: mdPath, encoding: .utf8)
    try md.replacingOccurrences(of: "| Replacement key | \(replacement) |", with: "| Replacement key | \(forged) |")
      .write(toFile: mdPath, atomically: true, encoding: .utf8)
    let mdEdited = try cli(["verify", dir])
    #expect(mdEdited.status == 1)
    #expect(
      mdEdited.stdout.contains("report.md: the fact 'Replacement key' does not match the journal"), "\(mdEdited.stdout)"
    )
  }
}
