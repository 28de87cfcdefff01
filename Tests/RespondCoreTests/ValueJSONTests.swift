import Foundation
import Testing

@testable import RespondCore

/// The direct JSON writer must produce what any JSON reader parses back to the same value.
@Suite struct ValueJSONTests {
  @Test func roundTripsThroughFoundationsDecoder() throws {
    let tricky = "quote \" backslash \\ slash / nl \n tab \t cr \r nul \u{0} bell \u{7} é 🔑 \u{1F}"
    let v: Value = ["s": .string(tricky), "n": 3, "f": .number(2.5), "b": true, "z": nil,
                    "list": [1, "two", ["k": "v"]], "empty": [:], "none": []]
    for pretty in [false, true] {
      let text = v.json(pretty: pretty)
      let back = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
      #expect(back == v)
    }
    #expect(Value.object(["b": 1, "a": 2]).json() == #"{"a":2,"b":1}"#)
  }

  @Test func encodesCodableTypesWithDatesAsMilliseconds() throws {
    var r = JournalRecord(seq: 7, at: Date(timeIntervalSince1970: 1_795_000_000.25), type: .note)
    r.note = "hello"
    let v = try ValueEncoder().encode(r)
    #expect(v["at"] == "2026-11-18T11:06:40.250Z")
    #expect(v["seq"] == 7)
    #expect(v["step"] == nil)  // nil optionals are left out
    let decoded = try JournalRecord.decoder().decode(JournalRecord.self, from: Data(v.json().utf8))
    #expect(decoded == r)
  }
}
