import ArgumentParser
import Foundation
import RespondCore

/// `respond verify DIR|BUNDLE`: checks that an incident folder, or a bundle of one, is what
/// respond wrote. Thin: the checks live in `IncidentAudit` and `BundleAudit`.
struct Verify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check an incident's journal hash chain, its evidence files, and that its reports match the journal.",
    discussion: """
      Every journal record carries the SHA-256 of the line before it, and every
      provider answer kept under evidence/ has its SHA-256 in the journal. verify
      names where the chain breaks (a line edited, inserted, removed, moved or
      renumbered), every evidence file changed, missing or not named by the
      journal, and any report field or fact (verdict, status, replacement key,
      approvals) that does not match the journal. A last line torn by a crash is
      tolerated and said.
        respond verify incidents/20261202T101500Z-key-compromised
      A bundle (respond bundle) is checked file by file against its manifest, its
      signature against --public-key, and the incident inside as above:
        respond verify 20261202T101500Z-key-compromised.tar.gz \\
          --public-key team-signing.pub
      Exit 0 when intact, 1 when not, 2 when the folder cannot be read.
      """)

  @Argument(help: "The incident folder, or a bundle (.tar.gz) written by `respond bundle`.")
  var directory: String

  @Option(name: .long, help: "A bundle only: the Ed25519 public key (PEM or base64) its manifest must be signed with.")
  var publicKey: String?

  func run() async throws {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder) else {
      Frontend.error("\(directory): no such incident folder or bundle")
      throw ExitCode(2)
    }
    if !isFolder.boolValue { return try verifyBundle() }
    if publicKey != nil {
      Frontend.error("--public-key is for a bundle; \(directory) is an incident folder")
      throw ExitCode(2)
    }
    let result: (findings: [IncidentAudit.Finding], notes: [String])
    do { result = try IncidentAudit.check(directory: directory) } catch {
      Frontend.error("\(directory) is not an incident folder: \(error)")
      throw ExitCode(2)
    }
    try report(result, intact: "hash chain holds; evidence files match; reports match the journal")
  }

  /// A bundle: every file against the manifest, the signature, and the incident inside.
  func verifyBundle() throws {
    let result: (findings: [IncidentAudit.Finding], notes: [String])
    do {
      let key = try publicKey.map { try SigningKeys.publicKey(file: $0) }
      result = try BundleAudit.check(path: directory, publicKey: key)
    } catch {
      Frontend.error("\(error)")
      throw ExitCode(2)
    }
    try report(result, intact: "every file matches the signed manifest; the incident inside verifies")
  }

  func report(_ result: (findings: [IncidentAudit.Finding], notes: [String]), intact: String) throws {
    for note in result.notes { Frontend.note("note: " + note) }
    if result.findings.isEmpty {
      print("\(directory): intact (\(intact))")
      return
    }
    for finding in result.findings { print("\(directory)/\(finding)") }
    Frontend.error("\(directory): NOT intact: \(result.findings.count) problem(s); the first is \(result.findings[0])")
    throw ExitCode(1)
  }
}
