import Foundation
import RespondActions
import RespondCore

/// Keeps credentials typed on the command line out of error messages. Usage errors quote what
/// was typed (`unexpected argument '…'`, `unknown option --…`), and the commonest slip is a leaked
/// token given without its flag (`respond key-compromised ghp_…`) or glued to the dashes
/// (`--ghp_…`): the token then went to stderr, and from there to terminals, CI logs and chat.
/// Every error line the CLI prints passes through `scrub`, whichever parser produced it, so the
/// rule holds for messages not written yet.
enum ArgumentScrubber {
  /// How an argument that looks like a credential is shown: a known format as `identify` shows
  /// it (`ghp_…sha256:1a2b3c4d`), a mangled known prefix as prefix + `…` + fingerprint, any other
  /// long high-entropy token as `…` + fingerprint. Nil for arguments that may be shown.
  static func maskedForm(_ argument: String) -> String? {
    if let identity = KeyFormats.identify(argument) { return identity.secret ? identity.display : nil }
    let fingerprint = Masker.fingerprint(argument)
    if let prefix = KeyFormats.secretPrefix(of: argument) { return prefix + "…" + fingerprint }
    return looksLikeToken(argument) ? "…" + fingerprint : nil
  }

  /// `text` with every argument (or the value of `--name=value`, or a token glued to dashes)
  /// that looks like a credential replaced by its masked form; longest first, so a token inside
  /// a longer argument is replaced whole.
  static func scrub(_ text: String, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> String {
    var candidates: Set<String> = []
    for argument in arguments {
      var parts = [argument]
      let undashed = String(argument.drop { $0 == "-" })
      parts.append(undashed)
      if let eq = undashed.firstIndex(of: "=") {
        parts.append(String(undashed[undashed.index(after: eq)...]))
        parts.append(String(undashed[..<eq]))
      }
      for part in parts where !part.isEmpty && maskedForm(part) != nil { candidates.insert(part) }
    }
    var out = text
    for candidate in candidates.sorted(by: { $0.utf8.count > $1.utf8.count }) {
      guard let shown = maskedForm(candidate) else { continue }
      out = out.replacingOccurrences(of: candidate, with: shown)
    }
    return out
  }

  /// A long random-looking token: an AWS secret access key (40 base64 characters), 32 or more
  /// hex digits (UUIDs included), or 20 or more token characters mixing upper case, lower case
  /// and digits with near-random spread (Shannon entropy within 1 bit of the most its length
  /// allows). Names, paths and incident folders (`20261202T130000Z-key-compromised`) fall short.
  static func looksLikeToken(_ s: String) -> Bool {
    // An incident id, or a file named after one (its bundle `<id>.tar.gz`, whose suffix lifts
    // the spread over the bar), is respond's own name: the errors about it must say it.
    if s.range(of: #"^[0-9]{8}T[0-9]{6}Z-"#, options: .regularExpression) != nil { return false }
    let b = Array(s.utf8)
    guard b.count >= 20, b.count <= KeyFormats.maximumLength else { return false }
    func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    func isUpper(_ c: UInt8) -> Bool { c >= 65 && c <= 90 }
    func isLower(_ c: UInt8) -> Bool { c >= 97 && c <= 122 }
    func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) }
    let mixed = b.contains(where: isUpper) && b.contains(where: isLower) && b.contains(where: isDigit)
    let base64 = b.allSatisfy { isDigit($0) || isUpper($0) || isLower($0) || $0 == 43 || $0 == 47 }
    if b.count == 40 && base64 && mixed { return true }
    if b.filter(isHex).count >= 32 && b.allSatisfy({ isHex($0) || $0 == 45 }) { return true }
    let tokenChars: Set<UInt8> = Set("_-+=.~".utf8)
    guard mixed, b.allSatisfy({ isDigit($0) || isUpper($0) || isLower($0) || tokenChars.contains($0) }) else {
      return false
    }
    var counts: [UInt8: Int] = [:]
    for c in b { counts[c, default: 0] += 1 }
    let n = Double(b.count)
    let entropy = counts.values.reduce(0.0) { h, k in h - Double(k) / n * log2(Double(k) / n) }
    return entropy >= log2(n) - 1
  }
}
