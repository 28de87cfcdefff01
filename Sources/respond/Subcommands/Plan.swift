import ArgumentParser
import Foundation
import RespondActions
import RespondCore

/// `respond plan RUNBOOK [--input VALUE]... [--all]`: the steps in order, with their conditions;
/// branches that do not apply to these inputs are hidden unless `--all`.
struct Plan: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Show a runbook's steps in order, with conditions, for the given inputs (nothing runs).",
    discussion: "Steps of branches that do not apply to the given inputs are hidden; --all shows them.")

  @Argument(help: "Runbook name or file.")
  var runbook: String

  @Argument(parsing: .captureForPassthrough, help: "The runbook's inputs as --name VALUE.")
  var inputs: [String] = []

  func run() async throws {
    let invocation: RunbookInvocation
    do { invocation = try RunbookInvocation.parse(inputs, inputs: nil) } catch {
      Frontend.error("\(error)")
      throw ExitCode(2)
    }
    let catalog = RunbookCatalog(explicit: invocation.runbooks)
    guard let path = catalog.locate(runbook) else {
      Frontend.error("no runbook '\(runbook)' (looked in \(catalog.searched))")
      throw ExitCode(2)
    }
    let (registry, loaded) = StandardActions.loadRunbook(path: path)
    switch loaded {
    case .failure(let invalid):
      FileHandle.standardError.write(Data((invalid.description + "\n").utf8))
      throw ExitCode(2)
    case .success(let rb):
      for name in invocation.inputs.keys where rb.input(name) == nil {
        Frontend.error("unknown option --\(name)")
        throw ExitCode(2)
      }
      let masker = Masker(formats: KeyCatalogue(registry))
      for i in rb.inputs where i.secret { if let v = invocation.inputs[i.name] { masker.register(v) } }
      let known = await PlanRenderer.runOffline(
        rb, inputs: invocation.inputs, registry: registry, masker: masker, transport: OfflineTransport())
      print(
        masker.mask(
          PlanRenderer.render(rb, inputs: invocation.inputs, registry: registry, known: known, all: invocation.all)))
    }
  }
}
