import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// `Tests/Support/faultproxy.py` in front of `target` (moto for the AWS fault suites): it injects
/// the faults a test scripts (`/_fault/script`) and counts what it was asked (`/_fault/stats`).
/// Started per test; SIGKILLed when the fixture goes away (a child started by Process may have
/// SIGTERM blocked, and then never ends).
package final class FaultProxy: @unchecked Sendable {
  package let url: String
  let process: Process

  /// Starts the proxy and waits (at most 15 s) for the port it writes.
  package init(_ services: TestServices, target: String) throws {
    (process, url) = try startLocalServer(
      services.repoRoot + "/Tests/Support/faultproxy.py", ["--target", target], quietErrors: false)
  }

  deinit {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}

/// Starts one of the tests' Python servers (`Tests/Support/<name>.py`) with `--port-file`, and
/// waits at most 15 s for the port it writes (atomically): the process and its base URL. The
/// caller SIGKILLs it when done.
func startLocalServer(_ script: String, _ arguments: [String], quietErrors: Bool) throws -> (Process, String) {
  let portFile = NSTemporaryDirectory() + "respond-server-\(UUID().uuidString).port"
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", script] + arguments + ["--port-file", portFile]
  process.standardOutput = FileHandle.nullDevice
  if quietErrors { process.standardError = FileHandle.nullDevice }
  try process.run()
  defer { try? FileManager.default.removeItem(atPath: portFile) }
  for _ in 0..<150 {
    if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
      return (process, "http://127.0.0.1:\(port)")
    }
    usleep(100_000)
  }
  kill(process.processIdentifier, SIGKILL)
  throw TestServices.Missing(description: "\((script as NSString).lastPathComponent) did not start within 15 s")
}
