import Foundation

/// UTC ISO-8601 timestamps, the only time format respond writes.
package enum ISO8601 {
  /// `2026-11-23T13:09:39Z`
  package static func string(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: date)
  }

  /// `2026-11-23T13:09:39.123Z`, for the journal, where ordering within a second matters.
  package static func precise(_ date: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: date)
  }

  /// Parses either form (and a few common variants providers send).
  package static func parse(_ text: String) -> Date? {
    let f = ISO8601DateFormatter()
    f.timeZone = TimeZone(identifier: "UTC")
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let d = f.date(from: text) { return d }
    f.formatOptions = [.withInternetDateTime]
    if let d = f.date(from: text) { return d }
    // "2026-11-23T13:09:39.123456+00:00" style with more than 3 fractional digits
    if let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { !$0.isNumber && $0 != "." }) {
      let trimmed = String(text[..<dot]) + String(text[end...])
      f.formatOptions = [.withInternetDateTime]
      return f.date(from: trimmed)
    }
    return nil
  }

  /// The incident folder stamp: `20261123T130939Z`.
  package static func compact(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    return f.string(from: date)
  }
}
