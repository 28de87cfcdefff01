import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Faults from Vault/OpenBao and from the Slack webhook, as ProviderFaultTests does for AWS:
/// `Tests/Support/faultproxy.py` sits in front of the OpenBao dev server (VAULT_ADDR) or the
/// recording receiver (SLACK_WEBHOOK_URL) and injects 500/503, 429 with Retry-After, connection
/// resets, answers that never come, malformed and truncated bodies. A fault that clears within the
/// retries must not stop the run; one that persists must fail it (exit 1) with an error naming the
/// step, the endpoint and the error, leave it resumable, and `respond resume` must finish it once
/// the fault has cleared — with the end state checked independently (bao, boto3, the receiver).
@Suite(.serialized) final class VaultNotifyFaultTests {
  let services: TestServices
  let moto: MotoFixture
  let bao: BaoFixture
  let dir = NSTemporaryDirectory() + "respond-vnfault-" + UUID().uuidString
  var children: [Process] = []

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    bao = BaoFixture(services)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }

  deinit {
    for p in children {
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
    }
    removeTestOutput(dir)
  }

  /// Starts faultproxy.py in front of `target`; returns its base URL.
  func proxy(to target: String) throws -> String {
    let portFile = dir + "/\(UUID().uuidString).port"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [
      "python3", services.repoRoot + "/Tests/Support/faultproxy.py", "--target", target, "--port-file", portFile,
    ]
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    children.append(p)
    for _ in 0..<150 {
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
        return "http://127.0.0.1:\(port)"
      }
      usleep(100_000)
    }
    throw TestFailure("faultproxy.py did not start within 15 s")
  }

  func control(_ proxy: String, _ path: String, _ body: String? = nil) throws -> Value {
    var args = ["-sS", "--fail", "--max-time", "5", proxy + path]
    if let body { args += ["-X", "POST", "-H", "Content-Type: application/json", "--data", body] }
    return Value.parseJSON(try runProgram("/usr/bin/curl", args)) ?? .null
  }

  /// A rule for faultproxy: `count` -1 is for ever.
  struct Rule {
    var match: String
    var method: String?
    var kind: String
    var extra: String = ""
    func json(count: Int) -> String {
      "[{\"match\":\"\(match)\",\"kind\":\"\(kind)\",\"count\":\(count)"
        + (method.map { ",\"method\":\"\($0)\"" } ?? "") + (extra.isEmpty ? "" : "," + extra) + "}]"
    }
  }

  func injected(_ proxy: String) throws -> Int {
    (try control(proxy, "/_fault/stats")["injected"]?.objectValue ?? [:]).values.compactMap(\.numberValue).reduce(0) {
      $0 + Int($1)
    }
  }

  /// Fault kinds with where they are injected and what a persistent one's error must carry.
  static func kinds(_ match: String, write: String?) -> [(name: String, rule: Rule, transient: Int, error: String)] {
    [
      ("503", Rule(match: match, method: write, kind: "status", extra: "\"status\":503"), 2, "HTTP 503"),
      ("500", Rule(match: match, method: write, kind: "status", extra: "\"status\":500"), 2, "HTTP 500"),
      ("429", Rule(match: match, method: write, kind: "throttle", extra: "\"retry_after\":1"), 1, "HTTP 429"),
      ("reset", Rule(match: match, method: write, kind: "reset"), 2, "127.0.0.1"),
      ("hang", Rule(match: match, method: write, kind: "hang", extra: "\"seconds\":3"), 1, "no answer from"),
      ("malformed", Rule(match: match, method: write, kind: "malformed"), 2, "127.0.0.1"),
      ("truncated", Rule(match: match, method: write, kind: "truncated"), 2, "127.0.0.1"),
    ]
  }

  // MARK: - Vault: vault.kv.write (step store-vault) during key-compromised's recover phase

  struct VaultRun {
    var user: String
    var leaked: (id: String, secret: String)
    var vaultPath: String
  }

  func vaultRun(_ label: String) throws -> VaultRun {
    let user = "vfault-\(label)-\(UUID().uuidString.prefix(6).lowercased())"
    let leaked = try moto.createUser(user)
    let vaultPath = "vfault/\(user)"
    try bao.put(vaultPath, ["access_key_id": leaked.id, "secret_access_key": leaked.secret, "region": "eu-west-1"])
    return VaultRun(user: user, leaked: leaked, vaultPath: vaultPath)
  }

  /// CloudTrail at the receiver answering "no events" (moto does not implement LookupEvents: its
  /// 500s would cost every run three seconds of retries that have nothing to do with Vault).
  func emptyCloudTrail() throws -> String {
    let path = "/vfault-cloudtrail-\(UUID().uuidString.prefix(8))"
    let spec: Value = [
      "path": .string(path), "responses": [],
      "default": ["status": 200, "headers": ["Content-Type": "application/x-amz-json-1.1"], "body": #"{"Events":[]}"#],
    ]
    _ = try runProgram(
      "/usr/bin/curl",
      [
        "-sS", "--fail", "-X", "POST", "--data-binary", spec.jsonString(),
        services.receiverURL + "/_control/script",
      ])
    return services.receiverURL + path
  }

  func vaultEnvironment(_ proxy: String) throws -> [String: String] {
    var env = services.awsEnvironment
    env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = try emptyCloudTrail()
    env["VAULT_ADDR"] = proxy
    env["VAULT_TOKEN"] = services.baoToken
    env["RESPOND_HTTP_TIMEOUT"] = "1"
    env["HOME"] = dir
    return env
  }

  /// The right end state: one new Active key, stored in Vault (other fields kept), authenticating.
  func expectRotatedAndStored(_ r: VaultRun, _ label: String) throws {
    let keys = try moto.keys(of: r.user)
    #expect(keys.count == 1 && keys.first?.id != r.leaked.id && keys.first?.status == "Active", "\(label): \(keys)")
    let stored = try bao.get(r.vaultPath)
    #expect(
      stored["access_key_id"] == keys.first?.id, "\(label): Vault holds \(stored["access_key_id"] ?? "-"), IAM \(keys)")
    #expect(stored["region"] == "eu-west-1", "\(label): other fields kept")
    #expect(
      moto.authenticates(stored["access_key_id"] ?? "", stored["secret_access_key"] ?? ""), "\(label): stored key works"
    )
  }

  /// A run that must end within `timeout` seconds: a persisting fault must be given up on (the
  /// retries are bounded), not retried until someone notices.
  func runKeyCompromised(_ r: VaultRun, _ env: [String: String], timeout: Double = 180) throws -> ProcessOutcome {
    try runRespond(
      [
        "key-compromised", "--key", r.leaked.id, "--vault-path", "secret/" + r.vaultPath, "--yes",
        "--out", dir + "/incidents", "--runbooks", services.repoRoot + "/Runbooks",
      ],
      environment: env, timeout: timeout)
  }

  @Test(.timeLimit(.minutes(5))) func vaultWriteFaults() throws {
    let proxy = try proxy(to: services.baoAddr)
    let env = try vaultEnvironment(proxy)
    var survived: [String: Int] = [:]
    var persistentSurvived: [String: Int] = [:]
    // Reads of the secret (GET) and the write (POST) are both on /v1/secret/data/<path>: a
    // malformed or truncated answer is injected into the read that precedes the write (a garbled
    // write answer is checked separately below), every other kind into the write itself.
    for (name, rule, count, error) in Self.kinds("/v1/secret/data/", write: "POST") {
      var rule = rule
      if name == "malformed" || name == "truncated" { rule.method = "GET" }
      // Cleared within the retries.
      _ = try control(proxy, "/_fault/reset", "")
      let r = try vaultRun(name)
      _ = try control(proxy, "/_fault/script", rule.json(count: count))
      let o = try runKeyCompromised(r, env)
      let n = try injected(proxy)
      #expect(o.status == 0, "vault \(name) ×\(count): \(o.stderr.suffix(1500))")
      #expect(n == count, "vault \(name): injected \(n)")
      try expectRotatedAndStored(r, "vault \(name) ×\(count)")
      if o.status == 0 { survived[name, default: 0] += n }

      // Persisting until cleared.
      _ = try control(proxy, "/_fault/reset", "")
      let p = try vaultRun(name + "-p")
      var persisting = rule
      if rule.kind == "throttle" { persisting.extra = "\"retry_after\":0" }  // the hint was proved honoured above
      _ = try control(proxy, "/_fault/script", persisting.json(count: -1))
      let f = try runKeyCompromised(p, env, timeout: 60)
      let m = try injected(proxy)
      let label = "vault \(name) persisting"
      #expect(f.status == 1, "\(label): \(f.stderr.suffix(1500))")
      #expect(f.stderr.contains("step 'store-vault' failed"), "\(label): names the step: \(f.stderr.suffix(800))")
      #expect(
        f.stderr.contains(proxy.replacingOccurrences(of: "http://", with: "")),
        "\(label): names the endpoint: \(f.stderr.suffix(800))")
      #expect(f.stderr.contains(error), "\(label): carries '\(error)': \(f.stderr.suffix(800))")
      #expect(
        !f.stderr.contains(services.baoToken) && !f.stderr.contains(p.leaked.secret), "\(label): no secret in the error"
      )
      let incident = (f.lastLine as NSString).deletingLastPathComponent
      let state = try IncidentState.load(journal: incident + "/journal.jsonl")
      #expect(state.stoppedAt == "store-vault", "\(label): stopped at \(state.stoppedAt ?? "-")")
      _ = try control(proxy, "/_fault/reset", "")
      let resumed = try runRespond(["resume", incident, "--yes"], environment: env, timeout: 180)
      #expect(resumed.status == 0, "\(label): resume: \(resumed.stderr.suffix(1500))")
      try expectRotatedAndStored(p, label)
      if resumed.status == 0 { persistentSurvived[name, default: 0] += m }
      print("vault-fault \(name): \(count) cleared within retries; persisting: \(m) injected before giving up")
    }
    print("vault-fault survived (cleared within retries): \(survived.sorted { $0.key < $1.key })")
    print("vault-fault survived (persisted, then resumed): \(persistentSurvived.sorted { $0.key < $1.key })")
  }

  /// A garbled 2xx answer to the write itself (the write may or may not have happened): the step
  /// must not claim success blindly; the end state must be right after at most one resume.
  @Test(.timeLimit(.minutes(2)), arguments: ["malformed", "truncated"])
  func garbledAnswerToTheVaultWrite(_ kind: String) throws {
    let proxy = try proxy(to: services.baoAddr)
    let env = try vaultEnvironment(proxy)
    let r = try vaultRun("w-" + kind)
    _ = try control(proxy, "/_fault/script", Rule(match: "/v1/secret/data/", method: "POST", kind: kind).json(count: 1))
    let o = try runKeyCompromised(r, env)
    #expect(try injected(proxy) == 1)
    if o.status != 0 {
      #expect(o.stderr.contains("step 'store-vault' failed"), "\(o.stderr.suffix(800))")
      let incident = (o.lastLine as NSString).deletingLastPathComponent
      let resumed = try runRespond(["resume", incident, "--yes"], environment: env, timeout: 180)
      #expect(resumed.status == 0, "resume: \(resumed.stderr.suffix(1500))")
    }
    try expectRotatedAndStored(r, "garbled (\(kind)) write answer, exit \(o.status)")
  }

  // MARK: - Slack incoming webhook (step slack, notify phase)

  /// Slack's incoming webhook is not idempotent (a resent post is a second message): 429 and 5xx
  /// (certainly not delivered) are retried; a reset, a timeout or a truncated answer (maybe
  /// delivered) fail the step at once, and resume sends it after the fault clears. A 200 whose
  /// body is not Slack's `ok` is taken as delivered: a 2xx is the webhook's only receipt.
  ///
  /// The faults hit the notify phase's message only (the runbook also pages before containment and
  /// when the run stops, to the same webhook): `delivered` counts that message.
  @Test(.timeLimit(.minutes(4))) func slackWebhookFaults() throws {
    let proxy = try proxy(to: services.receiverURL)
    var survived: [String: Int] = [:]
    var resumedAfter: [String: Int] = [:]
    let outcomeMessage = "audit event(s) found"
    for (name, var rule, count, error) in Self.kinds("/services/", write: nil) {
      rule.extra += (rule.extra.isEmpty ? "" : ",") + "\"body\":\"\(outcomeMessage)\""
      let retried = ["503", "500", "429"].contains(name)
      for persistent in retried ? [false, true] : [false] {
        _ = try control(proxy, "/_fault/reset", "")
        let hook = "/services/T0FAULT/B0FAULT/\(UUID().uuidString.prefix(12))-\(name)"
        let json = try runProgram(
          "/usr/bin/env", ["bao", "token", "create", "-format=json", "-policy=default", "-ttl=1h"],
          environment: services.vaultEnvironment)
        let token = try #require(Value.parseJSON(json)?.pointer("/auth/client_token")?.stringValue)
        recordTestSecret(token)
        var env = services.vaultEnvironment
        env["SLACK_WEBHOOK_URL"] = proxy + hook
        env["RESPOND_HTTP_TIMEOUT"] = "1"
        env["HOME"] = dir
        var rule = rule
        if persistent && rule.kind == "throttle" { rule.extra = "\"retry_after\":0,\"body\":\"\(outcomeMessage)\"" }
        // A fault that is not retried is armed twice: the early page leaves a kept-alive connection
        // to the webhook, and libcurl sends a request once more on a fresh connection when a reused
        // one dies before answering (a reset), so a single reset would never reach respond.
        _ = try control(proxy, "/_fault/script", rule.json(count: persistent ? -1 : (retried ? count : 2)))
        let o = try runRespond(
          [
            "vault-token-compromised", "--token", token, "--yes", "--out", dir + "/incidents",
            "--runbooks", services.repoRoot + "/Runbooks",
          ], environment: env, timeout: 60)
        let n = try injected(proxy)
        let delivered = { [self] () throws -> Int in
          let q = hook.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? hook
          let url = services.receiverURL + "/_control/requests?path=" + q
          return Value.parseJSON(try runProgram("/usr/bin/curl", ["-sS", "--fail", url]))?
            .arrayValue?.filter { $0["body"]?.stringValue?.contains(outcomeMessage) == true }.count ?? -1
        }
        let label = "slack \(name)\(persistent ? " persisting" : " ×\(retried ? count : 1)")"
        #expect(!o.stderr.contains(hook) && !o.stdout.contains(hook), "\(label): the webhook's secret path was shown")
        if name == "malformed" {
          #expect(o.status == 0, "\(label): \(o.stderr.suffix(1500))")
          #expect(n == 1)
          continue
        }
        if retried && !persistent {
          #expect(o.status == 0, "\(label): \(o.stderr.suffix(1500))")
          #expect(n == count, "\(label): injected \(n)")
          #expect(try delivered() == 1, "\(label): the message arrived once")
          if o.status == 0 { survived[name, default: 0] += n }
          continue
        }
        // Failed: exit 1, naming the step, the endpoint (never the webhook's secret path) and the error.
        #expect(o.status == 1, "\(label): \(o.stderr.suffix(1500))")
        #expect(o.stderr.contains("step 'slack' failed"), "\(label): \(o.stderr.suffix(800))")
        #expect(
          o.stderr.contains(proxy.replacingOccurrences(of: "http://", with: "")),
          "\(label): names the endpoint: \(o.stderr.suffix(800))")
        #expect(o.stderr.contains(error), "\(label): carries '\(error)': \(o.stderr.suffix(800))")
        #expect(try delivered() == 0)
        let incident = (o.lastLine as NSString).deletingLastPathComponent
        let state = try IncidentState.load(journal: incident + "/journal.jsonl")
        #expect(state.stoppedAt == "slack", "\(label): stopped at \(state.stoppedAt ?? "-")")
        _ = try control(proxy, "/_fault/reset", "")
        var resumed = try runRespond(["resume", incident, "--yes", "--token", token], environment: env, timeout: 120)
        if resumed.status != 0 && resumed.stderr.contains("--rerun-interrupted") {
          // A failed post is not resent blindly (resume treats every failed non-idempotent step as
          // possibly done): a human checks the channel, then says so.
          resumed = try runRespond(
            ["resume", incident, "--yes", "--rerun-interrupted", "--token", token],
            environment: env, timeout: 120)
        }
        #expect(resumed.status == 0, "\(label): resume: \(resumed.stderr.suffix(1500))")
        #expect(try delivered() == 1, "\(label): delivered exactly once after resume")
        if resumed.status == 0 { resumedAfter[name, default: 0] += n }
        print("slack-fault \(label): \(n) injected, run failed at slack, resume delivered")
      }
    }
    print("slack-fault survived (cleared within retries): \(survived.sorted { $0.key < $1.key })")
    print("slack-fault survived (failed, then resumed): \(resumedAfter.sorted { $0.key < $1.key })")
  }
}
