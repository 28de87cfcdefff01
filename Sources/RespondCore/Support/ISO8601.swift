import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// UTC ISO-8601 timestamps, the only time format respond writes. Formatted and parsed by hand:
/// Foundation's date formatters cost milliseconds each to create on Linux, and a report or a
/// journal read formats hundreds of times.
package enum ISO8601 {
  /// `2026-11-23T13:09:39Z`
  package static func string(_ date: Date) -> String {
    let (t, _) = split(date)
    return "\(ymd(t, "-"))T\(hms(t, ":"))Z"
  }

  /// `2026-11-23T13:09:39.123Z`, for the journal, where ordering within a second matters.
  package static func precise(_ date: Date) -> String {
    let (t, ms) = split(date)
    return "\(ymd(t, "-"))T\(hms(t, ":")).\(pad(ms, 3))Z"
  }

  /// The incident folder stamp: `20261123T130939Z`.
  package static func compact(_ date: Date) -> String {
    let (t, _) = split(date)
    return "\(ymd(t, ""))T\(hms(t, ""))Z"
  }

  /// `2026-11-23 13:09:39.123` (Mermaid gantt times).
  package static func spaced(_ date: Date) -> String {
    let (t, ms) = split(date)
    return "\(ymd(t, "-")) \(hms(t, ":")).\(pad(ms, 3))"
  }

  /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)` (also with a space for `T`).
  package static func parse(_ text: String) -> Date? {
    let b = Array(text.utf8)
    func num(_ at: Int, _ n: Int) -> Int? {
      guard at + n <= b.count else { return nil }
      var v = 0
      for i in at..<(at + n) {
        let c = b[i]
        guard c >= 48 && c <= 57 else { return nil }
        v = v * 10 + Int(c - 48)
      }
      return v
    }
    guard b.count >= 19, let year = num(0, 4), b[4] == 45, let month = num(5, 2), b[7] == 45, let day = num(8, 2),
      b[10] == 84 || b[10] == 116 || b[10] == 32, let hour = num(11, 2), b[13] == 58, let minute = num(14, 2),
      b[16] == 58, let second = num(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24,
      minute < 60, second < 61
    else { return nil }
    var i = 19
    var fraction = 0.0
    if i < b.count && b[i] == 46 {
      i += 1
      var scale = 0.1
      let start = i
      while i < b.count, b[i] >= 48 && b[i] <= 57 {
        fraction += Double(b[i] - 48) * scale
        scale /= 10
        i += 1
      }
      if i == start { return nil }
    }
    var offset = 0
    if i < b.count && (b[i] == 90 || b[i] == 122) {
      i += 1
    } else if i < b.count && (b[i] == 43 || b[i] == 45) {
      let sign = b[i] == 43 ? 1 : -1
      guard let oh = num(i + 1, 2) else { return nil }
      var om = 0
      if let m = num(i + 3, 2) {
        om = m
        i += 5
      } else if i + 3 < b.count, b[i + 3] == 58, let m = num(i + 4, 2) {
        om = m
        i += 6
      } else {
        return nil
      }
      offset = sign * (oh * 3600 + om * 60)
    } else {
      return nil
    }
    guard i == b.count else { return nil }
    var tmv = tm()
    tmv.tm_year = Int32(year - 1900)
    tmv.tm_mon = Int32(month - 1)
    tmv.tm_mday = Int32(day)
    tmv.tm_hour = Int32(hour)
    tmv.tm_min = Int32(minute)
    tmv.tm_sec = Int32(second)
    let epoch = timegm(&tmv)
    return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
  }

  // MARK: - Pieces

  private static func split(_ date: Date) -> (tm, Int) {
    let interval = date.timeIntervalSince1970
    var seconds = interval.rounded(.down)
    var ms = Int(((interval - seconds) * 1000).rounded())
    if ms >= 1000 {
      ms -= 1000
      seconds += 1
    }
    var t = time_t(seconds)
    var out = tm()
    gmtime_r(&t, &out)
    return (out, ms)
  }

  private static func ymd(_ t: tm, _ sep: String) -> String {
    pad(Int(t.tm_year) + 1900, 4) + sep + pad(Int(t.tm_mon) + 1, 2) + sep + pad(Int(t.tm_mday), 2)
  }

  private static func hms(_ t: tm, _ sep: String) -> String {
    pad(Int(t.tm_hour), 2) + sep + pad(Int(t.tm_min), 2) + sep + pad(Int(t.tm_sec), 2)
  }

  private static func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
  }
}
