import Foundation

/// Creates incident folders: `<out>/<yyyyMMdd'T'HHmmss'Z'>-<runbook>[-n]/`, mode 0700, created
/// atomically with mkdir so two runs in the same second get different folders.
package enum IncidentFolder {
  package static func create(in outDir: String, runbook: String, at date: Date) throws -> String {
    // Folders respond creates are private like the incident folders in them; an existing one
    // must be the user's and writable by no one else (`PrivateFolder`).
    try PrivateFolder.prepare(outDir, what: "the output folder", privacy: .notWritableByOthers)
    let base = "\(ISO8601.compact(date))-\(runbook)"
    for n in 1...1000 {
      let name = n == 1 ? base : "\(base)-\(n)"
      let path = (outDir as NSString).appendingPathComponent(name)
      if mkdir(path, 0o700) == 0 {
        chmod(path, 0o700)
        return URL(fileURLWithPath: path).standardizedFileURL.path
      }
      if errno != EEXIST {
        throw UsageError("cannot create incident folder \(path): \(String(cString: strerror(errno)))")
      }
    }
    throw UsageError("cannot create an incident folder in \(outDir): too many incidents this second")
  }

  /// Refuses to continue an incident whose folder another user owns or can write: they could
  /// have written its journal, or plant links in it.
  package static func checkOwned(_ directory: String) throws {
    try PrivateFolder.check(directory, what: "the incident folder", privacy: .notWritableByOthers)
  }

  /// Writes a file with mode 0600 atomically (temp file + rename), so a reader never sees half.
  /// The temporary file has a name no one can predict and is created with O_EXCL|O_NOFOLLOW: a
  /// predictable `<name>.tmp-<pid>` let another user plant a link that respond wrote through.
  /// The rename replaces a link at `path` itself, never what it points to.
  /// Not fsync'd: reports are derived from the journal (which is), so `respond report DIR`
  /// rebuilds one that a power loss took; a batch summary is rewritten when the batch ends.
  package static func writePrivate(_ text: String, to path: String) throws {
    let (tmp, fd) = try PrivateFolder.createTemporary(beside: path)
    func fail() -> UsageError {
      let error = UsageError("cannot write \(path): \(String(cString: strerror(errno)))")
      unlink(tmp)
      return error
    }
    fchmod(fd, 0o600)
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n <= 0 {
        let error = fail()
        close(fd)
        throw error
      }
      written += n
    }
    close(fd)
    guard rename(tmp, path) == 0 else { throw fail() }
  }
}
