import Foundation
import Testing

@testable import RespondCore

/// Provider folders load with every problem located, and a folder with an error is left out
/// while the others still load.
@Suite struct ProviderLoaderTests {
  let root = NSTemporaryDirectory() + "respond-provider-loader-" + UUID().uuidString

  static let good = """
    provider: good
    formats:
      - kind: api-key
        prefix: "good_"
        pattern: "good_[a-z]{20}"
        revocable-via: "delete it"
    playbook:
      console-url: https://good.example/keys
      revoke: "Delete it."
      rotate: "Make a new one."
      update: "Put it where the old one was."

    """

  func write(_ name: String, _ text: String) throws {
    try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
    try text.write(toFile: root + "/" + name + "/provider.yaml", atomically: true, encoding: .utf8)
  }

  func problems(_ name: String, _ text: String) throws -> [String] {
    try write("good", Self.good)
    try write(name, text)
    let (providers, diagnostics) = RunbookLoader().loadProviders(folder: root)
    #expect(providers.map(\.name) == ["good"], "the bad folder is left out, the good one loads")
    return diagnostics.map { $0.description.replacingOccurrences(of: root + "/", with: "") }
  }

  @Test func aProviderNamedUnlikeItsFolderIsAnError() throws {
    let text = Self.good.replacingOccurrences(of: "provider: good", with: "provider: other")
    #expect(
      try problems("bad", text) == [
        "bad/provider.yaml:1:11: error: provider 'other' must be named as its folder ('bad')"
      ])
  }

  @Test func aPublicIDMustBeAGroupOfThePattern() throws {
    let text = Self.good.replacingOccurrences(of: "provider: good", with: "provider: bad").replacingOccurrences(
      of: "    revocable-via", with: "    public-id: id\n    revocable-via")
    #expect(
      try problems("bad", text) == [
        "bad/provider.yaml:6:16: error: 'public-id' must name a group of the pattern: (?<id>...)"
      ])
  }

  @Test func aConsoleURLMustBeHTTPS() throws {
    let text = Self.good.replacingOccurrences(of: "provider: good", with: "provider: bad").replacingOccurrences(
      of: "https://good.example", with: "http://good.example")
    #expect(try problems("bad", text) == ["bad/provider.yaml:8:16: error: 'console-url' must be an https:// address"])
  }

  @Test func aPatternThatAcceptsThePrefixAloneIsAnError() throws {
    let text = Self.good.replacingOccurrences(of: "provider: good", with: "provider: bad").replacingOccurrences(
      of: "good_[a-z]{20}", with: "good_[a-z]*")
    #expect(try problems("bad", text) == ["bad/provider.yaml:5:14: error: 'pattern' must not match the prefix alone"])
  }

  @Test func aMisspelledKeyAndAMissingPlaybookAreErrors() throws {
    let text = """
      provider: bad
      formats:
        - kind: api-key
          patern: "bad_[a-z]{20}"
          revocable-via: "delete it"

      """
    let found = try problems("bad", text)
    #expect(
      found.contains { $0.hasPrefix("bad/provider.yaml:4:5: error: unknown key 'patern' in a credential format") })
    #expect(found.contains("bad/provider.yaml:3:5: error: a credential format is missing required key 'pattern'"))
    #expect(found.contains { $0.hasPrefix("bad/provider.yaml:1:1: error: missing required key 'playbook'") })
  }
}
