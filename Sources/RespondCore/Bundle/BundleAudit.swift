import Crypto
import Foundation

/// `respond verify BUNDLE`: whether a bundle is what respond wrote, on any machine. Every file
/// must hash to the manifest, nothing may be added, the manifest's signature must hold (and be
/// made with the given public key, when one is given), and the incident inside must verify as an
/// incident folder does (hash chain, evidence, reports).
package enum BundleAudit {
  package typealias Finding = IncidentAudit.Finding

  /// Every problem found (empty when intact) and what was checked.
  package static func check(path: String, publicKey: Curve25519.Signing.PublicKey?) throws -> (
    findings: [Finding], notes: [String]
  ) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw UsageError("cannot read the bundle \(path)")
    }
    let entries: [Tar.Entry]
    do { entries = try Tar.read(Gzip.decompress([UInt8](data))) } catch {
      return ([Finding(file: (path as NSString).lastPathComponent, line: nil, problem: "\(error)")], [])
    }
    let root = entries.first { $0.isDirectory }?.name ?? ""
    let files = Dictionary(
      entries.filter { !$0.isDirectory }.map {
        ($0.name.hasPrefix(root + "/") ? String($0.name.dropFirst(root.count + 1)) : $0.name, $0.bytes)
      },
      uniquingKeysWith: { a, _ in a })
    guard let manifestBytes = files[IncidentBundle.manifestName],
      let manifest = JSONParser.parse(Data(manifestBytes)), let listed = manifest["files"]?.arrayValue
    else {
      return ([Finding(file: IncidentBundle.manifestName, line: nil, problem: "is missing or not a manifest")], [])
    }
    var findings = manifestFindings(files: files, listed: listed)
    var notes: [String] = []
    let signature = signatureCheck(files[IncidentBundle.signatureName], manifest: manifestBytes, publicKey: publicKey)
    findings += signature.findings
    notes += signature.notes
    // The incident inside, checked as a folder: only what the manifest vouches for is written.
    if findings.isEmpty {
      findings += try incidentFindings(files: files.filter { $0.key != IncidentBundle.manifestName })
    }
    return (findings, notes)
  }

  /// Files that do not hash to the manifest, are missing, or are not in it.
  static func manifestFindings(files: [String: [UInt8]], listed: [Value]) -> [Finding] {
    var findings: [Finding] = []
    var named: Set<String> = [IncidentBundle.manifestName, IncidentBundle.signatureName]
    for item in listed {
      guard let name = item["path"]?.stringValue, let hash = item["sha256"]?.stringValue else { continue }
      named.insert(name)
      guard let bytes = files[name] else {
        findings.append(Finding(file: name, line: nil, problem: "is in the manifest but not in the bundle"))
        continue
      }
      if sha256Hex(bytes) != hash {
        findings.append(Finding(file: name, line: nil, problem: "does not match the manifest's SHA-256 (changed)"))
      }
    }
    for name in files.keys.sorted() where !named.contains(name) {
      findings.append(Finding(file: name, line: nil, problem: "is not in the manifest (added)"))
    }
    return findings
  }

  /// The signature over the manifest: valid, and made with `publicKey` when one is given.
  static func signatureCheck(_ bytes: [UInt8]?, manifest: [UInt8], publicKey: Curve25519.Signing.PublicKey?) -> (
    findings: [Finding], notes: [String]
  ) {
    let name = IncidentBundle.signatureName
    guard let bytes else {
      if publicKey != nil {
        return ([Finding(file: name, line: nil, problem: "is missing: the bundle is not signed")], [])
      }
      return ([], ["the bundle is not signed (set RESPOND_SIGNING_KEY when bundling to sign it)"])
    }
    guard let sig = JSONParser.parse(Data(bytes)),
      let keyText = sig["public-key"]?.stringValue, let keyBytes = Data(base64Encoded: keyText),
      let embedded = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes),
      let signatureText = sig["signature"]?.stringValue, let signature = Data(base64Encoded: signatureText)
    else {
      return ([Finding(file: name, line: nil, problem: "is not a signature respond wrote")], [])
    }
    if let publicKey, publicKey.rawRepresentation != embedded.rawRepresentation {
      return (
        [
          Finding(
            file: name, line: nil,
            problem:
              "was made with key \(SigningKeys.fingerprint(embedded)), not the given public key \(SigningKeys.fingerprint(publicKey))"
          )
        ], []
      )
    }
    guard embedded.isValidSignature(signature, for: manifest) else {
      return ([Finding(file: name, line: nil, problem: "does not verify: the manifest was changed after signing")], [])
    }
    let whose =
      publicKey == nil
      ? " (the key inside the bundle: pass --public-key to check whose it is)" : ", the given public key"
    return ([], ["signed with Ed25519 key \(SigningKeys.fingerprint(embedded))\(whose)"])
  }

  /// Writes the incident's files into a private temporary folder and checks it as `respond
  /// verify DIR` does.
  static func incidentFindings(files: [String: [UInt8]]) throws -> [Finding] {
    let dir = NSTemporaryDirectory() + "respond-bundle-" + UUID().uuidString
    try PrivateFolder.prepare(dir, what: "a temporary folder", privacy: .ownerOnly)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for (name, bytes) in files {
      if name.hasPrefix("evidence/") {
        try PrivateFolder.prepare(dir + "/evidence", what: "a temporary folder", privacy: .ownerOnly)
      }
      let fd = open(dir + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
      guard fd >= 0 else { throw UsageError("cannot unpack \(name) to check it") }
      defer { close(fd) }
      guard EvidenceStore.writeFully(fd, bytes) else { throw UsageError("cannot unpack \(name) to check it") }
    }
    return try IncidentAudit.check(directory: dir).findings
  }
}
