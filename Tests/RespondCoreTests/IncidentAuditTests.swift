import Crypto
import Foundation
import Testing

@testable import RespondCore

/// `respond verify` and `respond verify BUNDLE` on an incident folder written as a run writes it
/// (a journal through `Journal`, evidence through `EvidenceStore`, reports through
/// `ReportWriter`), without a provider: what each check names when one thing is altered.
@Suite struct IncidentAuditTests {
  /// The report tests' live incident, written to a fresh private folder.
  static func incident() throws -> String {
    let dir = NSTemporaryDirectory() + "respond-audit-" + UUID().uuidString
    try PrivateFolder.prepare(dir, what: "a test folder", privacy: .ownerOnly)
    let journal = try Journal(path: dir + "/journal.jsonl", masker: Masker())
    for var r in ReportTests.journal(mode: .live, finished: .completed) {
      if r.evidenceFile != nil {
        let text = "{\n  \"step\" : \"\(r.step ?? "")\",\n  \"event-count\" : 3\n}\n"
        r.evidenceFile = try EvidenceStore.write(text, step: r.step ?? "", in: dir)
      }
      try journal.append(r, durability: .withNext)
    }
    try ReportWriter.write(directory: dir)
    return dir
  }

  func edit(_ path: String, _ change: (String) -> String) throws {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let changed = change(text)
    #expect(changed != text, "the edit changed \(path)")
    try changed.write(toFile: path, atomically: true, encoding: .utf8)
  }

  @Test func anIntactIncidentVerifiesAndAnAlteredFactIsNamed() throws {
    let dir = try Self.incident()
    #expect(try IncidentAudit.check(directory: dir).findings.isEmpty)
    #expect(FileManager.default.fileExists(atPath: dir + "/postmortem.md"))

    try edit(dir + "/report.json") { $0.replacingOccurrences(of: "\"value\" : \"alice\"", with: "\"value\" : \"bob\"") }
    #expect(
      try IncidentAudit.check(directory: dir).findings.map(\.description) == [
        "report.json: 'facts' does not match the journal"
      ])
    try ReportWriter.write(directory: dir)

    try edit(dir + "/report.md") { $0.replacingOccurrences(of: "| Owner | alice |", with: "| Owner | bob |") }
    #expect(
      try IncidentAudit.check(directory: dir).findings.map(\.description) == [
        "report.md: the fact 'Owner' does not match the journal"
      ])
    try ReportWriter.write(directory: dir)

    try edit(dir + "/evidence/logs.json") { $0.replacingOccurrences(of: "3", with: "4") }
    #expect(
      try IncidentAudit.check(directory: dir).findings.first?.description.hasPrefix(
        "evidence/logs.json: does not match the SHA-256 in journal record") == true)
  }

  /// Who approved a step is what four eyes are audited by: an approver renamed in either report,
  /// or an approval row added to report.md, is named.
  @Test func anAlteredApprovalIsNamed() throws {
    let dir = try Self.incident()
    try edit(dir + "/report.json") { $0.replacingOccurrences(of: "\"by\" : \"alice\"", with: "\"by\" : \"carol\"") }
    #expect(
      try IncidentAudit.check(directory: dir).findings.map(\.description) == [
        "report.json: 'approvals' does not match the journal"
      ])
    try ReportWriter.write(directory: dir)

    try edit(dir + "/report.md") {
      $0.replacingOccurrences(
        of: "| `deactivate` | alice | alice@laptop |", with: "| `deactivate` | carol | carol@hq |")
    }
    #expect(
      try IncidentAudit.check(directory: dir).findings.map(\.description) == [
        "report.md: its approvals do not match the journal"
      ])
    try ReportWriter.write(directory: dir)

    try edit(dir + "/report.md") {
      $0.replacingOccurrences(
        of: "| --- | --- | --- | --- | --- | --- |\n",
        with:
          "| --- | --- | --- | --- | --- | --- |\n| `deactivate` | carol | carol@hq | 2026-11-18T10:33:20Z | \\--yes | granted (--yes) |\n"
      )
    }
    #expect(
      try IncidentAudit.check(directory: dir).findings.map(\.description) == [
        "report.md: its approvals do not match the journal"
      ])
    try ReportWriter.write(directory: dir)
    #expect(try IncidentAudit.check(directory: dir).findings.isEmpty, "re-rendered from the journal, it verifies")
  }

  @Test func aBundleVerifiesWithItsKeyOnlyAndNamesAChangedFile() throws {
    let dir = try Self.incident()
    let key = Curve25519.Signing.PrivateKey()
    let bundle = dir + ".tar.gz"
    let fingerprint = try IncidentBundle.write(directory: dir, to: bundle, signingKey: key)
    #expect(fingerprint == SigningKeys.fingerprint(key.publicKey))
    let right = try BundleAudit.check(path: bundle, publicKey: key.publicKey)
    #expect(right.findings.isEmpty, "\(right.findings)")
    #expect(right.notes.contains { $0.hasSuffix(", the given public key") })
    let other = Curve25519.Signing.PrivateKey().publicKey
    let wrong = try BundleAudit.check(path: bundle, publicKey: other)
    #expect(wrong.findings.first?.file == IncidentBundle.signatureName)

    // Repack with one byte of the manifest changed: the signature no longer holds.
    var entries = try Tar.read(Gzip.decompress([UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle)))))
    let m = try #require(entries.firstIndex { $0.name.hasSuffix("/" + IncidentBundle.manifestName) })
    let at = try #require(entries[m].bytes.firstIndex(of: UInt8(ascii: "0")))
    entries[m].bytes[at] = UInt8(ascii: "1")
    try Data(try Gzip.compress(try Tar.write(entries, time: 0))).write(to: URL(fileURLWithPath: bundle))
    let forged = try BundleAudit.check(path: bundle, publicKey: key.publicKey)
    #expect(
      forged.findings.map(\.description).contains(
        "MANIFEST.sig: does not verify: the manifest was changed after signing"))

    // And one byte of an evidence file, the manifest untouched.
    entries[m].bytes[at] = UInt8(ascii: "0")
    let e = try #require(entries.firstIndex { $0.name.hasSuffix("/evidence/logs.json") })
    entries[e].bytes[entries[e].bytes.firstIndex(of: UInt8(ascii: "3"))!] = UInt8(ascii: "4")
    try Data(try Gzip.compress(try Tar.write(entries, time: 0))).write(to: URL(fileURLWithPath: bundle))
    let changed = try BundleAudit.check(path: bundle, publicKey: key.publicKey)
    #expect(
      changed.findings.map(\.description) == [
        "evidence/logs.json: does not match the manifest's SHA-256 (changed)"
      ])
  }
}
