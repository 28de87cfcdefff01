import ArgumentParser
import Foundation
import RespondActions
import RespondCore

/// `respond actions`: every action with its parameters, outputs and whether it mutates.
struct Actions: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "actions",
    abstract: "List every action with its parameters, outputs, and whether it mutates.")

  @Flag(help: "Print JSON instead of text.")
  var json = false

  @Option(help: "Where runbooks (and their actions/ definitions) are found (default ./Runbooks).")
  var runbooks: String?

  func run() async throws {
    let folder = RunbookCatalog(explicit: runbooks).searchPath.first { FileManager.default.fileExists(atPath: $0) }
    let (registry, problems) = StandardActions.registry(runbooksFolder: folder)
    for p in problems { FileHandle.standardError.write(Data((p.description + "\n").utf8)) }
    if json {
      let list: [Value] = registry.all.map { a in
        let d = a.descriptor
        return .object([
          "name": .string(d.name), "summary": .string(d.summary), "mutates": .bool(d.mutates),
          "idempotent": .bool(d.idempotent),
          "parameters": .array(
            d.parameters.map {
              .object([
                "name": .string($0.name), "type": .string($0.type.rawValue), "required": .bool($0.required),
                "secret": .bool($0.secret), "description": .string($0.description),
              ])
            }),
          "outputs": .array(
            d.outputs.map {
              .object(["name": .string($0.name), "secret": .bool($0.secret), "description": .string($0.description)])
            }),
          "requires": .array(d.requirements.map { .string($0.missingDescription) }),
        ])
      }
      print(Value.array(list).jsonString(pretty: true))
      return
    }
    for a in registry.all {
      let d = a.descriptor
      print("\(d.name)  [\(d.mutates ? "mutates" : "read-only")\(d.idempotent ? ", idempotent" : "")]")
      print("  \(d.summary)")
      for p in d.parameters {
        var l = "    --\(p.name): \(p.type.rawValue)\(p.required ? ", required" : "")\(p.secret ? ", secret" : "")"
        if !p.description.isEmpty { l += "  \(p.description)" }
        print(l)
      }
      if !d.outputs.isEmpty {
        print("    → " + d.outputs.map { $0.secret ? "\($0.name) (secret)" : $0.name }.joined(separator: ", "))
      }
      for r in d.requirements { print("    needs \(r.missingDescription)") }
    }
  }
}
