import Testing

@testable import RespondCore

/// The shape of an AWS secret access key, found in text a provider hands back, and what must
/// not be taken for one.
@Suite struct SecretShapesTests {
  static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

  @Test func aSecretKeyInAUserAgentOrAParameterIsFound() {
    #expect(SecretShapes.awsSecretAccessKeys(in: "Boto3/1.34.0 k=" + Self.secret) == [Self.secret])
    let record: Value = [
      "userAgent": "aws-cli/2.15.0", "requestParameters": ["userName": .string("x " + Self.secret + " y")],
    ]
    #expect(SecretShapes.awsSecretAccessKeys(in: record) == [Self.secret])
  }

  @Test func digestsIdsAndOtherLengthsAreNot() {
    let commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"  // 40 lower-case hex
    let digest = String(repeating: "ab12", count: 16)
    let short = String(Self.secret.dropLast())
    let long = Self.secret + "Q"
    for text in [
      commit, digest, short, long, "AKIAIOSFODNN7EXAMPLE", "arn:aws:iam::123456789012:user/someone",
      String(repeating: "A1", count: 20),  // no lower-case letter
    ] {
      #expect(SecretShapes.awsSecretAccessKeys(in: text).isEmpty, "\(text)")
    }
  }
}
