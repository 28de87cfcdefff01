import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Two responders, one key: the second must see the first's incident and stop (exit 1, naming
/// it) instead of rotating the key a second time. Real processes against moto.
@Suite(.serialized) struct IncidentLockTests {
  let services: TestServices
  let moto: MotoFixture
  let out = NSTemporaryDirectory() + "respond-lock-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
  }

  /// CloudTrail answered by the botocore-checked emulator (moto has none).
  let cloudtrail: CloudTrailEmulator

  var environment: [String: String] { cloudtrail.awsEnvironment() }

  func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

  /// The documented lock path, computed independently of respond: `<out>/.locks/<sha256 hex>.lock`
  /// of the key's canonical identity (`aws:<access key id>`).
  func lockPath(key: String) throws -> String {
    let hex = try runProgram(
      "/usr/bin/env",
      ["python3", "-c", "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())", "aws:" + key])
    return out + "/.locks/\(hex).lock"
  }

  /// Holds the lock from this process, as a running responder would; returns the fd to close.
  func holdLock(_ path: String, incident: String) throws -> Int32 {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent,
      withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let fd = open(path, O_RDWR | O_CREAT, 0o600)
    try #require(fd >= 0)
    try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
    let text = Array("pid 4242\nincident \(incident)\n".utf8)
    _ = ftruncate(fd, 0)
    _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    return fd
  }

  func incidents() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { !$0.hasPrefix(".") }
  }

  @Test func aRunOnAKeyAnotherResponderHoldsIsRefusedAndNamesTheHolder() throws {
    let user = unique("locked")
    let leaked = try moto.createUser(user)
    let holder = out + "/20260101T000000Z-key-compromised"
    let fd = try holdLock(try lockPath(key: leaked.id), incident: holder)
    let refused = try runRespond(
      ["key-compromised", "--key", leaked.id, "--yes", "--out", out], environment: environment)
    #expect(refused.status == 1, "stderr: \(refused.stderr)")
    #expect(refused.stderr.contains("already responding to this key"))
    #expect(refused.stderr.contains(holder), "the refusal must point at the holder's incident: \(refused.stderr)")
    #expect(refused.stderr.contains("pid 4242"))
    #expect(incidents().isEmpty, "a refused run must not create an incident folder")
    #expect(try moto.keys(of: user).map(\.status) == ["Active"], "a refused run must not touch the key")

    // Released (the holder finished or died): the next responder goes ahead.
    close(fd)
    let o = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", out], environment: environment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let keys = try moto.keys(of: user)
    #expect(keys.count == 1 && keys.first?.id != leaked.id && keys.first?.status == "Active")
  }

  @Test func resumeTakesTheSameLock() throws {
    let user = unique("lockres")
    let leaked = try moto.createUser(user)
    let gate = try runRespond(["key-compromised", "--key", leaked.id, "--out", out], environment: environment)
    #expect(gate.status == 3, "stderr: \(gate.stderr)")
    let dir = (gate.lastLine as NSString).deletingLastPathComponent
    let fd = try holdLock(try lockPath(key: leaked.id), incident: "/elsewhere/other-incident")
    let refused = try runRespond(["resume", dir, "--yes", "--key", leaked.id], environment: environment)
    #expect(refused.status == 1, "stderr: \(refused.stderr)")
    #expect(refused.stderr.contains("/elsewhere/other-incident"))
    #expect(try moto.keys(of: user).map(\.status) == ["Active"])
    close(fd)
    let r = try runRespond(["resume", dir, "--yes", "--key", leaked.id], environment: environment)
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let keys = try moto.keys(of: user)
    #expect(keys.count == 1 && keys.first?.id != leaked.id)
  }

  /// Two real processes started together on one key, three times over: each time exactly one
  /// replacement is minted and exactly one of the pair is refused, pointing at the other's incident.
  @Test func twoRespondersStartedTogetherRotateOnce() throws {
    for round in 1...3 {
      let user = unique("pair\(round)")
      let leaked = try moto.createUser(user)
      let args = ["key-compromised", "--key", leaked.id, "--yes", "--out", out]
      let a = try RunningRespond(args, environment: environment)
      let b = try RunningRespond(args, environment: environment)
      let results = [try a.wait(), try b.wait()]
      let refused = results.filter { $0.status == 1 && $0.stderr.contains("already responding to this key") }
      let finished = results.filter { $0.status == 0 }
      #expect(
        refused.count == 1 && finished.count == 1,
        "round \(round): \(results.map { "exit \($0.status): \($0.stderr.suffix(300))" })")
      if let r = refused.first, let f = finished.first {
        let winner = (f.lastLine as NSString).deletingLastPathComponent
        #expect(
          r.stderr.contains(winner) || r.stderr.contains("still creating"), "refusal names \(winner): \(r.stderr)")
      }
      let keys = try moto.keys(of: user)
      #expect(
        keys.count == 1 && keys.first?.id != leaked.id && keys.first?.status == "Active",
        "round \(round): exactly one replacement: \(keys)")
    }
  }
}

/// A `respond` process started now and waited for later (for runs that overlap).
final class RunningRespond: @unchecked Sendable {
  let process = Process()
  let out = Pipe(), err = Pipe()
  private let group = DispatchGroup()
  private var o = Data(), e = Data()

  init(_ args: [String], environment: [String: String]) throws {
    process.executableURL = URL(fileURLWithPath: respondExecutable())
    process.arguments = args
    var env = environment
    env["PATH"] = ProcessInfo.processInfo.environment["PATH"]
    env["HOME"] = NSTemporaryDirectory()
    env["NO_COLOR"] = "1"
    process.environment = env
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    group.enter()
    DispatchQueue.global().async {
      self.o = self.out.fileHandleForReading.readDataToEndOfFile()
      self.group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
      self.e = self.err.fileHandleForReading.readDataToEndOfFile()
      self.group.leave()
    }
  }

  /// Waits (at most `timeout` seconds) for the process to end.
  func wait(timeout: Double = 120) throws -> Finished {
    if group.wait(timeout: .now() + timeout) == .timedOut {
      process.terminate()
      throw TestFailure("respond did not finish in \(timeout)s")
    }
    process.waitUntilExit()
    keepProcessOutput(stdout: o, stderr: e)
    return Finished(
      status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
      stderr: String(decoding: e, as: UTF8.self))
  }
}

/// What a `RunningRespond` did.
struct Finished {
  var status: Int32
  var stdout: String
  var stderr: String
  /// The last line on stdout: the report's path.
  var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
}

/// A test's own failure with a message (a helper process that misbehaved).
struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
