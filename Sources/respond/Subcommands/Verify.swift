import ArgumentParser
import Foundation
import RespondCore

/// `respond verify DIR`: checks that an incident folder is what respond wrote. Thin: the checks
/// live in `IncidentAudit`.
struct Verify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check an incident's journal hash chain and that its reports match the journal.",
    discussion: """
      Every journal record carries the SHA-256 of the line before it. verify names the first line
      that was edited, inserted, removed or renumbered, and any report field (verdict, status) that
      does not match the journal. A last line torn by a crash is tolerated and said.
      Exit 0 when intact, 1 when not, 2 when the folder cannot be read.
      """)

  @Argument(help: "The incident folder.")
  var directory: String

  func run() async throws {
    let result: (findings: [IncidentAudit.Finding], notes: [String])
    do { result = try IncidentAudit.check(directory: directory) } catch {
      Frontend.error("\(directory) is not an incident folder: \(error)")
      throw ExitCode(2)
    }
    for note in result.notes { Frontend.note("note: " + note) }
    if result.findings.isEmpty {
      print("\(directory): intact (hash chain holds; reports match the journal)")
      return
    }
    for finding in result.findings { print("\(directory)/\(finding)") }
    Frontend.error("\(directory): NOT intact: \(result.findings.count) problem(s); the first is \(result.findings[0])")
    throw ExitCode(1)
  }
}
