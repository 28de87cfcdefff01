import Foundation
import RespondCore
import Testing

@testable import RespondActions

/// The rerun guard's decision (issue 16): only respond's own tag naming a key still listed is a
/// replacement; a `minting:` marker is a lost attempt whose key (made in its window, named by no
/// other tag) is an orphan. Neither the user's other keys nor the attacker's count.
@Suite struct ReplacementTagTests {
  static let t0 = ISO8601.parse("2026-12-03T17:00:00Z")!

  static func key(_ id: String, _ status: String = "Active", at seconds: TimeInterval) -> IAMAccessKey {
    IAMAccessKey(id: id, status: status, createDate: t0.addingTimeInterval(seconds), userName: "alice")
  }

  @Test func onlyATagNamingAListedKeyIsAReplacement() {
    let keys = [Self.key("AKIALEAKED", "Inactive", at: -900), Self.key("AKIANEW", at: 5)]
    #expect(IAMReplacementTag.finding(tag: nil, listed: keys) == .none)
    #expect(IAMReplacementTag.finding(tag: "AKIANEW", listed: keys) == .replacedBy("AKIANEW"))
    // The replacement was deleted since (by a person, or a resume's undo): mint again.
    #expect(IAMReplacementTag.finding(tag: "AKIAGONE", listed: keys) == .none)
    #expect(
      IAMReplacementTag.finding(tag: "minting:2026-12-03T17:00:00Z", listed: keys) == .lostAttempt(since: Self.t0))
    #expect(IAMReplacementTag.finding(tag: "minting:garbage", listed: keys) == .none)
  }

  @Test func aLostAttemptsOrphanIsOnlyAKeyMadeInItsWindowThatNothingNames() {
    let keys = [
      Self.key("AKIALEAKED", "Inactive", at: -900),  // the leaked key: never
      Self.key("AKIAOTHERLEAK", at: -800),  // the user's other key, older: outside the window
      Self.key("AKIAORPHAN", at: 3),  // made by the lost attempt
      Self.key("AKIATWIN", at: 4),  // another leaked key's replacement, named by its tag
      Self.key("AKIAHELD", at: 5),  // handed to a run of this process
      Self.key("AKIALATER", at: 120),  // after the window
    ]
    let tags = ["respond:replaces:AKIAOTHERLEAK": "AKIATWIN", "respond:replaces:AKIALEAKED": "minting:x", "team": "ci"]
    let orphans = IAMReplacementTag.orphans(
      of: keys, since: Self.t0, window: 60, leaked: "AKIALEAKED", tags: tags, handedOut: { $0 == "AKIAHELD" })
    #expect(orphans.map(\.id) == ["AKIAORPHAN"])
  }

  @Test func theGuardsCallsAreDeclaredOnlyWithReplaces() throws {
    let create = CreateAccessKeyAction().descriptor
    let calls = (create.permissions ?? []).compactMap { p -> String? in
      guard case .aws(let a) = p, a.onlyWith == "replaces" else { return nil }
      return a.iamAction
    }
    #expect(Set(calls) == ["iam:ListUserTags", "iam:ListAccessKeys", "iam:TagUser", "iam:DeleteAccessKey"])
    #expect(create.outputs.contains { $0.name == "already-replaced-by" })
  }
}
