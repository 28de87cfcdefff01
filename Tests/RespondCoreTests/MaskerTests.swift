import Foundation
import Testing

@testable import RespondCore

@Suite struct MaskerTests {
  @Test func secretsAreReplacedByTheirFingerprint() {
    let m = Masker()
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    m.register(secret)
    let out = m.mask("key=\(secret) end")
    #expect(!out.contains(secret))
    #expect(out == "key=\(Masker.fingerprint(secret)) end")
    #expect(Masker.fingerprint(secret).hasPrefix("sha256:"))
    #expect(Masker.fingerprint(secret).count == "sha256:".count + 8)
  }

  @Test func encodedSpellingsAreMaskedToo() {
    let m = Masker()
    let secret = "ab/cd+ef=gh ij"
    m.register(secret)
    let json = String(decoding: try! JSONEncoder().encode([secret]), as: UTF8.self)
    #expect(!m.mask(json).contains("ab\\/cd"))
    #expect(!m.mask("q=ab%2Fcd%2Bef%3Dgh%20ij").contains("ab%2Fcd%2Bef"))
    #expect(!m.mask(Data(secret.utf8).base64EncodedString()).contains(Data(secret.utf8).base64EncodedString()))
  }

  @Test func awsAccessKeyIdsStayReadable() {
    let m = Masker()
    m.register("AKIAIOSFODNN7EXAMPLE")
    #expect(m.mask("key AKIAIOSFODNN7EXAMPLE") == "key AKIAIOSFODNN7EXAMPLE")
    #expect(Masker.isPublicIdentifier("ASIAIOSFODNN7EXAMPLE"))
    #expect(!Masker.isPublicIdentifier("ghp_abcdefghijklmnopqrstuvwxyz0123456789"))
    #expect(Masker.abbreviate("AKIAIOSFODNN7EXAMPLE") == "AKIA…MPLE")
  }

  /// A Vault secret's every value is registered; the region stored beside the keys must not
  /// blank out the region of every ARN in the report, while the secret beside it is masked.
  @Test func awsRegionNamesStayReadableAndLookalikesDoNot() {
    let m = Masker()
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    m.register(["secret_access_key": .string(secret), "region": "us-east-1"] as Value)
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/aws-MagBHQ"
    #expect(m.mask("\(arn) \(secret)") == "\(arn) \(Masker.fingerprint(secret))")
    for region in ["us-east-1", "eu-west-2", "ap-southeast-7", "us-gov-west-1", "cn-northwest-1", "us-isob-east-1",
                   "eusc-de-east-1", "il-central-1"] {
      #expect(Masker.isAWSRegionName(region), "\(region)")
    }
    for lookalike in ["prod-east-1", "us-east-one", "us-east-1x", "us-east-123", "us-east--1", "us-east-1-", "US-EAST-1",
                      "us-prod-east-1", "us-gov-west-1-2", "us-up-1", "east-1"] {
      #expect(!Masker.isAWSRegionName(lookalike), "\(lookalike)")
      let masker = Masker()
      masker.register(lookalike)
      #expect(!masker.mask("x \(lookalike) y").contains(lookalike), "\(lookalike) is still masked")
    }
  }

  @Test func longestSecretWinsAndShortValuesAreIgnored() {
    let m = Masker()
    m.register("abcdefgh")
    m.register("abcdefgh-longer-secret")
    m.register("true")
    let out = m.mask("x abcdefgh-longer-secret y true")
    #expect(out == "x \(Masker.fingerprint("abcdefgh-longer-secret")) y true")
  }

  @Test func valuesAreMaskedRecursively() {
    let m = Masker()
    m.register("s3cr3t-value")
    let v: Value = ["a": ["b": "s3cr3t-value"], "list": ["ok", "s3cr3t-value"]]
    #expect(!m.mask(v).jsonString().contains("s3cr3t-value"))
  }

  @Test func everyOccurrenceIsReplacedWhereverItStands() {
    let m = Masker()
    let secret = "tök3n-ünïcode-secret"
    m.register(secret)
    let f = Masker.fingerprint(secret)
    #expect(m.mask(secret) == f)
    #expect(m.mask("\(secret)\(secret)") == f + f)
    #expect(m.mask("é \(secret)") == "é \(f)")
    #expect(m.mask("x" + secret.dropLast()) == "x" + secret.dropLast())
    #expect(m.containsSecret("…\(secret)…"))
    #expect(!m.containsSecret(String(secret.dropFirst())))
  }
}
