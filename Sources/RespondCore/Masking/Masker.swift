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
  /// Spelling of a secret → its stand-in.
  private var replacements: [String: String] = [:]
  /// The secrets registered (not their spellings): a second registration costs one lookup.
  private var registered: Set<String> = []
  /// The spellings as a search index, rebuilt when one is added; `mask` takes it under the lock
  /// and searches without holding it.
  private var index = Index()
  /// Values registered that the formats say may stay readable: asked of `formats` once each.
  private var readable: Set<String> = []
  /// The credential formats, asked which values are public (the masker names no provider).
  package let formats: any CredentialCatalogue

  /// A masker that leaves readable what `formats` declares public. RespondActions' `Masker()`
  /// hands in the Swift formats; the command line hands in the provider folders' too.
  package init(formats: any CredentialCatalogue) { self.formats = formats }

  /// The stand-in for a secret: `sha256:` + the first 8 hex digits of its SHA-256. Stable, so
  /// the same secret is recognisable across journal, report and notification without being shown.
  package static func fingerprint(_ secret: String) -> String {
    let digest = SHA256.hash(data: Data(secret.utf8))
    return "sha256:" + hexString(digest.prefix(4))
  }

  /// How `value` may be shown, as the credential format that recognises it declares.
  package func display(_ value: String) -> String { formats.shown(value).display }

  /// Registers a secret: every spelling of it (`spellings(of:)`) is replaced by the secret's
  /// fingerprint from now on. Values shorter than 6 characters are ignored (masking "true" or "1"
  /// everywhere would destroy the text and protect nothing); values the formats declare readable
  /// (a public key id, a region name: `CredentialCatalogue.isReadable`) are ignored. A secret that is a URL also has each of its secret parts registered on
  /// their own (`urlParts(of:)`): a text that quotes only a webhook's path token, only the
  /// password of `user:password@`, or only a `?token=` value is masked too.
  package func register(_ secret: String) {
    register(secret, depth: 0)
  }

  private func register(_ secret: String, depth: Int) {
    guard secret.count >= 6 else { return }
    // Actions register their credentials on every call: a known value costs one lookup.
    if lock.withLock({ registered.contains(secret) || readable.contains(secret) }) { return }
    if formats.isReadable(secret) {
      lock.withLock { _ = readable.insert(secret) }
      return
    }
    let stand = Masker.fingerprint(secret)
    let variants = Masker.spellings(of: secret)
    let standBytes = Array(stand.utf8)
    lock.withLock {
      registered.insert(secret)
      for v in variants where v.utf8.count >= Masker.minimumSpelling && replacements[v] == nil {
        replacements[v] = stand
        index.insert(Array(v.utf8), standBytes)
      }
    }
    guard depth == 0 else { return }
    for part in Masker.urlParts(of: secret) { register(part, depth: 1) }
  }

  /// The shortest spelling worth replacing: shorter fragments would match ordinary text by chance.
  static let minimumSpelling = 6

  /// Every way a secret is written where it could reach a writer:
  /// - raw, JSON-escaped (with and without `\/`), percent-encoded (nothing kept, RFC 3986's
  ///   unreserved kept, a URL query's set kept; hex digits in either case; `+` for spaces in forms);
  /// - hex of its UTF-8 bytes, lower and upper case;
  /// - base64 and base64url, with and without padding, and the three alignments: inside a longer
  ///   base64 stream (HTTP Basic `base64(user:secret)`, a JSON blob encoded whole) the secret
  ///   starts at byte offset 0, 1 or 2 mod 3 and its encoding depends on that offset; the
  ///   characters that depend on the secret's bytes alone are registered for each offset;
  /// - for a secret whose letters are all of one case (hex tokens, UUIDs, `root-…`), its lower-
  ///   and upper-case forms, because providers treat those as case-insensitive and may echo
  ///   them in either case.
  package static func spellings(of secret: String) -> Set<String> {
    var variants: Set<String> = []
    var cased: [String] = [secret]
    if isSingleCase(secret) { cased += [secret.lowercased(), secret.uppercased()] }
    for text in cased {
      variants.insert(text)
      let json = String(Value.string(text).json().dropFirst().dropLast())
      variants.insert(json)
      variants.insert(json.replacingASCII([UInt8(ascii: "/"): "\\/"]))  // JSONEncoder's spelling
      variants.insert(text.replacingASCII([UInt8(ascii: "/"): "\\/"]))
      for keep in ["", "-._~", "-._~!$&'()*+,;=:@/?"] {  // everything, RFC 3986 unreserved, URL query
        let encoded = text.percentEncoded(keeping: keep)
        variants.insert(encoded)
        variants.insert(lowerCasePercentHex(encoded))
      }
      variants.insert(text.percentEncoded(keeping: "-._~ ").replacingASCII([UInt8(ascii: " "): "+"]))  // forms
    }
    let bytes = Array(secret.utf8)
    variants.insert(hex(bytes, upper: false))
    variants.insert(hex(bytes, upper: true))
    let standard = Data(bytes).base64EncodedString()
    for encoded in [standard, base64URL(standard)] {
      variants.insert(encoded)
      variants.insert(String(encoded.prefix { $0 != "=" }))
    }
    for offset in 0..<3 {
      let core = alignedBase64(bytes, offset: offset)
      variants.insert(core)
      variants.insert(base64URL(core))
    }
    return variants
  }

  /// The characters of base64(`offset` other bytes + `bytes` + more bytes) that depend on
  /// `bytes` alone: character j covers bits 6j..<6j+6, the secret bits 8·offset..<8·(offset+n).
  static func alignedBase64(_ bytes: [UInt8], offset: Int) -> String {
    let encoded = Array(Data(Array(repeating: 0, count: offset) + bytes).base64EncodedString().utf8)
    let first = (8 * offset + 5) / 6
    let end = (8 * (offset + bytes.count)) / 6
    guard end > first else { return "" }
    return String(decoding: encoded[first..<end], as: UTF8.self)
  }

  private static func base64URL(_ standard: String) -> String {
    standard.replacingASCII([UInt8(ascii: "+"): "-", UInt8(ascii: "/"): "_"])
  }

  private static func hex(_ bytes: [UInt8], upper: Bool) -> String {
    let digits = Array((upper ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
    return String(decoding: out, as: UTF8.self)
  }

  /// `%2F` → `%2f`: some encoders write a percent escape's hex digits in lower case.
  private static func lowerCasePercentHex(_ encoded: String) -> String {
    var out = Array(encoded.utf8)
    var i = 0
    while i < out.count {
      if out[i] == UInt8(ascii: "%"), i + 2 < out.count {
        for j in (i + 1)...(i + 2) where out[j] >= 65 && out[j] <= 70 { out[j] += 32 }
        i += 3
      } else {
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Whether the value's letters are all of one case (and it has some): hex tokens, UUIDs and
  /// the like, which a provider may echo in the other case. A mixed-case secret (base62, base64)
  /// is case-sensitive and has one spelling.
  static func isSingleCase(_ value: String) -> Bool {
    var lower = false
    var upper = false
    for b in value.utf8 {
      if b >= 97 && b <= 122 { lower = true } else if b >= 65 && b <= 90 { upper = true }
    }
    return lower != upper
  }

  /// The secret parts of a URL held as a secret (a webhook URL, `SMTP_URL`, a URL with a token in
  /// its query): the password of its user-info and `user:password`; its path, and its last path
  /// segment when that is long enough to be a token (16+ characters: Slack's, Discord's and
  /// most webhooks' tokens end the path and are 24+; earlier segments name a team, a channel or
  /// a route, which masked would hide the same words in every other text); every query value
  /// whose name says credential, or that is 16+ characters long. Each is registered as a secret
  /// of its own, so a text that quotes only that part is masked.
  package static func urlParts(of secret: String) -> [String] {
    guard secret.contains("://"), let url = URLComponents(string: secret) else { return [] }
    var parts: [String] = []
    if let password = url.percentEncodedPassword, !password.isEmpty {
      parts.append(password)
      parts.append(password.removingPercentEncoding ?? password)
      if let user = url.percentEncodedUser { parts.append(user + ":" + password) }
    }
    let path = url.percentEncodedPath
    if path.count >= 16 {
      parts.append(path)
      if let last = path.split(separator: "/").last, last.count >= 16 { parts.append(String(last)) }
    }
    for item in url.percentEncodedQueryItems ?? [] {
      guard let value = item.value, !value.isEmpty else { continue }
      let name = item.name.lowercased()
      let credential = ["token", "key", "secret", "sig", "pass", "pwd", "auth", "code", "credential"]
        .contains { name.contains($0) }
      if credential || value.count >= 16 {
        parts.append(value)
        parts.append(value.removingPercentEncoding ?? value)
      }
    }
    return parts
  }

  /// Registers every value of a JSON-shaped tree (for secret outputs that are maps or lists).
  package func register(_ value: Value) {
    switch value {
    case .string(let s): register(s)
    case .array(let a): for item in a { register(item) }
    case .object(let o): for item in o.values { register(item) }
    default: break
    }
  }

  /// Whether any spelling of anything registered occurs in `text` (for tests and assertions).
  package func containsSecret(_ text: String) -> Bool {
    let index = lock.withLock { self.index }
    var text = text
    return text.withUTF8 { index.firstMatch(in: $0, from: 0) != nil }
  }

  /// The text with every registered spelling of every secret replaced by its stand-in. Where
  /// two matches overlap (one secret's tail is another's head), their union is replaced: no
  /// byte of either is left.
  package func mask(_ text: String) -> String {
    let index = lock.withLock { self.index }
    guard !index.isEmpty, text.utf8.count >= Masker.minimumSpelling else { return text }
    var text = text
    let masked = text.withUTF8 { bytes -> String? in
      guard var match = index.firstMatch(in: bytes, from: 0) else { return nil }
      var out: [UInt8] = []
      out.reserveCapacity(bytes.count)
      var copied = 0
      while true {
        if match.start >= copied {
          out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<match.start]))
        }
        out.append(contentsOf: match.stand)
        copied = max(copied, match.end)
        // The next match may start inside this one and reach further: it extends the replaced run.
        guard let next = index.firstMatch(in: bytes, from: match.start + 1, reachingPast: copied) else { break }
        match = next
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied...]))
      return String(decoding: out, as: UTF8.self)
    }
    return masked ?? text
  }

  /// The text masked whole, then cut to at most `limit` characters, the last of them an
  /// ellipsis where it was cut. The one way to shorten text that may hold a secret: cut first,
  /// the half of a secret left at the edge no longer matches any spelling and is written in clear.
  package func excerpt(_ text: String, limit: Int) -> String {
    let masked = mask(text)
    guard masked.count > limit else { return masked }
    return String(masked.prefix(max(0, limit - 1))) + "…"
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

// MARK: - Search

extension Masker {
  /// All spellings of all secrets, searched in one pass over the text: a bitmap of the byte pairs
  /// that begin a spelling turns away almost every position with one load, and only a position
  /// whose pair begins some spelling compares the spellings of that pair, longest first. Every
  /// journaled string goes through here, with a few hundred spellings registered (about 30 per
  /// secret): one memchr pass per spelling would cost a pass over the text for each.
  fileprivate struct Index: Sendable {
    /// First byte pair → (spelling, stand-in), longest spelling first. Grown in place as secrets
    /// are registered (the masker's copy; a reader's snapshot is not disturbed), never re-sorted
    /// whole: registering a secret costs its own spellings, not all of them again.
    private var buckets: [UInt16: [(needle: [UInt8], stand: [UInt8])]] = [:]
    /// 65,536 bits: bit (a << 8 | b) is set when some spelling starts with bytes a, b.
    private var pairs = [UInt64](repeating: 0, count: 1024)

    var isEmpty: Bool { buckets.isEmpty }

    mutating func insert(_ needle: [UInt8], _ stand: [UInt8]) {
      guard needle.count >= 2 else { return }
      let pair = UInt16(needle[0]) << 8 | UInt16(needle[1])
      pairs[Int(pair >> 6)] |= 1 << UInt64(pair & 63)
      var list = buckets.removeValue(forKey: pair) ?? []
      let at = list.firstIndex { $0.needle.count < needle.count } ?? list.count
      list.insert((needle, stand), at: at)
      buckets[pair] = list
    }

    /// The leftmost match at or after `from` (the longest there) that ends past `reachingPast`.
    func firstMatch(in bytes: UnsafeBufferPointer<UInt8>, from: Int, reachingPast: Int = 0)
      -> (start: Int, end: Int, stand: [UInt8])?
    {
      guard !buckets.isEmpty, bytes.count >= 2, let base = bytes.baseAddress else { return nil }
      return pairs.withUnsafeBufferPointer { bits -> (start: Int, end: Int, stand: [UInt8])? in
        var i = from
        let last = bytes.count - 2
        while i <= last {
          let pair = UInt16(base[i]) << 8 | UInt16(base[i + 1])
          if bits[Int(pair >> 6)] & (1 << UInt64(pair & 63)) != 0, let list = buckets[pair] {
            for (needle, stand) in list {
              let end = i + needle.count
              guard end <= bytes.count, end > reachingPast else { continue }
              let equal = needle.withUnsafeBytes { memcmp(base + i, $0.baseAddress!, needle.count) == 0 }
              if equal { return (i, end, stand) }
            }
          }
          i += 1
        }
        return nil
      }
    }
  }
}
