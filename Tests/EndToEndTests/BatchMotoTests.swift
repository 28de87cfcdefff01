import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond key-compromised --from FILE` at scale, live against moto (SigV4 checked), checked
/// afterwards with boto3 (Tests/Support/batch_fixture.py): a hundred leaked keys of fifty users,
/// some already deleted, some of users at the two-key limit; and a batch interrupted with
/// Ctrl-C, then continued with `respond resume <summary> --from FILE`.
@Suite(.serialized) struct BatchMotoTests {
  let services: TestServices
  let out = NSTemporaryDirectory() + "respond-batch-moto-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
  }

  /// A user as planted: its name, the keys created and deleted before the batch, the live ones.
  struct Planted {
    var user: String
    var dead: [String]
    var live: [(id: String, secret: String)]
  }

  func fixture(_ args: [String]) throws -> Value {
    let text = try runProgram(
      "/usr/bin/env", ["python3", services.repoRoot + "/Tests/Support/batch_fixture.py"] + args,
      environment: [
        "RESPOND_TEST_AWS_ACCESS_KEY_ID": services.awsAccessKeyID,
        "RESPOND_TEST_AWS_SECRET_ACCESS_KEY": services.awsSecretAccessKey,
      ])
    return try #require(Value.parseJSON(text), "batch_fixture.py \(args.first ?? "") answered \(text.prefix(200))")
  }

  /// Creates one user per plan entry: `dead` keys created and deleted, then `live` active keys.
  func plant(_ prefix: String, _ plan: [(dead: Int, live: Int)]) throws -> [Planted] {
    let spec = Value.array(plan.map { .object(["dead": .number(Double($0.dead)), "live": .number(Double($0.live))]) })
    let answer = try fixture(["plant", services.motoURL, prefix, spec.jsonString()])
    return (answer.arrayValue ?? []).map { u in
      Planted(
        user: u["user"]?.stringValue ?? "", dead: (u["dead"]?.arrayValue ?? []).compactMap(\.stringValue),
        live: (u["live"]?.arrayValue ?? []).map { ($0["id"]?.stringValue ?? "", $0["secret"]?.stringValue ?? "") })
    }
  }

  /// Each user's keys now, as boto3 lists them: id → status.
  func keys(of users: [String]) throws -> [[String: String]] {
    let answer = try fixture(["keys", services.motoURL, Value.array(users.map { .string($0) }).jsonString()])
    return (answer.arrayValue ?? []).map { list in
      Dictionary(
        (list.arrayValue ?? []).map { ($0["id"]?.stringValue ?? "", $0["status"]?.stringValue ?? "") },
        uniquingKeysWith: { a, _ in a })
    }
  }

  /// respond's environment: moto for AWS; CloudTrail (which moto answers with HTTP 500) at the
  /// recording receiver's documented empty answer, under a path of this test's own.
  func environment() throws -> [String: String] {
    let path = "/cloudtrail-\(UUID().uuidString.prefix(8).lowercased())"
    let spec: Value = [
      "path": .string(path), "responses": [],
      "default": [
        "status": 200, "headers": ["Content-Type": "application/x-amz-json-1.1"], "body": #"{"Events": []}"#,
      ],
    ]
    _ = try runProgram(
      "/usr/bin/curl",
      ["-sS", "--fail", "-X", "POST", "--data-binary", spec.jsonString(), services.receiverURL + "/_control/script"])
    var env = services.awsEnvironment
    env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = services.receiverURL + path
    env["HOME"] = out
    return env
  }

  /// The batch summary's keys (display → outcome, incident folder) from its JSON.
  func summary(_ markdownPath: String) throws -> [String: (outcome: String, incident: String?)] {
    let data = try Data(contentsOf: URL(fileURLWithPath: String(markdownPath.dropLast(3)) + ".json"))
    let json = try #require(Value.parseJSON(data))
    var out: [String: (String, String?)] = [:]
    for k in json["keys"]?.arrayValue ?? [] {
      out[k["display"]?.stringValue ?? ""] = (k["outcome"]?.stringValue ?? "", k["incident-directory"]?.stringValue)
    }
    return out
  }

  /// The replacement key an incident minted, from its report's facts (nil: none minted).
  func replacement(in incident: String?) throws -> String? {
    guard let incident else { return nil }
    let report = try String(contentsOfFile: incident + "/report.md", encoding: .utf8)
    guard let line = report.split(separator: "\n").first(where: { $0.contains("Replacement key") }) else { return nil }
    return line.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
      .first { $0.hasPrefix("AKIA") && $0.count == 20 }
  }

  func assertNoSecrets(_ secrets: [String], in outcome: ProcessOutcome) {
    let files = allFileContents(under: out)
    for s in secrets where !s.isEmpty {
      #expect(!outcome.stdout.contains(s) && !outcome.stderr.contains(s), "a secret reached stdout/stderr")
      for (path, text) in files { #expect(!text.contains(s), "a secret is in \(path)") }
    }
  }

  // MARK: - A hundred keys

  /// 100 leaked keys of 50 users: 20 users with both keys leaked (at the two-key limit, both
  /// rotate: two new keys, each the recorded replacement of one leaked key), 15 users at the
  /// two-key limit with one leaked (the other key is left alone, the leaked one makes room for
  /// its replacement), and 15 users whose 3 leaked keys each were deleted already (found
  /// nowhere: nothing minted, the user's own live key untouched).
  @Test func aHundredLeakedKeysOfFiftyUsersEndAsExpected() throws {
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    defer { removeTestOutput(out) }
    let prefix = "batch-\(UUID().uuidString.prefix(6).lowercased())"
    let plan = Array(repeating: (dead: 0, live: 2), count: 35) + Array(repeating: (dead: 3, live: 1), count: 15)
    let users = try plant(prefix, plan)
    #expect(users.count == 50)
    let bothLeaked = Array(users[0..<20])
    let oneLeaked = Array(users[20..<35])
    let deadKeys = Array(users[35..<50])
    let leaked = bothLeaked.flatMap { $0.live.map(\.id) } + oneLeaked.map { $0.live[0].id } + deadKeys.flatMap(\.dead)
    #expect(Set(leaked).count == 100)
    let list = out + "/leaked.txt"
    try (["# 100 leaked keys, in no particular order"] + leaked.shuffled()).joined(separator: "\n")
      .write(toFile: list, atomically: true, encoding: .utf8)

    let o = try runRespond(
      ["key-compromised", "--from", list, "--parallel", "8", "--yes", "--out", out + "/incidents"],
      environment: try environment(), timeout: 280)
    // The 45 keys deleted already are not proved contained (IAM not knowing a key proves nothing
    // about other accounts): the batch exits with the worst of its keys, 4.
    #expect(o.status == 4, "stderr tail: \(o.stderr.suffix(3000))")
    #expect(o.lastLine.hasSuffix(".md") && o.lastLine.contains("/batch-"))
    #expect(o.stderr.contains("batch: 100/100 done (100 completed), 0 remaining"))
    // Progress lines carry their key: every step line starts with one of the leaked ids.
    let stepLines = o.stderr.split(separator: "\n").filter { $0.contains(" ok ") || $0.contains("FAILED") }
    #expect(!stepLines.isEmpty && stepLines.allSatisfy { line in leaked.contains { line.hasPrefix("[\($0)] ") } })

    let byKey = try summary(o.lastLine)
    #expect(byKey.count == 100)
    for id in leaked { #expect(byKey[id]?.outcome == "completed", "\(id): \(String(describing: byKey[id]))") }

    let now = try keys(of: users.map(\.user))
    let leakedSet = Set(leaked)
    for (i, u) in users.enumerated() {
      let ids = now[i]
      #expect(!ids.keys.contains { leakedSet.contains($0) }, "\(u.user) still has a leaked key: \(ids)")
      if i < 20 {
        // Both leaked: each rotated; the user's keys are exactly the two recorded replacements.
        for key in u.live {
          let text = try String(contentsOfFile: try #require(byKey[key.id]?.incident) + "/report.md", encoding: .utf8)
          #expect(text.contains("LIVE: CONTAINED at") && text.contains("verified by step `check-inactive`"))
        }
        let minted = try Set(u.live.compactMap { try replacement(in: byKey[$0.id]?.incident) })
        #expect(minted.count == 2, "\(u.user): replacements \(minted)")
        #expect(Set(ids.keys) == minted && ids.values.allSatisfy { $0 == "Active" }, "\(u.user): \(ids) vs \(minted)")
      } else if i < 35 {
        // One of two leaked: the other key untouched, plus the leaked key's replacement.
        let minted = try #require(try replacement(in: byKey[u.live[0].id]?.incident), "\(u.user): no replacement")
        #expect(Set(ids.keys) == [u.live[1].id, minted], "\(u.user): \(ids)")
        #expect(ids.values.allSatisfy { $0 == "Active" })
      } else {
        // Already deleted: found nowhere, nothing minted, the live key untouched.
        #expect(ids == [u.live[0].id: "Active"], "\(u.user): \(ids)")
        for dead in u.dead {
          let incident = try #require(byKey[dead]?.incident)
          #expect(try replacement(in: incident) == nil)
          let text = try String(contentsOfFile: incident + "/report.md", encoding: .utf8)
          #expect(text.contains("was not found") && text.contains("LIVE: NOT CONTAINED"))
        }
      }
    }
    _ = bothLeaked
    _ = oneLeaked
    _ = deadKeys
    assertNoSecrets(users.flatMap { $0.live.map(\.secret) } + [services.awsSecretAccessKey], in: o)
  }

  // MARK: - Ctrl-C, then resume

  /// A batch of 20 keys, 2 at once, interrupted with SIGINT after 3 keys finished: the summary
  /// lists completed, interrupted and not-started keys. A findings file with other keys is
  /// refused; with the same file, resume continues: completed incidents are left alone,
  /// interrupted ones resumed in their own folders, the rest started. Every user ends with
  /// exactly one new Active key, the one its incident recorded.
  @Test func anInterruptedBatchResumesWhereItStopped() throws {
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    defer { removeTestOutput(out) }
    let prefix = "stop-\(UUID().uuidString.prefix(6).lowercased())"
    let users = try plant(prefix, Array(repeating: (dead: 0, live: 1), count: 20))
    let leaked = users.map { $0.live[0].id }
    let list = out + "/leaked.txt"
    try leaked.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
    let env = try environment()

    let first = try runRespondInterrupted(
      ["key-compromised", "--from", list, "--parallel", "2", "--yes", "--out", out + "/incidents"], environment: env,
      when: { $0.contains("batch: 3/20 done") })
    #expect(first.status == 1, "stderr tail: \(first.stderr.suffix(3000))")
    #expect(first.stderr.contains("interrupted; no new key starts"))
    #expect(first.lastLine.hasSuffix(".md"))
    let before = try summary(first.lastLine)
    #expect(before.count == 20)
    let tally = Dictionary(grouping: before.values, by: \.outcome).mapValues(\.count)
    #expect((tally["completed"] ?? 0) >= 3 && (tally["not-started"] ?? 0) >= 1, "\(tally)")
    #expect(Set(tally.keys).isSubset(of: ["completed", "interrupted", "not-started"]), "\(tally)")
    #expect(before.values.filter { $0.outcome == "not-started" }.allSatisfy { $0.incident == nil })
    #expect(before.values.filter { $0.outcome != "not-started" }.allSatisfy { $0.incident != nil })
    let json = String(first.lastLine.dropLast(3)) + ".json"

    // Another findings file (one key short) is refused, and nothing runs.
    let short = out + "/short.txt"
    try leaked.dropLast().joined(separator: "\n").write(toFile: short, atomically: true, encoding: .utf8)
    let refused = try runRespond(["resume", json, "--from", short, "--yes"], environment: env)
    #expect(refused.status == 2 && refused.stderr.contains("do not match"), "stderr: \(refused.stderr)")

    let resumed = try runRespond(
      ["resume", json, "--from", list, "--parallel", "4", "--yes"], environment: env, timeout: 200)
    #expect(resumed.status == 0, "stderr tail: \(resumed.stderr.suffix(3000))")
    #expect(resumed.lastLine.hasSuffix(".md") && resumed.lastLine != first.lastLine)
    let after = try summary(resumed.lastLine)
    #expect(after.count == 20 && after.values.allSatisfy { $0.outcome == "completed" }, "\(after)")
    for (id, was) in before where was.incident != nil {
      // Completed and interrupted keys keep their incident: nothing is started twice.
      #expect(after[id]?.incident == was.incident, "\(id) got a new incident")
    }
    let folders = try FileManager.default.contentsOfDirectory(atPath: out + "/incidents").filter {
      !$0.hasPrefix("batch-") && !$0.hasPrefix(".")
    }
    #expect(folders.count == 20, "\(folders)")

    let now = try keys(of: users.map(\.user))
    for (i, u) in users.enumerated() {
      let minted = try replacement(in: after[u.live[0].id]?.incident)
      #expect(minted != nil, "\(u.user) has no recorded replacement")
      #expect(now[i] == [minted ?? "?": "Active"], "\(u.user): \(now[i]) (replacement \(minted ?? "none"))")
    }
    assertNoSecrets(users.map(\.live[0].secret) + [services.awsSecretAccessKey], in: resumed)
    assertNoSecrets([], in: first)
  }

  struct Timeout: Error, CustomStringConvertible { var description: String }

  /// Runs `respond`, sends it SIGINT once its stderr satisfies `when`, and waits for it to end.
  func runRespondInterrupted(
    _ args: [String], environment: [String: String], when: @escaping @Sendable (String) -> Bool, timeout: Double = 200
  ) throws -> ProcessOutcome {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: respondExecutable())
    p.arguments = args
    var env = environment
    env["PATH"] = ProcessInfo.processInfo.environment["PATH"]
    env["NO_COLOR"] = "1"
    p.environment = env
    let outPipe = Pipe()
    let errPipe = Pipe()
    p.standardOutput = outPipe
    p.standardError = errPipe
    p.standardInput = FileHandle.nullDevice
    let lock = NSLock()
    nonisolated(unsafe) var err = Data()
    nonisolated(unsafe) var stdout = Data()
    errPipe.fileHandleForReading.readabilityHandler = { h in
      let d = h.availableData
      lock.withLock { err.append(d) }
    }
    outPipe.fileHandleForReading.readabilityHandler = { h in
      let d = h.availableData
      lock.withLock { stdout.append(d) }
    }
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    var sent = false
    while p.isRunning && Date() < deadline {
      if !sent, when(lock.withLock { String(decoding: err, as: UTF8.self) }) {
        p.interrupt()
        sent = true
      }
      Thread.sleep(forTimeInterval: 0.02)
    }
    if p.isRunning {
      p.terminate()
      throw Timeout(description: "respond \(args.joined(separator: " ")) did not finish in \(timeout)s")
    }
    p.waitUntilExit()
    errPipe.fileHandleForReading.readabilityHandler = nil
    outPipe.fileHandleForReading.readabilityHandler = nil
    let restErr = errPipe.fileHandleForReading.readDataToEndOfFile()
    let restOut = outPipe.fileHandleForReading.readDataToEndOfFile()
    lock.withLock { keepProcessOutput(stdout: stdout + restOut, stderr: err + restErr) }
    return lock.withLock {
      ProcessOutcome(
        status: p.terminationStatus, stdout: String(decoding: stdout + restOut, as: UTF8.self),
        stderr: String(decoding: err + restErr, as: UTF8.self))
    }
  }
}
