import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 13 item 4 through the built CLI: before a live run changes anything, the preflight
/// checks configuration, credentials and the caller's AWS permissions, and stops a run whose
/// containment cannot work. moto has no IAM SimulatePrincipalPolicy: `Tests/Support/iam_simulator.py`
/// answers it in front of moto (everything else goes to moto), and each test checks what was
/// asked and answered against botocore's IAM service model.
@Suite(.serialized) final class PreflightEndToEndTests {
  let services: TestServices
  let moto: MotoFixture
  let dir = NSTemporaryDirectory() + "respond-preflight-" + UUID().uuidString
  let out: String
  var children: [Process] = []

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    out = dir + "/incidents"
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
  }

  deinit {
    for p in children {
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
    }
    removeTestOutput(dir)
  }

  /// Starts the simulator in front of moto; returns its URL.
  func startSimulator(_ args: [String]) throws -> String {
    let portFile = dir + "/\(UUID().uuidString).port"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments =
      [
        "python3", services.repoRoot + "/Tests/Support/iam_simulator.py", "--upstream", services.motoURL, "--port",
        "0", "--port-file", portFile,
      ] + args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    children.append(p)
    for _ in 0..<150 {
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
        return "http://127.0.0.1:\(port)"
      }
      usleep(100_000)
    }
    throw TestFailure("iam_simulator.py did not start within 15 s")
  }

  /// Every simulation the simulator was asked for, each checked against botocore's IAM model:
  /// the request's parameters (SimulatePrincipalPolicyRequest) and, when it answered, the XML
  /// (SimulatePolicyResponse).
  func checkedSimulations(_ url: String) throws -> [[String: String]] {
    let json = try runProgram("/usr/bin/curl", ["-sS", "--fail", "--noproxy", "*", url + "/_sim/requests"])
    let model = services.repoRoot + "/Tests/Support/botocore_model.py"
    var out: [[String: String]] = []
    for sim in Value.parseJSON(json)?.arrayValue ?? [] {
      let params = sim["params"]?.objectValue?.compactMapValues(\.stringValue) ?? [:]
      let request = try runProgram(
        "/usr/bin/env",
        [
          "python3", model, "check-request", "iam", "SimulatePrincipalPolicy",
          Value.object(params.mapValues(Value.string)).json(),
        ])
      #expect(request == "ok")
      if sim["status"]?.intValue == 200 {
        let file = dir + "/answer-\(UUID().uuidString).xml"
        try (sim["answer"]?.stringValue ?? "").write(toFile: file, atomically: true, encoding: .utf8)
        let answer = try runProgram(
          "/usr/bin/env", ["python3", model, "check-response", "iam", "SimulatePrincipalPolicy", file])
        #expect(answer == "ok")
      }
      out.append(params)
    }
    return out
  }

  func environment(iam: String) -> [String: String] {
    var env = services.awsEnvironment
    env["AWS_ENDPOINT_URL_IAM"] = iam
    env["HOME"] = dir
    return env
  }

  func respond(_ args: [String], _ env: [String: String]) throws -> ProcessOutcome {
    try runRespond(args + ["--out", out, "--runbooks", services.repoRoot + "/Runbooks"], environment: env)
  }

  func incidents() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { !$0.hasPrefix(".") }
  }

  /// Missing SMTP settings, a missing credential and a denied iam:UpdateAccessKey are all found
  /// before the first change: the run stops with exit 2, the key is still Active, no incident
  /// (and so no journal with a change in it) exists.
  @Test func aPreflightCatchesEveryProblemBeforeAnyChange() throws {
    let user = "preflight-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let iam = try startSimulator(["--deny", "iam:UpdateAccessKey"])
    var env = environment(iam: iam)
    env["SMTP_URL"] = services.smtpURL
    env["SMTP_FROM"] = "respond@example.test"
    // --vault-path names a secret store, and no Vault/OpenBao credentials are set.
    let o = try respond(
      ["key-compromised", "--key", leaked.id, "--vault-path", "secret/ci/aws", "--yes"], env)
    #expect(o.status == 2, "stderr: \(o.stderr)")
    #expect(o.stdout.isEmpty, "no report: nothing ran")
    #expect(o.stderr.contains("BLOCKING        step deactivate: arn:aws:iam::"))
    #expect(o.stderr.contains("may not call iam:UpdateAccessKey (implicitDeny)"))
    #expect(o.stderr.contains("fix: allow iam:UpdateAccessKey for it (`respond policy key-compromised`"))
    #expect(o.stderr.contains("not configured  step email: SMTP: half configured, SMTP_TO not set"))
    #expect(o.stderr.contains("Vault/OpenBao: not configured"))
    #expect(o.stderr.contains("fix: Vault/OpenBao: set VAULT_ADDR and VAULT_TOKEN, or BAO_ADDR and BAO_TOKEN"))
    #expect(o.stderr.contains("nothing was changed"))
    #expect(!o.stderr.contains(leaked.secret))
    #expect(try moto.keys(of: user).map(\.status) == ["Active"], "the key was not touched")
    #expect(incidents().isEmpty, "no incident folder, no journal: \(incidents())")

    // One simulation per resource pattern: IAM users, roles, groups and managed policies (with
    // the caller's account), and `*` for CloudTrail and STS, which have no resource-level
    // permissions.
    let simulations = try checkedSimulations(iam)
    Self.expectOneSimulationPerResource(simulations)
    let users = try #require(simulations.first { $0["ResourceArns.member.1"] == "arn:aws:iam::123456789012:user/*" })
    let asked = Set(users.filter { $0.key.hasPrefix("ActionNames.member.") }.map(\.value))
    #expect(asked.isSuperset(of: ["iam:UpdateAccessKey", "iam:GetAccessKeyLastUsed", "iam:CreateAccessKey"]))
    #expect(users["PolicySourceArn"]?.hasPrefix("arn:aws:iam::123456789012:user/") == true)
    let star = try #require(simulations.first { $0["ResourceArns.member.1"] == nil })
    #expect(star["ActionNames.member.1"] == "cloudtrail:LookupEvents")
  }

  /// No AWS credentials at all for an AWS key: the run stops before the incident exists,
  /// naming the variables to set.
  @Test func missingCredentialsForContainmentStopTheRun() throws {
    let o = try respond(["key-compromised", "--key", "AKIAIOSFODNN7EXAMPLE", "--yes"], ["HOME": dir])
    #expect(o.status == 2, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("BLOCKING        step owner, "))
    #expect(o.stderr.contains("AWS credentials: not configured"))
    #expect(o.stderr.contains("nothing was changed"))
    #expect(incidents().isEmpty)
  }

  /// The simulation refused (the responder may not simulate): "unknown", said, and the run goes
  /// on to contain the key; --yes does not hide the preflight; the half-configured e-mail is
  /// skipped at its turn and is a follow-up, not a failure; the journal keeps what was found.
  @Test func anUnknownPermissionGoesOnAndAHalfConfiguredMailIsSkipped() throws {
    let user = "preflight-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let iam = try startSimulator(["--refuse"])
    var env = environment(iam: iam)
    env["SMTP_URL"] = services.smtpURL
    env["SMTP_FROM"] = "respond@example.test"
    let o = try respond(["key-compromised", "--key", leaked.id, "--yes"], env)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("unknown         AWS permissions could not be checked (IAM SimulatePrincipalPolicy for"))
    #expect(o.stderr.contains("AccessDenied"))
    #expect(o.stderr.contains("not configured: email (notify.email) is skipped"))
    #expect(try moto.keys(of: user).allSatisfy { $0.id != leaked.id }, "contained and rotated")
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("- [ ] Step `email` (notify.email) was skipped, not configured: SMTP: half configured"))
    let journal = try String(
      contentsOfFile: (o.lastLine as NSString).deletingLastPathComponent + "/journal.jsonl", encoding: .utf8)
    #expect(journal.contains("preflight: "), "the preflight is journaled")
    #expect(try checkedSimulations(iam).count == 1)
  }
}

extension PreflightEndToEndTests {
  /// The drill's readiness section shows the same checks: a call the caller may not make makes
  /// its step not ready, with the reason, and the drill's stderr shows the preflight.
  @Test func aDrillsReadinessListsWhatThePreflightFound() throws {
    let user = "preflight-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let iam = try startSimulator(["--deny", "iam:UpdateAccessKey"])
    let o = try respond(["drill", "key-compromised", "--key", leaked.id], environment(iam: iam))
    #expect(o.status == 0, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("BLOCKING        step deactivate: "))
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    let row = try #require(report.split(separator: "\n").first { $0.hasPrefix("| `deactivate` |") })
    #expect(row.contains("| **no** |"), "\(row)")
    #expect(
      row.contains("may not call iam:UpdateAccessKey \\(implicitDeny\\)")
        || row.contains("may not call iam:UpdateAccessKey (implicitDeny)"), "\(row)")
    #expect(try moto.keys(of: user).map(\.status) == ["Active"])
    Self.expectOneSimulationPerResource(try checkedSimulations(iam))
  }

  /// Each resource pattern the runbook's AWS calls touch is simulated once, no more.
  static func expectOneSimulationPerResource(_ simulations: [[String: String]]) {
    let resources = simulations.map { $0["ResourceArns.member.1"] ?? "*" }
    #expect(Set(resources).count == resources.count, "one simulation per resource: \(resources)")
    let iam = "arn:aws:iam::123456789012:"
    // Rotating the secrets the key read (issue 16 item 6) may run whatever the inputs: its
    // Secrets Manager calls and the rotation function's invocation are checked before too.
    let rotation = ["arn:aws:secretsmanager:*:123456789012:secret:*", "arn:aws:lambda:*:123456789012:function:*"]
    #expect(
      Set(resources) == Set(["user/*", "role/*", "group/*", "policy/*"].map { iam + $0 } + ["*"] + rotation),
      "\(resources)")
  }
}

extension PreflightEndToEndTests {
  /// `respond policy` through the CLI: `--iam` alone is a document IAM takes as it is (JSON,
  /// version 2012-10-17), `--vault` alone is HCL; inputs narrow the Vault paths.
  @Test func policyPrintsTheIAMDocumentAndTheVaultPolicy() throws {
    let runbooks = services.repoRoot + "/Runbooks"
    let iam = try runRespond(
      ["policy", "key-compromised", "--iam", "--runbooks", runbooks], environment: ["HOME": dir])
    #expect(iam.status == 0, "stderr: \(iam.stderr)")
    let doc = try #require(Value.parseJSON(iam.stdout)?.objectValue)
    #expect(doc["Version"]?.stringValue == "2012-10-17")
    #expect(iam.stdout.contains("\"iam:UpdateAccessKey\""))
    #expect(!iam.stdout.contains("path \""))
    let vault = try runRespond(
      ["policy", "key-compromised", "--vault", "--vault-path", "secret/ci/aws", "--runbooks", runbooks],
      environment: ["HOME": dir])
    #expect(vault.status == 0, "stderr: \(vault.stderr)")
    #expect(vault.stdout.contains("path \"secret/data/ci/aws\" {"))
    #expect(!vault.stdout.contains("\"Version\""))
    let help = try runRespond(["policy", "--help"], environment: ["HOME": dir])
    #expect(help.stdout.contains("aws iam create-policy"))
    let runbookHelp = try runRespond(["key-compromised", "--help", "--runbooks", runbooks], environment: ["HOME": dir])
    #expect(runbookHelp.stdout.contains("preflight: before a live run changes anything"))
  }
}

extension PreflightEndToEndTests {
  /// `respond` on a terminal (util-linux `script` gives it one), answering `answer` to whatever
  /// it asks: the terminal's whole output and the exit status.
  func onATerminal(_ args: [String], answer: String, env: [String: String]) throws -> (status: Int32, output: String) {
    let command = ([respondExecutable()] + args).map { "'\($0)'" }.joined(separator: " ")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
    p.arguments = ["-q", "-e", "-c", command, "/dev/null"]
    p.environment = env.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { a, _ in a }
    let input = Pipe()
    let output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    p.standardError = output
    try p.run()
    input.fileHandleForWriting.write(Data(answer.utf8))
    let data = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    keepProcessOutput(stdout: data, stderr: Data())
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  /// With a terminal and no --yes, problems that do not stop containment are shown and the
  /// responder is asked whether to go on; "no" stops before anything exists. With --yes the
  /// preflight is shown and nothing is asked.
  @Test func onATerminalTheResponderIsAskedWhetherToGoOn() throws {
    let key = "sk_live_" + String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    recordTestSecret(key)
    let keyFile = dir + "/key"
    try key.write(toFile: keyFile, atomically: true, encoding: .utf8)
    let env = [
      "HOME": dir, "NO_COLOR": "1", "TERM": "dumb", "SMTP_URL": "smtp://127.0.0.1:9",
      "SMTP_FROM": "respond@example.test",
    ]
    let args = ["key-compromised", "--key-file", keyFile, "--out", out, "--runbooks", services.repoRoot + "/Runbooks"]
    let declined = try onATerminal(args, answer: "n\n", env: env)
    #expect(declined.status == 2, "\(declined.output)")
    #expect(declined.output.contains("not configured  step email: SMTP: half configured, SMTP_TO not set"))
    #expect(declined.output.contains("Go on? [y/N]"))
    #expect(declined.output.contains("stopped after the preflight, as asked; nothing was changed"))
    #expect(incidents().isEmpty)

    let yes = try onATerminal(args + ["--yes"], answer: "", env: env)
    #expect(yes.status == 4, "\(yes.output)")
    #expect(yes.output.contains("not configured  step email: SMTP: half configured, SMTP_TO not set"))
    #expect(!yes.output.contains("Go on?"))
    #expect(!yes.output.contains(key))
  }
}

extension PreflightEndToEndTests {
  /// `bao` as the dev server's root; returns stdout.
  func bao(_ args: [String], stdin: String? = nil) throws -> String {
    try runProgram("/usr/bin/env", ["bao"] + args, environment: services.vaultEnvironment)
  }

  /// A token whose policy `hcl` allows, or nothing; recorded as a secret.
  func token(policy name: String, hcl: String?) throws -> String {
    if let hcl {
      let file = dir + "/\(name).hcl"
      try hcl.write(toFile: file, atomically: true, encoding: .utf8)
      _ = try bao(["policy", "write", name, file])
    }
    let json = try bao(["token", "create", "-format=json", "-policy=\(hcl == nil ? "default" : name)", "-ttl=1h"])
    let token = try #require(Value.parseJSON(json)?.pointer("/auth/client_token")?.stringValue)
    recordTestSecret(token)
    return token
  }

  /// A responder token that may look tokens up but not revoke them: the preflight asks OpenBao
  /// (sys/capabilities-self) and stops the run before the first change, the leaked token alive.
  @Test func aVaultTokenThatMayNotRevokeStopsTheRunBeforeAnyChange() throws {
    let name = "respond-limited-\(UUID().uuidString.prefix(8).lowercased())"
    let responder = try token(
      policy: name, hcl: "path \"auth/token/lookup\" {\n  capabilities = [\"update\"]\n}\n")
    let leaked = try token(policy: "leaked", hcl: nil)
    let env = ["VAULT_ADDR": services.baoAddr, "VAULT_TOKEN": responder, "HOME": dir]
    let o = try respond(["key-compromised", "--key", leaked, "--yes"], env)
    #expect(o.status == 2, "stderr: \(o.stderr)")
    #expect(
      o.stderr.contains(
        "BLOCKING        step vault-revoke: the Vault/OpenBao token may not update auth/token/revoke (it has: deny)"))
    #expect(
      o.stderr.contains("fix: add to the token's policy: path \"auth/token/revoke\" { capabilities = [\"update\"] }"))
    #expect(!o.stderr.contains("auth/token/lookup-accessor"), "the runbook never looks up by accessor")
    #expect(o.stderr.contains("nothing was changed"))
    #expect(incidents().isEmpty)
    #expect((try? bao(["token", "lookup", leaked])) != nil, "the leaked token was not touched")

    // Allowed to revoke, the same response goes through.
    let able = try token(
      policy: name + "-able",
      hcl:
        "path \"auth/token/lookup\" {\n  capabilities = [\"update\"]\n}\npath \"auth/token/revoke\" {\n  capabilities = [\"update\"]\n}\n"
    )
    var ok = env
    ok["VAULT_TOKEN"] = able
    let done = try respond(["key-compromised", "--key", leaked, "--yes"], ok)
    #expect(done.status == 0, "stderr: \(done.stderr)")
    #expect(!done.stderr.contains("BLOCKING"))
    #expect((try? bao(["token", "lookup", leaked])) == nil, "revoked")
  }
}
