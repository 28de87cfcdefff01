import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 13 item 3 through the built CLI: a credential of a format respond does not know is an
/// opaque secret. The run goes to the end (no failure at identify), hands the person the generic
/// manual playbook, ends NOT CONTAINED with exit 4, and the secret is in no output and no file.
/// No provider is called, so no server is needed.
@Suite struct OpaqueCredentialTests {
  let out = NSTemporaryDirectory() + "respond-opaque-" + UUID().uuidString
  let runbooks = TestServices.repositoryRoot() + "/Runbooks"

  init() throws {
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
  }

  func respond(_ args: [String], stdin: String? = nil) throws -> ProcessOutcome {
    try runRespond(args + ["--runbooks", runbooks, "--out", out], environment: ["HOME": out], standardInput: stdin)
  }

  func incident(_ o: ProcessOutcome) -> String { (o.lastLine as NSString).deletingLastPathComponent }

  static func random(
    _ count: Int, _ alphabet: String = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
  )
    -> String
  {
    String((0..<count).map { _ in alphabet.randomElement()! })
  }

  /// Formats respond has no recogniser for: a Datadog API key (32 hex digits, no prefix to tell
  /// it from any other hex string) and made-up prefixes no provider folder declares.
  static let unknownKeys: [String] = [
    "zq9_" + random(40),
    "opaque." + random(48),
    "Tok-" + random(30, "0123456789abcdef"),
    random(32, "0123456789abcdef"),
  ]

  @Test(arguments: unknownKeys)
  func anUnknownFormatRunsToTheEndWithTheGenericPlaybook(key: String) throws {
    let o = try respond(["key-compromised", "--key", "-", "--yes"], stdin: key + "\n")
    #expect(o.status == 4, "finished, not contained: stderr: \(o.stderr)")
    #expect(o.stderr.contains("LIVE: NOT CONTAINED: containment is left to a person"), "stderr: \(o.stderr)")
    #expect(!o.stderr.contains("unrecognised") && !o.stderr.contains("FAILED") && !o.stderr.contains("resume"))
    let dir = incident(o)
    let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(report.contains("| Provider | unknown (opaque) |"))
    #expect(report.contains("| Leaked key | …\(Masker.fingerprint(key)) |"))
    #expect(report.contains("- [ ] respond does not recognise this credential's format"))
    #expect(report.contains("1. Find where it is used") && report.contains("2. Revoke or roll it at the issuer"))
    #expect(report.contains("`respond confirm \(dir) --step not-automated`"))
    let state = try IncidentState.load(journal: dir + "/journal.jsonl")
    #expect(state.steps["identify"]?.outcome == .succeeded)
    #expect(state.steps["not-automated"]?.outcome == .succeeded)
    let json = try #require(Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))))
    #expect(json["verdict"] == "NOT CONTAINED")

    // The secret, and any long piece of it, is in no output and no file of the incident.
    let files = allFileContents(under: dir)
    #expect(files.count >= 3)
    for piece in [key, String(key.prefix(16)), String(key.suffix(16))] {
      #expect(!o.stdout.contains(piece) && !o.stderr.contains(piece))
      for (path, text) in files { #expect(!text.contains(piece), "the secret is in \(path)") }
    }

    // A person's confirmation turns it into CONTAINED.
    let confirmed = try runRespond(
      ["confirm", dir, "--step", "not-automated", "--by", "alice"], environment: ["HOME": out])
    #expect(confirmed.status == 0, "stderr: \(confirmed.stderr)")
    #expect(confirmed.stderr.contains("confirmed by alice (respond confirm, step `not-automated`)"))
  }

  @Test func aDrillOfAnUnknownFormatFinishes() throws {
    let key = Self.unknownKeys[0]
    let o = try respond(["drill", "key-compromised", "--key", "-"], stdin: key)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(!o.stderr.contains(key) && !o.stdout.contains(key))
  }

  /// A Google Cloud service-account key file as downloaded (pretty-printed JSON, so several
  /// lines) is read with --key-file, named by its key id, and gets the console's delete steps.
  @Test func aServiceAccountKeyFileGetsItsDeleteSteps() throws {
    let inner = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + Self.random(24)
    let file = out + "/sa.json"
    try """
    {
      "type": "service_account",
      "project_id": "acme-prod",
      "private_key_id": "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
      "private_key": "-----BEGIN PRIVATE KEY-----\\n\(inner)\\n-----END PRIVATE KEY-----\\n",
      "client_email": "deployer@acme-prod.iam.gserviceaccount.com"
    }
    """.write(toFile: file, atomically: true, encoding: .utf8)
    let o = try respond(["key-compromised", "--key-file", file, "--yes"])
    #expect(o.status == 4, "stderr: \(o.stderr)")
    let dir = incident(o)
    let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
    #expect(report.contains("| Provider | google (service-account-key) |"))
    #expect(report.contains("delete the key whose ID is `1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d`"))
    #expect(!o.stdout.contains(inner) && !o.stderr.contains(inner))
    for (path, text) in allFileContents(under: dir) { #expect(!text.contains(inner), "the private key is in \(path)") }
  }
}
