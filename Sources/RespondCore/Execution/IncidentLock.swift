import Crypto
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One responder per key. Two `respond` runs on the same leaked key at once would each rotate it
/// (two replacements, one of them orphaned in no secret store); the second must see the first
/// and stop instead. The lock is taken on the credential's canonical identity (trimmed and
/// normalised, the provider's key id where there is one: `KeyFormats.lockIdentity`), so `KEY` and
/// ` KEY` meet, and in two places: a per-user folder independent of `--out` (so two `--out`
/// folders meet too) and `<out>/.locks/` (so responders sharing an output folder meet). Each is
/// `<sha256 hex of the canonical identity>.lock`, held with `flock(LOCK_EX)` for the whole run, so
/// it dies with its process: a crashed holder never blocks the next responder. The file holds
/// the holder's pid, the key's public form and the incident folder so the one refused can point
/// at it; never the key. Folders and files are the user's own and private (`PrivateFolder`):
/// a lock another user could write or hold would let them block or steer the response.
package final class IncidentLock: @unchecked Sendable {
  /// The path of the lock in the output folder.
  package let path: String
  /// Every lock file held: the per-user one (when there is a per-user folder) and `path`.
  package let paths: [String]
  private var fds: [Int32]
  private let label: String

  /// What a lock is taken on: the digest of the credential's canonical identity, and a public
  /// form of it for the lock's text (a key id or a fingerprint, never the secret).
  package struct Identity: Sendable, Equatable {
    /// SHA-256 hex of the canonical identity: the lock file's name.
    package var digest: String
    /// What the lock's text says the key is: safe to print anywhere.
    package var label: String

    package init(canonical: String, label: String) {
      digest = SHA256.hash(data: Data(canonical.utf8)).map { String(format: "%02x", $0) }.joined()
      self.label = label
    }

    /// The identity of a key no provider format recognises: trimmed and in Unicode normal form C,
    /// so only the spelling of the same text differs; labelled by its fingerprint.
    package init(unrecognised key: String) {
      let canonical = key.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping
      self.init(canonical: "unknown:" + canonical, label: Masker.fingerprint(canonical))
    }
  }

  /// Another process holds the lock for this key: nothing was started.
  package struct Held: Error, CustomStringConvertible {
    package var lockPath: String
    /// What the holder wrote: its pid and, once created, its incident folder.
    package var holderPID: String?
    package var holderIncident: String?

    package var description: String {
      let who = holderPID.map { "another respond (pid \($0))" } ?? "another respond"
      let incident = holderIncident.map { "incident \($0)" } ?? "an incident it is still creating"
      let next =
        holderIncident.map { "; when it has stopped, read \($0)/report.md or continue it with `respond resume \($0)`" }
        ?? ""
      return
        "\(who) is already responding to this key: \(incident). Nothing was done, so the key is not rotated twice\(next) (lock \(lockPath))"
    }
  }

  /// `<outDir>/.locks/<digest>.lock`. Only a digest of the key's identity is on disk, never the key.
  package static func path(outDir: String, identity: Identity) -> String {
    (outDir as NSString).appendingPathComponent(".locks/\(identity.digest).lock")
  }

  /// The per-user lock folder, the same whatever `--out` says: `$RESPOND_LOCK_DIR` (tests, or a
  /// folder shared by one user's machines), else `$XDG_RUNTIME_DIR/respond/locks`, else
  /// `~/.local/state/respond/locks`.
  package static func userDirectory(environment: [String: String]) -> String {
    if let dir = environment["RESPOND_LOCK_DIR"], !dir.isEmpty { return dir }
    if let run = environment["XDG_RUNTIME_DIR"], run.hasPrefix("/") { return run + "/respond/locks" }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    return (home as NSString).appendingPathComponent(".local/state/respond/locks")
  }

  /// The key a runbook's lock is taken on: the value of its first secret input, if given.
  package static func key(of runbook: Runbook, inputs: [String: String]) -> String? {
    guard let spec = runbook.inputs.first(where: \.secret), let value = inputs[spec.name], !value.isEmpty else {
      return nil
    }
    return value
  }

  /// Takes the per-user lock (in `userDirectory`, when given) and then the output folder's,
  /// without waiting; throws `Held` naming the holder, or `UsageError` for a folder or lock file
  /// another user owns or can write (the output folder is created when missing).
  package static func acquire(outDir: String, identity: Identity, userDirectory: String?) throws -> IncidentLock {
    try PrivateFolder.prepare(outDir, what: "the output folder", privacy: .notWritableByOthers)
    let path = Self.path(outDir: outDir, identity: identity)
    var places = [(folder: (path as NSString).deletingLastPathComponent, what: "the lock folder", path: path)]
    if let userDirectory {
      let userPath = (userDirectory as NSString).appendingPathComponent("\(identity.digest).lock")
      places.insert((userDirectory, "the per-user lock folder", userPath), at: 0)
    }
    var fds: [Int32] = []
    do {
      for place in places {
        try PrivateFolder.prepare(place.folder, what: place.what, privacy: .ownerOnly)
        fds.append(try take(place.path))
      }
    } catch {
      for fd in fds {
        flock(fd, LOCK_UN)
        close(fd)
      }
      throw error
    }
    let lock = IncidentLock(path: path, paths: places.map(\.path), fds: fds, label: identity.label)
    lock.write(incident: nil)
    return lock
  }

  /// Opens one lock file (never through a link, only the user's own) and locks it, or throws
  /// `Held` with what its holder wrote (trustworthy: only this user can write the file).
  private static func take(_ path: String) throws -> Int32 {
    let fd = try PrivateFolder.openOwnFile(path, what: "the lock file")
    if flock(fd, LOCK_EX | LOCK_NB) == 0 { return fd }
    let busy = errno == EWOULDBLOCK
    let reason = String(cString: strerror(errno))
    defer { close(fd) }
    guard busy else { throw UsageError("cannot lock \(path): \(reason)") }
    var held = Held(lockPath: path)
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    for line in text.split(separator: "\n") {
      if line.hasPrefix("pid ") { held.holderPID = String(line.dropFirst(4)) }
      if line.hasPrefix("incident ") { held.holderIncident = String(line.dropFirst(9)) }
    }
    throw held
  }

  private init(path: String, paths: [String], fds: [Int32], label: String) {
    self.path = path
    self.paths = paths
    self.fds = fds
    self.label = label
  }

  /// Names the incident folder in the lock, for a responder that is refused while we hold it.
  package func record(incident directory: String) {
    write(incident: directory)
  }

  private func write(incident: String?) {
    var text = "pid \(getpid())\nkey \(label)\n"
    if let incident { text += "incident \(incident)\n" }
    let bytes = Array(text.utf8)
    for fd in fds {
      _ = ftruncate(fd, 0)
      _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }
  }

  /// Releases the locks (the files stay; the next holder rewrites them).
  package func release() {
    for fd in fds {
      flock(fd, LOCK_UN)
      close(fd)
    }
    fds = []
  }

  deinit { release() }
}
