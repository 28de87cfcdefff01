import ArgumentParser
import Foundation
import RespondActions
import RespondCore

/// `respond validate FILE|DIR...`: every problem in every runbook, located, sorted.
struct Validate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check runbooks without running them; print every problem as path:line:column: error: message.",
    discussion: "Exit status 2 when any runbook has an error. A folder is searched for *.yaml and *.yml files.")

  @Argument(help: "Runbook files or folders (default: ./Runbooks).")
  var paths: [String] = []

  func run() async throws {
    var files: [String] = []
    var all: [Diagnostic] = []
    var checkedFolders = Set<String>()
    for p in paths.isEmpty ? ["Runbooks"] : paths {
      var isDir: ObjCBool = false
      guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
        Frontend.error("\(p): no such file or folder")
        throw ExitCode(2)
      }
      if isDir.boolValue {
        let folderFiles = RunbookCatalog(explicit: p).all()
        files += folderFiles
        // The folder's action definitions and provider folders are checked even with no runbook in it.
        let folder = folderFiles.first.map { ($0 as NSString).deletingLastPathComponent } ?? p
        if checkedFolders.insert(folder).inserted { all += StandardActions.registry(runbooksFolder: folder).1 }
      } else {
        files.append(p)
      }
    }
    for f in files {
      let (registry, definitionProblems) = StandardActions.registry(forRunbook: f)
      // Report each folder's action-definition problems once.
      if checkedFolders.insert((f as NSString).deletingLastPathComponent).inserted { all += definitionProblems }
      // An action-definition file (top-level `actions:`) is checked as one.
      if let text = try? String(contentsOfFile: f, encoding: .utf8),
        text.split(separator: "\n").contains(where: { $0.hasPrefix("actions:") })
      {
        all += RunbookLoader().loadActions(path: f).1
        continue
      }
      let (rb, diags) = RunbookLoader().load(path: f)
      all += diags
      if let rb { all += RunbookValidator(registry: registry).validate(rb) }
    }
    for d in all.sorted() { print(d.description) }
    let errors = all.filter { $0.severity == .error }.count
    Frontend.note(
      "\(files.count) runbook\(files.count == 1 ? "" : "s") checked, \(errors) error\(errors == 1 ? "" : "s")")
    if errors > 0 { throw ExitCode(2) }
  }
}
