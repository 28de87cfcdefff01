import Foundation
import RespondCore

#if canImport(Glibc)
  import Glibc
#endif

/// The real local servers the tests talk to, as `scripts/services.sh up` started them. Values
/// come from the environment (`RESPOND_TEST_*`, what `scripts/test.sh` exports) or from the
/// services.env file that script writes. A test that needs them and finds none fails with a
/// message saying how to start them: it never silently skips.
package struct TestServices: Sendable {
  package var motoURL: String
  package var awsAccessKeyID: String
  package var awsSecretAccessKey: String
  package var baoAddr: String
  package var baoToken: String
  package var auditLog: String
  package var smtpURL: String
  package var maildir: String
  package var receiverURL: String
  package var repoRoot: String

  package struct Missing: Error, CustomStringConvertible {
    package var description: String
  }

  /// Loads the coordinates, or throws `Missing` naming the command that starts the servers.
  package static func load() throws -> TestServices {
    var env = ProcessInfo.processInfo.environment
    if env["RESPOND_TEST_MOTO_URL"] == nil {
      let file = repositoryRoot() + "/.build-services/services.env"
      if let text = try? String(contentsOfFile: file, encoding: .utf8) {
        for line in text.split(separator: "\n") {
          let l = line.hasPrefix("export ") ? line.dropFirst(7) : line[...]
          guard let eq = l.firstIndex(of: "=") else { continue }
          env[String(l[..<eq])] = String(l[l.index(after: eq)...])
        }
      }
    }
    func need(_ k: String) throws -> String {
      guard let v = env[k], !v.isEmpty else {
        throw Missing(
          description:
            "\(k) is not set: start the test servers with `scripts/services.sh up` (scripts/test.sh does it for you)")
      }
      return v
    }
    return TestServices(
      motoURL: try need("RESPOND_TEST_MOTO_URL"),
      awsAccessKeyID: try need("RESPOND_TEST_AWS_ACCESS_KEY_ID"),
      awsSecretAccessKey: try need("RESPOND_TEST_AWS_SECRET_ACCESS_KEY"),
      baoAddr: try need("RESPOND_TEST_BAO_ADDR"),
      baoToken: try need("RESPOND_TEST_BAO_TOKEN"),
      auditLog: try need("RESPOND_TEST_AUDIT_LOG"),
      smtpURL: try need("RESPOND_TEST_SMTP_URL"),
      maildir: try need("RESPOND_TEST_MAILDIR"),
      receiverURL: try need("RESPOND_TEST_RECEIVER_URL"),
      repoRoot: env["RESPOND_TEST_REPO_ROOT"] ?? repositoryRoot())
  }

  /// The repository root, found from this source file's location.
  package static func repositoryRoot(file: String = #filePath) -> String {
    var url = URL(fileURLWithPath: file)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    return FileManager.default.currentDirectoryPath
  }

  /// Environment for a child `respond` (or an action context) pointing AWS at moto with the admin key.
  package var awsEnvironment: [String: String] {
    [
      "AWS_ACCESS_KEY_ID": awsAccessKeyID, "AWS_SECRET_ACCESS_KEY": awsSecretAccessKey,
      "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": motoURL,
    ]
  }

  package var vaultEnvironment: [String: String] {
    ["VAULT_ADDR": baoAddr, "VAULT_TOKEN": baoToken]
  }
}

/// Runs a helper program and returns its stdout (trimmed); throws with stderr when it fails.
package func runProgram(_ path: String, _ args: [String], environment: [String: String]? = nil) throws -> String {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: path)
  p.arguments = args
  if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b } }
  let out = Pipe()
  let err = Pipe()
  p.standardOutput = out
  p.standardError = err
  try p.run()
  let o = out.fileHandleForReading.readDataToEndOfFile()
  let e = err.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  let text = String(decoding: o, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  guard p.terminationStatus == 0 else {
    throw TestServices.Missing(
      description:
        "\(path) \(args.joined(separator: " ")) failed (\(p.terminationStatus)): \(String(decoding: e, as: UTF8.self))")
  }
  return text
}

/// moto fixtures through boto3 (Tests/Support/moto_fixture.py): an independent AWS client.
package struct MotoFixture: Sendable {
  package var services: TestServices

  package init(_ services: TestServices) { self.services = services }

  private func run(_ args: [String]) throws -> String {
    try runProgram(
      "/usr/bin/env", ["python3", services.repoRoot + "/Tests/Support/moto_fixture.py"] + args,
      environment: [
        "RESPOND_TEST_AWS_ACCESS_KEY_ID": services.awsAccessKeyID,
        "RESPOND_TEST_AWS_SECRET_ACCESS_KEY": services.awsSecretAccessKey,
      ])
  }

  /// Creates a user with one access key: (key id, secret). The secret goes into the secrets
  /// manifest (`recordTestSecret`).
  package func createUser(_ name: String) throws -> (id: String, secret: String) {
    let parts = try run(["user", services.motoURL, name]).split(separator: " ")
    recordTestSecret(String(parts[1]))
    return (String(parts[0]), String(parts[1]))
  }

  /// Creates one more access key for an existing user, as another client would: (key id, secret).
  package func createKey(for user: String) throws -> (id: String, secret: String) {
    let parts = try run(["create-key", services.motoURL, user]).split(separator: " ")
    recordTestSecret(String(parts[1]))
    return (String(parts[0]), String(parts[1]))
  }

  /// The user's keys as (id, status).
  package func keys(of user: String) throws -> [(id: String, status: String)] {
    let json = Value.parseJSON(try run(["keys", services.motoURL, user])) ?? .array([])
    return (json.arrayValue ?? []).map { ($0["id"]?.stringValue ?? "", $0["status"]?.stringValue ?? "") }
  }

  /// The user's IAM tags (boto3 ListUserTags), key to value.
  package func tags(of user: String) throws -> [String: String] {
    let json = Value.parseJSON(try run(["tags", services.motoURL, user]))?.objectValue ?? [:]
    return json.compactMapValues(\.stringValue)
  }

  /// Whether a key authenticates (sts get-caller-identity through boto3).
  package func authenticates(_ id: String, _ secret: String) -> Bool {
    (try? run(["auth", services.motoURL, id, secret])) != nil
  }
}

extension MotoFixture {
  private func call(_ args: [String]) throws -> String {
    try runProgram(
      "/usr/bin/env", ["python3", services.repoRoot + "/Tests/Support/moto_fixture.py"] + args,
      environment: [
        "RESPOND_TEST_AWS_ACCESS_KEY_ID": services.awsAccessKeyID,
        "RESPOND_TEST_AWS_SECRET_ACCESS_KEY": services.awsSecretAccessKey,
      ])
  }

  /// A log group with CloudTrail-shaped events: 3 for `key`, 2 for each decoy.
  /// `agent`: the user agent of the key's CreateUser event (attacker-controlled text).
  package func trail(group: String, key: String, decoys: [String], agent: String? = nil) throws {
    _ = try call(["trail", services.motoURL, group, key] + (agent.map { ["--agent=" + $0] } ?? []) + decoys)
  }

  package func createSecret(_ name: String, json: String) throws {
    _ = try call(["secret", services.motoURL, name, json])
  }

  /// A Secrets Manager secret's string; its secret fields (respond's replacement key, when
  /// respond wrote it) go into the secrets manifest.
  package func secretString(_ name: String) throws -> String {
    let text = try call(["get-secret", services.motoURL, name])
    for (k, v) in Value.parseJSON(text)?.objectValue ?? [:] where isSecretField(k) {
      if let s = v.stringValue { recordTestSecret(s) }
    }
    return text
  }

  /// A new KMS key's id.
  package func kmsKey() throws -> String { try call(["kms-key", services.motoURL]) }

  /// Puts a SecureString parameter, under `keyID` when given.
  package func putParameter(_ name: String, _ value: String, keyID: String? = nil) throws {
    _ = try call(["ssm-put", services.motoURL, name, value] + (keyID.map { [$0] } ?? []))
  }

  /// A parameter as boto3 reads it (decrypted): value, type, KMS key id, version. Secret fields
  /// of a JSON value go into the secrets manifest, like `secretString`.
  package func parameter(_ name: String) throws -> (value: String, type: String, keyID: String?, version: Int) {
    let json = Value.parseJSON(try call(["ssm-get", services.motoURL, name])) ?? [:]
    let value = json["value"]?.stringValue ?? ""
    for (k, v) in Value.parseJSON(value)?.objectValue ?? [:] where isSecretField(k) {
      if let s = v.stringValue { recordTestSecret(s) }
    }
    return (value, json["type"]?.stringValue ?? "", json["key-id"]?.stringValue, json["version"]?.intValue ?? 0)
  }

  package func createRole(_ name: String) throws {
    _ = try call(["role", services.motoURL, name])
  }

  package func rolePolicy(role: String, policy: String) throws -> String {
    try call(["role-policy", services.motoURL, role, policy])
  }
}

/// OpenBao through its own CLI (`bao`), an implementation independent of respond's client.
package struct BaoFixture: Sendable {
  package var services: TestServices

  package init(_ services: TestServices) { self.services = services }

  private var env: [String: String] { ["VAULT_ADDR": services.baoAddr, "VAULT_TOKEN": services.baoToken] }

  /// Writes a KV v2 secret (`secret/<path>`).
  package func put(_ path: String, _ fields: [String: String]) throws {
    _ = try runProgram(
      "/usr/bin/env",
      ["bao", "kv", "put", "-mount=secret", path] + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
      environment: env)
  }

  /// Reads a KV v2 secret's fields.
  package func get(_ path: String) throws -> [String: String] {
    let out = try runProgram(
      "/usr/bin/env", ["bao", "kv", "get", "-mount=secret", "-format=json", path], environment: env)
    let data = Value.parseJSON(out)?.pointer("/data/data")?.objectValue ?? [:]
    let fields = data.compactMapValues(\.stringValue)
    // What respond wrote here (a replacement secret key) is a secret its outputs must not show.
    for (k, v) in fields where isSecretField(k) { recordTestSecret(v) }
    return fields
  }
}

// MARK: - Secrets manifest and kept outputs (the end-of-run secrets scan)

/// Appends a secret a test minted or read back (a leaked key's secret, respond's replacement
/// key, a Vault token) to the file `RESPOND_TEST_SECRETS_MANIFEST` names, one per line.
/// `scripts/test.sh` sets it, and after the suite `scripts/secrets-scan.py` fails the run if any
/// of these secrets appears, in any spelling, in anything respond wrote. Without the variable
/// (a single test run by hand) nothing is recorded.
package func recordTestSecret(_ secret: String) {
  guard let path = ProcessInfo.processInfo.environment["RESPOND_TEST_SECRETS_MANIFEST"], !path.isEmpty,
    !secret.isEmpty, !secret.contains("\n")
  else { return }
  let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
  guard fd >= 0 else { return }
  defer { close(fd) }
  let line = Array((secret + "\n").utf8)
  _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }  // one write: lines never interleave
}

/// Whether a secret store's field holds a secret (by name), for the manifest.
func isSecretField(_ name: String) -> Bool {
  let n = name.lowercased()
  return n.contains("secret") || n.contains("token") || n.contains("password")
}

/// Where the respond processes' stdout and stderr are kept for the secrets scan
/// (`RESPOND_TEST_OUTPUTS`/processes), or nil outside `scripts/test.sh`.
func keptOutputsFolder() -> String? {
  guard let root = ProcessInfo.processInfo.environment["RESPOND_TEST_OUTPUTS"], !root.isEmpty else { return nil }
  let folder = root + "/processes"
  try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  return folder
}

/// Keeps a respond process's stdout and stderr for the secrets scan (under scripts/test.sh;
/// nothing otherwise). Every helper that starts respond calls it.
package func keepProcessOutput(stdout: Data, stderr: Data) {
  guard let folder = keptOutputsFolder() else { return }
  let name = folder + "/respond-" + UUID().uuidString
  FileManager.default.createFile(atPath: name + ".out", contents: stdout, attributes: [.posixPermissions: 0o600])
  FileManager.default.createFile(atPath: name + ".err", contents: stderr, attributes: [.posixPermissions: 0o600])
}

/// Removes a test's output folder, unless `RESPOND_TEST_KEEP_OUTPUTS` is set (scripts/test.sh
/// sets it, with TMPDIR inside its own outputs folder, so the secrets scan reads what respond
/// wrote there after the suite).
package func removeTestOutput(_ path: String) {
  if let keep = ProcessInfo.processInfo.environment["RESPOND_TEST_KEEP_OUTPUTS"], !keep.isEmpty { return }
  try? FileManager.default.removeItem(atPath: path)
}

/// The built `respond` executable (RESPOND_BIN, or .build/debug/respond in the repository).
package func respondExecutable() -> String {
  if let bin = ProcessInfo.processInfo.environment["RESPOND_BIN"] { return bin }
  return TestServices.repositoryRoot() + "/.build/debug/respond"
}

/// What a `respond` process did.
package struct ProcessOutcome: Sendable {
  package var status: Int32
  package var stdout: String
  package var stderr: String

  package init(status: Int32, stdout: String, stderr: String) {
    self.status = status
    self.stdout = stdout
    self.stderr = stderr
  }

  /// The last line on stdout: the contract says it is the report's path.
  package var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
}

/// Runs `respond` with exactly `environment` (nothing inherited but PATH and HOME); standard
/// input is `standardInput` through a pipe, or empty.
package func runRespond(
  _ args: [String], environment: [String: String], cwd: String? = nil, timeout: Double = 120,
  standardInput: String? = nil
) throws -> ProcessOutcome {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: respondExecutable())
  p.arguments = args
  var env = environment
  env["PATH"] = env["PATH"] ?? ProcessInfo.processInfo.environment["PATH"]
  env["HOME"] = env["HOME"] ?? NSTemporaryDirectory()
  env["NO_COLOR"] = "1"
  p.environment = env
  if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
  let out = Pipe()
  let err = Pipe()
  p.standardOutput = out
  p.standardError = err
  let input = Pipe()
  p.standardInput = standardInput == nil ? FileHandle.nullDevice : input
  try p.run()
  if let standardInput {
    input.fileHandleForWriting.write(Data(standardInput.utf8))
    try? input.fileHandleForWriting.close()
  }
  let group = DispatchGroup()
  nonisolated(unsafe) var o = Data()
  nonisolated(unsafe) var e = Data()
  group.enter()
  DispatchQueue.global().async {
    o = out.fileHandleForReading.readDataToEndOfFile()
    group.leave()
  }
  group.enter()
  DispatchQueue.global().async {
    e = err.fileHandleForReading.readDataToEndOfFile()
    group.leave()
  }
  if group.wait(timeout: .now() + timeout) == .timedOut {
    p.terminate()
    throw TestServices.Missing(description: "respond \(args.joined(separator: " ")) did not finish in \(timeout)s")
  }
  p.waitUntilExit()
  keepProcessOutput(stdout: o, stderr: e)
  return ProcessOutcome(
    status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
    stderr: String(decoding: e, as: UTF8.self))
}

/// Every byte of every file under `dir`, for "no secret anywhere" checks.
package func allFileContents(under dir: String) -> [(path: String, text: String)] {
  guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
  var out: [(String, String)] = []
  while let name = e.nextObject() as? String {
    let path = dir + "/" + name
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
      let d = FileManager.default.contents(atPath: path)
    {
      out.append((path, String(decoding: d, as: UTF8.self)))
    }
  }
  return out
}
