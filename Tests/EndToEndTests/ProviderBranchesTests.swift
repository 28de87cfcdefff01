import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// The recording receiver (Tests/Support/receiver.py) as a stand-in for GitHub, GitLab, Slack and
/// SendGrid: each test scripts answers under its own path prefix, so tests never see each other's
/// requests, and reads back exactly what respond sent.
private struct Receiver {
  let url: String

  /// A fresh prefix such as `/github-1a2b3c4d`, so a test's paths are its own. Under a GitHub
  /// or SendGrid prefix the receiver checks every request, and every answer scripted, against
  /// that provider's own OpenAPI description (Tests/Support/openapi).
  func prefix(_ name: String) throws -> String {
    let prefix = "/\(name)-\(UUID().uuidString.prefix(8).lowercased())"
    if let spec = ["github": "github.json", "sendgrid": "sendgrid.json"][name] {
      _ = try runProgram(
        "/usr/bin/curl",
        [
          "-sS", "--fail", "-X", "POST", "--data-binary",
          Value.object(["prefix": .string(prefix), "spec": .string(spec)]).jsonString(), url + "/_control/contract",
        ])
    }
    return prefix
  }

  /// Answers for `path` in order (any method), then `fallback` (or 200 "ok") once they run out.
  func script(_ path: String, _ responses: [Value], fallback: Value? = nil) throws {
    var spec: [String: Value] = ["path": .string(path), "responses": .array(responses)]
    if let fallback { spec["default"] = fallback }
    _ = try runProgram(
      "/usr/bin/curl",
      [
        "-sS", "--fail", "-X", "POST", "--data-binary", Value.object(spec).jsonString(),
        url + "/_control/script",
      ])
  }

  /// Requests recorded for exactly `path`, oldest first.
  func requests(_ path: String) throws -> [Value] {
    let query = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path
    let out = try runProgram("/usr/bin/curl", ["-sS", "--fail", url + "/_control/requests?path=" + query])
    return Value.parseJSON(out)?.arrayValue ?? []
  }

  /// Every request recorded under `prefix`.
  func requests(under prefix: String) throws -> [Value] {
    let out = try runProgram("/usr/bin/curl", ["-sS", "--fail", url + "/_control/requests"])
    return (Value.parseJSON(out)?.arrayValue ?? []).filter { ($0["path"]?.stringValue ?? "").hasPrefix(prefix + "/") }
  }
}

/// An answer for the receiver to give.
private func answer(_ status: Int, _ body: Value = "", headers: [String: String] = [:]) -> Value {
  .object(["status": .number(Double(status)), "body": body, "headers": .object(headers.mapValues { .string($0) })])
}

/// A random string of ASCII letters and digits.
private func alphanumerics(_ count: Int) -> String {
  let chars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
  return String((0..<count).map { _ in chars.randomElement()! })
}

/// A random string of digits (no leading zero).
private func digits(_ count: Int) -> String {
  String(Int.random(in: 1...9)) + String((1..<count).map { _ in Character(String(Int.random(in: 0...9))) })
}

/// `respond key-compromised` (and `vault-token-compromised`, `drill`, `plan`) on every non-AWS
/// branch, run as the built executable with an explicit environment and no stdin. Providers are
/// the recording receiver (GitHub, GitLab, Slack, SendGrid: their base URLs point at it) or the
/// real OpenBao dev server, checked afterwards with its own CLI. Nothing leaves 127.0.0.1.
@Suite(.serialized) struct ProviderBranchesTests {
  let services: TestServices
  fileprivate let receiver: Receiver
  let out = NSTemporaryDirectory() + "respond-providers-" + UUID().uuidString
  let home = NSTemporaryDirectory() + "respond-providers-home-" + UUID().uuidString
  let runbooks = TestServices.repositoryRoot() + "/Runbooks"

  init() throws {
    services = try TestServices.load()
    receiver = Receiver(url: services.receiverURL)
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
  }

  // MARK: - Helpers

  /// Runs `respond <args> --runbooks <repo>/Runbooks --out <tmp>` with exactly `environment` (+ HOME).
  func respond(_ args: [String], _ environment: [String: String]) throws -> ProcessOutcome {
    var env = environment
    env["HOME"] = env["HOME"] ?? home
    return try runRespond(args + ["--runbooks", runbooks, "--out", out], environment: env)
  }

  func incidentDirectory(_ o: ProcessOutcome) -> String { (o.lastLine as NSString).deletingLastPathComponent }

  func report(_ o: ProcessOutcome) throws -> String { try String(contentsOfFile: o.lastLine, encoding: .utf8) }

  func state(_ o: ProcessOutcome) throws -> IncidentState {
    try IncidentState.load(journal: incidentDirectory(o) + "/journal.jsonl")
  }

  /// Secrets that must appear in no output and no file of the incident.
  func assertNoSecrets(
    _ secrets: [String], in o: ProcessOutcome, sourceLocation: Testing.SourceLocation = #_sourceLocation
  ) {
    let files = allFileContents(under: incidentDirectory(o))
    #expect(files.count >= 3, "journal and reports exist", sourceLocation: sourceLocation)
    for (i, s) in secrets.enumerated() where !s.isEmpty {
      #expect(!o.stdout.contains(s), "secret #\(i) in stdout", sourceLocation: sourceLocation)
      #expect(!o.stderr.contains(s), "secret #\(i) in stderr", sourceLocation: sourceLocation)
      for (path, text) in files {
        #expect(!text.contains(s), "secret #\(i) in \(path)", sourceLocation: sourceLocation)
      }
    }
  }

  func outcome(_ o: ProcessOutcome, _ step: String) throws -> StepOutcome? { try state(o).steps[step]?.outcome }

  func header(_ request: Value, _ name: String) -> String? {
    request["headers"]?.objectValue?.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value.stringValue
  }

  func githubToken() -> String { "ghp_" + alphanumerics(36) }

  /// Scripts GitHub: `/user` answers `user` (then `userAfter` forever), `/credentials/revoke` answers `revoke`.
  func scriptGitHub(_ base: String, user: [Value], userAfter: Value, revoke: [Value]) throws {
    try receiver.script(base + "/user", user, fallback: userAfter)
    try receiver.script(base + "/credentials/revoke", revoke)
  }

  /// GitHub's own example user (a public-user, every field its description requires).
  static let octocat: Value = [
    "login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "user_view_type": "public",
    "avatar_url": "https://github.com/images/error/octocat_happy.gif", "gravatar_id": "",
    "url": "https://api.github.com/users/octocat", "html_url": "https://github.com/octocat",
    "followers_url": "https://api.github.com/users/octocat/followers",
    "following_url": "https://api.github.com/users/octocat/following{/other_user}",
    "gists_url": "https://api.github.com/users/octocat/gists{/gist_id}",
    "starred_url": "https://api.github.com/users/octocat/starred{/owner}{/repo}",
    "subscriptions_url": "https://api.github.com/users/octocat/subscriptions",
    "organizations_url": "https://api.github.com/users/octocat/orgs",
    "repos_url": "https://api.github.com/users/octocat/repos",
    "events_url": "https://api.github.com/users/octocat/events{/privacy}",
    "received_events_url": "https://api.github.com/users/octocat/received_events", "type": "User",
    "site_admin": false, "name": "monalisa octocat", "company": "GitHub", "blog": "https://github.com/blog",
    "location": "San Francisco", "email": "octocat@github.com", "hireable": false, "bio": "There once was...",
    "public_repos": 2, "public_gists": 1, "followers": 20, "following": 0, "created_at": "2008-01-14T04:33:35Z",
    "updated_at": "2008-01-14T04:33:35Z",
  ]
  static let badCredentials: Value = [
    "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
  ]

  // MARK: - GitHub

  @Test func githubTokenIsRevokedAndCheckedDead() throws {
    let base = try receiver.prefix("github")
    let token = githubToken()
    try scriptGitHub(
      base, user: [answer(200, Self.octocat)], userAfter: answer(401, Self.badCredentials),
      revoke: [answer(202, ["message": "Accepted"])])
    let o = try respond(["key-compromised", "--key", token, "--yes"], ["GITHUB_API_URL": services.receiverURL + base])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let text = try report(o)
    #expect(text.contains("LIVE: CONTAINED"))
    #expect(text.contains("| Owner | octocat |"), "the GitHub part provides the owner")
    #expect(!text.contains("Audit events (Vault)"), "Vault's fact is not a GitHub run's, not even as n/a")
    #expect(text.contains("| Provider | github (classic-pat) |"))
    for step in ["github-before", "github-revoke", "github-after", "github-dead"] {
      #expect(try outcome(o, step) == .succeeded, "\(step)")
    }
    #expect(try outcome(o, "github-installation-revoke") == .skippedCondition)

    // The revocation API got the token in its body, unauthenticated (GitHub answers 403 to
    // authenticated calls); the checks presented the token itself.
    let revoke = try receiver.requests(base + "/credentials/revoke")
    #expect(revoke.count == 1)
    let sent = try #require(revoke.first)
    #expect(sent["method"] == "POST")
    #expect(Value.parseJSON(sent["body"]?.stringValue ?? "") == ["credentials": .array([.string(token)])])
    #expect(header(sent, "Authorization") == nil)
    #expect(header(sent, "X-GitHub-Api-Version") == "2022-11-28")
    let checks = try receiver.requests(base + "/user")
    #expect(checks.count == 2)
    #expect(checks.allSatisfy { header($0, "Authorization") == "Bearer \(token)" })
    assertNoSecrets([token], in: o)
  }

  @Test func githubTokenThatStillWorksAfterRevocationLeavesAFollowUp() throws {
    let base = try receiver.prefix("github")
    let token = githubToken()
    try scriptGitHub(
      base, user: [], userAfter: answer(200, Self.octocat), revoke: [answer(202, ["message": "Accepted"])])
    let o = try respond(["key-compromised", "--key", token, "--yes"], ["GITHUB_API_URL": services.receiverURL + base])
    #expect(o.status == 4, "accepted but still working: not contained; stderr: \(o.stderr)")
    #expect(try outcome(o, "github-revoke") == .succeeded)
    #expect(try outcome(o, "github-dead") == .failed)
    let text = try report(o)
    #expect(text.contains("LIVE: NOT CONTAINED: verification `github-dead` failed"), "accepted (202) is not dead")
    #expect(!text.contains("LIVE: CONTAINED"))
    #expect(
      text.contains("- [ ] Step `github-dead` (check) failed and the run continued: GitHub accepted the revocation"))
    #expect(text.contains("revoke it at github.com/settings/tokens if it still works"))
    assertNoSecrets([token], in: o)
  }

  @Test func aFailingGitHubPreCheckDoesNotHoldBackTheRevocation() throws {
    // GET /user is only informational (the owner's login); the revocation needs nothing from it.
    let base = try receiver.prefix("github")
    let token = githubToken()
    let down = answer(500, ["message": "Server Error"])
    try scriptGitHub(
      base, user: [down, down, down], userAfter: answer(401, Self.badCredentials),
      revoke: [answer(202, ["message": "Accepted"])])
    let o = try respond(["key-compromised", "--key", token, "--yes"], ["GITHUB_API_URL": services.receiverURL + base])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(try outcome(o, "github-before") == .failed)
    #expect(try outcome(o, "github-revoke") == .succeeded)
    #expect(try outcome(o, "github-dead") == .succeeded)
    #expect(try receiver.requests(base + "/credentials/revoke").count == 1)
    let text = try report(o)
    #expect(text.contains("LIVE: CONTAINED"))
    #expect(text.contains("- [ ] Step `github-before` (github.token.check) failed and the run continued"))
  }

  @Test func githubRevocationAnswering429IsRetriedAfterRetryAfter() throws {
    let base = try receiver.prefix("github")
    let token = githubToken()
    try scriptGitHub(
      base, user: [answer(200, Self.octocat)], userAfter: answer(401, Self.badCredentials),
      revoke: [
        answer(429, ["message": "too many requests"], headers: ["Retry-After": "1"]),
        answer(202, ["message": "Accepted"]),
      ])
    let o = try respond(["key-compromised", "--key", token, "--yes"], ["GITHUB_API_URL": services.receiverURL + base])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("attempt 1 of github-revoke failed"))
    #expect(o.stderr.contains("retrying in 1"))
    let revoke = try receiver.requests(base + "/credentials/revoke")
    #expect(revoke.count == 2)
    if revoke.count == 2, let t0 = revoke[0]["time"]?.numberValue, let t1 = revoke[1]["time"]?.numberValue {
      #expect(t1 - t0 >= 0.95, "Retry-After: 1 was honoured (waited \(t1 - t0) s)")
    }
    #expect(try state(o).steps["github-revoke"]?.attempts == 2)
    #expect(try outcome(o, "github-revoke") == .succeeded)
    #expect(try report(o).contains("LIVE: CONTAINED"))
    assertNoSecrets([token], in: o)
  }

  @Test func githubPrimaryRateLimitAs403WaitsForTheReset() throws {
    // GitHub's exhausted primary limit: 403 with x-ratelimit-remaining 0 and the reset as epoch seconds.
    let base = try receiver.prefix("github")
    let token = githubToken()
    let reset = Int(Date().timeIntervalSince1970) + 2
    let limited = answer(
      403, ["message": "API rate limit exceeded for 127.0.0.1."],
      headers: [
        "x-ratelimit-limit": "60", "x-ratelimit-remaining": "0", "x-ratelimit-used": "60",
        "x-ratelimit-reset": String(reset),
      ])
    try scriptGitHub(
      base, user: [answer(200, Self.octocat)], userAfter: answer(401, Self.badCredentials),
      revoke: [limited, answer(202, ["message": "Accepted"])])
    let o = try respond(["key-compromised", "--key", token, "--yes"], ["GITHUB_API_URL": services.receiverURL + base])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let revoke = try receiver.requests(base + "/credentials/revoke")
    #expect(revoke.count == 2)
    if let t1 = revoke.last?["time"]?.numberValue {
      #expect(t1 >= Double(reset) - 1.05, "the retry waited for the reset (sent at \(t1), reset \(reset))")
    }
    #expect(try outcome(o, "github-revoke") == .succeeded)
  }

  // MARK: - GitLab

  static let gitlabSelf: Value = [
    "id": 42, "name": "ci", "user_id": 7, "scopes": ["api"], "active": true, "revoked": false,
    "expires_at": "2027-01-01", "last_used_at": "2026-11-20T10:00:00Z",
  ]

  func gitlabToken() -> String { "glpat-" + alphanumerics(20) }

  @Test func gitlabTokenIsRevokedWithItselfWithoutGitLabToken() throws {
    let base = try receiver.prefix("gitlab")
    let token = gitlabToken()
    let selfPath = base + "/api/v4/personal_access_tokens/self"
    try receiver.script(
      selfPath, [answer(200, Self.gitlabSelf), answer(204)], fallback: answer(401, ["message": "401 Unauthorized"]))
    let o = try respond(["key-compromised", "--key", token, "--yes"], ["GITLAB_URL": services.receiverURL + base])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(try outcome(o, "gitlab-self") == .succeeded)
    #expect(try outcome(o, "gitlab-revoke") == .succeeded)
    #expect(try outcome(o, "gitlab-rotate") == .skippedCondition)
    let sent = try receiver.requests(selfPath)
    // Looked up, revoked, looked up again to prove it dead.
    #expect(sent.map { $0["method"]?.stringValue ?? "" } == ["GET", "DELETE", "GET"])
    #expect(sent.allSatisfy { header($0, "PRIVATE-TOKEN") == token })
    #expect(try receiver.requests(under: base).count == 3, "nothing else was sent")
    #expect(try outcome(o, "gitlab-dead") == .succeeded)
    let text = try report(o)
    #expect(text.contains("LIVE: CONTAINED"))
    #expect(try state(o).steps["gitlab-self"]?.outputs["id"] == 42)
    assertNoSecrets([token], in: o)
  }

  @Test func gitlabTokenIsRotatedByIDWithGitLabToken() throws {
    let base = try receiver.prefix("gitlab")
    let token = gitlabToken()
    let admin = "glpat-" + alphanumerics(20)
    let minted = "glpat-" + alphanumerics(20)
    let selfPath = base + "/api/v4/personal_access_tokens/self"
    let rotatePath = base + "/api/v4/personal_access_tokens/42/rotate"
    try receiver.script(
      selfPath, [answer(200, Self.gitlabSelf)], fallback: answer(401, ["message": "401 Unauthorized"]))
    try receiver.script(
      rotatePath,
      [
        answer(
          200,
          [
            "id": 43, "name": "ci", "user_id": 7, "scopes": ["api"], "active": true, "revoked": false,
            "token": .string(minted), "expires_at": "2026-12-01",
          ])
      ])
    let o = try respond(
      ["key-compromised", "--key", token, "--yes"],
      ["GITLAB_URL": services.receiverURL + base, "GITLAB_TOKEN": admin])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(try outcome(o, "gitlab-rotate") == .succeeded)
    #expect(try outcome(o, "gitlab-revoke") == .skippedCondition)
    let rotations = try receiver.requests(rotatePath)
    #expect(rotations.count == 1, "a rotation is sent exactly once")
    #expect(rotations.first?["method"] == "POST")
    #expect(
      rotations.first.map { header($0, "PRIVATE-TOKEN") } == admin, "rotated with GITLAB_TOKEN, never the leaked token")
    #expect(
      try receiver.requests(selfPath).map { $0["method"]?.stringValue ?? "" } == ["GET", "GET"],
      "no DELETE with the leaked token; the second GET proves it dead")
    #expect(try outcome(o, "gitlab-dead") == .succeeded)
    let steps = try state(o).steps
    #expect(steps["gitlab-rotate"]?.outputs["new-id"] == 43)
    #expect(steps["gitlab-rotate"]?.secretOutputs == ["token"])
    #expect(try report(o).contains("LIVE: CONTAINED"))
    assertNoSecrets([token, admin, minted], in: o)
  }

  @Test func aGitLabRotationThatFailsIsNotRetried() throws {
    // Rotating twice revokes the new token too (GitLab's reuse detection): never retry blindly.
    let base = try receiver.prefix("gitlab")
    let token = gitlabToken()
    let admin = "glpat-" + alphanumerics(20)
    let rotatePath = base + "/api/v4/personal_access_tokens/42/rotate"
    try receiver.script(base + "/api/v4/personal_access_tokens/self", [answer(200, Self.gitlabSelf)])
    try receiver.script(
      rotatePath, [answer(502, "Bad Gateway")],
      fallback: answer(200, ["id": 44, "token": "glpat-should-never-be-minted"]))
    let o = try respond(
      ["key-compromised", "--key", token, "--yes"],
      ["GITLAB_URL": services.receiverURL + base, "GITLAB_TOKEN": admin])
    #expect(o.status == 1, "stderr: \(o.stderr)")
    #expect(try receiver.requests(rotatePath).count == 1)
    let st = try state(o)
    #expect(st.stoppedAt == "gitlab-rotate")
    #expect(try report(o).contains("LIVE: NOT CONTAINED"))
    assertNoSecrets([token, admin], in: o)
  }

  // MARK: - Slack

  func slackToken() -> String { "xoxb-" + digits(12) + "-" + digits(13) + "-" + alphanumerics(24) }

  @Test(arguments: [
    ["ok": true, "revoked": true] as Value,
    ["ok": false, "error": "token_revoked"] as Value,  // dead already: still revoked
  ])
  func slackTokenIsRevokedWithItself(_ answerBody: Value) throws {
    let base = try receiver.prefix("slack")
    let token = slackToken()
    try receiver.script(base + "/auth.revoke", [answer(200, answerBody, headers: ["Content-Type": "application/json"])])
    let o = try respond(["key-compromised", "--key", token, "--yes"], ["SLACK_API_URL": services.receiverURL + base])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(try outcome(o, "slack-revoke") == .succeeded)
    #expect(try outcome(o, "slack-dead") == .succeeded)
    let sent = try receiver.requests(base + "/auth.revoke")
    #expect(sent.count == 1)
    #expect(sent.first?["method"] == "POST")
    #expect(sent.first.map { header($0, "Authorization") } == "Bearer \(token)")
    let text = try report(o)
    #expect(text.contains("LIVE: CONTAINED"))
    #expect(text.contains("Slack confirmed the token is revoked"))
    assertNoSecrets([token], in: o)
  }

  @Test func slackRevocationThatIsRefusedFailsTheRun() throws {
    let base = try receiver.prefix("slack")
    let token = slackToken()
    try receiver.script(base + "/auth.revoke", [answer(200, ["ok": false, "error": "not_allowed_token_type"])])
    let o = try respond(["key-compromised", "--key", token, "--yes"], ["SLACK_API_URL": services.receiverURL + base])
    #expect(o.status == 1, "stderr: \(o.stderr)")
    #expect(try outcome(o, "slack-dead") == .failed)
    #expect(o.stderr.contains("revoke the token in the app's OAuth & Permissions page"))
    assertNoSecrets([token], in: o)
  }

  // MARK: - SendGrid

  func sendgridKey() -> (key: String, id: String) {
    let id = alphanumerics(22)
    return ("SG." + id + "." + alphanumerics(43), id)
  }

  @Test(arguments: [204, 404])  // 404: deleted already
  func sendgridKeyIsDeletedByID(_ status: Int) throws {
    let base = try receiver.prefix("sendgrid")
    let (key, id) = sendgridKey()
    let admin = sendgridKey().key
    let path = base + "/v3/api_keys/" + id
    // SendGrid's description types `field` as a string: an answer with `"field": null` is refused.
    let gone = answer(404, ["errors": [["message": "unable to find API Key"]]])
    try receiver.script(path, [status == 204 ? answer(204) : gone, gone])
    let o = try respond(
      ["key-compromised", "--key", key, "--yes"],
      ["SENDGRID_API_URL": services.receiverURL + base, "SENDGRID_API_KEY": admin])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(try outcome(o, "sendgrid-delete") == .succeeded)
    #expect(try outcome(o, "sendgrid-dead") == .succeeded)
    let sent = try receiver.requests(path)
    #expect(sent.map { $0["method"]?.stringValue ?? "" } == ["DELETE", "GET"], "deleted, then looked up to prove it")
    #expect(sent.first.map { header($0, "Authorization") } == "Bearer \(admin)")
    let text = try report(o)
    #expect(text.contains("LIVE: CONTAINED"))
    assertNoSecrets([key, admin], in: o)
  }

  // MARK: - Stripe and OpenAI (manual)

  @Test func stripeKeyGetsTheDashboardInstruction() throws {
    let key = "sk_live_" + alphanumerics(24)
    let last4 = String(key.suffix(4))
    let o = try respond(["key-compromised", "--key", key, "--yes"], [:])
    #expect(o.status == 4, "a manual containment nobody confirmed: stderr: \(o.stderr)")
    let text = try report(o)
    // The key as the Dashboard lists it (its last four characters), not "its last characters".
    #expect(
      text.contains(
        """
        - [ ] Open https://dashboard.stripe.com/apikeys. The console lists this credential as `sk_live_...\(last4)`. \
        Revoke: Stripe keys cannot be rolled through the public API. In the Stripe Dashboard open Developers > API \
        keys (a test mode key: with Test mode on), find the secret or restricted key listed as shown here, choose \
        "Roll key" and set the old key to expire "now". Rotate: The roll issues the replacement; a restricted key \
        keeps its permissions. Update: Put the new key in every service that used the old one
        """), "\(text)")
    #expect(text.contains("(https://dashboard.stripe.com/apikeys)"))
    #expect(text.contains("| Listed by the provider as | sk_live\\_...\(last4) |"))
    #expect(text.contains("LIVE: NOT CONTAINED"), "a manual step is not containment")
    #expect(text.contains("| Provider | stripe (secret-key) |"))
    assertNoSecrets([key], in: o)
  }

  @Test func openAIKeyGetsTheDashboardInstruction() throws {
    let key = "sk-proj-" + alphanumerics(74) + "T3BlbkFJ" + alphanumerics(74)
    let o = try respond(["key-compromised", "--key", key, "--yes"], [:])
    #expect(o.status == 4, "stderr: \(o.stderr)")
    let text = try report(o)
    #expect(
      text.contains(
        """
        - [ ] OpenAI keys cannot be revoked through a public API without an admin key. Open the OpenAI platform, \
        Settings > Project > API keys (service-account and admin keys: Settings > Organization > Admin keys), find the \
        key whose redacted value ends in `\(key.suffix(4))` and revoke it; then issue a replacement and put it in every \
        service that used the old one.
        """))
    #expect(text.contains("(https://platform.openai.com/api-keys)"))
    #expect(text.contains("LIVE: NOT CONTAINED"))
    assertNoSecrets([key], in: o)
  }

  /// A GitLab runner token (glrt-) resets itself; when GitLab refuses the reset (its rotation
  /// deadline passed) and still accepts the token, the run says so: NOT CONTAINED, exit 4, the
  /// failed check's instruction in the report, and no personal-access-token lookup.
  @Test func gitlabRunnerTokenGitLabStillAcceptsIsNotContained() throws {
    let base = try receiver.prefix("gitlab")
    let key = "glrt-" + alphanumerics(24)
    try receiver.script(
      base + "/api/v4/runners/reset_authentication_token",
      [answer(403, ["error": "Token rotation deadline has passed"])])
    try receiver.script(base + "/api/v4/runners/verify", [answer(200, ["id": 12345, "token_expires_at": .null])])
    let o = try respond(["key-compromised", "--key", key, "--yes"], ["GITLAB_URL": services.receiverURL + base])
    #expect(o.status == 4, "stderr: \(o.stderr)")
    #expect(try outcome(o, "gitlab-self") == .skippedCondition)
    #expect(try outcome(o, "gitlab-runner-reset") == .succeeded)
    #expect(try outcome(o, "gitlab-runner-dead") == .failed)
    #expect(try outcome(o, "gitlab-runner-config") == .skippedCondition)
    let text = try report(o)
    #expect(text.contains("GitLab still accepts the runner token; delete the runner"))
    #expect(text.contains("LIVE: NOT CONTAINED"))
    assertNoSecrets([key], in: o)
  }

  // MARK: - Vault / OpenBao (live)

  var rootEnvironment: [String: String] { ["VAULT_ADDR": services.baoAddr, "VAULT_TOKEN": services.baoToken] }

  /// A child token of the root token, used once (so the audit log has its requests).
  func leakedVaultToken(type: String = "service") throws -> String {
    let json = try runProgram(
      "/usr/bin/env", ["bao", "token", "create", "-format=json", "-type=\(type)", "-policy=default", "-ttl=1h"],
      environment: rootEnvironment)
    let token = try #require(Value.parseJSON(json)?.pointer("/auth/client_token")?.stringValue)
    recordTestSecret(token)
    _ = try runProgram(
      "/usr/bin/env", ["bao", "token", "lookup", "-format=json"],
      environment: ["VAULT_ADDR": services.baoAddr, "VAULT_TOKEN": token])
    return token
  }

  /// Whether the root token can still look the token up (`bao token lookup <token>`).
  func vaultKnows(_ token: String) -> Bool {
    (try? runProgram("/usr/bin/env", ["bao", "token", "lookup", "-format=json", token], environment: rootEnvironment))
      != nil
  }

  func vaultAuditEvents(_ o: ProcessOutcome, step: String) throws -> Int {
    Int(try state(o).steps[step]?.outputs["event-count"]?.numberValue ?? -1)
  }

  @Test func vaultTokenIsRevokedAndItsAuditTrailFound() throws {
    let token = try leakedVaultToken()
    #expect(vaultKnows(token))
    let o = try respond(
      ["key-compromised", "--key", token, "--audit-log", services.auditLog, "--yes"], rootEnvironment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(!vaultKnows(token), "the token still exists after the run")
    let failure =
      (try? runProgram("/usr/bin/env", ["bao", "token", "lookup", token], environment: rootEnvironment)) == nil
    #expect(failure)
    #expect(try outcome(o, "vault-revoke") == .succeeded)
    #expect(try vaultAuditEvents(o, step: "vault-audit") >= 1)
    let text = try report(o)
    #expect(text.contains("LIVE: CONTAINED"))
    #expect(text.contains("### Vault audit log (step `vault-audit`)"))
    #expect(text.contains("| Audit events (Vault) | "), "the Vault part's own fact, in a Vault run")
    #expect(text.contains("auth/token/lookup-self"), "the token's own request is in the evidence")
    assertNoSecrets([token, services.baoToken], in: o)
  }

  @Test func vaultTokenCompromisedRunbookRevokesAndVerifies() throws {
    let token = try leakedVaultToken()
    let o = try respond(
      ["vault-token-compromised", "--token", token, "--audit-log", services.auditLog, "--yes"], rootEnvironment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(!vaultKnows(token))
    for step in ["lookup", "revoke", "verify-revoked", "check-revoked", "audit-hash", "audit"] {
      #expect(try outcome(o, step) == .succeeded, "\(step)")
    }
    #expect(try vaultAuditEvents(o, step: "audit") >= 1)
    let text = try report(o)
    #expect(text.contains("LIVE: CONTAINED"))
    #expect(text.contains("| Revoked | true |"))
    #expect(text.contains("| Policies | default |"))
    assertNoSecrets([token, services.baoToken], in: o)
  }

  /// Issue 13, item 3: a credential of a format respond does not know is searched for in the
  /// configured secret store; every secret holding it is named (a place to rotate), and the
  /// run still ends NOT CONTAINED until a person confirms.
  @Test func anOpaqueSecretIsFoundInTheSecretStore() throws {
    let prefix = "opaque-" + alphanumerics(8).lowercased()
    let key = "zz_" + alphanumerics(40)
    try BaoFixture(services).put(prefix + "/app", ["api_key": key, "owner": "payments"])
    try BaoFixture(services).put(prefix + "/other", ["api_key": alphanumerics(30)])
    let o = try respond(
      ["key-compromised", "--key", key, "--search-path", "secret/" + prefix, "--yes"], rootEnvironment)
    #expect(o.status == 4, "stderr: \(o.stderr)")
    #expect(try outcome(o, "where-stored") == .succeeded)
    let found = try state(o).steps["where-stored"]?.outputs["paths"]
    #expect(found == .array([.string("secret/\(prefix)/app")]), "only the secret holding it")
    #expect(try report(o).contains("| Also stored at (Vault/OpenBao) | secret/\(prefix)/app |"))
    assertNoSecrets([key, services.baoToken], in: o)
  }

  @Test func vaultBatchTokenGetsTheManualFollowUp() throws {
    let token = try leakedVaultToken(type: "batch")
    for (runbook, flag, step) in [
      ("key-compromised", "--key", "vault-batch"), ("vault-token-compromised", "--token", "batch"),
    ] {
      let o = try respond([runbook, flag, token, "--yes"], rootEnvironment)
      #expect(o.status == 4, "\(runbook): not contained until a person confirms; stderr: \(o.stderr)")
      #expect(try outcome(o, step) == .succeeded, "\(runbook)")
      let text = try report(o)
      #expect(text.contains("- [ ] The leaked token is a batch token: Vault cannot revoke it."), "\(runbook)")
      #expect(text.contains("LIVE: NOT CONTAINED"), "\(runbook): a batch token cannot be contained by respond")
      assertNoSecrets([token, services.baoToken], in: o)
    }
    #expect(vaultKnows(token), "respond does not pretend: the batch token still works")
  }

  // MARK: - Drills without credentials

  /// A drill with no credentials. The provider URLs point at the receiver (loopback, not
  /// credentials) so the read-only checks a drill does run never leave the machine; the receiver
  /// answers them as for an unknown token.
  @Test(
    arguments: [
      ("github", []), ("gitlab", []), ("slack", []), ("sendgrid", ["SENDGRID_API_KEY"]),
      ("vault", ["VAULT_ADDR"]), ("stripe", []),
    ] as [(String, [String])])
  func drillWithoutCredentialsNamesWhatTheBranchNeeds(_ provider: String, _ mustName: [String]) throws {
    let base = try receiver.prefix("drill-\(provider)")
    let key: String
    var env: [String: String] = [:]
    switch provider {
    case "github":
      key = githubToken()
      env["GITHUB_API_URL"] = services.receiverURL + base
      try receiver.script(base + "/user", [], fallback: answer(401, Self.badCredentials))
    case "gitlab":
      key = gitlabToken()
      env["GITLAB_URL"] = services.receiverURL + base
      try receiver.script(
        base + "/api/v4/personal_access_tokens/self", [], fallback: answer(401, ["message": "401 Unauthorized"]))
    case "slack":
      key = slackToken()
      env["SLACK_API_URL"] = services.receiverURL + base
    case "sendgrid":
      key = sendgridKey().key
      env["SENDGRID_API_URL"] = services.receiverURL + base
    case "vault":
      key = "s." + alphanumerics(24)
    default:
      key = "sk_live_" + alphanumerics(24)
    }
    let o = try respond(["drill", "key-compromised", "--key", key], env)
    #expect(o.status == 0, "\(provider) stderr: \(o.stderr)")
    let text = try report(o)
    #expect(text.contains("(DRILL)"))
    let readiness = try #require(
      text.components(separatedBy: "## Drill readiness").last?.components(separatedBy: "## Postmortem").first)
    for name in mustName {
      #expect(readiness.contains(name), "\(provider): readiness names \(name)")
    }
    // The branch's own containment step is ready or says what it needs.
    let branchSteps: [String: (step: String, needs: String?)] = [
      "github": ("github-revoke", nil), "gitlab": ("gitlab-revoke", nil), "slack": ("slack-revoke", nil),
      "sendgrid": ("sendgrid-delete", "SENDGRID_API_KEY"), "vault": ("vault-lookup", "VAULT_ADDR"),
      "stripe": ("not-automated", nil),
    ]
    let (step, needs) = try #require(branchSteps[provider])
    let row = try #require(
      readiness.split(separator: "\n").first { $0.hasPrefix("| `\(step)` |") }, "\(provider): no row for \(step)")
    if let needs {
      #expect(row.contains("| **no** |") && row.contains(needs), "\(provider): \(row)")
    } else {
      #expect(row.contains("| yes |"), "\(provider): \(row)")
    }
    // Nothing that changes state reached the provider.
    let sent = try receiver.requests(under: base)
    #expect(
      sent.allSatisfy { $0["method"] == "GET" },
      "\(provider): a drill sent \(sent.map { $0["method"]?.stringValue ?? "" })")
    assertNoSecrets([key], in: o)
  }

  @Test func drillWithoutCredentialsOfAGitLabTokenNamesGitLabTokenForRotation() throws {
    let base = try receiver.prefix("drill-gitlab")
    try receiver.script(base + "/api/v4/personal_access_tokens/self", [], fallback: answer(200, Self.gitlabSelf))
    let o = try respond(
      ["drill", "key-compromised", "--key", gitlabToken()], ["GITLAB_URL": services.receiverURL + base])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let text = try report(o)
    #expect(text.contains("| `gitlab-rotate` | `gitlab.token.rotate` |"))
    #expect(text.contains("GITLAB_TOKEN"))
    // Without GITLAB_TOKEN the drill takes the revoke-with-itself path, and does not send it.
    #expect(try outcome(o, "gitlab-revoke") == .skippedDryRun)
    #expect(try receiver.requests(under: base).map { $0["method"]?.stringValue ?? "" } == ["GET"])
  }

  // MARK: - Plan

  @Test func planShowsTheGitHubBranch() throws {
    let o = try runRespond(
      ["plan", "key-compromised", "--runbooks", runbooks, "--key", githubToken(), "--all"],
      environment: ["HOME": home])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let entry = Self.planEntries(o.stdout)
    #expect(entry("github-revoke").contains("github.credentials.revoke"))
    #expect(entry("github-revoke").contains("→ runs"), "\(entry("github-revoke"))")
    #expect(entry("github-dead").contains("→ runs"))
    #expect(entry("github-installation-revoke").contains("→ skipped"))
    #expect(!entry("deactivate").isEmpty)
    #expect(!entry("deactivate").contains("→ runs"), "\(entry("deactivate"))")
    #expect(entry("slack-revoke").contains("→ skipped"))
  }

  /// Issue 13: without `--all`, the branches these inputs do not take are hidden and counted.
  @Test func planHidesTheBranchesThatDoNotApply() throws {
    let o = try runRespond(
      ["plan", "key-compromised", "--runbooks", runbooks, "--key", githubToken()], environment: ["HOME": home])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let entry = Self.planEntries(o.stdout)
    #expect(entry("github-revoke").contains("→ runs"))
    #expect(entry("github-installation-revoke").isEmpty)
    #expect(entry("slack-revoke").isEmpty)
    #expect(!o.stdout.contains("→ skipped"))
    let hidden = o.stdout.range(of: #"(\d+) step\(s\) hidden"#, options: .regularExpression).map { o.stdout[$0] }
    let count = hidden.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
    let all = try runRespond(
      ["plan", "key-compromised", "--runbooks", runbooks, "--key", githubToken(), "--all"],
      environment: ["HOME": home])
    // Exactly the steps shown as skipped with --all are the ones hidden without it.
    #expect(count > 0 && count == all.stdout.components(separatedBy: "→ skipped").count - 1)
    #expect(o.stdout.contains("--all shows them"))
  }

  /// Each plan entry, by step id: the step's line and its `when` line ("" when not shown).
  static func planEntries(_ stdout: String) -> (String) -> String {
    let lines = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    return { id in
      guard
        let i = lines.firstIndex(where: { $0.range(of: #"^\s*\d+\. \#(id)\s"#, options: .regularExpression) != nil })
      else {
        return ""
      }
      return lines[i...].prefix(2).joined(separator: "\n")
    }
  }
}
