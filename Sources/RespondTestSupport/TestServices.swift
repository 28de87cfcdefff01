import Foundation
import RespondCore

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
        throw Missing(description: "\(k) is not set: start the test servers with `scripts/services.sh up` (scripts/test.sh does it for you)")
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
    ["AWS_ACCESS_KEY_ID": awsAccessKeyID, "AWS_SECRET_ACCESS_KEY": awsSecretAccessKey,
     "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": motoURL]
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
  let out = Pipe(), err = Pipe()
  p.standardOutput = out
  p.standardError = err
  try p.run()
  let o = out.fileHandleForReading.readDataToEndOfFile()
  let e = err.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  let text = String(decoding: o, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  guard p.terminationStatus == 0 else {
    throw TestServices.Missing(description: "\(path) \(args.joined(separator: " ")) failed (\(p.terminationStatus)): \(String(decoding: e, as: UTF8.self))")
  }
  return text
}

/// moto fixtures through boto3 (Tests/Support/moto_fixture.py): an independent AWS client.
package struct MotoFixture: Sendable {
  package var services: TestServices

  package init(_ services: TestServices) { self.services = services }

  private func run(_ args: [String]) throws -> String {
    try runProgram("/usr/bin/env", ["python3", services.repoRoot + "/Tests/Support/moto_fixture.py"] + args,
                   environment: ["RESPOND_TEST_AWS_ACCESS_KEY_ID": services.awsAccessKeyID,
                                 "RESPOND_TEST_AWS_SECRET_ACCESS_KEY": services.awsSecretAccessKey])
  }

  /// Creates a user with one access key: (key id, secret).
  package func createUser(_ name: String) throws -> (id: String, secret: String) {
    let parts = try run(["user", services.motoURL, name]).split(separator: " ")
    return (String(parts[0]), String(parts[1]))
  }

  /// The user's keys as (id, status).
  package func keys(of user: String) throws -> [(id: String, status: String)] {
    let json = Value.parseJSON(try run(["keys", services.motoURL, user])) ?? .array([])
    return (json.arrayValue ?? []).map { ($0["id"]?.stringValue ?? "", $0["status"]?.stringValue ?? "") }
  }

  /// Whether a key authenticates (sts get-caller-identity through boto3).
  package func authenticates(_ id: String, _ secret: String) -> Bool {
    (try? run(["auth", services.motoURL, id, secret])) != nil
  }
}
