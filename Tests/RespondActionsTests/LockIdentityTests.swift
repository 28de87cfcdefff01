import Foundation
import RespondCore
import Testing

@testable import RespondActions

/// The identity the per-key lock is taken on (issue 12, item 3): every spelling of one credential
/// gives the same lock, different credentials different ones, and the lock's text never holds
/// the secret.
@Suite struct LockIdentityTests {
  static let awsID = "AKIAIOSFODNN7EXAMPLE"
  static let vaultToken = "hvs.CAESIJ0Y2xvbmUtc2VjcmV0LXRva2VuLXZhbHVlLTEyMzQ1Ng"

  @Test(arguments: [
    " AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE\n", "\tAKIAIOSFODNN7EXAMPLE ",
    "akiaiosfodnn7example", "AKIAIOSFODNN7EXAMPLE\u{3000}",
  ])
  func everySpellingOfAnAccessKeyIDIsOneLock(_ spelling: String) {
    let canonical = KeyFormats.lockIdentity(Self.awsID)
    #expect(KeyFormats.lockIdentity(spelling) == canonical)
    #expect(canonical == IncidentLock.Identity(canonical: "aws:" + Self.awsID, label: Self.awsID))
  }

  @Test func aSecretTokenIsLockedByItsTrimmedTextAndLabelledWithoutIt() {
    let plain = KeyFormats.lockIdentity(Self.vaultToken)
    #expect(KeyFormats.lockIdentity("  " + Self.vaultToken + "\r\n") == plain)
    #expect(!plain.label.contains(Self.vaultToken) && !plain.label.contains(String(Self.vaultToken.dropFirst(4))))
    #expect(!plain.digest.contains(Self.vaultToken))
    #expect(KeyFormats.lockIdentity(Self.vaultToken + "x") != plain)
  }

  @Test func anUnrecognisedKeyIsTrimmedAndNormalised() {
    let composed = "caf\u{E9}-secret-value"
    let decomposed = "cafe\u{301}-secret-value"
    #expect(KeyFormats.lockIdentity(" " + decomposed) == KeyFormats.lockIdentity(composed))
    #expect(!KeyFormats.lockIdentity(composed).label.contains("secret"))
  }
}
