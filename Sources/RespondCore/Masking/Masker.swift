import Crypto
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Replaces every registered secret with a short recognisable stand-in, everywhere text leaves
/// the process. Secrets are registered the moment they appear (secret inputs at start-up, secret
/// outputs as an action parses them, credential variables when they are read), and every writer
/// (progress, journal, reports, notifications, error messages) calls `mask` on its way out.
///
/// Thread-safe: actions register from their own tasks while the executor writes.
package final class Masker: @unchecked Sendable {
  private let lock = NSLock()
  /// Secret text (and its encoded variants) → what is written instead. Longest first on use, so
  /// a secret that contains another is replaced whole.
  private var replacements: [String: String] = [:]
  private var ordered: [(String, String)] = []
  /// The same pairs as UTF-8 bytes: masking searches bytes with memmem, because Foundation's
  /// string search on Linux is orders of magnitude slower and every line written goes through here.
  private var orderedBytes: [([UInt8], [UInt8])] = []

  package init() {}

  /// The stand-in for a secret: `sha256:` + the first 8 hex digits of its SHA-256. Stable, so
  /// the same secret is recognisable across journal, report and notification without being shown.
  package static func fingerprint(_ secret: String) -> String {
    let digest = SHA256.hash(data: Data(secret.utf8))
    return "sha256:" + digest.prefix(4).map { String(format: "%02x", $0) }.joined()
  }

  /// The display form of a long identifier: first 4 + `…` + last 4 (`AKIA…WXYZ`).
  package static func abbreviate(_ identifier: String) -> String {
    guard identifier.count > 12 else { return identifier }
    return String(identifier.prefix(4)) + "…" + String(identifier.suffix(4))
  }

  /// Whether a value is a public identifier that may appear in full even when it arrived through
  /// a secret input: AWS access key ids name a key but do not authenticate by themselves, and the
  /// report must name them exactly (DESIGN: "identifiers (access key ids, token accessors) may
  /// appear").
  package static func isPublicIdentifier(_ value: String) -> Bool {
    let bytes = Array(value.utf8)
    guard bytes.count == 20 else { return false }
    let prefixes = ["AKIA", "ASIA", "ABIA", "ACCA"]
    let head = String(decoding: bytes[0..<4], as: UTF8.self)
    let isA3T = bytes[0] == UInt8(ascii: "A") && bytes[1] == UInt8(ascii: "3") && bytes[2] == UInt8(ascii: "T")
    guard prefixes.contains(head) || isA3T else { return false }
    return bytes[4...].allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 50 && $0 <= 55) }
  }

  /// Whether a value is an AWS region name (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`,
  /// `eusc-de-east-1`): a public name, not a credential. Every value of a Vault secret is
  /// registered, and a secret holding AWS keys very often holds the region too; masked, it would
  /// hide the region in every ARN, endpoint and audit event of the report. Only the real naming
  /// scheme passes (a known partition prefix, a compass direction, a number), so a pass phrase
  /// merely shaped like one (`prod-east-1`, `us-east-one`) is still masked.
  package static func isAWSRegionName(_ value: String) -> Bool {
    // `register` runs for every credential of every call: a 40-byte secret is turned away here,
    // before anything is split.
    guard (9...24).contains(value.utf8.count), let last = value.utf8.last, last >= 48 && last <= 57 else { return false }
    let parts = value.split(separator: "-", omittingEmptySubsequences: false)
    guard (3...4).contains(parts.count), let number = parts.last, (1...2).contains(number.count),
      number.allSatisfy({ $0 >= "0" && $0 <= "9" })
    else { return false }
    guard regionPrefixes.contains(parts[0]), regionDirections.contains(parts[parts.count - 2]) else { return false }
    return parts.count == 3 || regionQualifiers.contains(parts[1])
  }

  /// The parts of AWS region names: partition prefix, optional qualifier, compass direction.
  private static let regionPrefixes: Set<Substring> = ["us", "eu", "ap", "ca", "sa", "me", "af", "il", "mx", "cn", "eusc"]
  private static let regionQualifiers: Set<Substring> = ["gov", "iso", "isob", "isoe", "isof", "de"]
  private static let regionDirections: Set<Substring> = [
    "north", "south", "east", "west", "central", "northeast", "northwest", "southeast", "southwest",
  ]

  /// Registers a secret. Values shorter than 6 characters are ignored (masking "true" or "1"
  /// everywhere would destroy the text and protect nothing); public identifiers and AWS region
  /// names are ignored.
  /// The JSON-escaped, percent-encoded and form-encoded spellings are registered too, because a
  /// secret can reach a writer inside a URL or an escaped JSON string.
  package func register(_ secret: String) {
    guard secret.count >= 6, !Masker.isPublicIdentifier(secret), !Masker.isAWSRegionName(secret) else { return }
    // Actions register their credentials on every call: a known secret costs one lookup.
    if lock.withLock({ replacements[secret] != nil }) { return }
    let stand = Masker.fingerprint(secret)
    var variants: Set<String> = [secret]
    let json = String(Value.string(secret).json().dropFirst().dropLast())
    variants.insert(json)
    variants.insert(json.replacingASCII([UInt8(ascii: "/"): "\\/"]))  // JSONEncoder's spelling
    variants.insert(secret.replacingASCII([UInt8(ascii: "/"): "\\/"]))
    variants.insert(secret.percentEncoded(keeping: ""))
    variants.insert(secret.percentEncoded(keeping: "-._~"))
    variants.insert(secret.percentEncoded(keeping: "-._~!$&'()*+,;=:@/?"))  // URL query
    variants.insert(Data(secret.utf8).base64EncodedString())
    lock.lock()
    defer { lock.unlock() }
    var changed = false
    for v in variants where v.count >= 6 && replacements[v] == nil {
      replacements[v] = stand
      changed = true
    }
    if changed {
      ordered = replacements.sorted {
        $0.key.utf8.count != $1.key.utf8.count ? $0.key.utf8.count > $1.key.utf8.count : $0.key < $1.key
      }
      orderedBytes = ordered.map { (Array($0.0.utf8), Array($0.1.utf8)) }
    }
  }

  /// Registers every value of a JSON-shaped tree (for secret outputs that are maps or lists).
  package func register(_ value: Value) {
    switch value {
    case .string(let s): register(s)
    case .array(let a): a.forEach { register($0) }
    case .object(let o): o.values.forEach { register($0) }
    default: break
    }
  }

  /// Whether anything is registered that occurs in `text` (for tests and assertions).
  package func containsSecret(_ text: String) -> Bool {
    let list = lock.withLock { orderedBytes }
    let bytes = Array(text.utf8)
    return list.contains { Masker.find($0.0, in: bytes, from: 0) != nil }
  }

  /// The text with every registered secret replaced by its stand-in.
  package func mask(_ text: String) -> String {
    let list = lock.withLock { orderedBytes }
    guard !list.isEmpty, !text.isEmpty else { return text }
    var bytes = Array(text.utf8)
    var changed = false
    for (secret, stand) in list {
      guard var at = Masker.find(secret, in: bytes, from: 0) else { continue }
      var out: [UInt8] = []
      out.reserveCapacity(bytes.count)
      var start = 0
      while true {
        out.append(contentsOf: bytes[start..<at])
        out.append(contentsOf: stand)
        start = at + secret.count
        guard let next = Masker.find(secret, in: bytes, from: start) else { break }
        at = next
      }
      out.append(contentsOf: bytes[start...])
      bytes = out
      changed = true
    }
    return changed ? String(decoding: bytes, as: UTF8.self) : text
  }

  /// The first index of `needle` in `haystack` at or after `from`: memchr for the first byte,
  /// memcmp for the rest.
  private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
    let n = needle.count
    guard n > 0, haystack.count - from >= n else { return nil }
    return haystack.withUnsafeBytes { h -> Int? in
      needle.withUnsafeBytes { nd -> Int? in
        guard let base = h.baseAddress, let nbase = nd.baseAddress else { return nil }
        let first = Int32(needle[0])
        var i = from
        let last = h.count - n
        while i <= last {
          guard let hit = memchr(base + i, first, last - i + 1) else { return nil }
          let at = base.distance(to: UnsafeRawPointer(hit))
          if memcmp(base + at, nbase, n) == 0 { return at }
          i = at + 1
        }
        return nil
      }
    }
  }

  /// A value with every string in it masked (keys included).
  package func mask(_ value: Value) -> Value {
    switch value {
    case .string(let s): return .string(mask(s))
    case .array(let a): return .array(a.map { mask($0) })
    case .object(let o):
      var r: [String: Value] = [:]
      for (k, v) in o { r[mask(k)] = mask(v) }
      return .object(r)
    default: return value
    }
  }

  /// How many secrets (counting encoded variants) are registered.
  package var count: Int {
    lock.lock()
    defer { lock.unlock() }
    return replacements.count
  }
}
