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
    let portFile = NSTemporaryDirectory() + "faultproxy-\(UUID().uuidString).port"
    process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", services.repoRoot + "/Tests/Support/faultproxy.py", "--target", target, "--port-file", portFile,
    ]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    for _ in 0..<150 {
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
        url = "http://127.0.0.1:\(port)"
        return
      }
      usleep(100_000)
    }
    kill(process.processIdentifier, SIGKILL)
    throw TestServices.Missing(description: "faultproxy.py did not start within 15 s")
  }

  deinit {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}
