import Crypto
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One responder per key. Two `respond` runs on the same leaked key at once would each rotate it
/// (two replacements, one of them orphaned in no secret store); the second must see the first
/// and stop instead. The lock is `<out>/.locks/<sha256 hex of the key>.lock`, held with
/// `flock(LOCK_EX)` for the whole run, so it dies with its process: a crashed holder never
/// blocks the next responder. The file holds the holder's pid and incident folder so the one
/// refused can point at it. The key is the runbook's first secret input.
package final class IncidentLock: @unchecked Sendable {
  package let path: String
  private var fd: Int32

  /// Another process holds the lock for this key: nothing was started.
  package struct Held: Error, CustomStringConvertible {
    package var lockPath: String
    /// What the holder wrote: its pid and, once created, its incident folder.
    package var holderPID: String?
    package var holderIncident: String?

    package var description: String {
      let who = holderPID.map { "another respond (pid \($0))" } ?? "another respond"
      let incident = holderIncident.map { "incident \($0)" } ?? "an incident it is still creating"
      let next = holderIncident.map { "; when it has stopped, read \($0)/report.md or continue it with `respond resume \($0)`" } ?? ""
      return "\(who) is already responding to this key: \(incident). Nothing was done, so the key is not rotated twice\(next) (lock \(lockPath))"
    }
  }

  /// `<outDir>/.locks/<sha256 hex of key>.lock`. Only a digest of the key is on disk, never the key.
  package static func path(outDir: String, key: String) -> String {
    let digest = SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    return (outDir as NSString).appendingPathComponent(".locks/\(digest).lock")
  }

  /// The key a runbook's lock is taken on: the value of its first secret input, if given.
  package static func key(of runbook: Runbook, inputs: [String: String]) -> String? {
    guard let spec = runbook.inputs.first(where: \.secret), let value = inputs[spec.name], !value.isEmpty else {
      return nil
    }
    return value
  }

  /// Takes the lock without waiting, or throws `Held` naming the holder.
  package static func acquire(outDir: String, key: String) throws -> IncidentLock {
    let path = Self.path(outDir: outDir, key: key)
    let dir = (path as NSString).deletingLastPathComponent
    do {
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                              attributes: [.posixPermissions: 0o700])
    } catch {
      throw UsageError("cannot create the lock folder \(dir): \(error.localizedDescription)")
    }
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw UsageError("cannot open the lock \(path): \(String(cString: strerror(errno)))") }
    if flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let busy = errno == EWOULDBLOCK
      let reason = String(cString: strerror(errno))
      close(fd)
      guard busy else { throw UsageError("cannot lock \(path): \(reason)") }
      var held = Held(lockPath: path)
      let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
      for line in text.split(separator: "\n") {
        if line.hasPrefix("pid ") { held.holderPID = String(line.dropFirst(4)) }
        if line.hasPrefix("incident ") { held.holderIncident = String(line.dropFirst(9)) }
      }
      throw held
    }
    let lock = IncidentLock(path: path, fd: fd)
    lock.write("pid \(getpid())\n")
    return lock
  }

  private init(path: String, fd: Int32) {
    self.path = path
    self.fd = fd
  }

  /// Names the incident folder in the lock, for a responder that is refused while we hold it.
  package func record(incident directory: String) {
    write("pid \(getpid())\nincident \(directory)\n")
  }

  private func write(_ text: String) {
    guard fd >= 0 else { return }
    _ = ftruncate(fd, 0)
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
  }

  /// Releases the lock (the file stays; the next holder rewrites it).
  package func release() {
    guard fd >= 0 else { return }
    flock(fd, LOCK_UN)
    close(fd)
    fd = -1
  }

  deinit { release() }
}
