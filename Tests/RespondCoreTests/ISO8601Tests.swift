import Foundation
import Testing

@testable import RespondCore

@Suite struct ISO8601Tests {
  @Test func formatsUTC() {
    let d = Date(timeIntervalSince1970: 1_795_000_000.0456)
    #expect(ISO8601.string(d) == "2026-11-18T11:06:40Z")
    #expect(ISO8601.precise(d) == "2026-11-18T11:06:40.046Z")
    #expect(ISO8601.compact(d) == "20261118T110640Z")
    #expect(ISO8601.spaced(d) == "2026-11-18 11:06:40.046")
    #expect(ISO8601.precise(Date(timeIntervalSince1970: 59.9996)) == "1970-01-01T00:01:00.000Z")
  }

  @Test func parsesTheFormsProvidersSend() {
    let base = Date(timeIntervalSince1970: 1_795_000_000)
    #expect(ISO8601.parse("2026-11-18T11:06:40Z") == base)
    #expect(ISO8601.parse("2026-11-18T11:06:40.250Z") == base.addingTimeInterval(0.25))
    #expect(ISO8601.parse("2026-11-18T12:06:40+01:00") == base)
    #expect(ISO8601.parse("2026-11-18T06:06:40-0500") == base)
    #expect(ISO8601.parse("2026-11-18T11:06:40.123456789Z")!.timeIntervalSince(base) > 0.1234)
    for bad in [
      "", "2026-11-18", "2026-13-18T11:06:40Z", "2026-11-18T11:06:40", "2026-11-18T11:06:40Zjunk",
      "x026-11-18T11:06:40Z",
    ] {
      #expect(ISO8601.parse(bad) == nil, "\(bad)")
    }
  }

  @Test func roundTrips() {
    for s in stride(from: 0.0, to: 4_000_000_000, by: 123_456_789.125) {
      let d = Date(timeIntervalSince1970: s)
      #expect(ISO8601.parse(ISO8601.precise(d)) == d)
    }
  }
}
