import Foundation

/// Creates incident folders: `<out>/<yyyyMMdd'T'HHmmss'Z'>-<runbook>[-n]/`, mode 0700, created
/// atomically with mkdir so two runs in the same second get different folders.
package enum IncidentFolder {
  package static func create(in outDir: String, runbook: String, at date: Date) throws -> String {
    let fm = FileManager.default
    // Folders respond creates are private like the incident folders in them (an existing folder
    // is left as its owner set it).
    try fm.createDirectory(atPath: outDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
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

  /// Writes a file with mode 0600 atomically (temp file + rename), so a reader never sees half.
  /// Not fsync'd: reports are derived from the journal (which is), so `respond report DIR`
  /// rebuilds one that a power loss took; a batch summary is rewritten when the batch ends.
  package static func writePrivate(_ text: String, to path: String) throws {
    let tmp = path + ".tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw UsageError("cannot write \(path): \(String(cString: strerror(errno)))") }
    fchmod(fd, 0o600)
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n <= 0 {
        close(fd)
        throw UsageError("cannot write \(path): \(String(cString: strerror(errno)))")
      }
      written += n
    }
    close(fd)
    guard rename(tmp, path) == 0 else { throw UsageError("cannot write \(path): \(String(cString: strerror(errno)))") }
  }
}
