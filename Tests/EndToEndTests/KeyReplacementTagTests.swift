import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 16's rerun guard without a read before containment: respond tags the owner
/// `respond:replaces:<leaked id>` = `<new id>` when it mints, and a later run for the same key
/// mints nothing while that tag names a key still listed. Checked with boto3 against moto.
@Suite(.serialized) struct KeyReplacementTagTests {
  let services: TestServices
  let moto: MotoFixture
  let bao: BaoFixture
  let cloudtrail: CloudTrailEmulator
  let out = NSTemporaryDirectory() + "respond-tag-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    bao = BaoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
  }

  var environment: [String: String] { cloudtrail.awsEnvironment(vault: true) }

  func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

  func args(_ key: String, vault: String? = nil, out: String? = nil) -> [String] {
    ["key-compromised", "--key", key] + (vault.map { ["--vault-path", "secret/\($0)"] } ?? []) + [
      "--yes", "--out", out ?? self.out,
    ]
  }

  func deactivate(_ user: String, _ key: String) throws {
    _ = try runProgram(
      "/usr/bin/env",
      [
        "python3", "-c",
        """
        import boto3; boto3.client('iam', endpoint_url='\(services.motoURL)', region_name='us-east-1',
          aws_access_key_id='\(services.awsAccessKeyID)', aws_secret_access_key='\(services.awsSecretAccessKey)'
        ).update_access_key(UserName='\(user)', AccessKeyId='\(key)', Status='Inactive')
        """,
      ])
  }

  /// Someone deactivated the key in the console and nobody rotated it: no tag, so a replacement.
  @Test func aKeyAlreadyInactiveWithNoTagGetsAReplacement() throws {
    let user = unique("inactive")
    let leaked = try moto.createUser(user)
    try deactivate(user, leaked.id)
    let o = try runRespond(args(leaked.id), environment: environment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let keys = try moto.keys(of: user)
    #expect(keys.count == 1 && keys.first?.status == "Active" && keys.first?.id != leaked.id, "\(keys)")
    #expect(try moto.tags(of: user)["respond:replaces:\(leaked.id)"] == keys.first?.id)
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(!report.contains("No replacement minted"))
  }

  /// A run minted and tagged the replacement, then stopped (Vault down at store-vault) with the
  /// leaked key still listed; a new run for the same key finds the tag and mints no second key.
  @Test func aRerunAfterARunThatMintedMintsNoSecondKey() throws {
    let user = unique("rerun")
    let leaked = try moto.createUser(user)
    var down = environment
    down["VAULT_ADDR"] = "http://127.0.0.1:9"  // nothing listens on the discard port
    let first = try runRespond(args(leaked.id, vault: "e2e/\(user)"), environment: down)
    #expect(first.status == 1, "stderr: \(first.stderr)")
    let minted = try moto.keys(of: user).filter { $0.id != leaked.id }
    try #require(minted.count == 1, "the first run mints one key: \(minted)")
    #expect(try moto.tags(of: user)["respond:replaces:\(leaked.id)"] == minted[0].id)

    let again = try runRespond(args(leaked.id), environment: environment)
    #expect(again.status == 0, "stderr: \(again.stderr)")
    let keys = try moto.keys(of: user)
    #expect(keys.map(\.id) == [minted[0].id], "exactly one respond-minted key, the leaked one deleted: \(keys)")
    #expect(try moto.tags(of: user)["respond:replaces:\(leaked.id)"] == minted[0].id)
    let dir = (again.lastLine as NSString).deletingLastPathComponent
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(state.steps["create"]?.outputs["already-replaced-by"]?.stringValue == minted[0].id)
    let report = try String(contentsOfFile: again.lastLine, encoding: .utf8)
    #expect(report.contains("No replacement minted") && report.contains(minted[0].id))
  }

  /// Killed between CreateAccessKey's answer and the tag naming the key: the tag still says an
  /// attempt was minting. A new run (not a resume) deletes that attempt's key, whose secret died
  /// with the process, and mints one key; a resume of the killed run does the same.
  @Test func killedBetweenMintAndTagNoRunLeavesASecondKey() throws {
    for resume in [false, true] {
      let user = unique(resume ? "kill-resume" : "kill-rerun")
      let leaked = try moto.createUser(user)
      let path = "e2e/\(user)"
      try bao.put(path, ["access_key_id": leaked.id, "secret_access_key": leaked.secret])
      var kill = environment
      kill["RESPOND_TEST_CRASH_AFTER_RESPONSE"] = "1:iam:CreateAccessKey"
      let killedOut = out + "/" + user
      let crashed = try runRespond(args(leaked.id, vault: path, out: killedOut), environment: kill)
      #expect(crashed.status == SIGKILL, "the hook must kill the run: \(crashed.stderr.suffix(400))")
      #expect(try moto.keys(of: user).count == 2, "the killed attempt minted a key")
      #expect(try moto.tags(of: user)["respond:replaces:\(leaked.id)"]?.hasPrefix("minting:") == true)
      let o: ProcessOutcome
      if resume {
        let dir = try FileManager.default.contentsOfDirectory(atPath: killedOut).filter { !$0.hasPrefix(".") }
        try #require(dir.count == 1, "the killed incident's folder: \(dir)")
        o = try runRespond(["resume", killedOut + "/" + dir[0], "--yes"], environment: environment)
      } else {
        o = try runRespond(args(leaked.id, vault: path), environment: environment)
      }
      #expect(o.status == 0, "resume \(resume): \(o.stderr.suffix(1500))")
      let keys = try moto.keys(of: user)
      #expect(keys.count == 1 && keys.first?.id != leaked.id, "resume \(resume): one new key only: \(keys)")
      let id = try #require(keys.first?.id)
      #expect(try moto.tags(of: user)["respond:replaces:\(leaked.id)"] == id)
      let stored = try bao.get(path)
      #expect(stored["access_key_id"] == id)
      #expect(moto.authenticates(id, stored["secret_access_key"] ?? ""), "resume \(resume): stored key works")
    }
  }
}
