import Foundation
import RespondCore
import RespondTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 12, items 1 and 3: `--out` in a folder another user can write, attacked by a second uid
/// (`nobody`, 65534, acting through `setpriv`), and the per-key lock dodged by spelling the key
/// differently or by using another `--out`. Real `respond` processes against moto. The tests run
/// as root (as CI does): without root (chown, setpriv) they fail rather than skip.
@Suite(.serialized) struct SharedFolderTests {
  let services: TestServices
  let moto: MotoFixture
  /// Under /tmp itself, not $TMPDIR: the attacker (uid 65534) must be able to reach the shared
  /// folder, and the test script points $TMPDIR into the checkout, which other users cannot enter.
  let root = "/tmp/respond-shared-" + UUID().uuidString.prefix(8).lowercased()
  static let attacker: UInt32 = 65534

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    chmod(root, 0o755)  // the attacker must reach the shared folders inside
  }

  /// moto, and a per-user lock folder of this test's own (so other suites' keys never meet it).
  var environment: [String: String] {
    var e = services.awsEnvironment
    e["RESPOND_LOCK_DIR"] = root + "/user-locks"
    return e
  }

  func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

  func sha256(_ text: String) throws -> String {
    try runProgram(
      "/usr/bin/env",
      ["python3", "-c", "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())", text])
  }

  /// Every name respond has used for this key's lock file: the digest of the raw key (before
  /// issue 12) and of its canonical identity (`aws:<key id>`). An attacker plants them all.
  func lockNames(key: String) throws -> [String] {
    [try sha256(key) + ".lock", try sha256("aws:" + key) + ".lock"]
  }

  /// Runs a shell script as the other user.
  @discardableResult
  func asAttacker(_ script: String) throws -> String {
    try runProgram(
      "/usr/bin/setpriv",
      [
        "--reuid=\(Self.attacker)", "--regid=\(Self.attacker)", "--clear-groups", "--", "/bin/sh", "-c", script,
      ])
  }

  /// A folder like /tmp: owned by root, world-writable, sticky.
  func sharedTmp(_ name: String) throws -> String {
    let dir = root + "/" + name
    try #require(mkdir(dir, 0o700) == 0)
    try #require(chmod(dir, 0o1777) == 0)
    return dir
  }

  /// A root-owned file the attacker wants destroyed.
  func victim() throws -> String {
    let path = root + "/victim-" + UUID().uuidString.prefix(8).lowercased()
    try "precious\n".write(toFile: path, atomically: false, encoding: .utf8)
    chmod(path, 0o600)
    return path
  }

  func incidents(in dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }
  }

  func owner(_ path: String) -> UInt32 {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_uid : UInt32.max
  }

  // MARK: - item 1: --out in a folder another user can write

  /// The attacker plants `.locks/<digest>.lock` → a root-owned file in a shared folder. Before the
  /// fix the live run truncated the file and wrote its lock text into it.
  @Test func aLinkAnotherUserPlantedAtTheLockIsNotFollowed() throws {
    let user = unique("planted")
    let leaked = try moto.createUser(user)
    let shared = try sharedTmp("tmp-link")
    let target = try victim()
    let links = try lockNames(key: leaked.id).map { "ln -s \(target) \(shared)/.locks/\($0)" }
    try asAttacker("mkdir -m 755 \(shared)/.locks && " + links.joined(separator: " && "))
    #expect(owner(shared + "/.locks") == Self.attacker, "the attacker's setup must really be another uid's")

    let run = try runRespond(
      ["key-compromised", "--key", leaked.id, "--yes", "--out", shared], environment: environment)
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n", "the planted link was followed")
    #expect(run.status == 2, "stderr: \(run.stderr)")
    #expect(run.stderr.contains("writable by"), "the refusal must say why: \(run.stderr)")
    #expect(incidents(in: shared).isEmpty)
    #expect(try moto.keys(of: user).map(\.status) == ["Active"], "a refused run must not touch the key")
  }

  /// The attacker holds a lock file open in the shared folder, its text naming an incident of
  /// their choosing. Before the fix respond stopped and pointed the responder at that incident.
  @Test func aLockAnotherUserHoldsNeitherStopsNorRedirectsTheResponse() throws {
    let user = unique("held")
    let leaked = try moto.createUser(user)
    let shared = try sharedTmp("tmp-held")
    let evil = shared + "/20260101T000000Z-key-compromised"
    let names = try lockNames(key: leaked.id)
    try asAttacker(
      "mkdir -m 755 \(shared)/.locks " + names.map { "&& touch \(shared)/.locks/\($0)" }.joined(separator: " "))
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
    let holdAll = names.enumerated().map { n, name in
      "exec \(3 + n)<>\(shared)/.locks/\(name); flock -x \(3 + n); printf 'pid 1\\nincident \(evil)\\n' >&\(3 + n)"
    }
    holder.arguments = [
      "--reuid=\(Self.attacker)", "--regid=\(Self.attacker)", "--clear-groups", "--", "/bin/sh", "-c",
      holdAll.joined(separator: "; ") + "; echo held; exec sleep 60",
    ]
    let ready = Pipe()
    holder.standardOutput = ready
    try holder.run()
    defer {
      holder.terminate()
      holder.waitUntilExit()
    }
    _ = ready.fileHandleForReading.availableData  // "held": the attacker's locks are taken

    let refused = try runRespond(
      ["key-compromised", "--key", leaked.id, "--yes", "--out", shared], environment: environment)
    #expect(refused.status == 2, "stderr: \(refused.stderr)")
    #expect(!refused.stderr.contains(evil), "respond must not point the responder at the attacker's incident")
    #expect(refused.stderr.contains("writable by") && refused.stderr.contains("--out"), "\(refused.stderr)")
    #expect(try moto.keys(of: user).map(\.status) == ["Active"])

    // Following the advice (a folder of one's own), the response goes ahead while the attacker still holds theirs.
    let mine = root + "/mine-held"
    let run = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", mine], environment: environment)
    #expect(run.status == 0, "stderr: \(run.stderr)")
  }

  /// What respond finds already there, owned by another user or writable by others, in an output
  /// folder that is otherwise the responder's own. Each is refused, saying which and why.
  enum Planted: String, CaseIterable, Sendable {
    case outputOwnedByAnother, outputGroupWritable, locksFolderOwnedByAnother, lockFileOwnedByAnother
    case lockFileWorldWritable, lockFileIsALink, userLockFolderOwnedByAnother
  }

  @Test(arguments: Planted.allCases) func aFolderOrLockAnotherUserOwnsOrCanWriteIsRefused(_ planted: Planted) throws {
    let user = unique("owned")
    let leaked = try moto.createUser(user)
    let out = root + "/out-" + planted.rawValue
    try #require(mkdir(out, 0o700) == 0)
    let locks = out + "/.locks"
    let userLocks = root + "/user-locks"
    var named = out
    let target = try victim()
    switch planted {
    case .outputOwnedByAnother:
      try #require(chown(out, Self.attacker, Self.attacker) == 0)
    case .outputGroupWritable:
      try #require(chmod(out, 0o770) == 0)
    case .locksFolderOwnedByAnother:
      try #require(mkdir(locks, 0o700) == 0 && chown(locks, Self.attacker, Self.attacker) == 0)
      named = locks
    case .lockFileOwnedByAnother, .lockFileWorldWritable:
      try #require(mkdir(locks, 0o700) == 0)
      for name in try lockNames(key: leaked.id) {
        let file = locks + "/" + name
        try #require(FileManager.default.createFile(atPath: file, contents: Data("pid 1\n".utf8)))
        if planted == .lockFileOwnedByAnother {
          try #require(chmod(file, 0o600) == 0 && chown(file, Self.attacker, Self.attacker) == 0)
        } else {
          try #require(chmod(file, 0o666) == 0)
        }
      }
      named = locks + "/"
    case .lockFileIsALink:
      // Only the user could have put it there, yet a link is never followed.
      try #require(mkdir(locks, 0o700) == 0)
      for name in try lockNames(key: leaked.id) { try #require(symlink(target, locks + "/" + name) == 0) }
      named = locks + "/"
    case .userLockFolderOwnedByAnother:
      try? FileManager.default.removeItem(atPath: userLocks)
      try #require(mkdir(userLocks, 0o700) == 0 && chown(userLocks, Self.attacker, Self.attacker) == 0)
      named = userLocks
    }
    defer { if planted == .userLockFolderOwnedByAnother { try? FileManager.default.removeItem(atPath: userLocks) } }
    let run = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", out], environment: environment)
    #expect(run.status == 2, "\(planted): stderr: \(run.stderr)")
    #expect(run.stderr.contains(named), "\(planted): the refusal must name \(named): \(run.stderr)")
    #expect(
      ["user 65534", "writable", "symbolic link"].contains { run.stderr.contains($0) }, "\(planted): why: \(run.stderr)"
    )
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n", "\(planted): a link was followed")
    #expect(incidents(in: out).isEmpty)
    #expect(try moto.keys(of: user).map(\.status) == ["Active"], "\(planted): a refused run must not touch the key")
  }

  /// An incident folder handed over to another user (or planted by one) is not resumed: its
  /// journal is theirs to write.
  @Test func resumeRefusesAnIncidentFolderAnotherUserOwns() throws {
    let user = unique("resown")
    let leaked = try moto.createUser(user)
    let out = root + "/out-resume"
    let gate = try runRespond(["key-compromised", "--key", leaked.id, "--out", out], environment: environment)
    #expect(gate.status == 3, "stderr: \(gate.stderr)")
    let dir = (gate.lastLine as NSString).deletingLastPathComponent
    _ = try runProgram("/bin/chown", ["-R", "\(Self.attacker):\(Self.attacker)", dir])
    let r = try runRespond(["resume", dir, "--yes", "--key", leaked.id], environment: environment)
    #expect(r.status == 2, "stderr: \(r.stderr)")
    #expect(r.stderr.contains(dir) && r.stderr.contains("user 65534"), "\(r.stderr)")
    #expect(try moto.keys(of: user).map(\.status) == ["Active"])
  }

  // MARK: - item 3: one lock per credential, whatever its spelling or --out

  /// The responder holding `KEY` (its per-user lock, named by the canonical identity) stops a
  /// run on ` KEY` with another `--out`, and the refusal names the running incident.
  @Test func anotherSpellingInAnotherFolderMeetsTheSameLock() throws {
    let user = unique("spelled")
    let leaked = try moto.createUser(user)
    let lockDir = root + "/user-locks"
    try? FileManager.default.createDirectory(atPath: lockDir, withIntermediateDirectories: true)
    chmod(lockDir, 0o700)
    let running = root + "/out-a/20260101T000000Z-key-compromised"
    let fd = open(lockDir + "/" + (try sha256("aws:" + leaked.id)) + ".lock", O_RDWR | O_CREAT, 0o600)
    try #require(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
    let text = Array("pid 4242\nincident \(running)\n".utf8)
    _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    defer { close(fd) }
    for spelling in [" " + leaked.id, leaked.id + "  ", leaked.id.lowercased(), leaked.id] {
      let run = try runRespond(
        ["key-compromised", "--key", spelling, "--yes", "--out", root + "/out-b"], environment: environment)
      #expect(run.status == 1, "\(spelling.debugDescription): stderr: \(run.stderr)")
      #expect(run.stderr.contains("already responding to this key") && run.stderr.contains(running), "\(run.stderr)")
    }
    #expect(try moto.keys(of: user).map(\.status) == ["Active"])
  }

  /// `--key KEY` and `--key " KEY"` started together, each with its own `--out`: one finishes,
  /// the other is refused naming it, and IAM ends with exactly one replacement key.
  @Test func twoSpellingsStartedTogetherInTwoFoldersRotateOnce() throws {
    for round in 1...3 {
      let user = unique("spell\(round)")
      let leaked = try moto.createUser(user)
      let a = try RunningRespond(
        ["key-compromised", "--key", leaked.id, "--yes", "--out", root + "/race-a"], environment: environment)
      let b = try RunningRespond(
        ["key-compromised", "--key", " " + leaked.id, "--yes", "--out", root + "/race-b"], environment: environment)
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

  /// The per-user lock is private (0700 folder, 0600 file) and names the incident it guards.
  @Test func theUserLockIsPrivateAndNamesTheIncident() throws {
    let user = unique("text")
    let leaked = try moto.createUser(user)
    let out = root + "/out-text"
    let run = try runRespond(["key-compromised", "--key", leaked.id, "--yes", "--out", out], environment: environment)
    #expect(run.status == 0, "stderr: \(run.stderr)")
    let lock = root + "/user-locks/" + (try sha256("aws:" + leaked.id)) + ".lock"
    let text = try String(contentsOfFile: lock, encoding: .utf8)
    #expect(text.contains("incident \(out)/"), "\(text)")
    let mode = try FileManager.default.attributesOfItem(atPath: lock)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    let dirMode = try FileManager.default.attributesOfItem(atPath: root + "/user-locks")[.posixPermissions] as? Int
    #expect(dirMode == 0o700)
  }
}
