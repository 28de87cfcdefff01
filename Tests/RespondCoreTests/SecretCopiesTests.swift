import Foundation
import RespondCore
import Testing

/// The pure parts of finding and replacing every copy of a leaked secret (issue 15 item 5).
@Suite struct SecretCopiesUnitTests {
  let leaked = "AKIALEAKEDLEAKED1234"
  var matcher: SecretDigestMatcher { SecretDigestMatcher(leaked) }

  @Test func matchesByDigestOnlyTheWholeValue() {
    #expect(matcher.matches(leaked))
    #expect(!matcher.matches(leaked + " "))
    #expect(!matcher.matches(String(leaked.dropLast())))
    #expect(!matcher.matches(""))
  }

  @Test func findsTheFieldsThatHoldTheSecret() {
    #expect(matcher.fields(inText: leaked) == [""])
    let json = #"{"id":"AKIALEAKEDLEAKED1234","other":"x","nested":{"keys":["a","AKIALEAKEDLEAKED1234"]}}"#
    #expect(matcher.fields(inText: json) == ["id", "nested.keys[1]"])
    #expect(matcher.fields(inText: "prefix AKIALEAKEDLEAKED1234").isEmpty, "a substring is not a copy")
    #expect(matcher.fields(inText: "not json").isEmpty)
  }

  @Test func aWholeValueIsReplacedWhole() {
    let plan = CopyReplacementPlan.plan(
      .string(leaked), matcher: matcher, replacement: "AKIANEW", companions: ["secret_access_key": "s"])
    #expect(plan == .write(.string("AKIANEW"), changed: [""]))
  }

  @Test func aJSONObjectGetsTheMatchedFieldAndItsExistingCompanionsOnly() throws {
    let text = #"{"access_key_id":"AKIALEAKEDLEAKED1234","secret_access_key":"old","note":"kept"}"#
    let plan = CopyReplacementPlan.plan(
      .string(text), matcher: matcher, replacement: "AKIANEW",
      companions: ["secret_access_key": "new", "AWS_SECRET_ACCESS_KEY": "new"])
    guard case .write(.string(let written), let changed) = plan else {
      Issue.record("no write: \(plan)")
      return
    }
    #expect(changed == ["access_key_id", "secret_access_key"])
    #expect(Value.parseJSON(written) == ["access_key_id": "AKIANEW", "secret_access_key": "new", "note": "kept"])
    // A Vault secret's fields (an object, not text) the same way.
    let vault = CopyReplacementPlan.plan(
      ["k": .string(leaked), "x": "y"], matcher: matcher, replacement: "AKIANEW", companions: ["secret_access_key": "n"]
    )
    #expect(vault == .write(["k": "AKIANEW", "x": "y"], changed: ["k"]))
  }

  @Test func aCopyAlreadyRewrittenOrNestedIsNotWritten() {
    #expect(
      CopyReplacementPlan.plan(.string("AKIANEW"), matcher: matcher, replacement: "n", companions: [:])
        == .alreadyReplaced)
    #expect(
      CopyReplacementPlan.plan(["a": ["b": .string(leaked)]], matcher: matcher, replacement: "n", companions: [:])
        == .byHand(["a.b"]))
  }

  @Test func boundsHaveDefaultsAndLimits() {
    let d = CopySearchBounds()
    #expect(d.maxItems == CopySearchBounds.defaultMaxItems && d.perSecond == 5)
    let clamped = CopySearchBounds(maxItems: 0, perSecond: 1000)
    #expect(clamped.maxItems == 1 && clamped.perSecond == 50)
    #expect(
      CopySearchBounds(maxItems: 2, perSecond: 2.5).stopped(store: "Parameter Store", scanned: 2)
        == "Parameter Store search stopped at max-items 2 (2 read, at most 2.5 requests/s): "
        + "raise max-items or narrow the prefix to look further")
  }

  @Test func copiesAreReadFromAFindStepsMatches() {
    let matches: Value = [["path": "ci/app", "field": "id"], ["path": "ci/raw", "field": ""], ["field": "x"]]
    let copies = SecretCopy.list(matches, store: "secrets-manager")
    #expect(copies.map(\.label) == ["secrets-manager ci/app (id)", "secrets-manager ci/raw"])
  }
}
