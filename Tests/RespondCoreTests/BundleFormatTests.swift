import Crypto
import Foundation
import Testing

@testable import RespondCore

/// The pieces of `respond bundle`: tar that reads what it writes and refuses what could point
/// outside the bundle, gzip both ways, and Ed25519 keys in the forms people keep them.
@Suite struct BundleFormatTests {
  @Test func tarReadsWhatItWritesAndGzipRoundTrips() throws {
    let entries = [
      Tar.Entry(name: "i", isDirectory: true), Tar.Entry(name: "i/journal.jsonl", bytes: Array("{}\n".utf8)),
      Tar.Entry(name: "i/evidence", isDirectory: true),
      Tar.Entry(name: "i/evidence/big.json", bytes: (0..<70_000).map { UInt8($0 % 251) }),
    ]
    let archive = try Tar.write(entries, time: 1_795_000_000)
    #expect(archive.count % 512 == 0)
    #expect(try Tar.read(archive) == entries)
    let packed = try Gzip.compress(archive)
    #expect(packed.prefix(2) == [0x1f, 0x8b], "a gzip header")
    #expect(try Gzip.decompress(packed) == archive)
    #expect(throws: Gzip.Failure.self) { try Gzip.decompress(Array(packed.prefix(packed.count / 2))) }
    #expect(throws: Gzip.Failure.self) { try Gzip.decompress(packed, limit: 1000) }
  }

  @Test func tarRefusesLinksClimbingNamesAndDamage() throws {
    var link = try Tar.write([Tar.Entry(name: "i/x", bytes: [1])], time: 0)
    link[156] = UInt8(ascii: "2")  // a symbolic link; the checksum is fixed below
    for i in 148..<156 { link[i] = 32 }
    let sum = link[0..<512].reduce(0) { $0 + Int($1) }
    let digits = Array((String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8)).utf8)
    for (i, d) in digits.enumerated() { link[148 + i] = d }
    link[154] = 0
    #expect(throws: Tar.Failure.self) { try Tar.read(link) }
    #expect(throws: Tar.Failure.self) { try Tar.read(try Tar.write([Tar.Entry(name: "../x", bytes: [1])], time: 0)) }
    var damaged = try Tar.write([Tar.Entry(name: "i/x", bytes: [1])], time: 0)
    damaged[10] ^= 1
    #expect(throws: Tar.Failure.self) { try Tar.read(damaged) }
  }

  @Test func keysAreReadAsPEMOrBase64AndAReadableKeyIsRefused() throws {
    let dir = NSTemporaryDirectory() + "respond-keys-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let key = Curve25519.Signing.PrivateKey()
    let der = SigningKeys.pkcs8Prefix + [UInt8](key.rawRepresentation)
    let pem = "-----BEGIN PRIVATE KEY-----\n\(Data(der).base64EncodedString())\n-----END PRIVATE KEY-----\n"
    try pem.write(toFile: dir + "/key.pem", atomically: true, encoding: .utf8)
    chmod(dir + "/key.pem", 0o600)
    #expect(try SigningKeys.privateKey(file: dir + "/key.pem").rawRepresentation == key.rawRepresentation)
    chmod(dir + "/key.pem", 0o644)
    #expect(throws: UsageError.self) { try SigningKeys.privateKey(file: dir + "/key.pem") }
    try (key.publicKey.rawRepresentation.base64EncodedString() + "\n").write(
      toFile: dir + "/key.pub", atomically: true, encoding: .utf8)
    let pub = try SigningKeys.publicKey(file: dir + "/key.pub")
    #expect(pub.rawRepresentation == key.publicKey.rawRepresentation)
    #expect(SigningKeys.fingerprint(pub).hasPrefix("sha256:") && SigningKeys.fingerprint(pub).count == 23)
  }
}
