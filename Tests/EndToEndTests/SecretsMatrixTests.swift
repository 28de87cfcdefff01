import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Secrets, exhaustively: every shipped runbook (and every key-compromised branch testable on this
/// machine) in every mode — live, dry run, drill, a failing run then its resume, an approval stop
/// then its resume — with Slack, PagerDuty and e-mail configured so notifications are really sent.
/// After each cell every byte respond produced is collected: stdout, stderr, every file under the
/// output folder (journal, reports, locks), every notification the receiver recorded (body,
/// headers, path) and every mail aiosmtpd delivered. None may hold a secret of the cell (the leaked
/// one, the newly minted one, the provider credentials, the Vault token, the webhook URL's secret
/// path), in plain, JSON-escaped, percent-encoded or base64 spelling. Every file respond created is
/// 0600 and every folder 0700. Each cell also checks that the steps that handle the secrets really
/// ran (a notification arrived, the key was rotated, ...), so no cell can pass by doing nothing.
@Suite(.serialized) final class SecretsMatrixTests {
  let services: TestServices
  let moto: MotoFixture
  let bao: BaoFixture
  let root = NSTemporaryDirectory() + "respond-secrets-" + UUID().uuidString
  let runbooks = TestServices.repositoryRoot() + "/Runbooks"

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    bao = BaoFixture(services)
  }

  deinit { removeTestOutput(root) }

  /// The runbook branches under test.
  enum Branch: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case aws
    case vaultRunbook = "vault-token-compromised"
    case vaultKey = "vault-via-key-compromised"
    case github, gitlab, slack, sendgrid
    var testDescription: String { rawValue }
  }

  /// How respond is driven.
  enum Mode: String, CaseIterable, CustomTestStringConvertible, Sendable {
    /// `--yes`: everything runs, notifications are sent.
    case live
    /// `--dry-run`: read-only steps only.
    case dryRun = "dry-run"
    /// `respond drill`.
    case drill
    /// A provider refuses a step (exit 1), then the refusal is lifted and `respond resume --yes` finishes.
    case failure
    /// No `--yes` and no terminal: the run stops at the first approval; `respond resume --yes` finishes.
    case resume
    var testDescription: String { rawValue }
  }

  // MARK: - Helpers

  static func random(
    _ count: Int, _ alphabet: String = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
  ) -> String {
    let chars = Array(alphabet)
    return String((0..<count).map { _ in chars.randomElement()! })
  }

  static func digits(_ count: Int) -> String { String(Int.random(in: 1...9)) + random(count - 1, "0123456789") }

  func curl(_ args: [String]) throws -> String {
    try runProgram("/usr/bin/curl", ["-sS", "--fail", "--max-time", "10"] + args)
  }

  /// Scripts the receiver: `responses` in order for `path`, then `fallback`.
  func script(_ path: String, _ responses: [Value], fallback: Value? = nil) throws {
    var spec: [String: Value] = ["path": .string(path), "responses": .array(responses)]
    if let fallback { spec["default"] = fallback }
    _ = try curl([
      "-X", "POST", "--data-binary", Value.object(spec).jsonString(), services.receiverURL + "/_control/script",
    ])
  }

  func answer(_ status: Int, _ body: Value = "", headers: [String: String] = [:]) -> Value {
    ["status": .number(Double(status)), "body": body, "headers": .object(headers.mapValues { .string($0) })]
  }

  /// Every request the receiver recorded under `prefix`.
  func recorded(under prefix: String) throws -> [Value] {
    let all = Value.parseJSON(try curl([services.receiverURL + "/_control/requests"]))?.arrayValue ?? []
    return all.filter { ($0["path"]?.stringValue ?? "").hasPrefix(prefix + "/") }
  }

  /// Names of the maildir's messages.
  func mailNames() -> Set<String> {
    var names: Set<String> = []
    for sub in ["new", "cur"] {
      let list = (try? FileManager.default.contentsOfDirectory(atPath: services.maildir + "/" + sub)) ?? []
      for n in list { names.insert(sub + "/" + n) }
    }
    return names
  }

  /// The spellings a secret could leak in: as is, JSON-escaped (`/` as `\/`), percent-encoded, and
  /// base64 at any of the three byte alignments (the stable middle of the encoding).
  static func spellings(_ secret: String) -> [String] {
    var out = [secret]
    let json = secret.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "/", with: "\\/")
    if json != secret { out.append(json) }
    if let pct = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics), pct != secret { out.append(pct) }
    if secret.utf8.count >= 16 {
      for pad in 0..<3 {
        let b64 = (Data(repeating: 0, count: pad) + Data(secret.utf8)).base64EncodedString()
        let middle = b64.dropFirst(pad == 0 ? 0 : 4).dropLast(4)
        if middle.count >= 12 { out.append(String(middle)) }
      }
    }
    return out
  }

  /// One named piece of output and its text.
  struct Blob {
    var name: String
    var text: String
    /// Secrets this blob carries by design (e.g. the webhook path in the webhook request's path).
    var allowed: Set<String> = []
  }

  /// Checks no blob holds any secret in any spelling; returns how many (blob, secret) pairs were checked.
  @discardableResult
  func expectNoSecrets(_ secrets: [(label: String, value: String)], in blobs: [Blob], cell: String) -> Int {
    var checked = 0
    for (label, value) in secrets where value.count >= 8 {
      let forms = Self.spellings(value)
      for blob in blobs where !blob.allowed.contains(label) {
        checked += 1
        for form in forms where blob.text.contains(form) {
          Issue.record("\(cell): \(label) (as \(form == value ? "is" : "'\(form.prefix(6))…'")) found in \(blob.name)")
        }
      }
    }
    return checked
  }

  /// Every folder under (and including) `dir` must be 0700 and every file 0600.
  func expectPrivate(_ dir: String, cell: String) throws -> Int {
    var seen = 0
    let fm = FileManager.default
    func check(_ path: String, folder: Bool) throws {
      let mode = (try fm.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
      let want = folder ? 0o700 : 0o600
      #expect(mode == want, "\(cell): \(path) is \(String(mode, radix: 8)), want \(String(want, radix: 8))")
      seen += 1
    }
    try check(dir, folder: true)
    let e = fm.enumerator(atPath: dir)
    while let name = e?.nextObject() as? String {
      var isDir: ObjCBool = false
      let path = dir + "/" + name
      guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
      try check(path, folder: isDir.boolValue)
    }
    return seen
  }

  // MARK: - Scenarios

  /// What one branch needs: its command line, environment, secrets, how to make a step fail and
  /// heal it, and what proves the secret-handling steps ran.
  struct Scenario {
    var args: [String]
    /// The secret input, given again to `respond resume` (secret inputs are never journaled).
    var secretInput: [String]
    var env: [String: String]
    var secrets: [(label: String, value: String)]
    /// Environment overrides that make a step fail (for the failure mode).
    var failingEnv: [String: String] = [:]
    /// Receiver scripting that makes a step fail (for the failure mode), and its undoing.
    var breakIt: () throws -> Void = {}
    var heal: () throws -> Void = {}
    /// The step that fails in the failure mode.
    var failingStep: String
    /// Extra flags for resuming after the failure (a step that is not safe to repeat blindly needs
    /// `--rerun-interrupted` once a human has checked the provider).
    var resumeAfterFailure: [String] = []
    /// Secrets known only after the run (e.g. the replacement key's secret read from Vault).
    var lateSecrets: () throws -> [(label: String, value: String)] = { [] }
    /// Whether the runbook sends e-mail (key-compromised does; vault-token-compromised does not).
    var sendsMail: Bool = true
    /// Provider-side proof that a completed live run did its work.
    var provedLive: () throws -> Void
  }

  func scenario(_ branch: Branch, cell: String, prefix: String) throws -> Scenario {
    var env = services.awsEnvironment.merging(services.vaultEnvironment) { a, _ in a }
    let base = services.receiverURL + prefix
    switch branch {
    case .aws:
      let user = "matrix-\(cell)"
      let leaked = try moto.createUser(user)
      let vaultPath = "matrix/\(user)"
      try bao.put(vaultPath, ["access_key_id": leaked.id, "secret_access_key": leaked.secret])
      let secretID = "matrix/\(user)"
      try moto.createSecret(
        secretID, json: #"{"access_key_id":"\#(leaked.id)","secret_access_key":"\#(leaked.secret)"}"#)
      let group = "trail-\(cell)"
      try moto.trail(group: group, key: leaked.id, decoys: [])
      let badVaultToken = "hvs." + Self.random(24)
      // CloudTrail at the receiver (moto does not implement LookupEvents): one event of the key.
      let record: Value = [
        "eventID": "m1", "eventName": "ListBuckets", "eventTime": "2026-11-20T10:00:00Z",
        "userIdentity": ["accessKeyId": .string(leaked.id)],
      ]
      let page: Value = [
        "Events": [
          [
            "EventId": "m1", "EventName": "ListBuckets", "EventTime": 1_795_000_000,
            "AccessKeyId": .string(leaked.id), "CloudTrailEvent": .string(record.jsonString()),
          ]
        ]
      ]
      try script(
        prefix + "/cloudtrail", [],
        fallback: answer(
          200, .string(page.jsonString()),
          headers: ["Content-Type": "application/x-amz-json-1.1"]))
      env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = base + "/cloudtrail"
      return Scenario(
        args: [
          "key-compromised", "--key", leaked.id, "--vault-path", "secret/" + vaultPath, "--secret-id", secretID,
          "--log-group", group,
        ], secretInput: ["--key", leaked.id],
        env: env,
        secrets: [("leaked AWS secret key", leaked.secret), ("wrong Vault token", badVaultToken)],
        failingEnv: ["VAULT_TOKEN": badVaultToken], failingStep: "store-vault",
        lateSecrets: { [self] in
          let stored = try bao.get(vaultPath)["secret_access_key"] ?? ""
          let sm = Value.parseJSON(try moto.secretString(secretID))?["secret_access_key"]?.stringValue ?? ""
          return [
            ("new AWS secret key (Vault)", stored == leaked.secret ? "" : stored),
            ("new AWS secret key (Secrets Manager)", sm == leaked.secret ? "" : sm),
          ]
        },
        provedLive: { [self] in
          let keys = try moto.keys(of: user)
          #expect(keys.count == 1 && keys.first?.id != leaked.id && keys.first?.status == "Active", "\(cell): \(keys)")
          let stored = try bao.get(vaultPath)
          #expect(stored["access_key_id"] == keys.first?.id, "\(cell): Vault holds the replacement")
          #expect(moto.authenticates(stored["access_key_id"] ?? "", stored["secret_access_key"] ?? ""), "\(cell)")
        })

    case .vaultRunbook, .vaultKey:
      let json = try runProgram(
        "/usr/bin/env", ["bao", "token", "create", "-format=json", "-policy=default", "-ttl=1h"],
        environment: services.vaultEnvironment)
      let token = try #require(Value.parseJSON(json)?.pointer("/auth/client_token")?.stringValue)
      recordTestSecret(token)
      _ = try runProgram(
        "/usr/bin/env", ["bao", "token", "lookup", "-format=json"],
        environment: ["VAULT_ADDR": services.baoAddr, "VAULT_TOKEN": token])
      let badVaultToken = "hvs." + Self.random(24)
      let args =
        branch == .vaultRunbook
        ? ["vault-token-compromised", "--token", token, "--audit-log", services.auditLog]
        : ["key-compromised", "--key", token, "--audit-log", services.auditLog]
      return Scenario(
        args: args, secretInput: [branch == .vaultRunbook ? "--token" : "--key", token], env: env,
        secrets: [("leaked Vault token", token), ("wrong Vault token", badVaultToken)],
        failingEnv: ["VAULT_TOKEN": badVaultToken], failingStep: branch == .vaultRunbook ? "lookup" : "vault-lookup",
        sendsMail: branch == .vaultKey,
        provedLive: { [self] in
          let known =
            (try? runProgram(
              "/usr/bin/env", ["bao", "token", "lookup", token],
              environment: services.vaultEnvironment)) != nil
          #expect(!known, "\(cell): the leaked token still exists")
        })

    case .github:
      let token = "ghp_" + Self.random(36)
      env["GITHUB_API_URL"] = base
      try script(
        prefix + "/user", [answer(200, ["login": "octocat", "id": 1])],
        fallback: answer(401, ["message": "Bad credentials"]))
      try script(prefix + "/credentials/revoke", [answer(202, ["message": "Accepted"])])
      return Scenario(
        args: ["key-compromised", "--key", token], secretInput: ["--key", token], env: env,
        secrets: [("leaked GitHub token", token)],
        breakIt: { [self] in
          try script(prefix + "/credentials/revoke", [], fallback: answer(403, ["message": "Forbidden"]))
        },
        heal: { [self] in try script(prefix + "/credentials/revoke", [answer(202, ["message": "Accepted"])]) },
        failingStep: "github-revoke",
        provedLive: { [self] in
          let sent = try recorded(under: prefix).contains {
            $0["path"]?.stringValue == prefix + "/credentials/revoke" && $0["method"] == "POST"
          }
          #expect(sent, "\(cell): the revocation was sent")
        })

    case .gitlab:
      let token = "glpat-" + Self.random(20)
      let admin = "glpat-" + Self.random(20)
      let minted = "glpat-" + Self.random(20)
      let vaultPath = "matrix/gitlab-\(cell)"
      env["GITLAB_URL"] = base
      env["GITLAB_TOKEN"] = admin
      let selfAnswer: Value = [
        "id": 42, "name": "ci", "user_id": 7, "scopes": ["api"], "active": true, "revoked": false,
        "expires_at": "2027-01-01",
      ]
      let rotated: Value = [
        "id": 43, "name": "ci", "user_id": 7, "scopes": ["api"], "active": true, "revoked": false,
        "token": .string(minted), "expires_at": "2027-01-01",
      ]
      let rotatePath = prefix + "/api/v4/personal_access_tokens/42/rotate"
      // The first lookup finds the token; every later one (the verification after rotating) is 401.
      try script(
        prefix + "/api/v4/personal_access_tokens/self", [answer(200, selfAnswer)],
        fallback: answer(401, ["message": "401 Unauthorized"]))
      try script(rotatePath, [], fallback: answer(200, rotated))
      return Scenario(
        args: ["key-compromised", "--key", token, "--vault-path", "secret/" + vaultPath],
        secretInput: ["--key", token],
        env: env,
        secrets: [("leaked GitLab token", token), ("GITLAB_TOKEN", admin), ("rotated GitLab token", minted)],
        breakIt: { [self] in try script(rotatePath, [], fallback: answer(403, ["message": "403 Forbidden"])) },
        heal: { [self] in try script(rotatePath, [], fallback: answer(200, rotated)) },
        failingStep: "gitlab-rotate", resumeAfterFailure: ["--rerun-interrupted"],
        provedLive: { [self] in
          let stored = try bao.get(vaultPath)["token"]
          #expect(stored == minted, "\(cell): the rotated token is stored in Vault")
        })

    case .slack:
      let token = "xoxb-" + Self.digits(12) + "-" + Self.digits(13) + "-" + Self.random(24)
      env["SLACK_API_URL"] = base
      let ok = answer(200, ["ok": true, "revoked": true], headers: ["Content-Type": "application/json"])
      try script(prefix + "/auth.revoke", [], fallback: ok)
      return Scenario(
        args: ["key-compromised", "--key", token], secretInput: ["--key", token], env: env,
        secrets: [("leaked Slack token", token)],
        breakIt: { [self] in
          try script(prefix + "/auth.revoke", [], fallback: answer(403, ["ok": false, "error": "forbidden"]))
        },
        heal: { [self] in try script(prefix + "/auth.revoke", [], fallback: ok) },
        failingStep: "slack-revoke",
        provedLive: { [self] in
          let sent = try recorded(under: prefix).contains { $0["path"]?.stringValue == prefix + "/auth.revoke" }
          #expect(sent, "\(cell): revoke sent")
        })

    case .sendgrid:
      let id = Self.random(22)
      let key = "SG." + id + "." + Self.random(43)
      let admin = "SG." + Self.random(22) + "." + Self.random(43)
      env["SENDGRID_API_URL"] = base
      env["SENDGRID_API_KEY"] = admin
      let path = prefix + "/v3/api_keys/" + id
      // The deletion answers 204; the lookup that verifies it, 404.
      let gone = answer(404, ["errors": [["field": nil, "message": "unable to find API Key"]]])
      try script(path, [answer(204)], fallback: gone)
      return Scenario(
        args: ["key-compromised", "--key", key], secretInput: ["--key", key], env: env,
        secrets: [("leaked SendGrid key", key), ("SENDGRID_API_KEY", admin)],
        breakIt: { [self] in try script(path, [], fallback: answer(403, ["errors": [["message": "access forbidden"]]]))
        },
        heal: { [self] in try script(path, [answer(204)], fallback: gone) },
        failingStep: "sendgrid-delete",
        provedLive: { [self] in
          let sent = try recorded(under: prefix).contains {
            $0["path"]?.stringValue == path && $0["method"] == "DELETE"
          }
          #expect(sent, "\(cell): the key deletion was sent")
        })
    }
  }

  // MARK: - The matrix

  @Test(.timeLimit(.minutes(5)), arguments: Branch.allCases, Mode.allCases)
  func noSecretInAnyByteRespondProduces(_ branch: Branch, _ mode: Mode) throws {
    let cell = "\(branch.rawValue)-\(mode.rawValue)-\(UUID().uuidString.prefix(6).lowercased())"
    let prefix = "/matrix-\(cell)"
    let out = root + "/" + cell
    var s = try scenario(branch, cell: cell, prefix: prefix)

    // Notifications, each at the receiver under the cell's prefix. The webhook URL's last path
    // segment is its secret, as in a real Slack URL.
    let hookSecret = Self.random(24)
    let hookPath = "\(prefix)/services/T0MATRIX/B0MATRIX/\(hookSecret)"
    let routingKey = Self.random(32, "0123456789abcdef")
    s.env["SLACK_WEBHOOK_URL"] = services.receiverURL + hookPath
    s.env["PAGERDUTY_ROUTING_KEY"] = routingKey
    s.env["PAGERDUTY_EVENTS_URL"] = services.receiverURL + prefix + "/pagerduty/v2/enqueue"
    s.env["SMTP_URL"] = services.smtpURL
    s.env["SMTP_FROM"] = "respond@example.test"
    s.env["SMTP_TO"] = "oncall@example.test"
    s.env["HOME"] = root
    var secrets =
      s.secrets + [
        ("Slack webhook secret path", hookSecret), ("PagerDuty routing key", routingKey),
        ("AWS admin secret key", services.awsSecretAccessKey), ("Vault root token", services.baoToken),
      ]
    let mailsBefore = mailNames()

    // Run the cell.
    let common = ["--runbooks", runbooks, "--out", out]
    var outcomes: [(String, ProcessOutcome)] = []
    func respond(_ label: String, _ args: [String], _ env: [String: String]) throws -> ProcessOutcome {
      let o = try runRespond(args, environment: env, timeout: 180)
      outcomes.append((label, o))
      return o
    }
    var incident = ""
    switch mode {
    case .live:
      let o = try respond("run", s.args + ["--yes"] + common, s.env)
      #expect(o.status == 0, "\(cell): \(o.stderr.suffix(1500))")
      incident = (o.lastLine as NSString).deletingLastPathComponent
    case .dryRun, .drill:
      let args = mode == .drill ? ["drill"] + s.args : s.args + ["--dry-run"]
      let o = try respond("run", args + common, s.env)
      #expect(o.status == 0, "\(cell): \(o.stderr.suffix(1500))")
      incident = (o.lastLine as NSString).deletingLastPathComponent
      let report = (try? String(contentsOfFile: o.lastLine, encoding: .utf8)) ?? ""
      #expect(report.contains("DRILL: nothing was changed"), "\(cell): \(report.prefix(400))")
    case .failure:
      try s.breakIt()
      let o = try respond("failing run", s.args + ["--yes"] + common, s.env.merging(s.failingEnv) { _, b in b })
      #expect(o.status == 1, "\(cell): \(o.stderr.suffix(1500))")
      #expect(o.stderr.contains("step '\(s.failingStep)' failed"), "\(cell): \(o.stderr.suffix(1500))")
      incident = (o.lastLine as NSString).deletingLastPathComponent
      try s.heal()
      let r = try respond("resume", ["resume", incident, "--yes"] + s.resumeAfterFailure + s.secretInput, s.env)
      #expect(r.status == 0, "\(cell): resume: \(r.stderr.suffix(1500))")
    case .resume:
      let o = try respond("run stopped at an approval", s.args + common, s.env)
      #expect(o.status != 0, "\(cell): without --yes and a terminal the run must stop at its first approval")
      incident = (o.lastLine as NSString).deletingLastPathComponent
      let r = try respond("resume", ["resume", incident, "--yes"] + s.secretInput, s.env)
      #expect(r.status == 0, "\(cell): resume: \(r.stderr.suffix(1500))")
    }
    secrets += try s.lateSecrets()

    // What proves the secret-handling steps ran.
    let notes = try recorded(under: prefix).filter {
      let p = $0["path"]?.stringValue ?? ""
      return p == hookPath || p.hasPrefix(prefix + "/pagerduty/")
    }
    let newMails = mailNames().subtracting(mailsBefore).sorted()
    var mails: [Blob] = []
    let incidentID = (incident as NSString).lastPathComponent
    for name in newMails {
      guard let text = try? String(contentsOfFile: services.maildir + "/" + name, encoding: .utf8),
        text.contains(incidentID)
      else { continue }
      mails.append(Blob(name: "mail \(name)", text: text))
    }
    let changes = mode == .live || mode == .failure || mode == .resume
    if changes {
      #expect(notes.contains { $0["path"]?.stringValue == hookPath }, "\(cell): no Slack message arrived")
      #expect(notes.contains { $0["path"]?.stringValue != hookPath }, "\(cell): no PagerDuty event arrived")
      if s.sendsMail { #expect(mails.count == 1, "\(cell): want one e-mail for \(incidentID), got \(mails.count)") }
      try s.provedLive()
      let state = try IncidentState.load(journal: incident + "/journal.jsonl")
      #expect(state.steps["slack"]?.outcome == .succeeded, "\(cell)")
    } else {
      #expect(notes.isEmpty, "\(cell): a \(mode.rawValue) sent \(notes.count) notification(s)")
      #expect(mails.isEmpty, "\(cell): a \(mode.rawValue) sent e-mail")
      let state = try IncidentState.load(journal: incident + "/journal.jsonl")
      #expect(state.steps["identify"]?.outcome == .succeeded, "\(cell): the secret was read and identified")
    }

    // Every byte.
    var blobs: [Blob] = []
    for (label, o) in outcomes {
      blobs.append(Blob(name: "\(label) stdout", text: o.stdout))
      blobs.append(Blob(name: "\(label) stderr", text: o.stderr))
    }
    let files = allFileContents(under: out)
    #expect(files.count >= 3, "\(cell): journal and reports exist under \(out)")
    for (path, text) in files { blobs.append(Blob(name: path, text: text)) }
    for n in notes {
      let path = n["path"]?.stringValue ?? ""
      let isHook = path == hookPath
      blobs.append(
        Blob(
          name: "notification body \(path.suffix(30))", text: n["body"]?.stringValue ?? "",
          allowed: isHook ? [] : ["PagerDuty routing key"]))
      blobs.append(Blob(name: "notification headers \(path.suffix(30))", text: n["headers"]?.jsonString() ?? ""))
      blobs.append(
        Blob(
          name: "notification path+query", text: path + "?" + (n["query"]?.stringValue ?? ""),
          allowed: isHook ? ["Slack webhook secret path"] : []))
    }
    blobs += mails
    let checked = expectNoSecrets(secrets.filter { !$0.value.isEmpty }, in: blobs, cell: cell)
    let modes = try expectPrivate(out, cell: cell)
    print(
      "secrets-matrix \(cell): \(blobs.count) blobs, \(secrets.filter { !$0.value.isEmpty }.count) secrets, "
        + "\(checked) pairs, \(notes.count) notifications, \(mails.count) mails, \(modes) paths checked for modes")
  }
}
