import Foundation
import Testing

@testable import RespondCore

/// Which of the owner's keys counts as the leaked key's replacement already held: the decision
/// that keeps a rerun from minting a second key and still replaces a key deactivated by hand.
@Suite struct AccessKeyReplacementTests {
  typealias Key = AccessKeyReplacement.Key
  static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
  static func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

  func newer(_ keys: [Key], leaked: String = "AKIALEAKED") -> String? {
    AccessKeyReplacement.newerActiveKey(leaked: leaked, among: keys)
  }

  @Test func aNewerActiveKeyIsTheReplacementAlreadyHeld() {
    // A rerun after a run that minted: the leaked key Inactive, its replacement beside it.
    let keys = [
      Key(id: "AKIALEAKED", status: "Inactive", created: Self.at(0)),
      Key(id: "AKIAMINTED", status: "Active", created: Self.at(90)),
    ]
    #expect(newer(keys) == "AKIAMINTED")
  }

  @Test func anOlderActiveKeyIsTheUsersOtherKeyNotAReplacement() {
    // Deactivated by hand with nothing newer: the run must mint.
    let keys = [
      Key(id: "AKIAOLDER1", status: "Active", created: Self.at(-3600)),
      Key(id: "AKIALEAKED", status: "Inactive", created: Self.at(0)),
    ]
    #expect(newer(keys) == nil)
    #expect(newer([Key(id: "AKIALEAKED", status: "Inactive", created: Self.at(0))]) == nil)
  }

  @Test func aNewerKeyThatIsInactiveIsNoReplacement() {
    let keys = [
      Key(id: "AKIALEAKED", status: "Inactive", created: Self.at(0)),
      Key(id: "AKIANEWOFF", status: "Inactive", created: Self.at(60)),
    ]
    #expect(newer(keys) == nil)
  }

  @Test func theLeakedKeyItselfNeverCounts() {
    // Still Active (a run that has not deactivated it yet): not its own replacement.
    #expect(newer([Key(id: "AKIALEAKED", status: "Active", created: Self.at(0))]) == nil)
  }

  @Test func whatCannotBeOrderedCountsSoNoSecondKeyIsMinted() {
    // The same second (IAM's resolution): counted.
    let sameSecond = [
      Key(id: "AKIALEAKED", status: "Inactive", created: Self.at(0)),
      Key(id: "AKIASAMESEC", status: "Active", created: Self.at(0)),
    ]
    #expect(newer(sameSecond) == "AKIASAMESEC")
    // A key listed without a creation time: counted.
    let undated = [
      Key(id: "AKIALEAKED", status: "Inactive", created: Self.at(0)),
      Key(id: "AKIAUNDATED", status: "Active", created: nil),
    ]
    #expect(newer(undated) == "AKIAUNDATED")
    // The leaked key not listed (deleted meanwhile) or undated: every Active key counts.
    #expect(newer([Key(id: "AKIAOLDER1", status: "Active", created: Self.at(-3600))]) == "AKIAOLDER1")
    let leakedUndated = [
      Key(id: "AKIALEAKED", status: "Inactive", created: nil),
      Key(id: "AKIAOLDER1", status: "Active", created: Self.at(-3600)),
    ]
    #expect(newer(leakedUndated) == "AKIAOLDER1")
  }

  @Test func ofSeveralTheNewestIsNamed() {
    let keys = [
      Key(id: "AKIALEAKED", status: "Inactive", created: Self.at(0)),
      Key(id: "AKIAFIRST1", status: "Active", created: Self.at(60)),
      Key(id: "AKIASECOND", status: "Active", created: Self.at(120)),
    ]
    #expect(newer(keys) == "AKIASECOND")
    #expect(newer(keys.reversed()) == "AKIASECOND", "the order of the listing does not matter")
  }
}
