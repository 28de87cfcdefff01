import ArgumentParser
import Foundation
import RespondActions
import RespondCore

/// `respond list`: the runbooks respond can find, with their inputs.
struct List: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List the runbooks and their inputs.")

  @Option(help: "Where runbooks are found (default ./Runbooks, then beside the executable).")
  var runbooks: String?

  func run() async throws {
    let catalog = RunbookCatalog(explicit: runbooks)
    let files = catalog.all()
    if files.isEmpty {
      Frontend.error("no runbooks found (looked in \(catalog.searched))")
      throw ExitCode(2)
    }
    for f in files {
      let (rb, diags) = RunbookLoader().load(path: f)
      guard let rb, !diags.hasErrors else {
        print("\((f as NSString).lastPathComponent)  (invalid: run `respond validate \(f)`)")
        continue
      }
      print("\(rb.name.padding(28))\(rb.description)")
      let flags = rb.inputs.map { "--\($0.name)\($0.required ? "" : "?")" }.joined(separator: " ")
      if !flags.isEmpty { print("  inputs: \(flags)") }
    }
  }
}
