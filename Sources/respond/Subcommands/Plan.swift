import ArgumentParser
import Foundation
import RespondActions
import RespondCore

/// `respond plan RUNBOOK [--input VALUE]...`: the steps in order, with their conditions.
struct Plan: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Show a runbook's steps in order, with conditions, for the given inputs (nothing runs).")

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
      let masker = Masker()
      for i in rb.inputs where i.secret { if let v = invocation.inputs[i.name] { masker.register(v) } }
      // Steps that need nothing but their inputs (key.identify) run here, offline, so the plan
      // can say which branch this key takes.
      var known: [String: [String: Value]] = [:]
      var values: [String: Value] = [:]
      for i in rb.inputs { if let v = invocation.inputs[i.name] ?? i.defaultValue { values[i.name] = .string(v) } }
      for step in rb.steps {
        // A step whose condition is already decided false will not run: its outputs are null,
        // which decides the conditions of the steps that depend on it.
        if let when = step.when,
          when.references.allSatisfy({ $0.path.first == "inputs" || ($0.path.count > 1 && known[$0.path[1]] != nil) }),
          let v = try? when.evaluate(EvaluationContext(inputs: values, steps: known)), !v.isTruthy
        {
          known[step.id] = [:]
          continue
        }
        guard let action = registry.action(named: step.action), action.descriptor.offline, step.when == nil,
          step.with.flatMap(\.1.templates).allSatisfy({ $0.0.references.allSatisfy { $0.path.first == "inputs" } })
        else { continue }
        var params: [String: Value] = [:]
        for (k, v) in step.with { params[k] = try? v.evaluate(EvaluationContext(inputs: values)) }
        let context = ActionContext(
          stepID: step.id, parameters: params, environment: [:], transport: OfflineTransport(), masker: masker,
          incident: IncidentInfo(id: "plan", runbook: rb.name, startedAt: Date(), mode: .dryRun, directory: ""))
        if let result = try? await action.run(context) { known[step.id] = result.outputs }
      }
      print(masker.mask(PlanRenderer.render(rb, inputs: invocation.inputs, registry: registry, known: known)))
    }
  }
}
