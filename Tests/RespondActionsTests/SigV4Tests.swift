import Foundation
import RespondCore
import Testing

@testable import RespondActions

/// SigV4 against AWS's published test-suite vectors (aws-c-auth `aws-signing-test-suite/v4`):
/// every intermediate value, not only the final signature.
@Suite struct SigV4Tests {
  static let credentials = SigV4.Credentials(
    accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
  /// 2015-08-30T12:36:00Z
  static let date = Date(timeIntervalSince1970: 1_440_938_160)

  func sign(
    _ method: String, _ url: String, headers: [(String, String)] = [], body: Data = Data(),
    credentials: SigV4.Credentials = SigV4Tests.credentials
  ) throws -> SigV4.Signature {
    try SigV4.sign(
      method: method, url: url, headers: headers, body: body, credentials: credentials, region: "us-east-1",
      service: "service", date: Self.date)
  }

  @Test func getVanilla() throws {
    let sig = try sign("GET", "https://example.amazonaws.com/")
    #expect(
      sig.canonicalRequest == """
        GET
        /

        host:example.amazonaws.com
        x-amz-date:20150830T123600Z

        host;x-amz-date
        e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        """)
    #expect(sig.canonicalRequestHash == "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
    #expect(
      sig.stringToSign == """
        AWS4-HMAC-SHA256
        20150830T123600Z
        20150830/us-east-1/service/aws4_request
        bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
        """)
    #expect(sig.signingKeyHex == "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75")
    #expect(sig.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    #expect(
      sig.authorization
        == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )
    #expect(sig.headersToAdd.map(\.0) == ["Host", "X-Amz-Date", "Authorization"])
  }

  @Test func signingKeyFromParts() {
    let key = SigV4.signingKey(
      secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", day: "20150830", region: "us-east-1", service: "service")
    #expect(SigV4.hex(key) == "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75")
  }

  @Test func getVanillaQueryOrderKeyCase() throws {
    let sig = try sign("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1")
    #expect(
      sig.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2] == "Param1=value1&Param2=value2")
    #expect(sig.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
  }

  @Test func postVanilla() throws {
    let sig = try sign("POST", "https://example.amazonaws.com/")
    #expect(sig.canonicalRequest.hasPrefix("POST\n/\n\nhost:example.amazonaws.com\n"))
    #expect(sig.signature == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
  }

  /// A Host header already on the request is signed as given, not added again.
  @Test func existingHostHeaderIsUsed() throws {
    let sig = try sign("GET", "https://example.amazonaws.com/", headers: [("Host", "example.amazonaws.com")])
    #expect(sig.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    #expect(!sig.headersToAdd.contains { $0.0 == "Host" })
  }

  @Test func nonDefaultPortIsInHost() throws {
    let sig = try sign("POST", "http://127.0.0.1:5000/")
    #expect(sig.canonicalRequest.contains("\nhost:127.0.0.1:5000\n"))
    #expect(sig.headersToAdd.first { $0.0 == "Host" }?.1 == "127.0.0.1:5000")
    let https = try sign("POST", "https://example.amazonaws.com:443/")
    #expect(https.canonicalRequest.contains("\nhost:example.amazonaws.com\n"))
  }

  @Test func sessionTokenIsSentAndSigned() throws {
    var creds = Self.credentials
    creds.sessionToken = "FQoGZXIvYXdzEXAMPLETOKEN"
    let sig = try sign("POST", "https://sts.amazonaws.com/", credentials: creds)
    #expect(sig.signedHeaders == "host;x-amz-date;x-amz-security-token")
    #expect(sig.headersToAdd.contains { $0.0 == "X-Amz-Security-Token" && $0.1 == "FQoGZXIvYXdzEXAMPLETOKEN" })
  }

  @Test func jsonHeadersAreSigned() throws {
    let sig = try sign(
      "POST", "https://logs.us-east-1.amazonaws.com/",
      headers: [
        ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "Logs_20140328.FilterLogEvents"),
        ("User-Agent", "respond"),
      ],
      body: Data("{}".utf8))
    #expect(sig.signedHeaders == "content-type;host;x-amz-date;x-amz-target")
    #expect(sig.canonicalRequest.hasSuffix(SigV4.sha256Hex(Data("{}".utf8))))
  }

  @Test func headerValuesAreTrimmedAndCollapsed() {
    let (block, signed) = SigV4.canonicalHeaders([
      ("X-Amz-Meta", "  a   b  c "), ("Host", "h"), ("x-amz-meta", "d"),
    ])
    #expect(block == "host:h\nx-amz-meta:a b c,d\n")
    #expect(signed == "host;x-amz-meta")
  }

  @Test func uriEncoding() {
    #expect(SigV4.uriEncode("a b/c~d_e.f-g+h=") == "a%20b%2Fc~d_e.f-g%2Bh%3D")
    #expect(SigV4.uriEncode("a/b", encodeSlash: false) == "a/b")
    #expect(SigV4.uriEncode("é") == "%C3%A9")
  }

  @Test func canonicalQuerySortsAndReencodes() {
    #expect(SigV4.canonicalQueryString("b=2&a=%20x&a=1&c") == "a=%20x&a=1&b=2&c=")
    #expect(SigV4.canonicalQueryString("") == "")
  }

  @Test func canonicalURINormalisesAndDoubleEncodes() {
    #expect(SigV4.canonicalURI("", service: "iam") == "/")
    #expect(SigV4.canonicalURI("/", service: "iam") == "/")
    #expect(SigV4.canonicalURI("/a/./b/../c//d%20e", service: "logs") == "/a/c/d%2520e")
    #expect(SigV4.canonicalURI("/a/b/", service: "logs") == "/a/b/")
    #expect(SigV4.canonicalURI("/my%20key/x", service: "s3") == "/my%20key/x")
  }

  @Test func signedRequestKeepsItsOwnHeaders() throws {
    let request = HTTPRequest(
      method: "POST", url: "https://iam.amazonaws.com/",
      headers: [("Content-Type", "text/plain"), ("X-Amz-Date", "old")],
      body: Data("x".utf8))
    let signed = try SigV4.sign(
      request, credentials: Self.credentials, region: "us-east-1", service: "iam", date: Self.date)
    #expect(signed.headers.map(\.0) == ["Content-Type", "Host", "X-Amz-Date", "Authorization"])
    #expect(signed.header("X-Amz-Date") == "20150830T123600Z")
    #expect(signed.header("Authorization")?.contains("SignedHeaders=content-type;host;x-amz-date,") == true)
  }

  @Test func credentialsDescriptionHidesSecret() {
    var c = Self.credentials
    c.sessionToken = "tokentokentoken"
    #expect(!c.description.contains("wJalr"))
    #expect(!c.description.contains("tokentoken"))
  }
}
