import RespondCore

/// The recognisers, one per provider family, that `KeyFormats.identify` tries in turn. Kept apart
/// from the table and helpers so a provider's format reads as one block.
extension KeyFormats {
  // MARK: - AWS

  /// `AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 base32 characters. The id is public: it names the key but
  /// does not authenticate without the secret access key.
  static func aws(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
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

  /// Public names the providers declare, which the masker leaves readable though they reach it
  /// as secrets (`KeyCatalogue.isReadable`): AWS region names.
  static let publicNames: [@Sendable (String) -> Bool] = [isAWSRegionName]

  /// Whether a value is an AWS region name (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`,
  /// `eusc-de-east-1`): a public name, not a credential. Every value of a Vault secret is
  /// registered, and a secret holding AWS keys very often holds the region too; masked, it would
  /// hide the region in every ARN, endpoint and audit event of the report. Only the real naming
  /// scheme passes (a known partition prefix, a compass direction, a number), so a pass phrase
  /// merely shaped like one (`prod-east-1`, `us-east-one`) is still masked.
  package static func isAWSRegionName(_ value: String) -> Bool {
    // The masker asks for every new credential: a 40-byte secret is turned away here, before
    // anything is split.
    guard (9...24).contains(value.utf8.count), let last = value.utf8.last, last >= 48 && last <= 57 else {
      return false
    }
    let parts = value.split(separator: "-", omittingEmptySubsequences: false)
    guard (3...4).contains(parts.count), let number = parts.last, (1...2).contains(number.count),
      number.allSatisfy({ $0 >= "0" && $0 <= "9" })
    else { return false }
    guard regionPrefixes.contains(parts[0]), regionDirections.contains(parts[parts.count - 2]) else { return false }
    return parts.count == 3 || regionQualifiers.contains(parts[1])
  }

  /// The parts of AWS region names: partition prefix, optional qualifier, compass direction.
  private static let regionPrefixes: Set<Substring> = [
    "us", "eu", "ap", "ca", "sa", "me", "af", "il", "mx", "cn", "eusc",
  ]
  private static let regionQualifiers: Set<Substring> = ["gov", "iso", "isob", "isoe", "isof", "de"]
  private static let regionDirections: Set<Substring> = [
    "north", "south", "east", "west", "central", "northeast", "northwest", "southeast", "southwest",
  ]

  // MARK: - GitHub

  /// `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` tokens (checksummed) and `github_pat_` fine-grained tokens.
  static func github(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
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
  static let gitLabPrefixes: [(prefix: String, kind: String)] = [
    ("gldt-", "deploy-token"), ("glrtr-", "runner-registration-token"), ("glrt-", "runner-token"),
    ("glptt-", "pipeline-trigger-token"), ("glft-", "feed-token"), ("glcbt-", "ci-job-token"),
    ("gloas-", "oauth-app-secret"), ("glsoat-", "service-account-token"), ("glagent-", "agent-token"),
    ("glimt-", "incoming-mail-token"), ("glffct-", "feature-flags-client-token"), ("glwt-", "workspace-token"),
  ]

  /// `glpat-` (legacy 20-character and routable forms), `GR1348941` and the other `gl…-` prefixes.
  static func gitlab(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
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
        revocableVia: kind == "runner-token"
          ? "POST /api/v4/runners/reset_authentication_token with the token itself (the old one dies at once)"
          : "revoke it in GitLab where it was created (settings of the user, project, group or runner)")
    }
    return nil
  }

  /// `[0-9a-zA-Z_-]{27,300}` + `.` + 9 lower-case base36 characters.
  static func isRoutableGitLab(_ body: ArraySlice<UInt8>) -> Bool {
    guard body.count >= 27 + 10, body.count <= 300 + 10 else { return false }
    let dot = body.endIndex - 10
    return body[dot] == UInt8(ascii: ".") && all(body[body.startIndex..<dot], isWordOrDash)
      && all(body[(dot + 1)...], { isDigit($0) || isLower($0) })
  }

  // MARK: - Slack

  /// `https://hooks.slack.com/services|workflows|triggers/…`: the URL itself is the secret.
  static func slackWebhook(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
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
  static func slack(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
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
  static func openAI(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
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
  static func sendGrid(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
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
  static let vaultFormats: [(prefix: String, kind: String, lengths: ClosedRange<Int>, word: Bool, note: String)] = [
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
  static func vault(_ key: String, _ b: [UInt8]) -> KeyIdentity? {
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
  static func googleServiceAccount(_ key: String) -> KeyIdentity? {
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

  static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
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
}
