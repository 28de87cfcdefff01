import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 15 item 1 through the built CLI: a provider is one folder. A folder written here, with
/// no Swift, is recognised by `respond identify` with its playbook; a shipped folder's playbook
/// reaches key-compromised's report; a bad provider file is a located `validate` error.
@Suite struct ProviderFolderTests {
  let root = NSTemporaryDirectory() + "respond-providers-" + UUID().uuidString

  init() throws {
    try FileManager.default.createDirectory(atPath: root + "/providers/acme", withIntermediateDirectories: true)
  }

  static func random(
    _ count: Int, _ alphabet: String = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
  )
    -> String
  {
    String((0..<count).map { _ in alphabet.randomElement()! })
  }

  /// CRC-32 (IEEE, reflected), bit by bit, and base62: built here, not with respond's own code.
  static func checksummed(_ body: String) -> String {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in body.utf8 {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    var value = UInt64(~crc)
    let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    var digits: [Character] = []
    while value > 0 {
      digits.append(alphabet[Int(value % 62)])
      value /= 62
    }
    return body + String(repeating: "0", count: 6 - digits.count) + String(digits.reversed())
  }

  static let acme = """
    provider: acme
    formats:
      - kind: deploy-key
        prefix: "acme_"
        pattern: "acme_(?<id>[a-z]{6})_[A-Za-z0-9]{36}"
        checksum: crc32-base62
        public-id: id
        listed-as: public-id
        revocable-via: "delete it on the Deploy keys page"
    playbook:
      console-url: https://console.acme.example/deploy-keys
      revoke: "Delete the deploy key whose id is shown."
      rotate: "Create a new deploy key for the same project."
      update: "Put it in the deploy pipeline's secret."

    """

  @Test func aProviderFolderWithNoSwiftIsRecognisedWithItsPlaybook() throws {
    try Self.acme.write(toFile: root + "/providers/acme/provider.yaml", atomically: true, encoding: .utf8)
    let id = Self.random(6, "abcdefghijklmnopqrstuvwxyz")
    let key = "acme_" + Self.checksummed(id + "_" + Self.random(30))
    recordTestSecret(key)
    let o = try runRespond(["identify", "--runbooks", root, "--key", key, "--json"], environment: [:])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let json = try #require(Value.parseJSON(Data(o.stdout.utf8)), "stdout: \(o.stdout)")
    #expect(json["provider"] == "acme" && json["kind"] == "deploy-key")
    #expect(json["checksum-valid"] == true)
    #expect(json["key-id"] == .string(id) && json["listed-as"] == .string(id))
    #expect(json["display"] == .string(id + "…" + Masker.fingerprint(key)))
    #expect(json["automated"] == false)
    #expect(json["console-url"] == "https://console.acme.example/deploy-keys")
    let steps = try #require(json["manual-steps"]?.stringValue)
    #expect(steps.contains("Delete the deploy key whose id is shown.") && steps.contains("deploy pipeline's secret"))
    // The secret part is in no output: only the declared public id and the fingerprint.
    for piece in [key, String(key.suffix(30))] { #expect(!o.stdout.contains(piece) && !o.stderr.contains(piece)) }

    // A changed character breaks the checksum; without the folder, the same key is unknown.
    let broken = String(key.dropLast()) + (key.last == "0" ? "1" : "0")
    recordTestSecret(broken)
    let bad = try runRespond(["identify", "--runbooks", root, "--key", broken, "--json"], environment: [:])
    #expect(Value.parseJSON(Data(bad.stdout.utf8))?["checksum-valid"] == false)
    try FileManager.default.removeItem(atPath: root + "/providers/acme")
    let gone = try runRespond(["identify", "--runbooks", root, "--key", key, "--json"], environment: [:])
    #expect(Value.parseJSON(Data(gone.stdout.utf8))?["provider"] == "unknown")
  }

  @Test func aBadProviderFileIsALocatedValidateError() throws {
    let bad = Self.acme.replacingOccurrences(of: "[a-z]{6})", with: "[a-z]{6}").replacingOccurrences(
      of: "crc32-base62", with: "luhn")
    try bad.write(toFile: root + "/providers/acme/provider.yaml", atomically: true, encoding: .utf8)
    let o = try runRespond(["validate", root], environment: [:])
    #expect(o.status == 2, "stdout: \(o.stdout) stderr: \(o.stderr)")
    let file = root + "/providers/acme/provider.yaml"
    #expect(o.stdout.contains("\(file):5:14: error: 'pattern' is not a valid regular expression"), "\(o.stdout)")
    #expect(o.stdout.contains("\(file):6:15: error: unknown checksum 'luhn'; known: crc32-base62"), "\(o.stdout)")
  }

  /// A shipped folder's format goes through key-compromised to the report: the manual steps
  /// written in Runbooks/providers/anthropic, the verdict NOT CONTAINED until a person confirms.
  @Test func aShippedFoldersPlaybookReachesTheReport() throws {
    let key = "sk-ant-api03-" + Self.random(93) + "AA"
    recordTestSecret(key)
    let runbooks = TestServices.repositoryRoot() + "/Runbooks"
    let o = try runRespond(
      ["key-compromised", "--key", "-", "--yes", "--runbooks", runbooks, "--out", root], environment: ["HOME": root],
      standardInput: key + "\n")
    #expect(o.status == 4, "stderr: \(o.stderr)")
    let dir = (o.lastLine as NSString).deletingLastPathComponent
    let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(report.contains("| Provider | anthropic (api-key) |"), "\(report)")
    #expect(report.contains("Open https://console.anthropic.com/settings/keys."))
    #expect(report.contains("The console lists this credential as `…\(key.suffix(4))`"))
    for (path, text) in allFileContents(under: dir) { #expect(!text.contains(key), "the key is in \(path)") }
    #expect(!o.stdout.contains(key) && !o.stderr.contains(key))
  }

  /// A provider folder's public id (Twilio's API key SID, `authenticates: false`) is shown alike
  /// by a run, by the resume of it and by `respond identify`: each masks with the catalogue of
  /// the runbooks folder it uses, the provider folders' formats included. With the Swift formats
  /// only, the resume and identify masked the SID the run had shown as a secret's fingerprint.
  @Test func aProviderFoldersPublicIdIsShownAlikeByTheRunItsResumeAndIdentify() throws {
    let sid = "SK" + Self.random(32, "0123456789abcdef")
    let runbooks = TestServices.repositoryRoot() + "/Runbooks"
    let identified = "twilio api-key-sid \(sid): no API respond can call"
    let shown = "The console lists this credential as `\(sid)`"
    let run = try runRespond(
      ["key-compromised", "--key", sid, "--yes", "--runbooks", runbooks, "--out", root + "/run"],
      environment: ["HOME": root])
    #expect(run.status == 4 && run.stderr.contains(identified) && run.stderr.contains(shown), "\(run.stderr)")

    // Killed right after the journal's third record, identify's start: the resume runs it again.
    let crashed = try runRespond(
      ["key-compromised", "--key", sid, "--yes", "--runbooks", runbooks, "--out", root + "/crash"],
      environment: ["HOME": root, "RESPOND_TEST_CRASH_AT": "3"])
    let id = try #require(
      try FileManager.default.contentsOfDirectory(atPath: root + "/crash").first { !$0.hasPrefix(".") })
    let dir = root + "/crash/" + id
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(crashed.status != 0 && state.steps["identify"] != nil && state.steps["identify"]?.outcome != .succeeded)
    let resumed = try runRespond(["resume", dir, "--yes"], environment: ["HOME": root])
    #expect(resumed.status == 4, "stderr: \(resumed.stderr)")
    #expect(resumed.stderr.contains(identified) && resumed.stderr.contains(shown), "\(resumed.stderr)")
    #expect(!resumed.stderr.contains(Masker.fingerprint(sid)), "the resume masked the SID: \(resumed.stderr)")
    let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(report.contains("| Leaked key | \(sid) |") && report.contains(shown))

    let o = try runRespond(["identify", "--runbooks", runbooks, "--key", sid, "--json"], environment: [:])
    let json = try #require(Value.parseJSON(Data(o.stdout.utf8)), "stdout: \(o.stdout)")
    #expect(json["provider"] == "twilio" && json["secret"] == false)
    #expect(json["key-id"] == .string(sid) && json["display"] == .string(sid), "\(json)")
  }

  /// `identify --provider` reads a key as `key-compromised --provider` will: a Datadog key (bare
  /// hex) is unknown unless named, and the key is never printed in clear either way.
  @Test func identifyTakesTheProviderAsTheRunDoes() throws {
    let key = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    for (arguments, provider) in [([String](), "unknown"), (["--provider", "datadog"], "datadog")] {
      let o = try runRespond(["identify", "--key", key, "--json"] + arguments, environment: [:])
      let json = try #require(Value.parseJSON(Data(o.stdout.utf8)), "stdout: \(o.stdout)")
      #expect(json["provider"] == .string(provider), "\(arguments): \(json)")
      #expect(!o.stdout.contains(key) && !o.stderr.contains(key))
    }
  }
}
