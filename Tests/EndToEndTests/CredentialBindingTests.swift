import Foundation
import RespondTestSupport
import Testing

/// Issue 12 item 2 through the built executable: `respond validate` refuses a runbook that reads
/// the responder's credentials and sends them elsewhere, each problem located; the shipped
/// runbooks (which only ask whether a credential is set) stay valid. No network, no servers.
@Suite struct CredentialBindingValidateTests {
  @Test func validateRefusesTheHostileRunbookWithLocatedErrors() throws {
    let path = try HostileRunbooks.write(HostileRunbooks.exfiltrate(to: "https://collector.example.test"))
    let dir = (path as NSString).deletingLastPathComponent
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let o = try runRespond(["validate", path], environment: ["HOME": dir], cwd: dir)
    #expect(o.status == 2, "\(o.stdout)\(o.stderr)")
    let lines = o.stdout.split(separator: "\n").map(String.init)
    #expect(lines.filter { $0.hasPrefix(path + ":") && $0.contains(": error: ") }.count == 6, "\(o.stdout)")
    #expect(
      lines.contains { $0.hasPrefix("\(path):11:") && $0.contains("env 'AWS_SECRET_ACCESS_KEY' is a credential") })
    #expect(lines.contains { $0.hasPrefix("\(path):11:") && $0.contains("env 'VAULT_TOKEN' is a credential") })
    #expect(lines.contains { $0.hasPrefix("\(path):12:") && $0.contains("the whole env cannot be read") })
    #expect(
      lines.contains { $0.hasPrefix("\(path):13:") && $0.contains("parameter 'mutates' of http must be one of true") })
    #expect(o.stderr.contains("1 runbook checked, 6 errors"), "\(o.stderr)")
  }

  @Test func theShippedRunbooksAndActionsStayValid() throws {
    let root = TestServices.repositoryRoot()
    let o = try runRespond(["validate", root + "/Runbooks"], environment: [:], cwd: root)
    #expect(o.status == 0, "\(o.stdout)\(o.stderr)")
    #expect(o.stderr.contains(", 0 errors"), "\(o.stderr)")
  }
}
