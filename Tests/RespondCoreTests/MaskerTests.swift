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
