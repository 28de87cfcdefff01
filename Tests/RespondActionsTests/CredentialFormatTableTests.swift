import Foundation
import RespondCore
import RespondTestSupport
import Testing

@testable import RespondActions

/// Synthetic credential text, from a fixed seed: never a real key, the same on every run.
private struct SyntheticText {
  var rng = SplitMix64(seed: 0x5EC2_E75A)

  static let hex = "0123456789abcdef"
  static let digits = "0123456789"
  static let letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
  static let alnum = letters + digits
  static let upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
  static let lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
  static let word = alnum + "_-"
  static let base64 = alnum + "+/"
  static let base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
  static let bech32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"

  mutating func take(_ count: Int, _ alphabet: String) -> String {
    let characters = Array(alphabet)
    return String((0..<count).map { _ in characters[Int(rng.next() % UInt64(characters.count))] })
  }
}

/// One format's samples: a valid credential, and a near miss (one character short, or one
/// character the format forbids) that the format must reject.
struct FormatSample: CustomStringConvertible, Sendable {
  var provider: String
  var kind: String
  var valid: String
  var nearMiss: String
  /// The provider the responder names (`--provider`), for a format recognised only then.
  var hint: String? = nil
  var description: String { "\(provider) \(kind)" }
}

/// Each row builds its valid sample and its near miss from the same synthetic parts.
private func samples() -> [FormatSample] {
  var text = SyntheticText()
  typealias T = SyntheticText
  var rows: [FormatSample] = []
  /// `prefix + body` valid; the near miss drops the body's last character.
  func short(
    _ provider: String, _ kind: String, _ prefix: String, _ count: Int, _ alphabet: String, _ tail: String = ""
  ) {
    let body = text.take(count, alphabet)
    rows.append(
      FormatSample(
        provider: provider, kind: kind, valid: prefix + body + tail, nearMiss: prefix + body.dropLast() + tail))
  }
  func row(_ provider: String, _ kind: String, _ valid: String, _ nearMiss: String) {
    rows.append(FormatSample(provider: provider, kind: kind, valid: valid, nearMiss: nearMiss))
  }
  // Provider folders (Runbooks/providers/*).
  short("age", "secret-key", "AGE-SECRET-KEY-1", 58, T.bech32)
  do {
    let id = "pat" + text.take(14, T.alnum)
    let secret = text.take(64, T.hex)
    row("airtable", "personal-access-token", id + "." + secret, id.dropLast() + "." + secret)
  }
  short("alibaba", "access-key-id", "LTAI", 20, T.alnum)
  short("anthropic", "api-key", "sk-ant-api03-", 93, T.word, "AA")
  do {
    let body = text.take(93, T.word)
    row("anthropic", "admin-key", "sk-ant-admin01-" + body + "AA", "sk-ant-admin01-" + body + "AB")
  }
  short("atlassian", "api-token", "ATATT3", 186, T.word)
  do {
    let hint = text.take(3, T.alnum) + "8"
    let rest = text.take(33, T.alnum)
    row("azure", "client-secret", hint + "Q~" + rest, hint + "Q-" + rest)
  }
  short("brevo", "api-key", "xkeysib-" + text.take(64, T.hex) + "-", 16, T.alnum)
  short("buildkite", "api-access-token", "bkua_", 40, T.hex)
  short("circleci", "personal-api-token", "CCIPAT_" + text.take(22, T.alnum) + "_", 40, T.hex)
  short("clojars", "deploy-token", "CLOJARS_", 60, T.lowerDigits)
  short("cloudflare", "origin-ca-key", "v1.0-" + text.take(24, T.hex) + "-", 146, T.hex)
  short("databricks", "personal-access-token", "dapi", 32, T.hex)
  for (kind, prefix) in [
    ("personal-access-token", "dop_v1_"), ("oauth-token", "doo_v1_"), ("oauth-refresh-token", "dor_v1_"),
  ] {
    let body = text.take(63, T.hex)
    row("digitalocean", kind, prefix + body + "a", prefix + body + "g")
  }
  do {
    let secret = text.take(68, T.word)
    let base = "https://discord.com/api/webhooks/"
    row(
      "discord", "webhook-url", base + text.take(18, T.digits) + "/" + secret,
      base + text.take(16, T.digits) + "/" + secret)
  }
  short("docker", "personal-access-token", "dckr_pat_", 27, T.word)
  short("docker", "organization-access-token", "dckr_oat_", 32, T.word)
  short("doppler", "personal-token", "dp.pt.", 43, T.alnum)
  short("doppler", "service-token", "dp.st.prd.", 40, T.alnum)
  short("dynatrace", "api-token", "dt0c01." + text.take(24, T.upperDigits) + ".", 64, T.upperDigits)
  short("easypost", "api-key", "EZAK", 54, T.alnum)
  short("easypost", "test-api-key", "EZTK", 54, T.alnum)
  short("figma", "personal-access-token", "figd_", 40, T.word)
  short("flyio", "access-token", "fo1_", 43, T.word)
  short("frameio", "developer-token", "fio-u-", 64, T.word)
  short("grafana", "cloud-access-policy-token", "glc_", 32, T.base64)
  short("grafana", "service-account-token", "glsa_" + text.take(32, T.alnum) + "_", 8, T.hex)
  short("groq", "api-key", "gsk_", 52, T.alnum)
  short("heroku", "api-key", "HRKU-AA", 58, T.word)
  for (kind, prefix) in [("user-access-token", "hf_"), ("organization-api-token", "api_org_")] {
    let body = text.take(33, T.letters)
    row("huggingface", kind, prefix + body + "x", prefix + body + "1")
  }
  short("infracost", "api-key", "ico-", 32, T.alnum)
  short("linear", "api-key", "lin_api_", 40, T.alnum)
  do {
    let body = text.take(32, T.hex)
    row("mailchimp", "api-key", body + "-us12", body + "-eu12")
  }
  short("mailgun", "api-key", "key-", 32, T.hex)
  short("newrelic", "user-api-key", "NRAK-", 27, T.upperDigits)
  short("newrelic", "insert-key", "NRII-", 32, T.word)
  short("newrelic", "browser-api-token", "NRJS-", 19, T.hex)
  short("notion", "integration-token", "ntn_" + text.take(11, T.digits), 35, T.alnum)
  short("nuget", "api-key", "oy2", 43, T.lowerDigits)
  short("octopus", "api-key", "API-", 26, T.upperDigits)
  do {
    let body = text.take(300, T.base64)
    row("onepassword", "service-account-token", "ops_eyJ" + body, "ops_eyJ" + body.prefix(200))
  }
  short("perplexity", "api-key", "pplx-", 48, T.alnum)
  for (kind, prefix) in [
    ("service-token", "pscale_tkn_"), ("database-password", "pscale_pw_"), ("oauth-token", "pscale_oauth_"),
  ] {
    let body = text.take(32, T.word)
    row("planetscale", kind, prefix + body, prefix + body.dropLast())
  }
  short("postman", "api-key", "PMAK-" + text.take(24, T.hex) + "-", 34, T.hex)
  short("prefect", "api-key", "pnu_", 36, T.alnum)
  short("pulumi", "access-token", "pul-", 40, T.hex)
  short("pypi", "api-token", "pypi-AgEIcHlwaS5vcmc", 50, T.word)
  short("pypi", "test-api-token", "pypi-AgENdGVzdC5weXBpLm9yZw", 50, T.word)
  short("readme", "api-key", "rdme_", 70, T.lowerDigits)
  short("replicate", "api-token", "r8_", 37, T.alnum)
  short("rubygems", "api-key", "rubygems_", 48, T.hex)
  short("scalingo", "api-token", "tk-us-", 48, T.word)
  short("sentry", "user-auth-token", "sntryu_", 64, T.hex)
  short("sentry", "organization-auth-token", "sntrys_eyJpYXQiO" + text.take(80, T.base64) + "_", 43, T.base64)
  for (kind, prefix) in [
    ("admin-access-token", "shpat_"), ("custom-app-access-token", "shpca_"), ("private-app-access-token", "shppa_"),
    ("shared-secret", "shpss_"),
  ] {
    let body = text.take(31, T.hex)
    row("shopify", kind, prefix + body + "f", prefix + body + "g")
  }
  short("sourcegraph", "access-token", "sgp_" + text.take(16, T.hex) + "_", 40, T.hex)
  short("square", "access-token", "EAAA", 22, T.word)
  short("square", "application-secret", "sq0csp-", 43, T.word)
  short("stripe-webhook", "webhook-signing-secret", "whsec_", 32, T.alnum)
  short("supabase", "access-token", "sbp_", 40, T.hex)
  do {
    let bot = text.take(10, T.digits)
    let body = text.take(34, T.word)
    row("telegram", "bot-token", bot + ":A" + body, bot + ":B" + body)
  }
  do {
    let id = text.take(14, T.alnum)
    let body = text.take(65, T.word)
    row("terraform-cloud", "api-token", id + ".atlasv1." + body, id + ".atlasv2." + body)
  }
  short("twilio", "api-key-sid", "SK", 32, T.hex)
  short("typeform", "personal-token", "tfp_", 59, T.word)
  short("xai", "api-key", "xai-", 80, T.alnum)
  // Formats recognised in Swift (checksums, AWS key ids, Vault shapes, automated providers).
  short("aws", "access-key", "AKIA", 16, T.base32)
  short("aws", "session-key", "ASIA", 16, T.base32)
  short("aws", "service-bearer-token", "ABIA", 16, T.base32)
  short("aws", "context-credential", "ACCA", 16, T.base32)
  short("github", "classic-pat", "ghp_", 36, T.alnum)
  short("github", "oauth", "gho_", 36, T.alnum)
  short("github", "app-installation", "ghs_", 36, T.alnum)
  short("github", "fine-grained-pat", "github_pat_", 82, T.alnum + "_")
  short("gitlab", "personal-access-token", "glpat-", 20, T.word)
  short("gitlab", "deploy-token", "gldt-", 20, T.word)
  short("gitlab", "runner-token", "glrt-", 20, T.word)
  short("slack", "webhook-url", "https://hooks.slack.com/services/T" + text.take(8, T.alnum) + "/B", 32, T.alnum)
  short(
    "slack", "user-token",
    "xoxp-" + text.take(12, T.digits) + "-" + text.take(12, T.digits) + "-" + text.take(12, T.digits) + "-", 28, T.alnum
  )
  for mode in ["live_", "test_", "prod_"] {
    short("stripe", "secret-key", "sk_" + mode, 10, T.alnum)
    short("stripe", "restricted-key", "rk_" + mode, 10, T.alnum)
  }
  short("sendgrid", "api-key", "SG." + text.take(22, T.word) + ".", 43, T.word)
  short("openai", "project-key", "sk-proj-", 40, T.word)
  short("openai", "admin-key", "sk-admin-", 40, T.word)
  short("vault", "service-token", "hvs.", 90, T.word)
  short("vault", "batch-token", "hvb.", 138, T.word)
  short("google", "api-key", "AIza", 35, T.word)
  short("npm", "access-token", "npm_", 36, T.alnum)
  // Bare hex, recognised only when the responder names Datadog (`only-when-named`).
  for (kind, count) in [("api-key", 32), ("application-key", 40)] {
    let body = text.take(count, T.hex)
    rows.append(
      FormatSample(provider: "datadog", kind: kind, valid: body, nearMiss: String(body.dropLast()), hint: "datadog"))
  }
  return rows
}

private let table = samples()

/// Issue 15 items 1 and 2: every credential format respond knows, in one table, through the same
/// function `key.identify` calls, with the provider folders shipped in `Runbooks/providers`.
@Suite struct CredentialFormatTableTests {
  static let shipped: (ProviderFormats, [Diagnostic]) = {
    let (providers, problems) = RunbookLoader().loadProviders(
      folder: TestServices.repositoryRoot() + "/Runbooks/providers")
    return (ProviderFormats(providers), problems)
  }()

  func identify(_ key: String, hint: String? = nil) -> KeyIdentity {
    KeyIdentifyAction.identity(of: key, providers: Self.shipped.0, hint: hint)
  }

  @Test func theShippedProviderFoldersLoadWithoutProblems() {
    #expect(Self.shipped.1.isEmpty, "\(Self.shipped.1.map(\.description))")
    #expect(Self.shipped.0.providers.count >= 50)
  }

  @Test(arguments: table)
  func eachFormatRecognisesItsSampleAndRejectsItsNearMiss(sample: FormatSample) {
    let valid = identify(sample.valid, hint: sample.hint)
    #expect(
      valid.provider == sample.provider && valid.kind == sample.kind,
      "valid sample read as \(valid.provider) \(valid.kind)")
    let miss = identify(sample.nearMiss, hint: sample.hint)
    #expect(!(miss.provider == sample.provider && miss.kind == sample.kind), "near miss accepted")
    // Nothing of a secret is shown but its prefix or declared public id and its fingerprint.
    if valid.secret {
      #expect(!valid.display.contains(sample.valid))
      #expect(valid.display.hasSuffix("…" + Masker.fingerprint(sample.valid)))
      if let id = valid.keyID { #expect(id.count < sample.valid.count / 2 + 8 && sample.valid.contains(id)) }
    }
    // Every format not contained through an API has its manual playbook.
    if !valid.automated { #expect(valid.manual?.steps.isEmpty == false) }
  }

  /// A format in a folder without a row here fails: the table covers every declared format.
  @Test func everyDeclaredFormatHasASampleRow() {
    for (provider, format) in Self.shipped.0.formats {
      #expect(
        table.contains { $0.provider == provider && $0.kind == format.kind && $0.valid.hasPrefix(format.prefix) },
        "no sample for \(provider) \(format.kind)"
      )
    }
  }

  @Test func atLeastSixtyFormatsAreRecognised() throws {
    var valid: [KeyIdentity] = []
    let took = ContinuousClock().measure {
      for sample in table {
        let identity = identify(sample.valid, hint: sample.hint)
        _ = identify(sample.nearMiss, hint: sample.hint)
        if identity.provider == sample.provider && identity.kind == sample.kind { valid.append(identity) }
      }
    }
    let recognised = Set(valid.map { (k: KeyIdentity) in k.provider + " " + k.kind })
    #expect(recognised.count >= 60, "\(recognised.count) formats")
    // The coverage and the time over the corpus (the function `respond identify` calls, in
    // process), for the note and BENCHMARKS.md: a figure printed, never a timed assertion.
    // A format is handled through an API when its Swift format says so or its provider's folder
    // has a part of the response (response.yaml); a kind the part leaves to a person (a Slack
    // webhook URL) still counts here.
    let parts = TestServices.repositoryRoot() + "/Runbooks/providers/"
    let api = Set(
      valid.filter { (k: KeyIdentity) in
        k.automated || FileManager.default.fileExists(atPath: parts + k.provider + "/response.yaml")
      }.map { (k: KeyIdentity) in k.provider + " " + k.kind })
    print(
      "identify corpus: \(table.count * 2) samples (\(table.count) valid, \(table.count) near misses) in \(took); "
        + "\(recognised.count) formats recognised, \(api.count) with an API response, "
        + "\(recognised.count - api.count) by manual playbook; with an API response: "
        + api.sorted().joined(separator: ", "))
  }

  /// Each folder's format comes with the folder's playbook: console, revoke, rotate, update.
  @Test func folderFormatsCarryTheirFoldersPlaybook() throws {
    for provider in Self.shipped.0.providers {
      let sample = try #require(table.first { $0.provider == provider.name })
      let playbook = try #require(identify(sample.valid, hint: sample.hint).manual)
      #expect(playbook.consoleURL == provider.playbook.consoleURL)
      #expect(playbook.steps.contains(provider.playbook.revoke) && playbook.steps.contains(provider.playbook.update))
      #expect(playbook.steps.contains(provider.playbook.rotate))
      #expect(provider.playbook.consoleURL?.hasPrefix("https://") == true)
    }
  }

  /// A format with nothing distinctive is tried only when the responder names its provider: a
  /// 32-digit hex string is not called a Datadog key unless `--provider datadog` says so.
  @Test func anOnlyWhenNamedFormatNeedsItsProviderNamed() throws {
    for sample in table where sample.hint != nil {
      #expect(identify(sample.valid).provider == "unknown", "\(sample)")
      #expect(identify(sample.valid, hint: "npm").provider == "unknown", "\(sample)")
      #expect(identify(sample.valid, hint: sample.hint).provider == sample.provider, "\(sample)")
    }
  }

  /// A truncated paste of a folder's format is still an opaque secret, with a hint naming only
  /// the format's prefix.
  @Test func aTruncatedFolderFormatIsOpaqueWithAHint() throws {
    let sample = try #require(table.first { $0.provider == "anthropic" && $0.kind == "api-key" })
    let identity = identify(sample.nearMiss)
    #expect(identity.provider == "unknown")
    #expect(
      identity.notes.contains(
        "it starts like the anthropic api-key format ('sk-ant-api03-') but does not have that format's length or characters"
      ))
    #expect(!identity.notes.joined().contains(sample.nearMiss.dropFirst(13).prefix(8)))
  }

  /// A declared public identifier is shown and listed; an identifier that does not authenticate
  /// is shown whole; the secret part never is.
  @Test func publicIdentifiersAreTheOnlyPartShown() throws {
    let airtable = try #require(table.first { $0.provider == "airtable" }).valid
    let identity = identify(airtable)
    let id = String(airtable.prefix(17))
    #expect(identity.keyID == id && identity.display == id + "…" + Masker.fingerprint(airtable))
    #expect(identity.manual?.listedAs == id)
    let twilio = try #require(table.first { $0.provider == "twilio" }).valid
    #expect(identify(twilio).display == twilio && !identify(twilio).secret)
  }
}
