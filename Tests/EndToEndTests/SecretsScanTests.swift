import Foundation
import RespondTestSupport
import Testing

/// The end-of-run secrets scan (`scripts/secrets-scan.py`, run by `scripts/test.sh` after the
/// suite) finds a known secret in what respond wrote, in any spelling, and passes clean output:
/// a scan that cannot find anything would prove nothing.
@Suite struct SecretsScanTests {
  static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

  /// Runs the scanner; (exit status, stderr).
  func scan(_ args: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", TestServices.repositoryRoot() + "/scripts/secrets-scan.py"] + args
    let err = Pipe()
    p.standardError = err
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: e, as: UTF8.self))
  }

  /// An incident folder under a fresh root, with `report` as its report.md.
  func incident(report: String) throws -> String {
    let root = NSTemporaryDirectory() + "respond-scan-" + UUID().uuidString
    let dir = root + "/20261202T101010Z-key-compromised"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "{}\n".write(toFile: dir + "/journal.jsonl", atomically: true, encoding: .utf8)
    try report.write(toFile: dir + "/report.md", atomically: true, encoding: .utf8)
    return root
  }

  /// The secret at byte offset 2 mod 3 inside a longer base64 blob (HTTP Basic with a 4-letter
  /// user): no substring of the plain base64 of the secret appears, only its alignment-2 form.
  @Test func findsASecretInBase64AlignmentTwo() throws {
    let blob = Data("abcd:\(Self.secret)::more".utf8).base64EncodedString()
    #expect(!blob.contains(String(Data(Self.secret.utf8).base64EncodedString().prefix(12))))
    let root = try incident(report: "- Request: `Authorization: Basic \(blob)`\n")
    defer { removeTestOutput(root) }
    let (status, err) = try scan(["--secret", Self.secret, root])
    #expect(status == 1, "\(err)")
    #expect(err.contains("base64 alignment 2"), "\(err)")
  }

  @Test func passesMaskedOutputAndIgnoresInputFixtures() throws {
    let root = try incident(report: "key sha256:1a2b3c4d masked\n")
    defer { removeTestOutput(root) }
    // A key file a test hands respond as input is not an output.
    try "\(Self.secret)\n".write(toFile: root + "/key.txt", atomically: true, encoding: .utf8)
    let (status, err) = try scan(["--secret", Self.secret, root])
    #expect(status == 0, "\(err)")
  }

  @Test func selfTestPlantsEverySpelling() throws {
    let (status, err) = try scan(["--self-test"])
    #expect(status == 0, "\(err)")
  }
}
