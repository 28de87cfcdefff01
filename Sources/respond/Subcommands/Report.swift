import ArgumentParser
import Foundation
import RespondCore

/// `respond report DIR`: re-render report.md, report.json and postmortem.md from the journal.
struct Report: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Re-render an incident's report.md, report.json and postmortem.md from its journal.")

  @Argument(help: "The incident folder.")
  var directory: String

  func run() async throws {
    do {
      print(try ReportWriter.write(directory: directory))
    } catch {
      Frontend.error("\(error)")
      throw ExitCode(2)
    }
  }
}
