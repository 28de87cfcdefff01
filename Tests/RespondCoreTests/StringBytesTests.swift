import Testing

@testable import RespondCore

/// The byte-level string helpers reports and signing rely on.
@Suite struct StringBytesTests {
  @Test func replacingASCIIReplacesEveryListedByteAndKeepsTheRest() {
    let cell: KeyValuePairs<UInt8, String> = [UInt8(ascii: "|"): "\\|", UInt8(ascii: "<"): "&lt;"]
    #expect("a|b<c".replacingASCII(cell) == "a\\|b&lt;c")
    #expect("|<|".replacingASCII(cell) == "\\|&lt;\\|")  // at both ends, back to back
    #expect("é|🔑<ü".replacingASCII(cell) == "é\\|🔑&lt;ü")  // multi-byte characters untouched
    #expect("nothing to do".replacingASCII(cell) == "nothing to do")
    #expect("".replacingASCII(cell) == "")
    #expect("a\r\nb".replacingASCII([UInt8(ascii: "\r"): " ", UInt8(ascii: "\n"): " "]) == "a  b")
  }

  @Test func percentEncodingKeepsOnlyUnreservedAndListedBytes() {
    #expect("a b/c~é".percentEncoded(keeping: "-_.~") == "a%20b%2Fc~%C3%A9")
    #expect("a b/c".percentEncoded(keeping: "/") == "a%20b/c")
  }
}
