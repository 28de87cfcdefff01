import Foundation
import RespondTestSupport
import Testing

/// Issue 12 item 11: usage errors quote what was typed, and the commonest slip is a leaked token
/// given without its flag. Through the built executable: neither respond's runbook parser nor
/// ArgumentParser's subcommand parser may echo a credential; it is shown masked, as `identify`
/// shows it (`ghp_…sha256:…`). No network, no servers.
@Suite struct UsageErrorTests {
  static let token = "ghp_" + String(repeating: "Zq9X", count: 9)
  /// An AWS secret access key: no known prefix, recognised by its shape.
  static let awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Yk3mPqA"

  func run(_ args: [String]) throws -> ProcessOutcome {
    let home = NSTemporaryDirectory() + "usage-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: home) }
    // Every case fails before a run starts: nothing is written, so no --out (it would change
    // which of ArgumentParser's complaints comes first).
    return try runRespond(args, environment: ["HOME": home], cwd: TestServices.repositoryRoot())
  }

  func expectMasked(_ o: ProcessOutcome, _ secret: String, shown: String, status: Int32 = 2, _ comment: Comment) {
    #expect(o.status == status, comment)
    #expect(!o.stderr.contains(secret) && !o.stdout.contains(secret), "\(comment): \(o.stderr)")
    #expect(!o.stderr.contains(String(secret.dropFirst(4).prefix(12))), "\(comment): part of it leaked: \(o.stderr)")
    #expect(o.stderr.contains(shown), "\(comment): \(o.stderr)")
  }

  @Test func tokenWithoutItsFlagIsNotEchoed() throws {
    let o = try run(["drill", "key-compromised", Self.token])
    expectMasked(o, Self.token, shown: "unexpected argument 'ghp_…sha256:", "forgotten --key")
  }

  @Test func tokenGluedToTheDashesIsNotEchoed() throws {
    let o = try run(["drill", "key-compromised", "--" + Self.token, "AKIA2TARGETKEY7QWERT"])
    expectMasked(o, Self.token, shown: "unknown option --ghp_…sha256:", "--ghp_… with a value")
    let alone = try run(["drill", "key-compromised", "--" + Self.token])
    expectMasked(alone, Self.token, shown: "--ghp_…sha256:", "--ghp_… alone")
  }

  @Test func subcommandParserDoesNotEchoATokenEither() throws {
    // `identify` is an ArgumentParser command: its own "Unexpected argument" message (and its
    // own exit status for usage errors, 64).
    let o = try run(["identify", "--key", "AKIA2TARGETKEY7QWERT", Self.token])
    expectMasked(o, Self.token, shown: "Unexpected argument 'ghp_…sha256:", status: 64, "identify, stray token")
    let glued = try run(["identify", "--key", "AKIA2TARGETKEY7QWERT", "--" + Self.token])
    expectMasked(glued, Self.token, shown: "Unknown option '--ghp_…sha256:", status: 64, "identify --ghp_…")
  }

  @Test func unknownHighEntropyTokenIsMaskedToo() throws {
    let o = try run(["drill", "key-compromised", "--key", "AKIA2TARGETKEY7QWERT", Self.awsSecret])
    expectMasked(o, Self.awsSecret, shown: "unexpected argument '…sha256:", "AWS secret key as a stray argument")
  }

  @Test func ordinaryArgumentsAreStillQuoted() throws {
    let o = try run(["drill", "key-compromised", "--kye", "AKIA2TARGETKEY7QWERT"])
    #expect(o.status == 2)
    #expect(o.stderr.contains("unknown option --kye; did you mean --key?"), "\(o.stderr)")
  }
}
