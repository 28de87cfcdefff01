import Crypto
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `respond bundle`: one archive of an incident to hand over (to an auditor, a customer, a
/// regulator). `<incident>.tar.gz` holds the journal, the evidence files and the reports, and a
/// manifest of every file's SHA-256; with a signing key the manifest is signed (Ed25519), so the
/// archive can be checked anywhere with only the public key: `respond verify BUNDLE`.
package enum IncidentBundle {
  package static let manifestName = "MANIFEST.json"
  package static let signatureName = "MANIFEST.sig"
  package static let format = "respond-bundle/1"

  /// The incident to bundle does not verify (exit 1, like `respond verify`).
  package struct NotIntact: Error, CustomStringConvertible {
    package var description: String
  }

  /// The files of an incident that go into its bundle, relative to its folder: the journal, the
  /// reports, and the evidence files the journal vouches for (a file a crash left unnamed is not).
  static func files(in directory: String) throws -> [String] {
    let top = ["journal.jsonl", "report.md", "report.json", "postmortem.md"].filter {
      FileManager.default.fileExists(atPath: directory + "/" + $0)
    }
    let records = try Journal.read(path: directory + "/journal.jsonl").records
    let evidence = Set(records.compactMap { $0.evidenceFile?.path }).sorted()
    return top + evidence
  }

  /// Writes the bundle of the incident in `directory` to `output` and returns the public key's
  /// fingerprint when it was signed. An incident that does not verify is refused: a bundle
  /// vouches for what it holds.
  package static func write(
    directory: String, to output: String, signingKey: Curve25519.Signing.PrivateKey?, now: Date = Date()
  ) throws -> String? {
    let audit = try IncidentAudit.check(directory: directory)
    if let first = audit.findings.first {
      throw NotIntact(
        description: "\(directory) does not verify, so it is not bundled: \(first) (run `respond verify \(directory)`)")
    }
    let root = (URL(fileURLWithPath: directory).standardizedFileURL.path as NSString).lastPathComponent
    var entries = [Tar.Entry(name: root, isDirectory: true)]
    var listed: [Value] = []
    for name in try files(in: directory) {
      guard let bytes = EvidenceStore.readNoFollow(directory + "/" + name) else {
        throw UsageError("cannot read \(directory)/\(name) (a link, or not a plain file)")
      }
      if name.hasPrefix("evidence/"), !entries.contains(where: { $0.name == root + "/evidence" }) {
        entries.append(Tar.Entry(name: root + "/evidence", isDirectory: true))
      }
      entries.append(Tar.Entry(name: root + "/" + name, bytes: bytes))
      listed.append(
        .object(["path": .string(name), "sha256": .string(sha256Hex(bytes)), "bytes": .number(Double(bytes.count))]))
    }
    let manifest: Value = .object([
      "format": .string(format), "incident": .string(root), "created-at": .string(ISO8601.precise(now)),
      "respond": .string(respondVersion), "files": .array(listed),
    ])
    let manifestBytes = Array((manifest.json(pretty: true) + "\n").utf8)
    entries.insert(Tar.Entry(name: root + "/" + manifestName, bytes: manifestBytes), at: 1)
    if let signingKey {
      let signature = try signingKey.signature(for: manifestBytes)
      let sig: Value = .object([
        "algorithm": .string("Ed25519"),
        "public-key": .string(signingKey.publicKey.rawRepresentation.base64EncodedString()),
        "signature": .string(signature.base64EncodedString()),
      ])
      entries.insert(
        Tar.Entry(name: root + "/" + signatureName, bytes: Array((sig.json(pretty: true) + "\n").utf8)), at: 2)
    }
    let archive = try Gzip.compress(try Tar.write(entries, time: Int(now.timeIntervalSince1970)))
    try writePrivate(archive, to: output)
    return signingKey.map { SigningKeys.fingerprint($0.publicKey) }
  }

  /// Writes bytes atomically with mode 0600 (a temporary file no one can predict, then rename).
  static func writePrivate(_ bytes: [UInt8], to path: String) throws {
    let (tmp, fd) = try PrivateFolder.createTemporary(beside: path)
    guard EvidenceStore.writeFully(fd, bytes) else {
      let error = UsageError("cannot write \(path): \(String(cString: strerror(errno)))")
      close(fd)
      unlink(tmp)
      throw error
    }
    fsync(fd)
    close(fd)
    guard rename(tmp, path) == 0 else {
      unlink(tmp)
      throw UsageError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
  }
}
