import Foundation
import RespondActions
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
    #expect(m.formats.isReadable("ASIAIOSFODNN7EXAMPLE"))
    #expect(!m.formats.isReadable("ghp_abcdefghijklmnopqrstuvwxyz0123456789"))
  }

  /// The masker names no provider: what stays readable is the catalogue's answer. With no
  /// formats, an access key id and a region name are masked like any other registered value.
  @Test func theMaskerAsksItsCatalogueWhatStaysReadable() {
    let m = Masker(formats: NoCredentialFormats())
    m.register("AKIAIOSFODNN7EXAMPLE")
    m.register("us-east-1")
    #expect(
      m.mask("key AKIAIOSFODNN7EXAMPLE in us-east-1")
        == "key \(Masker.fingerprint("AKIAIOSFODNN7EXAMPLE")) in \(Masker.fingerprint("us-east-1"))")
    #expect(m.display("AKIAIOSFODNN7EXAMPLE") == "…" + Masker.fingerprint("AKIAIOSFODNN7EXAMPLE"))
  }

  /// A Vault secret's every value is registered; the region stored beside the keys must not
  /// blank out the region of every ARN in the report, while the secret beside it is masked.
  @Test func awsRegionNamesStayReadableAndLookalikesDoNot() {
    let m = Masker()
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    m.register(["secret_access_key": .string(secret), "region": "us-east-1"] as Value)
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/aws-MagBHQ"
    #expect(m.mask("\(arn) \(secret)") == "\(arn) \(Masker.fingerprint(secret))")
    for region in [
      "us-east-1", "eu-west-2", "ap-southeast-7", "us-gov-west-1", "cn-northwest-1", "us-isob-east-1",
      "eusc-de-east-1", "il-central-1",
    ] {
      #expect(KeyFormats.isAWSRegionName(region), "\(region)")
    }
    for lookalike in [
      "prod-east-1", "us-east-one", "us-east-1x", "us-east-123", "us-east--1", "us-east-1-", "US-EAST-1",
      "us-prod-east-1", "us-gov-west-1-2", "us-up-1", "east-1",
    ] {
      #expect(!KeyFormats.isAWSRegionName(lookalike), "\(lookalike)")
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

/// The spellings a secret takes on its way to a writer (issue 12, item 10), each shown in a
/// realistic context, and the shortening helper that masks before it cuts.
@Suite struct MaskerSpellingTests {
  static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

  /// Whether any 8-character window of `spelling` survives in `text`.
  static func survives(_ spelling: String, in text: String) -> Bool {
    let chars = Array(spelling)
    guard chars.count >= 8 else { return text.contains(spelling) }
    return (0...(chars.count - 8)).contains { text.contains(String(chars[$0..<($0 + 8)])) }
  }

  static func masker(_ secrets: String...) -> Masker {
    let m = Masker()
    for secret in secrets { m.register(secret) }
    return m
  }

  @Test func hexInBothCasesIsMasked() {
    let m = Self.masker(Self.secret)
    let hex = Data(Self.secret.utf8).map { String(format: "%02x", $0) }.joined()
    for spelling in [hex, hex.uppercased()] {
      let out = m.mask("digest=\(spelling);")
      #expect(!Self.survives(spelling, in: out), "\(out)")
      #expect(out.contains(Masker.fingerprint(Self.secret)))
    }
  }

  @Test func base64AndBase64URLWithAndWithoutPaddingAreMasked() {
    let m = Self.masker(Self.secret)
    let standard = Data(Self.secret.utf8).base64EncodedString()
    let url = standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    for spelling in [standard, url, String(standard.prefix { $0 != "=" }), String(url.prefix { $0 != "=" })] {
      let out = m.mask("v=\(spelling)&next")
      #expect(!Self.survives(spelling, in: out), "\(spelling) → \(out)")
    }
  }

  /// HTTP Basic carries base64(user:secret): the secret's encoding depends on the user's length
  /// mod 3. Each alignment, with bytes after it too (a longer blob), is masked.
  @Test func base64AtEveryAlignmentInsideALongerStreamIsMasked() {
    let m = Self.masker(Self.secret)
    for user in ["ab", "abc", "abcd", "abcde"] {
      for tail in ["", "!", "::tail"] {
        let blob = Data("\(user):\(Self.secret)\(tail)".utf8)
        for encoded in [
          blob.base64EncodedString(),
          blob.base64EncodedString().replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "+", with: "-"),
        ] {
          let out = m.mask("Authorization: Basic \(encoded)")
          let offset = (user.utf8.count + 1) % 3
          let core = Masker.alignedBase64(Array(Self.secret.utf8), offset: offset)
          let urlCore = core.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "+", with: "-")
          #expect(!Self.survives(core, in: out), "user \(user) tail \(tail): \(out)")
          #expect(!Self.survives(urlCore, in: out))
        }
      }
    }
  }

  @Test func percentFormAndJSONEscapedSpellingsAreMasked() {
    let m = Self.masker(Self.secret)
    let spellings = [
      "wJalrXUtnFEMI%2FK7MDENG%2BbPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI%2fK7MDENG%2bbPxRfiCYEXAMPLEKEY",
      #"wJalrXUtnFEMI\/K7MDENG+bPxRfiCYEXAMPLEKEY"#,
    ]
    for spelling in spellings {
      let out = m.mask("a=1&secret=\(spelling)&b=2")
      #expect(!Self.survives(spelling, in: out), "\(out)")
    }
    let spaced = Self.masker("pass phrase with spaces")
    #expect(!spaced.mask("password=pass+phrase+with+spaces&x=1").contains("phrase+with"))
  }

  /// A Vault token or UUID is hex and case-insensitive: the upper-cased echo is masked; a
  /// mixed-case (case-sensitive) secret keeps one spelling.
  @Test func singleCaseTokensAreMaskedInEitherCase() {
    let token = "root-9f86d081884c7d659a2feaa0"
    let uuid = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
    let m = Self.masker(token, uuid)
    for spelling in [token.uppercased(), uuid.uppercased()] {
      let out = m.mask("echo \(spelling) end")
      #expect(!Self.survives(spelling, in: out), "\(out)")
    }
    #expect(Masker.isSingleCase(token) && !Masker.isSingleCase(Self.secret))
  }

  /// A webhook URL is a secret, and so is each secret part of it: its path token alone, the
  /// password of `user:password@`, a `?token=` value.
  @Test func eachSecretPartOfAURLIsMaskedOnItsOwn() {
    let slack = "https://hooks.slack.com/services/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"
    let smtp = "smtp://alerts:Sup3r-s3cret-pw@mail.example.com:587"
    let query = "https://hooks.example.com/notify?channel=ops&token=tok3nv4lue99"
    let m = Self.masker(slack, smtp, query)
    let cases = [
      ("token Zx9Qw8Er7Ty6Ui5Op4As3Df2 alone", "Zx9Qw8Er7Ty6Ui5Op4As3Df2"),
      ("POST /services/T0AAAAAAA/B0BBBBBBB/Zx9Qw8Er7Ty6Ui5Op4As3Df2 failed", "Zx9Qw8Er7Ty6Ui5Op4As3Df2"),
      ("auth failed for Sup3r-s3cret-pw", "Sup3r-s3cret-pw"),
      ("AUTH PLAIN alerts:Sup3r-s3cret-pw", "Sup3r-s3cret-pw"),
      ("GET /notify?token=tok3nv4lue99", "tok3nv4lue99"),
    ]
    for (text, part) in cases {
      let out = m.mask(text)
      #expect(!out.contains(part), "\(out)")
    }
    #expect(m.mask("channel=ops") == "channel=ops")
    // A route segment before the token is not a secret: masked, it would hide the same words in
    // every other text (an input naming the same team turned into a fingerprint).
    let route = Self.masker("https://hooks.example.com/team-incident-response/abcdEFGH1234ijklMNOP5678")
    #expect(route.mask("vault path secret/team-incident-response") == "vault path secret/team-incident-response")
    #expect(!route.mask("token abcdEFGH1234ijklMNOP5678").contains("abcdEFGH1234"))
  }

  /// Two secrets overlapping in the text (one's tail is the other's head): no byte of either
  /// is left between their stand-ins.
  @Test func overlappingSecretsAreMaskedAsAWhole() {
    let m = Self.masker("alpha-123456", "123456-omega-xyz")
    let out = m.mask("[alpha-123456-omega-xyz]")
    #expect(!out.contains("alpha") && !out.contains("omega"), "\(out)")
  }

  /// `excerpt` masks the whole text before it cuts it: a secret across the cut leaves no head.
  @Test func excerptMasksBeforeItCuts() {
    let m = Self.masker(Self.secret)
    let text = String(repeating: "x", count: 90) + Self.secret + " tail"
    let out = m.excerpt(text, limit: 100)
    #expect(out.count <= 100 && out.hasSuffix("…"))
    #expect(!out.contains("wJalrXUt"), "\(out)")
    #expect(m.excerpt("short", limit: 100) == "short")
  }

  /// The report cuts step outputs to 300 characters: masked first.
  @Test func reportValuesAreMaskedBeforeTheyAreCut() {
    let m = Self.masker(Self.secret)
    let value = String(repeating: "y", count: 290) + Self.secret
    #expect(!MarkdownReport.truncate(value, 300, m).contains("wJalrXUt"))
  }

  /// A dry run shows a refused request's body cut at 4096 bytes: masked first.
  @Test func dryRunBodiesAreMaskedBeforeTheyAreCut() {
    let m = Self.masker(Self.secret)
    let body = String(repeating: "z", count: 4086) + Self.secret + "&more"
    let shown = DryRunGate.describe(
      HTTPRequest(method: "POST", url: "https://example.com/x", body: Data(body.utf8), mutates: true), masker: m)
    #expect(!shown.contains("wJalrXUt"), "\(shown.suffix(40))")
  }

  /// Issue 12, item 10: a short Vault field (`"pin":"48213"`) was journaled in a dry-run request
  /// body: too short for the masker to match safely in free text. A body whose every value is
  /// secret is shown as its shape, each value as its fingerprint.
  @Test func aSecretBodyIsShownOnlyAsItsShapeInADryRun() {
    let body =
      #"{"data":{"pin":"48213","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},"options":{"cas":3}}"#
    var request = HTTPRequest(method: "POST", url: "https://vault.example/v1/secret/data/ci", body: Data(body.utf8))
    request.bodyIsSecret = true
    let shown = DryRunGate.describe(request, masker: Masker())
    #expect(!shown.contains("48213") && !shown.contains("wJalrXUt"), "\(shown)")
    #expect(shown.contains("\"pin\":\"\(Masker.fingerprint("48213"))\""))
    #expect(shown.contains("\"cas\":3"), "the check-and-set version stays readable")
  }
}
