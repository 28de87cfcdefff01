import Foundation
import Yams

// MARK: - Helpers

/// What an unquoted YAML scalar means, decided here rather than by Yams's default resolver: that
/// resolver runs a set of regular expressions over every scalar of every file (a large part of
/// loading a runbook), while respond only ever asks whether a plain scalar is a boolean or a
/// number. The YAML 1.1 spellings Yams resolves are kept: true/false/yes/no/on/off in lower, Title
/// or UPPER case; decimal integers and decimals (with an optional sign, and an exponent after a
/// dot), `_` allowed.
enum PlainScalar {
  /// Tags every scalar as a string; booleans and numbers are read by `bool` and `number`.
  static let resolver = Resolver.basic

  static func bool(_ text: String) -> Bool? {
    switch text {
    case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
    case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
    default: return nil
    }
  }

  static func number(_ text: String) -> Double? {
    var digits = 0
    var sawDot = false
    var sawExponent = false
    var previous: UInt8 = 0
    for (i, b) in text.utf8.enumerated() {
      switch b {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1
      case UInt8(ascii: "_"): guard digits > 0 else { return nil }
      case UInt8(ascii: "+"), UInt8(ascii: "-"):
        guard i == 0 || previous == UInt8(ascii: "e") || previous == UInt8(ascii: "E") else { return nil }
      case UInt8(ascii: "."):
        guard !sawDot, !sawExponent else { return nil }
        sawDot = true
      case UInt8(ascii: "e"), UInt8(ascii: "E"):
        guard digits > 0, !sawExponent else { return nil }
        sawExponent = true
      default: return nil
      }
      previous = b
    }
    // YAML 1.1 floats need a dot: `1e5` is a string there.
    guard digits > 0, sawDot || !sawExponent, previous != UInt8(ascii: "e"), previous != UInt8(ascii: "E") else {
      return nil
    }
    return Double(text.replacingASCII([UInt8(ascii: "_"): ""]))
  }
}

extension RunbookLoader {
  /// The first `&anchor` or `*alias` token outside quotes and comments, if any.
  static func firstAnchorOrAlias(in text: String) -> (line: Int, column: Int)? {
    // A scan of the UTF-8 bytes (every byte it looks for is ASCII, and ASCII bytes never occur
    // inside a multi-byte sequence): this runs on every file before parsing.
    let bytes = Array(text.utf8)
    let space = UInt8(ascii: " ")
    let hash = UInt8(ascii: "#")
    let newline = UInt8(ascii: "\n")
    let single = UInt8(ascii: "'")
    let double = UInt8(ascii: "\"")
    let amp = UInt8(ascii: "&")
    let star = UInt8(ascii: "*")
    let openers: Set<UInt8> = [space, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":")]
    let beforeMarker: Set<UInt8> = [space, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ",")]
    var lineNo = 1
    var lineStart = 0
    var i = 0
    var quote: UInt8?
    var previous = space
    var inComment = false
    while i < bytes.count {
      let c = bytes[i]
      if c == newline {
        lineNo += 1
        lineStart = i + 1
        quote = nil
        inComment = false
        previous = space
        i += 1
        continue
      }
      if inComment {
        i += 1
        continue
      }
      let atLineStart = i == lineStart
      if let q = quote {
        if c == q { quote = nil }
      } else if c == single || c == double {
        if atLineStart || openers.contains(previous) { quote = c }
      } else if c == hash && (atLineStart || previous == space) {
        inComment = true
      } else if (c == amp || c == star) && (atLineStart || beforeMarker.contains(previous)), i + 1 < bytes.count,
        RunbookLoader.startsName(bytes, at: i + 1)
      {
        let column = String(decoding: bytes[lineStart..<i], as: UTF8.self).count + 1
        return (lineNo, column)
      }
      previous = c
      i += 1
    }
    return nil
  }

  /// Whether an anchor or alias name starts at `i`: a letter, digit, '_' or '-'.
  private static func startsName(_ bytes: [UInt8], at i: Int) -> Bool {
    let b = bytes[i]
    if b < 0x80 {
      let c = Character(Unicode.Scalar(b))
      return c.isLetter || c.isNumber || c == "_" || c == "-"
    }
    var end = i + 1
    while end < bytes.count, end < i + 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
    guard let c = String(decoding: bytes[i..<end], as: UTF8.self).first else { return false }
    return c.isLetter || c.isNumber
  }
}

/// Lower-case letters, digits and '-' (and '_'), starting with a letter: ids, input and runbook names.
package func isIdentifier(_ s: String) -> Bool {
  guard let first = s.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
  return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
}

/// `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
package func parseDuration(_ text: String) -> Duration? {
  let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
  for (suffix, factor) in units where text.hasSuffix(suffix) {
    guard let n = Double(text.dropLast(suffix.count)), n.isFinite, n >= 0 else { return nil }
    return .milliseconds(Int64(n * factor * 1000))
  }
  guard let n = Double(text), n.isFinite, n >= 0 else { return nil }
  return .milliseconds(Int64(n * 1000))
}

extension InputSpec {
  /// Whether the whole value matches the pattern.
  package static func matches(_ value: String, pattern: String) -> Bool {
    guard let re = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return false }
    return re.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
  }
}

extension EnvSpec {
  /// Names that by convention hold credentials are secret unless declared otherwise.
  package static func looksSecret(_ name: String) -> Bool {
    let n = name.uppercased()
    return ["TOKEN", "SECRET", "PASSWORD", "KEY", "WEBHOOK", "CREDENTIAL"].contains { n.contains($0) }
  }
}
