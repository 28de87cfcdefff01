/// What a person must do by hand for a credential respond cannot revoke through an API: where to
/// click, exactly which entry to revoke, what to rotate and update. Part of the format knowledge,
/// so the runbook needs one manual step driven by `key.identify`'s outputs instead of a list of
/// providers that drifts from the formats respond knows.
package struct ManualPlaybook: Sendable, Equatable {
  /// Where to do it: the provider's console page, when there is one fixed address.
  package var consoleURL: String?
  /// The credential as the provider's own list shows it (Stripe: `sk_live_...` and the last four
  /// characters), so the person revokes exactly this entry; nil when the list shows nothing of it.
  package var listedAs: String?
  /// The steps in order, as one paragraph: find it, revoke it, rotate it, update its consumers.
  package var steps: String

  package init(consoleURL: String?, listedAs: String?, steps: String) {
    self.consoleURL = consoleURL
    self.listedAs = listedAs
    self.steps = steps
  }
}

/// The manual playbook of every format that has no revocation API respond can call. Pure: the
/// identity and the key in, the playbook out; nil means the runbook contains the credential itself.
package enum ManualPlaybooks {
  /// Said after every provider playbook: a manual containment counts only once a person says so.
  static let confirmHint =
    "Once it is revoked, record it with `respond confirm` (the follow-up below gives the command)."

  /// The playbook for a recognised credential, or nil when respond can contain it through an API.
  package static func playbook(for identity: KeyIdentity, key: String) -> ManualPlaybook? {
    let last4 = String(key.suffix(4))
    switch (identity.provider, identity.kind) {
    case ("aws", "service-bearer-token"):
      return ManualPlaybook(
        consoleURL: "https://console.aws.amazon.com/iam/home#/roles",
        listedAs: identity.keyID,
        steps: "An STS service bearer token cannot be deactivated. In the IAM console, on the role or user that "
          + "obtained it, use \"Revoke active sessions\" (a deny policy for sessions issued before now); it expires "
          + "within 12 hours. Then rotate every secret it could read. " + confirmHint)
    case ("aws", "context-credential"):
      return ManualPlaybook(
        consoleURL: "https://console.aws.amazon.com/",
        listedAs: identity.keyID,
        steps: "A context-specific AWS credential is revoked at the AWS service that issued it: find that service "
          + "from CloudTrail events with this key id, revoke the credential there, and rotate what it protected. "
          + confirmHint)
    case ("slack", "webhook-url"):
      let listed = slackWebhookListed(key)
      return ManualPlaybook(
        consoleURL: "https://api.slack.com/apps",
        listedAs: listed,
        steps: "Incoming-webhook URLs cannot be revoked through the API. Open the Slack app that owns the webhook "
          + "(Your Apps), then Incoming Webhooks, find the webhook whose URL starts `\(listed)`, remove it and add "
          + "a new one, then update every service that posts to it. " + confirmHint)
    case ("openai", _):
      return ManualPlaybook(
        consoleURL: "https://platform.openai.com/api-keys",
        listedAs: "…" + last4,
        steps: "OpenAI keys cannot be revoked through a public API without an admin key. Open the OpenAI platform, "
          + "Settings > Project > API keys (service-account and admin keys: Settings > Organization > Admin keys), "
          + "find the key whose redacted value ends in `\(last4)` and revoke it; then issue a replacement and put "
          + "it in every service that used the old one. " + confirmHint)
    // Runner tokens reset themselves (POST /runners/reset_authentication_token): the runbook's own.
    case ("gitlab", let kind) where kind != "personal-access-token" && kind != "runner-token":
      return gitlab(kind)
    case ("sendgrid", _) where identity.keyID == nil:
      return ManualPlaybook(
        consoleURL: "https://app.sendgrid.com/settings/api_keys",
        listedAs: nil,
        steps: "This SendGrid key does not carry its key id, and SendGrid lists keys by name only. In Settings > "
          + "API Keys delete the key that the leaking service used (its name usually says which), create a "
          + "replacement with the same permissions and update every service that sent mail with it. " + confirmHint)
    case ("vault", "recovery-token"):
      return ManualPlaybook(
        consoleURL: nil,
        listedAs: nil,
        steps: "A Vault/OpenBao recovery token is valid only while the server runs in recovery mode: take the "
          + "server out of recovery mode (restart it normally), and generate a new recovery token only when "
          + "it is needed again. " + confirmHint)
    default:
      return nil
    }
  }

  /// A Google Cloud service-account key: deleted by its key id in the service account's Keys tab.
  package static func googleServiceAccount(email: String, keyID: String, project: String?) -> ManualPlaybook {
    let console = "https://console.cloud.google.com/iam-admin/serviceaccounts"
    let ofProject = project.map { " of project `\($0)`" } ?? ""
    return ManualPlaybook(
      consoleURL: console + (project.map { "?project=\($0)" } ?? ""),
      listedAs: keyID,
      steps: "In the Google Cloud console open IAM & Admin > Service accounts\(ofProject), "
        + "select `\(email)`, open Keys and delete the key whose ID is `\(keyID)` (or `gcloud iam service-accounts "
        + "keys delete \(keyID) --iam-account \(email)`). Create a new key only if nothing keyless (workload "
        + "identity) can replace it, put it in every service that used the old one, and check what the service "
        + "account did in Cloud Audit Logs. " + confirmHint)
  }

  /// The generic playbook of an opaque secret: a format respond does not know, so nothing tells it
  /// who issued the secret, and the person must find the issuer before revoking it.
  package static func opaque(fingerprint: String) -> ManualPlaybook {
    ManualPlaybook(
      consoleURL: nil,
      listedAs: nil,
      steps: "respond does not recognise this credential's format (fingerprint \(fingerprint)), so it cannot "
        + "tell who issued it or revoke it. 1. Find where it is used: the file, chat or log that exposed it, CI/CD "
        + "variables, config files and secret stores; the setting's name or its neighbours name the issuer. "
        + "2. Revoke or roll it at the issuer now, in the issuer's console or CLI (delete it rather than disable "
        + "it where the issuer allows). 3. Rotate: create a replacement and put it in every service and secret "
        + "store that used the old one, and check they still work. 4. Search the issuer's audit log for what it "
        + "did. " + confirmHint)
  }

  /// A Slack webhook URL up to its secret last segment (`.../services/T0123/B0456/`): the team and
  /// hook ids the app's Incoming Webhooks page shows; the last segment alone authenticates.
  static func slackWebhookListed(_ key: String) -> String {
    guard let slash = key.lastIndex(of: "/") else { return "https://hooks.slack.com/" }
    var head = String(key[...slash])
    if !head.hasPrefix("http") { head = "https://" + head }
    return head
  }

  /// GitLab tokens other than personal/project/group access tokens: revoked where they were made.
  static func gitlab(_ kind: String) -> ManualPlaybook {
    let whereAndHow: String
    var page: String?
    switch kind {
    case "runner-registration-token":
      whereAndHow =
        "This is a runner registration token. In GitLab open the project or group, Settings > CI/CD > Runners, "
        + "and reset the registration token (instance: Admin area > CI/CD > Runners); check the runners list for "
        + "runners you do not know and delete them."
      page = "ci_cd"
    case "deploy-token":
      whereAndHow =
        "This is a deploy token. In GitLab open the project or group, Settings > Repository > Deploy tokens, "
        + "revoke it, create a replacement and update every deployment that pulled with it."
      page = "repository"
    case "pipeline-trigger-token":
      whereAndHow =
        "This is a pipeline trigger token. In GitLab open the project, Settings > CI/CD > Pipeline trigger "
        + "tokens, revoke it, create a replacement and update every system that triggers pipelines with it."
      page = "ci_cd"
    case "feed-token":
      whereAndHow = "This is a feed token. In GitLab open User settings > Access tokens and reset the feed token."
    case "ci-job-token":
      whereAndHow =
        "This is a CI/CD job token: it dies when its job ends. Cancel the job if it is still running, and check "
        + "what the job's token could reach (Settings > CI/CD > Job token permissions)."
    case "oauth-app-secret":
      whereAndHow =
        "This is an OAuth application secret. In GitLab open the application (User settings, group settings or "
        + "Admin area > Applications), renew its secret and update the application that uses it."
    default:
      whereAndHow =
        "In GitLab, revoke it where it was created (the settings of the user, project, group, runner or agent "
        + "that owns it), create a replacement and update every place that used it."
    }
    // The page is per project or group; a self-managed GitLab has its own address.
    return ManualPlaybook(
      consoleURL: page.map { "https://gitlab.com/{group-or-project}/-/settings/\($0)" }, listedAs: nil,
      steps: whereAndHow + " (On a self-managed GitLab, use its address.) " + confirmHint)
  }
}
