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

  // MARK: - AWS

  /// `AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 base32 characters. The id is public: it names the key but
  /// does not authenticate without the secret access key.
  private static func aws(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
    guard b.count == 20, all(b[4...], isBase32) else { return nil }
    let kind: String
    let revocable: String
    var notes: [String] = []
    switch String(decoding: b[0..<4], as: UTF8.self) {
    case "AKIA":
      kind = "access-key"
      revocable = "IAM UpdateAccessKey Status=Inactive, then DeleteAccessKey"
      notes.append("long-term IAM user access key; the secret access key that goes with it is the real leak")
    case "ASIA":
      kind = "session-key"
      revocable =
        "cannot be deactivated: deny sessions issued before now (AWSRevokeOlderSessions policy on the role or user)"
      notes.append("temporary STS credential: usable with its secret key and session token until it expires (≤ 36 h)")
    case "ABIA":
      kind = "service-bearer-token"
      revocable = "cannot be deactivated: deny by policy and let it expire"
      notes.append("STS service bearer token id")
    case "ACCA":
      kind = "context-credential"
      revocable = "revoke at the AWS service that issued it"
      notes.append("context-specific credential id")
    default:
      return nil
    }
    if key.hasSuffix("EXAMPLE") { notes.append("this is an AWS documentation example key id (…EXAMPLE)") }
    return identity(
      key, provider: "aws", kind: kind, prefix: "", keyID: key, secret: false, revocableVia: revocable, notes: notes)
  }

  // MARK: - GitHub

  /// `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` tokens (checksummed) and `github_pat_` fine-grained tokens.
  private static func github(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
    if hasPrefix(b, "github_pat_") {
      guard b.count == 11 + 82, all(b[11...], isWord) else { return nil }
      return identity(
        key, provider: "github", kind: "fine-grained-pat", prefix: "github_pat_",
        revocableVia:
          "POST /credentials/revoke; for an organisation's access, POST /orgs/{org}/personal-access-tokens/{pat_id}",
        notes: ["fine-grained tokens have no documented checksum"])
    }
    // The 2021 format is prefix + 30 random + 6 checksum characters. GitHub reserves the right to
    // make tokens longer (up to 255 characters); such tokens are recognised without a checksum.
    guard b.count >= 40, b.count <= 255, b[0] == UInt8(ascii: "g"), b[1] == UInt8(ascii: "h"),
      b[3] == UInt8(ascii: "_"), all(b[4...], b.count == 40 ? isAlphanumeric : isWord)
    else { return nil }
    let kind: String
    let revocable: String
    switch b[2] {
    case UInt8(ascii: "p"):
      kind = "classic-pat"
      revocable = "POST /credentials/revoke, or the owner at github.com/settings/tokens"
    case UInt8(ascii: "o"):
      kind = "oauth"
      revocable = "DELETE /applications/{client_id}/token (app credentials), or POST /credentials/revoke"
    case UInt8(ascii: "u"):
      kind = "app-user"
      revocable = "POST /credentials/revoke"
    case UInt8(ascii: "s"):
      kind = "app-installation"
      revocable = "DELETE /installation/token authenticated with the token itself; it expires within an hour"
    case UInt8(ascii: "r"):
      kind = "refresh"
      revocable = "POST /credentials/revoke"
    default:
      return nil
    }
    let standard = b.count == 40
    return identity(
      key, provider: "github", kind: kind, prefix: String(decoding: b[0..<4], as: UTF8.self),
      checksumValid: standard ? checksumMatches(b[4...]) : nil, revocableVia: revocable,
      notes: standard ? [] : ["longer than the 40-character format: checksum not checked"])
  }

  // MARK: - GitLab

  /// GitLab's token prefixes other than `glpat-`, and the kind each names.
  private static let gitLabPrefixes: [(prefix: String, kind: String)] = [
    ("gldt-", "deploy-token"), ("glrtr-", "runner-registration-token"), ("glrt-", "runner-token"),
    ("glptt-", "pipeline-trigger-token"), ("glft-", "feed-token"), ("glcbt-", "ci-job-token"),
    ("gloas-", "oauth-app-secret"), ("glsoat-", "service-account-token"), ("glagent-", "agent-token"),
    ("glimt-", "incoming-mail-token"), ("glffct-", "feature-flags-client-token"), ("glwt-", "workspace-token"),
  ]

  /// `glpat-` (legacy 20-character and routable forms), `GR1348941` and the other `gl…-` prefixes.
  private static func gitlab(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
    if hasPrefix(b, "glpat-") {
      let body = b[6...]
      var notes: [String] = []
      if body.count == 20, all(body, isWordOrDash) {
        notes.append("legacy format")
      } else if isRoutableGitLab(body) {
        notes.append("routable format; its trailing checksum is not verified")
      } else {
        return nil
      }
      notes.append("glpat- also covers project and group access tokens")
      return identity(
        key, provider: "gitlab", kind: "personal-access-token", prefix: "glpat-",
        revocableVia: "DELETE /api/v4/personal_access_tokens/self authenticated with the token", notes: notes)
    }
    if hasPrefix(b, "GR1348941") {
      guard b.count == 9 + 20, all(b[9...], isWordOrDash) else { return nil }
      return identity(
        key, provider: "gitlab", kind: "runner-registration-token", prefix: "GR1348941",
        revocableVia: "reset the registration token in the project, group or instance runner settings",
        notes: ["legacy runner registration token"])
    }
    for (prefix, kind) in gitLabPrefixes where hasPrefix(b, prefix) {
      let body = b[prefix.utf8.count...]
      guard (20...300).contains(body.count), all(body, { isWordOrDash($0) || $0 == UInt8(ascii: ".") }) else {
        return nil
      }
      return identity(
        key, provider: "gitlab", kind: kind, prefix: prefix,
        revocableVia: "revoke it in GitLab where it was created (settings of the user, project, group or runner)")
    }
    return nil
  }

  /// `[0-9a-zA-Z_-]{27,300}` + `.` + 9 lower-case base36 characters.
  private static func isRoutableGitLab(_ body: ArraySlice<UInt8>) -> Bool {
    guard body.count >= 27 + 10, body.count <= 300 + 10 else { return false }
    let dot = body.endIndex - 10
    return body[dot] == UInt8(ascii: ".") && all(body[body.startIndex..<dot], isWordOrDash)
      && all(body[(dot + 1)...], { isDigit($0) || isLower($0) })
  }

  // MARK: - Slack

  /// `https://hooks.slack.com/services|workflows|triggers/…`: the URL itself is the secret.
  private static func slackWebhook(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
    var rest = b[...]
    for scheme in ["https://", "http://"] where hasPrefix(b, scheme) { rest = b[scheme.utf8.count...] }
    let host = Array("hooks.slack.com/".utf8)
    guard rest.starts(with: host) else { return nil }
    rest = rest.dropFirst(host.count)
    for type in ["services/", "workflows/", "triggers/"] where rest.starts(with: Array(type.utf8)) {
      let path = rest.dropFirst(type.utf8.count)
      guard (43...56).contains(path.count),
        all(path, { isAlphanumeric($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") })
      else { return nil }
      return identity(
        key, provider: "slack", kind: "webhook-url", prefix: "hooks.slack.com/" + type,
        revocableVia: "remove or regenerate the webhook in the Slack app's configuration (auth.revoke does not apply)",
        notes: ["anyone with the URL can post to its channel"])
    }
    return nil
  }

  /// Slack tokens by prefix, each with the shape gitleaks documents.
  private static func slack(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
    guard hasPrefix(b, "xox") || hasPrefix(b, "xapp-") else { return nil }
    let revokeSelf = "POST https://slack.com/api/auth.revoke authenticated with the token itself"
    func make(_ kind: String, _ prefix: String, _ notes: [String] = []) -> KeyIdentity {
      identity(key, provider: "slack", kind: kind, prefix: prefix, revocableVia: revokeSelf, notes: notes)
    }
    let parts = b.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)

    if hasPrefix(b, "xoxe.xoxb-") || hasPrefix(b, "xoxe.xoxp-") {
      // xoxe.xox[bp]-\d-[A-Z0-9]{163,166}, case-insensitive
      guard parts.count == 3, parts[1].count == 1, all(parts[1], isDigit), (163...166).contains(parts[2].count),
        all(parts[2], isAlphanumeric)
      else { return nil }
      return make("config-access-token", String(decoding: b[0..<10], as: UTF8.self), ["app configuration token"])
    }
    if hasPrefix(b, "xoxe-"), parts.count == 3 {
      // xoxe-\d-[A-Z0-9]{146}
      guard parts[1].count == 1, all(parts[1], isDigit), parts[2].count == 146, all(parts[2], isAlphanumeric) else {
        return nil
      }
      return make("config-refresh-token", "xoxe-", ["app configuration refresh token"])
    }
    if hasPrefix(b, "xoxb-") {
      // xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*  or legacy xoxb-[0-9]{8,14}-[a-zA-Z0-9]{18,26}
      let dash = UInt8(ascii: "-")
      if parts.count >= 3, (10...13).contains(parts[1].count), all(parts[1], isDigit) {
        let afterTeam = b[(5 + parts[1].count + 1)...]
        if afterTeam.prefix(while: isDigit).count >= 10, all(afterTeam, { isAlphanumeric($0) || $0 == dash }) {
          return make("bot-token", "xoxb-")
        }
      }
      if parts.count == 3, (8...14).contains(parts[1].count), all(parts[1], isDigit),
        (18...26).contains(parts[2].count), all(parts[2], isAlphanumeric)
      {
        return make("bot-token", "xoxb-", ["legacy bot token format"])
      }
      return nil
    }
    if hasPrefix(b, "xoxp-") || hasPrefix(b, "xoxe-") {
      // xox[pe](-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}
      guard parts.count >= 5, parts[1...3].allSatisfy({ (10...13).contains($0.count) && all($0, isDigit) }) else {
        return nil
      }
      let secretStart = b.startIndex + 4 + parts[1...3].reduce(0) { $0 + 1 + $1.count } + 1
      let tail = b[secretStart...]
      guard (28...34).contains(tail.count), all(tail, { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
        return nil
      }
      let isUser = b[3] == UInt8(ascii: "p")
      return make("user-token", isUser ? "xoxp-" : "xoxe-", isUser ? [] : ["expiring (rotating) user token"])
    }
    if hasPrefix(b, "xapp-") {
      // (?i)xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+
      guard parts.count == 5, parts[1].count == 1, all(parts[1], isDigit), !parts[2].isEmpty,
        all(parts[2], isAlphanumeric), !parts[3].isEmpty, all(parts[3], isDigit), !parts[4].isEmpty,
        all(parts[4], isAlphanumeric)
      else { return nil }
      return make("app-token", "xapp-", ["app-level token (Socket Mode, connections)"])
    }
    if hasPrefix(b, "xoxo-") || hasPrefix(b, "xoxs-") {
      // xox[os]-\d+-\d+-\d+-[a-fA-F\d]+
      guard parts.count == 5, parts[1...3].allSatisfy({ !$0.isEmpty && all($0, isDigit) }), !parts[4].isEmpty,
        all(parts[4], isHexDigit)
      else { return nil }
      return make("legacy-token", String(decoding: b[0..<5], as: UTF8.self), ["legacy token format"])
    }
    if hasPrefix(b, "xoxa-") || hasPrefix(b, "xoxr-") {
      // xox[ar]-(?:\d-)?[0-9a-zA-Z]{8,48}
      var body = b[5...]
      if body.count >= 2, isDigit(body[body.startIndex]), body[body.startIndex + 1] == UInt8(ascii: "-") {
        body = body.dropFirst(2)
      }
      guard (8...48).contains(body.count), all(body, isAlphanumeric) else { return nil }
      let isRefresh = b[3] == UInt8(ascii: "r")
      return make(
        isRefresh ? "legacy-workspace-refresh-token" : "legacy-workspace-token", isRefresh ? "xoxr-" : "xoxa-",
        ["legacy workspace app token format"])
    }
    return nil
  }

  // MARK: - OpenAI, SendGrid

  /// `sk-proj-`, `sk-svcacct-`, `sk-admin-` (checked before Stripe and legacy `sk-`), then the
  /// legacy `sk-` + 20 + `T3BlbkFJ` + 20 user key.
  private static func openAI(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
    let marker = Array("T3BlbkFJ".utf8)
    let scoped: [(prefix: String, kind: String, revocable: String)] = [
      ("sk-proj-", "project-key", "DELETE /v1/organization/projects/{project_id}/api_keys/{key_id} with an admin key"),
      (
        "sk-svcacct-", "service-account-key",
        "DELETE /v1/organization/projects/{project_id}/api_keys/{key_id} with an admin key"
      ),
      ("sk-admin-", "admin-key", "DELETE /v1/organization/admin_api_keys/{key_id} with another admin key"),
    ]
    for (prefix, kind, revocable) in scoped where hasPrefix(b, prefix) {
      let body = b[prefix.utf8.count...]
      guard (40...400).contains(body.count), all(body, isWordOrDash) else { return nil }
      var notes = ["find its key id by listing keys and comparing redacted_value"]
      if !contains(body, marker) { notes.append("no T3BlbkFJ marker, which current OpenAI keys carry") }
      return identity(key, provider: "openai", kind: kind, prefix: prefix, revocableVia: revocable, notes: notes)
    }
    if b.count == 3 + 20 + 8 + 20, hasPrefix(b, "sk-"), b[23..<31].elementsEqual(marker),
      all(b[3..<23], isAlphanumeric),
      all(b[31...], isAlphanumeric)
    {
      return identity(
        key, provider: "openai", kind: "user-key", prefix: "sk-",
        revocableVia: "delete it at platform.openai.com/api-keys", notes: ["legacy user key format"])
    }
    return nil
  }

  /// `SG.` + 66 characters; usually `SG.<22-character key id>.<43-character secret>`.
  private static func sendGrid(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
    guard b.count == 69, hasPrefix(b, "SG."),
      all(b[3...], { isWordOrDash($0) || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ".") })
    else { return nil }
    var keyID: String?
    var notes: [String] = []
    if b[25] == UInt8(ascii: "."), all(b[3..<25], isWordOrDash), all(b[26...], isWordOrDash) {
      keyID = String(decoding: b[3..<25], as: UTF8.self)
    } else {
      notes.append("not the usual SG.<key id>.<secret> shape: find the key id by listing keys")
    }
    return identity(
      key, provider: "sendgrid", kind: "api-key", prefix: "SG.", keyID: keyID,
      revocableVia: "DELETE /v3/api_keys/{api_key_id}", notes: notes)
  }

  // MARK: - Vault / OpenBao

  /// Vault and OpenBao token prefixes: kind, body length, whether `_`/`-` may occur, note.
  private static let vaultFormats:
    [(prefix: String, kind: String, lengths: ClosedRange<Int>, word: Bool, note: String)] = [
      ("hvs.", "service-token", 90...300, true, "Vault 1.10+ token format"),
      ("hvb.", "batch-token", 138...300, true, "Vault 1.10+ token format"),
      ("hvr.", "recovery-token", 20...300, true, "Vault 1.10+ token format"),
      ("s.", "service-token", 24...300, false, "OpenBao or Vault before 1.10 token format"),
      // Batch tokens are an encrypted blob in unpadded base64url, so `_` and `-` occur (OpenBao 2.x
      // issues `b.` + 166 such characters).
      ("b.", "batch-token", 24...300, true, "OpenBao or Vault before 1.10 token format"),
      ("r.", "recovery-token", 24...300, false, "OpenBao or Vault before 1.10 token format"),
    ]

  /// Vault (`hvs.`/`hvb.`/`hvr.`) and OpenBao or older Vault (`s.`/`r.` + base62, `b.` + base64url) tokens.
  private static func vault(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
    let revokeService = "POST /v1/auth/token/revoke (or revoke-self authenticated with the token)"
    for format in vaultFormats where hasPrefix(b, format.prefix) {
      let body = b[format.prefix.utf8.count...]
      guard format.lengths.contains(body.count), all(body, format.word ? isWordOrDash : isAlphanumeric) else {
        return nil
      }
      let revocable: String
      switch format.kind {
      case "batch-token": revocable = "cannot be revoked: revoke its parent token or wait for its TTL"
      case "recovery-token": revocable = "valid only in recovery mode: take the server out of recovery mode"
      default: revocable = revokeService
      }
      return identity(
        key, provider: "vault", kind: format.kind, prefix: format.prefix, revocableVia: revocable,
        notes: [format.note])
    }
    return nil
  }

  // MARK: - Google service accounts

  /// A Google Cloud service-account key file (JSON with `"type": "service_account"`): its
  /// `private_key_id` names the key in the console's Keys list and is not secret; the private key
  /// inside is. Longer than any token, so it is checked before the length bound, under its own.
  private static func googleServiceAccount(_ key: String) -> KeyIdentity? {
    guard key.hasPrefix("{"), key.utf8.count <= 16 * 1024, let json = Value.parseJSON(key),
      json["type"]?.stringValue == "service_account", let keyID = json["private_key_id"]?.stringValue,
      !keyID.isEmpty, keyID.utf8.allSatisfy({ isAlphanumeric($0) }),
      let email = json["client_email"]?.stringValue, json["private_key"]?.stringValue != nil
    else { return nil }
    var identity = KeyIdentity(
      provider: "google", kind: "service-account-key", keyID: keyID, fingerprint: Masker.fingerprint(key),
      checksumValid: nil, display: "\(email) key \(keyID)", secret: true,
      revocableVia:
        "delete the key in IAM & Admin > Service accounts > Keys (or gcloud iam service-accounts keys delete)",
      notes: ["service account \(email)" + (json["project_id"]?.stringValue.map { " in project \($0)" } ?? "")])
    identity.manual = ManualPlaybooks.googleServiceAccount(
      email: email, keyID: keyID, project: json["project_id"]?.stringValue)
    return identity
  }

  /// GitHub's (and npm's) token checksum: the last 6 characters are the CRC32 (IEEE, as zlib) of
  /// the 30 characters before them, base62-encoded (`0-9A-Za-z`) and left-padded with zeros.
  package static func checksumMatches(_ body: ArraySlice<UInt8>) -> Bool {
    guard body.count == 36, let encoded = base62Decode(body.suffix(6)) else { return false }
    return UInt64(crc32(body.prefix(30))) == encoded
  }

  /// Decodes a big-endian base62 number (`0-9A-Za-z`), or nil for another character.
  package static func base62Decode(_ digits: some Collection<UInt8>) -> UInt64? {
    var value: UInt64 = 0
    for d in digits {
      let digit: UInt64
      switch d {
      case 0x30...0x39: digit = UInt64(d - 0x30)
      case 0x41...0x5A: digit = UInt64(d - 0x41 + 10)
      case 0x61...0x7A: digit = UInt64(d - 0x61 + 36)
      default: return nil
      }
      let (m, o1) = value.multipliedReportingOverflow(by: 62)
      let (s, o2) = m.addingReportingOverflow(digit)
      if o1 || o2 { return nil }
      value = s
    }
    return value
  }

  private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  /// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`).
  package static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
  }

  // MARK: - Helpers

  /// Builds an identity with the fingerprint and the safe display form.
  private static func identity(
    _ key: String, provider: String, kind: String, prefix: String, keyID: String? = nil, checksumValid: Bool? = nil,
    secret: Bool = true, revocableVia: String, notes: [String] = []
  ) -> KeyIdentity {
    let fingerprint = Masker.fingerprint(key)
    return KeyIdentity(
      provider: provider, kind: kind, keyID: keyID, fingerprint: fingerprint, checksumValid: checksumValid,
      display: secret ? prefix + "…" + fingerprint : key, secret: secret, revocableVia: revocableVia, notes: notes)
  }

  private static func hasPrefix(_ b: some Collection<UInt8>, _ prefix: String) -> Bool {
    b.starts(with: prefix.utf8)
  }

  private static func contains(_ b: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
    guard b.count >= needle.count else { return false }
    var i = b.startIndex
    while i + needle.count <= b.endIndex {
      if b[i..<(i + needle.count)].elementsEqual(needle) { return true }
      i += 1
    }
    return false
  }

  private static func all(_ b: some Collection<UInt8>, _ predicate: (UInt8) -> Bool) -> Bool {
    b.allSatisfy(predicate)
  }

  private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
  private static func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
  private static func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
  private static func isAlphanumeric(_ c: UInt8) -> Bool { isDigit(c) || isUpper(c) || isLower(c) }
  private static func isWord(_ c: UInt8) -> Bool { isAlphanumeric(c) || c == UInt8(ascii: "_") }
  private static func isWordOrDash(_ c: UInt8) -> Bool { isWord(c) || c == UInt8(ascii: "-") }
  private static func isBase32(_ c: UInt8) -> Bool { isUpper(c) || (c >= 0x32 && c <= 0x37) }
  private static func isHexDigit(_ c: UInt8) -> Bool {
    isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
  }
}
