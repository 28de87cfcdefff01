import Foundation

/// Finds runbooks by name: `--runbooks DIR` if given, else `./Runbooks`, else the `Runbooks`
/// folder beside the executable (or one level up, for `.build/debug/respond`). A name with a
/// `/` or ending in `.yaml` is a path.
package struct RunbookCatalog {
  package var searchPath: [String]

  package init(explicit: String?, executablePath: String = CommandLine.arguments.first ?? "") {
    if let explicit {
      searchPath = [explicit]
      return
    }
    var dirs = [FileManager.default.currentDirectoryPath + "/Runbooks"]
    let exe = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
    var up = exe
    for _ in 0..<4 {
      dirs.append(up.appendingPathComponent("Runbooks").path)
      up.deleteLastPathComponent()
    }
    var seen = Set<String>()
    searchPath = dirs.filter { seen.insert($0).inserted }
  }

  /// The file for a runbook name or path; nil if none exists.
  package func locate(_ name: String) -> String? {
    if name.contains("/") || name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
      return FileManager.default.fileExists(atPath: name) ? name : nil
    }
    for dir in searchPath {
      for ext in ["yaml", "yml"] {
        let p = "\(dir)/\(name).\(ext)"
        if FileManager.default.fileExists(atPath: p) { return p }
      }
    }
    return nil
  }

  /// Every runbook file in the first existing search folder.
  package func all() -> [String] {
    for dir in searchPath {
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
      let files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
      if !files.isEmpty { return files.map { "\(dir)/\($0)" } }
    }
    return []
  }

  /// The runbook a journal or batch summary recorded, for resume. The journal is not trusted to
  /// choose a file (anyone who can write an incident folder can write its journal): `--runbooks
  /// DIR` if given, else the file the incident ran from only when this user owns it and nobody
  /// else can change it (a runbook run by path), else the catalogue by name. A name that is not a
  /// plain runbook name is never looked up. Resume then refuses a file whose digest differs from
  /// the journal's.
  package static func locateRecorded(_ name: String, file: String?, explicit: String?) -> String? {
    let plain = isPlainName(name) ? name : nil
    if let explicit { return plain.flatMap { RunbookCatalog(explicit: explicit).locate($0) } }
    if let file, isPrivateToUser(file) { return file }
    return plain.flatMap { RunbookCatalog(explicit: nil).locate($0) }
  }

  /// A runbook name as `runbook:` declares it: letters, digits, `-`, `_`, `.` (no path).
  static func isPlainName(_ name: String) -> Bool {
    !name.isEmpty && !name.hasPrefix(".")
      && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
  }

  /// Whether `path` is a regular file (not a link) this user (or root) owns, in a folder this
  /// user (or root) owns, neither writable by group or others: only then can its contents be
  /// trusted to be what this user put there.
  static func isPrivateToUser(_ path: String) -> Bool {
    func safe(_ p: String, directory: Bool) -> Bool {
      var st = stat()
      guard lstat(p, &st) == 0 else { return false }
      let kind = st.st_mode & S_IFMT
      guard kind == (directory ? S_IFDIR : S_IFREG) else { return false }
      return (st.st_uid == geteuid() || st.st_uid == 0) && st.st_mode & 0o022 == 0
    }
    let dir = (path as NSString).deletingLastPathComponent
    return safe(path, directory: false) && safe(dir.isEmpty ? "." : dir, directory: true)
  }

  /// Where it looked, for "not found" messages.
  package var searched: String { searchPath.joined(separator: ", ") }
}

/// Loads and validates a runbook, or returns every diagnostic (`extra`: problems already found,
/// e.g. in the action definitions beside it).
package func loadValidRunbook(path: String, registry: ActionRegistry, extra: [Diagnostic] = [])
  -> Result<Runbook, RunbookInvalid>
{
  validRunbook(RunbookLoader().load(path: path), registry: registry, extra: extra)
}

/// Loads and validates a runbook while `makeRegistry` (which reads the action definitions beside
/// it) runs on another core: parsing YAML is most of a run's start-up, and the two are independent
/// until validation. `alongside` is the caller's own start-up work, done in the same parallel
/// batch (the command line loads its HTTP library there): started here, on threads that already
/// exist, it cannot hold up the start of the parsing threads.
package func loadValidRunbook(
  path: String, makeRegistry: @escaping @Sendable () -> (ActionRegistry, [Diagnostic]),
  alongside: (@Sendable () -> Void)? = nil
) -> (ActionRegistry, Result<Runbook, RunbookInvalid>) {
  final class Results: @unchecked Sendable {
    var registry: (ActionRegistry, [Diagnostic])?
    var parsed: (Runbook?, [Diagnostic])?
  }
  let results = Results()
  // concurrentPerform returns only when every part is done, so reading `results` after it is safe.
  DispatchQueue.concurrentPerform(iterations: alongside == nil ? 2 : 3) { part in
    switch part {
    case 0: results.parsed = RunbookLoader().load(path: path)
    case 1: results.registry = makeRegistry()
    default: alongside?()
    }
  }
  let (registry, definitionProblems) = results.registry!
  return (registry, validRunbook(results.parsed!, registry: registry, extra: definitionProblems))
}

private func validRunbook(_ parsed: (Runbook?, [Diagnostic]), registry: ActionRegistry, extra: [Diagnostic])
  -> Result<Runbook, RunbookInvalid>
{
  let (rb, loadDiagnostics) = parsed
  var diagnostics = loadDiagnostics + extra
  if let rb { diagnostics += RunbookValidator(registry: registry).validate(rb) }
  if diagnostics.hasErrors || rb == nil { return .failure(RunbookInvalid(diagnostics: diagnostics.sorted())) }
  return .success(rb!)
}
