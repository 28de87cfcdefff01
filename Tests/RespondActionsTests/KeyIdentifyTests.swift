import Foundation
import RespondCore
import RespondTestSupport
import Testing

@testable import RespondActions

// MARK: - Test token construction (independent of the code under test)

/// CRC-32 (IEEE, reflected), bit by bit: a second implementation to build test tokens with.
private func referenceCRC32(_ text: String) -> UInt32 {
  var crc: UInt32 = 0xFFFF_FFFF
  for byte in text.utf8 {
    crc ^= UInt32(byte)
    for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
  }
  return ~crc
}

private let base62Alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

/// Base62 (0-9A-Za-z), left-padded with zeros to `width`.
private func base62(_ value: UInt32, width: Int = 6) -> String {
  var v = UInt64(value)
  var digits: [Character] = []
  while v > 0 {
    digits.append(base62Alphabet[Int(v % 62)])
    v /= 62
  }
  return String(repeating: "0", count: max(0, width - digits.count)) + String(digits.reversed())
}

/// A GitHub-style (or npm) token with a correct checksum: prefix + 30 random + 6 checksum.
private func checksummedToken(_ prefix: String, random: String) -> String {
  precondition(random.count == 30)
  return prefix + random + base62(referenceCRC32(random))
}

/// Flips the last character to another base62 digit, breaking the checksum.
private func breakChecksum(_ token: String) -> String {
  let last = token.last!
  return String(token.dropLast()) + (last == "A" ? "B" : "A")
}

private func repeated(_ pattern: String, _ count: Int) -> String {
  String(String(repeating: pattern, count: count / max(1, pattern.count) + 1).prefix(count))
}

private let random30 = "Ab3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0"

/// The provider folders shipped in Runbooks/providers (Google API keys and npm tokens live there).
private let shippedProviders = ProviderFormats(
  RunbookLoader().loadProviders(folder: TestServices.repositoryRoot() + "/Runbooks/providers").0)

/// What `key.identify` makes of a key: the Swift formats, then the shipped provider folders.
private func identify(_ key: String) throws -> KeyIdentity {
  let identity = KeyIdentifyAction.identity(of: key, providers: shippedProviders)
  try #require(identity.provider != "unknown", "\(key) should be recognised")
  return identity
}

private func isUnknown(_ key: String) -> Bool {
  KeyIdentifyAction.identity(of: key, providers: shippedProviders).provider == "unknown"
}

@Suite("key.identify")
struct KeyIdentifyTests {
  // MARK: - Checksum building blocks

  @Test func crc32MatchesTheStandardCheckValue() {
    #expect(KeyFormats.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(referenceCRC32("123456789") == 0xCBF4_3926)
    #expect(KeyFormats.crc32(Array(random30.utf8)) == referenceCRC32(random30))
    #expect(KeyFormats.crc32([UInt8]()) == 0)
  }

  @Test func base62Decoding() {
    #expect(KeyFormats.base62Decode(Array("000000".utf8)) == 0)
    #expect(KeyFormats.base62Decode(Array("00000z".utf8)) == 61)
    #expect(KeyFormats.base62Decode(Array("000010".utf8)) == 62)
    #expect(KeyFormats.base62Decode(Array(base62(0xFFFF_FFFF).utf8)) == 0xFFFF_FFFF)
    #expect(KeyFormats.base62Decode(Array("00-000".utf8)) == nil)
  }

  // MARK: - AWS

  @Test func awsAccessKeyIDs() throws {
    let akia = try identify("AKIAIOSFODNN7EXAMPLE")
    #expect(akia.provider == "aws")
    #expect(akia.kind == "access-key")
    #expect(akia.keyID == "AKIAIOSFODNN7EXAMPLE")
    #expect(akia.display == "AKIAIOSFODNN7EXAMPLE")
    #expect(akia.secret == false)
    #expect(akia.checksumValid == nil)
    #expect(akia.fingerprint == Masker.fingerprint("AKIAIOSFODNN7EXAMPLE"))
    #expect(akia.notes.contains { $0.contains("example") })
    #expect(akia.revocableVia.contains("UpdateAccessKey"))

    let asia = try identify("ASIAIOSFODNN7EXAMPLE")
    #expect(asia.kind == "session-key")
    #expect(asia.keyID == "ASIAIOSFODNN7EXAMPLE")
    #expect(asia.secret == false)
    #expect(asia.revocableVia.contains("AWSRevokeOlderSessions"))

    #expect(
      try identify("ABIAZ2345670ABCDEFGH".replacingOccurrences(of: "0", with: "Q")).kind == "service-bearer-token")
    #expect(try identify("ACCAQRSTUVWXYZ234567").kind == "context-credential")
    #expect(try identify("AKIAQRSTUVWXYZ234567").notes.allSatisfy { !$0.contains("example") })
  }

  @Test(arguments: [
    "AKIAIOSFODNN7EXAMPL",  // 19
    "AKIAIOSFODNN7EXAMPLEX",  // 21
    "akiaiosfodnn7example",  // lower case
    "AKIAIOSFODNN0EXAMPLE",  // 0 is not base32
    "AKIAIOSFODNN8EXAMPLE",  // nor 8
    "AKIBIOSFODNN7EXAMPLE",  // unknown prefix
    "AKIAIOSFODNN7EXAMPL ",
  ])
  func awsNearMisses(key: String) {
    #expect(KeyFormats.identify(key) == nil)
  }

  // MARK: - GitHub

  @Test(arguments: [
    ("ghp_", "classic-pat"), ("gho_", "oauth"), ("ghu_", "app-user"), ("ghs_", "app-installation"),
    ("ghr_", "refresh"),
  ])
  func gitHubTokensWithValidChecksum(prefix: String, kind: String) throws {
    let token = checksummedToken(prefix, random: random30)
    #expect(token.count == 40)
    let id = try identify(token)
    #expect(id.provider == "github")
    #expect(id.kind == kind)
    #expect(id.checksumValid == true)
    #expect(id.keyID == nil)
    #expect(id.secret)
    #expect(id.display == prefix + "…" + Masker.fingerprint(token))
    #expect(!id.display.contains(random30))

    let broken = try identify(breakChecksum(token))
    #expect(broken.kind == kind)
    #expect(broken.checksumValid == false)
  }

  @Test func gitHubChecksumOverManyRandomBodies() throws {
    var rng = SplitMix64(seed: 42)
    for _ in 0..<2_000 {
      let body = String((0..<30).map { _ in base62Alphabet[Int(rng.next() % 62)] })
      let token = checksummedToken("ghp_", random: body)
      #expect(try identify(token).checksumValid == true)
      #expect(try identify(breakChecksum(token)).checksumValid == false)
    }
  }

  @Test func gitHubChecksumThatOverflowsBase62IsInvalid() throws {
    // "zzzzzz" is 62^6 - 1, far above any CRC32.
    #expect(try identify("ghp_" + random30 + "zzzzzz").checksumValid == false)
  }

  @Test func gitHubFineGrainedPAT() throws {
    let token = "github_pat_" + repeated("11ABCDEFG", 22) + "_" + repeated("abcXYZ0189", 59)
    #expect(token.count == 93)
    let id = try identify(token)
    #expect(id.provider == "github")
    #expect(id.kind == "fine-grained-pat")
    #expect(id.checksumValid == nil)
    #expect(id.display == "github_pat_…" + Masker.fingerprint(token))
    #expect(KeyFormats.identify(String(token.dropLast())) == nil)
    #expect(KeyFormats.identify(token + "a") == nil)
    #expect(KeyFormats.identify(String(token.dropLast()) + "-") == nil)
  }

  @Test func gitHubBoundaries() {
    let token = checksummedToken("ghp_", random: random30)
    #expect(KeyFormats.identify(String(token.dropLast())) == nil)
    #expect(KeyFormats.identify("ghx_" + token.dropFirst(4)) == nil)
    #expect(KeyFormats.identify("ghp-" + token.dropFirst(4)) == nil)
    #expect(KeyFormats.identify("ghp_" + random30.dropLast() + "_" + token.suffix(6)) == nil)
  }

  @Test func longerGitHubTokensAreRecognisedWithoutChecksum() throws {
    let token = checksummedToken("ghs_", random: random30)
    let longer = try identify(token + "A")
    #expect(longer.kind == "app-installation")
    #expect(longer.checksumValid == nil)
    #expect(longer.notes == ["longer than the 40-character format: checksum not checked"])
    #expect(try identify("ghp_" + repeated("aB_9", 251)).checksumValid == nil)
    #expect(KeyFormats.identify("ghp_" + repeated("aB_9", 252)) == nil)
    #expect(KeyFormats.identify("ghp_" + repeated("aB-9", 60)) == nil)
  }

  // MARK: - GitLab

  @Test func gitLabPersonalAccessTokens() throws {
    let legacy = try identify("glpat-" + repeated("aB3_-x", 20))
    #expect(legacy.provider == "gitlab")
    #expect(legacy.kind == "personal-access-token")
    #expect(legacy.notes.contains("legacy format"))
    #expect(legacy.display.hasPrefix("glpat-…sha256:"))
    #expect(KeyFormats.identify("glpat-" + repeated("aB3_-x", 19)) == nil)
    #expect(KeyFormats.identify("glpat-" + repeated("aB3_-x", 21)) == nil)

    let routable = try identify("glpat-" + repeated("Zx9-_q", 27) + ".01" + "abc1234")
    #expect(routable.kind == "personal-access-token")
    #expect(routable.notes.contains { $0.hasPrefix("routable format") })
    #expect(KeyFormats.identify("glpat-" + repeated("Zx9-_q", 27) + ".01" + "ABC1234") == nil)  // base36 is lower case
    #expect(KeyFormats.identify("glpat-" + repeated("Zx9-_q", 26) + ".01" + "abc1234") == nil)
    #expect(try identify("glpat-" + repeated("Zx9-_q", 300) + ".01abc1234").kind == "personal-access-token")
    #expect(KeyFormats.identify("glpat-" + repeated("Zx9-_q", 301) + ".01abc1234") == nil)
  }

  @Test(arguments: [
    ("gldt-", "deploy-token"), ("glrt-", "runner-token"), ("glrtr-", "runner-registration-token"),
    ("glptt-", "pipeline-trigger-token"), ("glft-", "feed-token"), ("glcbt-", "ci-job-token"),
    ("gloas-", "oauth-app-secret"), ("glsoat-", "service-account-token"), ("glagent-", "agent-token"),
    ("glimt-", "incoming-mail-token"), ("glffct-", "feature-flags-client-token"), ("glwt-", "workspace-token"),
  ])
  func gitLabOtherTokens(prefix: String, kind: String) throws {
    let id = try identify(prefix + repeated("a1B2c3D4_-", 20))
    #expect(id.provider == "gitlab")
    #expect(id.kind == kind)
    #expect(id.display == prefix + "…" + Masker.fingerprint(prefix + repeated("a1B2c3D4_-", 20)))
    #expect(try identify(prefix + "t1_" + repeated("a1B2c3D4_-", 30) + ".01abc1234").kind == kind)
    #expect(KeyFormats.identify(prefix + repeated("a1B2c3D4_-", 19)) == nil)
  }

  @Test func gitLabRunnerRegistrationToken() throws {
    let id = try identify("GR1348941" + repeated("aZ_-09", 20))
    #expect(id.kind == "runner-registration-token")
    #expect(KeyFormats.identify("GR1348941" + repeated("aZ_-09", 21)) == nil)
  }

  // MARK: - Slack

  @Test(arguments: [
    ("xoxb-1234567890-1234567890123-" + repeated("AbCdEfGh", 24), "bot-token"),
    ("xoxb-123456789-" + repeated("AbCdEfGh", 22), "bot-token"),  // legacy shape
    ("xoxp-1234567890-1234567890-1234567890-" + repeated("0123456789abcdef", 32), "user-token"),
    ("xoxe-1234567890-1234567890-1234567890-" + repeated("0123456789abcdef", 32), "user-token"),
    ("xoxe.xoxp-1-" + repeated("AB12cd", 164), "config-access-token"),
    ("xoxe.xoxb-1-" + repeated("AB12cd", 163), "config-access-token"),
    ("xoxe-1-" + repeated("AB12cd", 146), "config-refresh-token"),
    ("xapp-1-A0123BCDE-1234567890123-" + repeated("abcdef0123", 64), "app-token"),
    ("xoxa-2-" + repeated("Ab1", 30), "legacy-workspace-token"),
    ("xoxr-" + repeated("Ab1", 8), "legacy-workspace-refresh-token"),
    ("xoxo-1234-5678-9012-abcdef0123", "legacy-token"),
    ("xoxs-1-2-3-ABCDEF", "legacy-token"),
    ("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "webhook-url"),
    ("hooks.slack.com/workflows/" + repeated("Ab+/", 56), "webhook-url"),
    ("http://hooks.slack.com/triggers/" + repeated("Ab+/", 43), "webhook-url"),
  ])
  func slackTokens(key: String, kind: String) throws {
    let id = try identify(key)
    #expect(id.provider == "slack")
    #expect(id.kind == kind)
    #expect(id.secret)
    #expect(id.display.hasSuffix("…" + Masker.fingerprint(key)))
    #expect(!id.display.contains(String(key.suffix(8))))
  }

  @Test(arguments: [
    "xoxb-123456789-1234567890123-abc",  // team id too short for either shape
    "xoxb-1234567890-123456789",
    "xoxp-1234567890-1234567890-1234567890-short",
    "xoxe.xoxp-1-" + String(repeating: "A", count: 162),
    "xoxe-1-" + String(repeating: "A", count: 145),
    "xapp-1-A0123-notdigits-abc",
    "xoxo-1-2-3-xyz",
    "xoxa-" + String(repeating: "A", count: 7),
    "xoxq-1234567890-1234567890-abc",
    "https://hooks.slack.com/services/" + String(repeating: "A", count: 42),
    "https://hooks.slack.com/services/" + String(repeating: "A", count: 57),
    "https://hooks.slack.com/other/" + String(repeating: "A", count: 44),
    "https://hooks.slack.com.evil.test/services/" + String(repeating: "A", count: 44),
  ])
  func slackNearMisses(key: String) {
    #expect(KeyFormats.identify(key) == nil)
  }

  @Test func slackWebhookDisplayKeepsOnlyTheHost() throws {
    let url = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    let id = try identify(url)
    #expect(id.display == "hooks.slack.com/services/…" + Masker.fingerprint(url))
    #expect(id.revocableVia.contains("regenerate"))
  }

  // MARK: - Stripe, SendGrid, OpenAI

  @Test func stripeKeys() throws {
    let live = try identify("sk_live_" + repeated("4eC39HqLyjWDarjtT1zdp7dc", 24))
    #expect(live.provider == "stripe")
    #expect(live.kind == "secret-key")
    #expect(live.notes == ["live mode key"])
    #expect(live.display.hasPrefix("sk_live_…"))
    let test = try identify("sk_test_" + repeated("abc123", 10))
    #expect(test.notes == ["test mode key"])
    #expect(try identify("rk_live_" + repeated("abc123", 99)).kind == "restricted-key")
    #expect(try identify("rk_test_" + repeated("abc123", 30)).kind == "restricted-key")
    #expect(try identify("sk_prod_" + repeated("abc123", 30)).kind == "secret-key")
    #expect(isUnknown("sk_test_" + repeated("abc123", 9)))
    #expect(isUnknown("rk_live_" + repeated("abc123", 100)))
    #expect(isUnknown("pk_live_" + repeated("abc123", 24)))  // publishable: not a secret
    #expect(isUnknown("sk_live_" + repeated("abc-123", 24)))
  }

  @Test func sendGridKeys() throws {
    let keyID = repeated("AbCd_123-x", 22)
    let key = "SG." + keyID + "." + repeated("Zy98_-wvUT", 43)
    #expect(key.count == 69)
    let id = try identify(key)
    #expect(id.provider == "sendgrid")
    #expect(id.kind == "api-key")
    #expect(id.keyID == keyID)
    #expect(id.display == "SG.…" + Masker.fingerprint(key))

    let odd = try identify("SG." + repeated("abc=.", 66))
    #expect(odd.keyID == nil)
    #expect(!odd.notes.isEmpty)
    #expect(KeyFormats.identify("SG." + repeated("abc", 65)) == nil)
    #expect(KeyFormats.identify("SG." + repeated("abc", 67)) == nil)
  }

  @Test func openAIKeys() throws {
    let body = repeated("aB3-_", 74) + "T3BlbkFJ" + repeated("Xy9_-", 74)
    let project = try identify("sk-proj-" + body)
    #expect(project.provider == "openai")
    #expect(project.kind == "project-key")
    #expect(project.display == "sk-proj-…" + Masker.fingerprint("sk-proj-" + body))
    #expect(try identify("sk-svcacct-" + body).kind == "service-account-key")
    #expect(try identify("sk-admin-" + body).kind == "admin-key")
    let short = repeated("aB3-_", 58) + "T3BlbkFJ" + repeated("Xy9_-", 58)
    #expect(try identify("sk-proj-" + short).kind == "project-key")
    #expect(try identify("sk-proj-" + repeated("ab", 60)).notes.contains { $0.contains("T3BlbkFJ") })

    let legacy = try identify("sk-" + repeated("aB3", 20) + "T3BlbkFJ" + repeated("Xy9", 20))
    #expect(legacy.kind == "user-key")
    #expect(legacy.display.hasPrefix("sk-…"))
    #expect(KeyFormats.identify("sk-" + repeated("aB3", 21) + "T3BlbkFJ" + repeated("Xy9", 20)) == nil)
    #expect(KeyFormats.identify("sk-" + repeated("aB3", 48)) == nil)
  }

  // MARK: - Vault / OpenBao

  @Test(arguments: [
    ("hvs." + repeated("CAESIJ_-x9", 91), "service-token"),
    ("hvb." + repeated("AAAAAQ_-x9", 140), "batch-token"),
    ("hvr." + repeated("Ab9", 24), "recovery-token"),
    ("s." + repeated("Ab9", 24), "service-token"),
    ("b." + repeated("Ab9", 100), "batch-token"),
    // The shape OpenBao 2.x issues: 166 base64url characters, `-` and `_` included.
    ("b." + repeated("AAAAAQ_-x9", 166), "batch-token"),
    ("r." + repeated("Ab9", 24), "recovery-token"),
  ])
  func vaultTokens(key: String, kind: String) throws {
    let id = try identify(key)
    #expect(id.provider == "vault")
    #expect(id.kind == kind)
    #expect(id.secret)
    #expect(id.display == String(key.prefix { $0 != "." }) + ".…" + Masker.fingerprint(key))
  }

  @Test func vaultBoundaries() {
    #expect(KeyFormats.identify("s." + repeated("Ab9", 23)) == nil)
    #expect(KeyFormats.identify("s." + repeated("Ab9", 24) + "_") == nil)
    #expect(KeyFormats.identify("hvs." + repeated("Ab9", 89)) == nil)
    #expect(KeyFormats.identify("hvb." + repeated("Ab9", 137)) == nil)
    #expect(KeyFormats.identify("x." + repeated("Ab9", 24)) == nil)
    #expect(KeyFormats.identify("s." + repeated("Ab9", 301)) == nil)
  }

  // MARK: - Google, npm

  @Test func googleAPIKey() throws {
    let key = "AIza" + repeated("SyD-_x09", 35)
    let id = try identify(key)
    #expect(id.provider == "google")
    #expect(id.kind == "api-key")
    #expect(id.display == "AIza…" + Masker.fingerprint(key))
    #expect(id.manual?.listedAs == "…" + key.suffix(4))
    #expect(isUnknown(String(key.dropLast())))
    #expect(isUnknown(key + "x"))
  }

  @Test func npmTokens() throws {
    let token = checksummedToken("npm_", random: random30)
    let id = try identify(token)
    #expect(id.provider == "npm")
    #expect(id.kind == "access-token")
    #expect(id.checksumValid == true)
    #expect(try identify(breakChecksum(token)).checksumValid == false)
    #expect(isUnknown(String(token.dropLast())))
    #expect(isUnknown(token + "0"))
  }

  // MARK: - Unknown input

  @Test(arguments: [
    "", "hello", "password123", " AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE\n", "ghp_", "xoxb-", "sk_live_",
    "pk_test_abcdefghijklmnop", "AKIAIOSFODNN7EXAMPLÉ", "s.short", "🙂🙂🙂", String(repeating: "A", count: 5000),
    "SK" + String(repeating: "0", count: 32),
  ])
  func unknownFormats(key: String) {
    #expect(KeyFormats.identify(key) == nil)
  }

  /// Hundreds of thousands of random strings, many built around real prefixes: no crash, a
  /// bounded time, and every recognised secret's display reveals nothing past its prefix.
  @Test func randomStringsNeverCrash() {
    var rng = SplitMix64(seed: 0xC0FFEE)
    let prefixes = [
      "AKIA", "ASIA", "ABIA", "ACCA", "ghp_", "gho_", "ghs_", "github_pat_", "glpat-", "gldt-", "GR1348941", "xoxb-",
      "xoxp-", "xoxe-", "xoxe.xoxp-1-", "xapp-1-", "xoxo-", "xoxa-", "https://hooks.slack.com/services/",
      "sk_live_", "rk_test_", "SG.", "sk-proj-", "sk-", "hvs.", "hvb.", "s.", "b.", "r.", "AIza", "npm_", "",
    ]
    let alphabets = [
      Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), Array("0123456789"), base62Alphabet,
      Array(base62Alphabet + ["_", "-"]),
      Array(base62Alphabet + ["_", "-", ".", "=", "+", "/", " ", "\n", "é", "\u{0}"]),
    ]
    let start = ContinuousClock.now
    var recognised = 0
    for round in 0..<200_000 {
      var key: String
      if round % 10 == 9 {
        key = ""
        for _ in 0..<Int(rng.next() % 60) {
          if let s = Unicode.Scalar(UInt32(rng.next() % 0x11_0000)) { key.unicodeScalars.append(s) }
        }
      } else {
        key = prefixes[Int(rng.next() % UInt64(prefixes.count))]
        let alphabet = alphabets[Int(rng.next() % UInt64(alphabets.count))]
        let lengths = [16, 20, 24, 35, 36, 43, 66, 82, 91, 140, Int(rng.next() % 200)]
        let length = lengths[Int(rng.next() % UInt64(lengths.count))]
        for _ in 0..<length { key.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
        if rng.next() % 4 == 0 { key.append(["-", ".", "_", "T3BlbkFJ"][Int(rng.next() % 4)]) }
      }
      guard let id = KeyFormats.identify(key) else { continue }
      recognised += 1
      if id.secret {
        let shown = id.display.components(separatedBy: "…").first ?? ""
        #expect(key.contains(shown) && shown.count <= 26, "\(id.display)")
        #expect(id.display.hasSuffix(id.fingerprint))
      } else {
        #expect(id.provider == "aws" && id.display == key)
      }
    }
    #expect(recognised > 1_000, "the generator should hit real formats too (got \(recognised))")
    #expect(ContinuousClock.now - start < .seconds(60))
  }

  // MARK: - The action

  private func context(key: Value?, masker: Masker = Masker()) -> ActionContext {
    ActionContext(
      stepID: "identify", parameters: key.map { ["key": $0] } ?? [:], environment: [:],
      transport: RecordedTransport(), masker: masker,
      incident: IncidentInfo(id: "i", runbook: "key-compromised", startedAt: Date(), mode: .live, directory: "/tmp"))
  }

  @Test func descriptor() throws {
    let action = try #require(KeyActions.all().first { $0.descriptor.name == "key.identify" })
    let d = action.descriptor
    #expect(d.mutates == false)
    #expect(d.idempotent == true)
    #expect(d.requirements.isEmpty)
    #expect(d.parameters.map(\.name) == ["key", "provider"])
    #expect(
      d.parameters[0] == ParameterSpec("key", required: true, secret: true, "the leaked key, token or webhook URL"))
    #expect(d.parameters[1].required == false && d.parameters[1].secret == false)
    for name in ["provider", "kind", "key-id", "fingerprint", "checksum-valid", "display", "secret"] {
      #expect(d.output(name) != nil, "output \(name)")
      #expect(d.output(name)?.secret == false)
    }
  }

  @Test func actionOutputsForAnAWSKey() async throws {
    let result = try await KeyIdentifyAction().run(context(key: "  AKIAIOSFODNN7EXAMPLE \n"))
    #expect(result.outputs["provider"] == "aws")
    #expect(result.outputs["kind"] == "access-key")
    #expect(result.outputs["key-id"] == "AKIAIOSFODNN7EXAMPLE")
    #expect(result.outputs["fingerprint"] == .string(Masker.fingerprint("AKIAIOSFODNN7EXAMPLE")))
    #expect(result.outputs["checksum-valid"] == .null)
    #expect(result.outputs["display"] == "AKIAIOSFODNN7EXAMPLE")
    #expect(result.outputs["secret"] == false)
    #expect(result.outputs["revocable-via"]?.stringValue?.isEmpty == false)
    #expect(result.summary == "aws access-key AKIAIOSFODNN7EXAMPLE")
  }

  @Test func actionOutputsForAGitHubTokenNeverContainIt() async throws {
    let token = checksummedToken("ghp_", random: random30)
    let masker = Masker()
    let result = try await KeyIdentifyAction().run(context(key: .string(token), masker: masker))
    #expect(result.outputs["provider"] == "github")
    #expect(result.outputs["kind"] == "classic-pat")
    #expect(result.outputs["key-id"] == .null)
    #expect(result.outputs["checksum-valid"] == true)
    #expect(result.outputs["secret"] == true)
    #expect(!Value.object(result.outputs).jsonString().contains(random30))
    #expect(result.summary == "github classic-pat ghp_…\(Masker.fingerprint(token)), checksum valid")
    #expect(masker.containsSecret(token))
    #expect(masker.mask("leaked: \(token)") == "leaked: \(Masker.fingerprint(token))")
  }

  @Test func actionReportsABadChecksum() async throws {
    let token = breakChecksum(checksummedToken("ghp_", random: random30))
    let result = try await KeyIdentifyAction().run(context(key: .string(token)))
    #expect(result.outputs["checksum-valid"] == false)
    #expect(result.summary?.hasSuffix(", checksum does NOT match") == true)
  }

  /// Issue 13 item 3: a format respond does not know (Anthropic, Twilio, DigitalOcean, PyPI...) is
  /// an opaque secret, not a failure: identify succeeds, masks it, and hands over the generic
  /// playbook; nothing of the secret is in the outputs or the summary.
  @Test(arguments: [
    "my-super-secret-password-42",
    "sk-ant-api03-" + String(repeating: "Zq7x", count: 23) + "AA",
    "dop_v1_" + String(repeating: "0a1b2c3d", count: 8),
    "pypi-AgEIcHlwaS5vcmcCJGQ3ZjY3YjM1LTk5NzctNDc2Mi1iMjY1LTc3NjQ5ZTk0ZTE0YQ",
    "SK" + String(repeating: "0f", count: 16),
  ])
  func anUnknownFormatIsAnOpaqueSecret(key: String) async throws {
    let masker = Masker()
    let result = try await KeyIdentifyAction().run(context(key: .string(key), masker: masker))
    let fingerprint = Masker.fingerprint(key)
    #expect(result.outputs["provider"] == "unknown")
    #expect(result.outputs["kind"] == "opaque")
    #expect(result.outputs["automated"] == false)
    #expect(result.outputs["secret"] == true)
    #expect(result.outputs["display"] == .string("…" + fingerprint))
    let steps = try #require(result.outputs["manual-steps"]?.stringValue)
    #expect(steps.contains("1. Find where it is used") && steps.contains("Revoke or roll it at the issuer"))
    #expect(steps.contains("Rotate") && steps.contains("respond confirm"))
    #expect(
      result.summary == "unknown opaque …\(fingerprint): not a known format, handled as an opaque secret "
        + "(contained by hand)")
    let everything = Value.object(result.outputs).jsonString() + (result.summary ?? "")
    #expect(!everything.contains(key) && !everything.contains(key.suffix(12)))
    #expect(masker.containsSecret(key))
  }

  @Test func aTruncatedKnownKeyIsOpaqueWithAHint() async throws {
    let key = String(checksummedToken("ghp_", random: random30).dropLast(2))
    let result = try await KeyIdentifyAction().run(context(key: .string(key)))
    #expect(result.outputs["provider"] == "unknown")
    let notes = result.outputs["notes"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(
      notes.contains(
        "it starts like a GitHub classic personal access token ('ghp_') but does not have that format's length or "
          + "characters"))
    #expect(!Value.object(result.outputs).jsonString().contains(random30.prefix(8)))
  }

  // MARK: - Manual playbooks

  /// A known format with no API gets its provider's playbook: the console, and the entry to revoke
  /// as the provider's own list shows it (Stripe: the last four characters, spelled out).
  @Test func stripeKeysAreNamedAsTheDashboardListsThem() async throws {
    let key = "sk_live_" + "51HxQ2fLkQ9vT0pZr8WmB3nC4dE5Wxyz"
    let result = try await KeyIdentifyAction(providers: shippedProviders).run(context(key: .string(key)))
    #expect(result.outputs["automated"] == false)
    #expect(result.outputs["listed-as"] == "sk_live_...Wxyz")
    #expect(result.outputs["console-url"] == "https://dashboard.stripe.com/apikeys")
    let steps = try #require(result.outputs["manual-steps"]?.stringValue)
    #expect(steps.contains("The console lists this credential as `sk_live_...Wxyz`."))
    #expect(steps.contains("Roll key") && steps.contains("every service that used the old one"))
    #expect(!Value.object(result.outputs).jsonString().contains(key))
  }

  /// A runner token resets itself through GitLab's API (the runbook's gitlab-runner-reset), so
  /// it is contained automatically and carries no manual playbook.
  @Test func gitLabRunnerTokensAreContainedThroughTheResetAPI() throws {
    let id = try identify("glrt-" + String(repeating: "aB3_", count: 6))
    #expect(id.provider == "gitlab" && id.kind == "runner-token")
    #expect(id.automated)
    #expect(id.manual == nil)
    #expect(id.revocableVia.contains("/runners/reset_authentication_token"))
  }

  @Test func slackWebhooksAreListedWithoutTheirSecretSegment() throws {
    let url = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/" + String(repeating: "x9Y8", count: 6)
    let id = try identify(url)
    #expect(!id.automated)
    #expect(id.manual?.listedAs == "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/")
    #expect(id.manual?.consoleURL == "https://api.slack.com/apps")
  }

  /// A Google Cloud service-account key file: named by its key id (the console's Keys list shows
  /// it), with the delete steps; the private key inside is masked on its own.
  @Test func googleServiceAccountKeysAreDeletedByTheirKeyID() async throws {
    let privateKey =
      "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"
    let json: Value = [
      "type": "service_account", "project_id": "acme-prod",
      "private_key_id": "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
      "private_key": .string(privateKey), "client_email": "deployer@acme-prod.iam.gserviceaccount.com",
    ]
    let masker = Masker()
    let result = try await KeyIdentifyAction().run(context(key: .string(json.jsonString()), masker: masker))
    #expect(result.outputs["provider"] == "google" && result.outputs["kind"] == "service-account-key")
    #expect(result.outputs["key-id"] == "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d")
    #expect(result.outputs["automated"] == false)
    #expect(
      result.outputs["console-url"] == "https://console.cloud.google.com/iam-admin/serviceaccounts?project=acme-prod")
    let steps = try #require(result.outputs["manual-steps"]?.stringValue)
    #expect(steps.contains("delete the key whose ID is `1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d`"))
    #expect(masker.containsSecret("x" + privateKey + "y"))
    #expect(!Value.object(result.outputs).jsonString().contains("MIIEvQ"))
  }

  /// Which formats the runbook contains through an API decides, by itself, whether the manual
  /// playbook runs: the runbook repeats no provider list.
  @Test func automatedFormatsAreTheOnesTheRunbookRevokes() throws {
    #expect(try identify("AKIAIOSFODNN7EXAMPLE").automated)
    #expect(try identify(checksummedToken("ghp_", random: random30)).automated)
    #expect(try identify("glpat-" + String(repeating: "a", count: 20)).automated)
    #expect(try !identify("ABIA" + String(repeating: "A", count: 16)).automated)
    #expect(try !identify("AIza" + String(repeating: "b", count: 35)).automated)
    for manual in [
      try identify("sk_test_" + String(repeating: "c", count: 24)),
      try identify("AIza" + String(repeating: "b", count: 35)),
      KeyFormats.opaque("whatever-it-is-123"),
    ] {
      #expect(manual.manual?.steps.isEmpty == false)
    }
  }

  @Test(arguments: ["AKIAIOSFODNN7EXAMPLE\nAKIAIOSFODNN7EXAMPLE", "ghp_abc\u{1B}[0m", "a\u{0}b", "x\u{2028}y"])
  func actionRejectsControlCharacters(key: String) async throws {
    let error = await #expect(throws: ActionError.self) {
      try await KeyIdentifyAction().run(context(key: .string(key)))
    }
    #expect(
      try #require(error).description
        == "parameter 'key' contains a line break or control character: pass exactly one key, on one line")
  }

  @Test func actionNeedsAKey() async throws {
    for key: Value? in [nil, "", .null] {
      let error = await #expect(throws: ActionError.self) { try await KeyIdentifyAction().run(context(key: key)) }
      #expect(try #require(error).description == "parameter 'key' is required")
    }
    let error = await #expect(throws: ActionError.self) { try await KeyIdentifyAction().run(context(key: " \t\n ")) }
    #expect(try #require(error).description == "parameter 'key' is empty")
  }
}
