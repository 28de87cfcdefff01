import RespondCore

/// What a leaked string is, recognised offline from its format alone: which provider issued it,
/// what kind of credential it is, and how to show and revoke it safely. A string of no known
/// format is an opaque secret (provider `unknown`, kind `opaque`): still a credential to contain.
package struct KeyIdentity: Sendable, Equatable {
  /// `aws`, `github`, `gitlab`, `slack`, `stripe`, `sendgrid`, `openai`, `vault`, `google`, `npm`,
  /// or `unknown` for an opaque secret.
  package var provider: String
  /// The credential's kind within the provider (`access-key`, `classic-pat`, `service-token`...).
  package var kind: String
  /// A public identifier that names the key at the provider, when the format carries one: the
  /// AWS access key id itself, SendGrid's key id (the middle segment). Nil otherwise.
  package var keyID: String?
  /// `Masker.fingerprint(key)`: recognisable across journal, report and notifications.
  package var fingerprint: String
  /// Whether the format's built-in checksum matches (GitHub `ghp_`-style and npm tokens); nil
  /// when the format has no known checksum. A mismatch suggests a typo or a made-up string.
  package var checksumValid: Bool?
  /// A form safe to print anywhere: an AWS key id in full, otherwise the format's prefix, `…`
  /// and the fingerprint. Never more of the secret than the prefix.
  package var display: String
  /// Whether the string authenticates by itself. False for AWS access key ids, which need the
  /// secret access key (and the session token for `ASIA`).
  package var secret: Bool
  /// How such a credential is revoked, in a few words.
  package var revocableVia: String
  /// Facts about this particular format worth telling the responder.
  package var notes: [String]
  /// What a person must do when respond has no API to contain this credential; nil when the
  /// runbook contains it itself.
  package var manual: ManualPlaybook?

  /// Whether respond contains this credential through the provider's API (the runbook has an
  /// automated branch for it); false means containment is the manual playbook's.
  package var automated: Bool { manual == nil }

  package init(
    provider: String, kind: String, keyID: String?, fingerprint: String, checksumValid: Bool?, display: String,
    secret: Bool, revocableVia: String, notes: [String] = [], manual: ManualPlaybook? = nil
  ) {
    self.provider = provider
    self.kind = kind
    self.keyID = keyID
    self.fingerprint = fingerprint
    self.checksumValid = checksumValid
    self.display = display
    self.secret = secret
    self.revocableVia = revocableVia
    self.notes = notes
    self.manual = manual
  }
}

/// Offline recognition of leaked credentials from their format. The patterns follow gitleaks'
/// rules (see reference/provider-apis.md A.1); the checksums follow A.2. Pure functions: no I/O,
/// linear in the input, safe on any string.
package enum KeyFormats {
  /// The longest string any known format can be; longer input is rejected without scanning.
  package static let maximumLength = 1024

  /// One line naming every format `identify` knows, for error messages and help.
  package static let knownFormats =
    "AWS access key ids (AKIA, ASIA, ABIA, ACCA), GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), "
    + "GitLab tokens (glpat- and the other gl…- prefixes, GR1348941), Slack tokens (xoxb-, xoxp-, xoxe, xapp-, "
    + "xoxa-, xoxr-, xoxo-, xoxs-) and hooks.slack.com webhook URLs, SendGrid keys (SG.), OpenAI keys (sk-proj-, sk-svcacct-, "
    + "sk-admin-, legacy sk-), Vault/OpenBao tokens (hvs., hvb., hvr., s., b., r.), Google service-account "
    + "key files, and the formats of the provider folders (Runbooks/providers: Google API keys, npm, Anthropic...)"

  /// Recognises a credential from its exact text (no surrounding whitespace), or returns nil.
  /// Order matters where prefixes overlap: OpenAI's `sk-proj-` before legacy `sk-`, Slack's
  /// `xoxe.` config tokens before `xoxe-` tokens. A format with no revocation API respond can
  /// call comes with its manual playbook.
  package static func identify(_ key: String) -> KeyIdentity? {
    if let serviceAccount = googleServiceAccount(key) { return serviceAccount }
    let b = Array(key.utf8)
    guard !b.isEmpty, b.count <= maximumLength, b.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
    for recognise in recognisers {
      if var identity = recognise(key, b) {
        identity.manual = ManualPlaybooks.playbook(for: identity, key: key)
        return identity
      }
    }
    return nil
  }

  /// A string of no known format, as an opaque secret: nothing of it is shown but its
  /// fingerprint, and containment is the generic manual playbook. A mangled paste of a known
  /// format says so in the notes (naming only the format's public prefix).
  package static func opaque(_ key: String) -> KeyIdentity {
    let fingerprint = Masker.fingerprint(key)
    var notes = ["not a format respond knows: handled as an opaque secret (masked everywhere, contained by hand)"]
    if let hint = nearMiss(key) { notes.append(hint) }
    return KeyIdentity(
      provider: "unknown", kind: "opaque", keyID: nil, fingerprint: fingerprint, checksumValid: nil,
      display: "…" + fingerprint, secret: true,
      revocableVia: "at its issuer, by hand: find where it is used to learn who issued it", notes: notes,
      manual: ManualPlaybooks.opaque(fingerprint: fingerprint))
  }

  /// The recognisers in the order they are tried.
  private static let recognisers: [@Sendable (String, [UInt8]) -> KeyIdentity?] = [
    slackWebhook, aws, github, gitlab, slack, openAI, sendGrid, vault,
  ]

  /// For a string `identify` rejects: a hint when it starts like a known format but does not
  /// have its shape (a truncated or mangled paste). Names only the public prefix.
  package static func nearMiss(_ key: String) -> String? {
    for (prefix, name) in distinctivePrefixes where key.hasPrefix(prefix) {
      return "it starts like \(name) ('\(prefix)') but does not have that format's length or characters"
    }
    return nil
  }

  /// The prefix of a known secret format that `key` starts with though `identify` rejects it
  /// (a truncated or mangled paste still authenticates or nearly does): what may be shown of it.
  /// Nil for AWS access key id prefixes, which name a key but do not authenticate.
  package static func secretPrefix(of key: String) -> String? {
    distinctivePrefixes.first { key.hasPrefix($0.0) && !["AKIA", "ASIA"].contains($0.0) }?.0
  }

  private static let distinctivePrefixes: [(String, String)] = [
    ("github_pat_", "a GitHub fine-grained personal access token"),
    ("ghp_", "a GitHub classic personal access token"), ("gho_", "a GitHub OAuth token"),
    ("ghu_", "a GitHub App user token"), ("ghs_", "a GitHub App installation token"),
    ("ghr_", "a GitHub refresh token"), ("glpat-", "a GitLab personal access token"),
    ("xoxb-", "a Slack bot token"), ("xoxp-", "a Slack user token"), ("xapp-", "a Slack app-level token"),
    ("xoxe", "a Slack token"), ("https://hooks.slack.com/", "a Slack webhook URL"),
    ("hooks.slack.com/", "a Slack webhook URL"),
    ("sk-proj-", "an OpenAI project key"), ("sk-svcacct-", "an OpenAI service account key"),
    ("sk-admin-", "an OpenAI admin key"), ("sk_live_", "a Stripe secret key"), ("sk_test_", "a Stripe secret key"),
    ("rk_live_", "a Stripe restricted key"), ("rk_test_", "a Stripe restricted key"), ("SG.", "a SendGrid key"),
    ("hvs.", "a Vault service token"), ("hvb.", "a Vault batch token"), ("hvr.", "a Vault recovery token"),
    ("AIza", "a Google API key"), ("npm_", "an npm token"), ("AKIA", "an AWS access key id"),
    ("ASIA", "an AWS temporary access key id"),
  ]

  // MARK: - Helpers

  /// Builds an identity with the fingerprint and the safe display form.
  static func identity(
    _ key: String, provider: String, kind: String, prefix: String, keyID: String? = nil, checksumValid: Bool? = nil,
    secret: Bool = true, revocableVia: String, notes: [String] = []
  ) -> KeyIdentity {
    let fingerprint = Masker.fingerprint(key)
    return KeyIdentity(
      provider: provider, kind: kind, keyID: keyID, fingerprint: fingerprint, checksumValid: checksumValid,
      display: secret ? prefix + "…" + fingerprint : key, secret: secret, revocableVia: revocableVia, notes: notes)
  }

  static func hasPrefix(_ b: some Collection<UInt8>, _ prefix: String) -> Bool {
    b.starts(with: prefix.utf8)
  }

  static func contains(_ b: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
    guard b.count >= needle.count else { return false }
    var i = b.startIndex
    while i + needle.count <= b.endIndex {
      if b[i..<(i + needle.count)].elementsEqual(needle) { return true }
      i += 1
    }
    return false
  }

  static func all(_ b: some Collection<UInt8>, _ predicate: (UInt8) -> Bool) -> Bool {
    b.allSatisfy(predicate)
  }

  static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
  static func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
  static func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
  static func isAlphanumeric(_ c: UInt8) -> Bool { isDigit(c) || isUpper(c) || isLower(c) }
  static func isWord(_ c: UInt8) -> Bool { isAlphanumeric(c) || c == UInt8(ascii: "_") }
  static func isWordOrDash(_ c: UInt8) -> Bool { isWord(c) || c == UInt8(ascii: "-") }
  static func isBase32(_ c: UInt8) -> Bool { isUpper(c) || (c >= 0x32 && c <= 0x37) }
  static func isHexDigit(_ c: UInt8) -> Bool {
    isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
  }
}
