/// A strict RFC 8259 JSON reader into `Value`, over the UTF-8 bytes. Every provider answer that
/// is JSON goes through it (Secrets Manager, Logs, Vault, webhooks...), and Foundation's
/// `JSONDecoder` into an enum is slow on Linux: it tries each case by throwing. Nesting is bounded
/// (`maxDepth`), so a hostile answer cannot exhaust the stack.
struct JSONParser {
  static let maxDepth = 512

  private let bytes: [UInt8]
  private var i = 0

  /// The value `text` holds, or nil if it is not exactly one JSON value (whitespace around it
  /// allowed).
  static func parse<Bytes: Collection<UInt8>>(_ text: Bytes) -> Value? {
    var p = JSONParser(bytes: Array(text))
    guard let v = p.value(depth: 0) else { return nil }
    p.skipSpace()
    guard p.i == p.bytes.count else { return nil }  // (a `nil` in a ternary here would be Value.null)
    return v
  }

  private init(bytes: [UInt8]) { self.bytes = bytes }

  private mutating func skipSpace() {
    while i < bytes.count, bytes[i] == 32 || bytes[i] == 10 || bytes[i] == 13 || bytes[i] == 9 { i += 1 }
  }

  private mutating func value(depth: Int) -> Value? {
    guard depth < JSONParser.maxDepth else { return nil }
    skipSpace()
    guard i < bytes.count else { return nil }
    switch bytes[i] {
    case UInt8(ascii: "{"): return object(depth: depth)
    case UInt8(ascii: "["): return array(depth: depth)
    case UInt8(ascii: "\""): return string().map(Value.string)
    case UInt8(ascii: "t"): return literal("true", .bool(true))
    case UInt8(ascii: "f"): return literal("false", .bool(false))
    case UInt8(ascii: "n"): return literal("null", .null)
    default: return number()
    }
  }

  private mutating func literal(_ word: String, _ v: Value) -> Value? {
    let w = Array(word.utf8)
    guard i + w.count <= bytes.count, bytes[i..<(i + w.count)].elementsEqual(w) else { return nil }
    i += w.count
    return v
  }

  private mutating func object(depth: Int) -> Value? {
    i += 1
    var out: [String: Value] = [:]
    skipSpace()
    if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
      i += 1
      return .object(out)
    }
    while true {
      skipSpace()
      guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let key = string() else { return nil }
      skipSpace()
      guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
      i += 1
      guard let v = value(depth: depth + 1) else { return nil }
      // A repeated name: the first one counts, as with Foundation's decoder that respond used before.
      if out[key] == nil { out[key] = v }
      skipSpace()
      guard i < bytes.count else { return nil }
      if bytes[i] == UInt8(ascii: ",") {
        i += 1
      } else if bytes[i] == UInt8(ascii: "}") {
        i += 1
        return .object(out)
      } else {
        return nil
      }
    }
  }

  private mutating func array(depth: Int) -> Value? {
    i += 1
    var out: [Value] = []
    skipSpace()
    if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
      i += 1
      return .array(out)
    }
    while true {
      guard let v = value(depth: depth + 1) else { return nil }
      out.append(v)
      skipSpace()
      guard i < bytes.count else { return nil }
      if bytes[i] == UInt8(ascii: ",") {
        i += 1
      } else if bytes[i] == UInt8(ascii: "]") {
        i += 1
        return .array(out)
      } else {
        return nil
      }
    }
  }

  /// A string starting at the opening quote; escapes decoded, control characters refused.
  private mutating func string() -> String? {
    i += 1
    let start = i
    // Fast path: no escapes.
    while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") {
      guard bytes[i] >= 0x20 else { return nil }
      i += 1
    }
    guard i < bytes.count else { return nil }
    if bytes[i] == UInt8(ascii: "\"") {
      i += 1
      return String(decoding: bytes[start..<(i - 1)], as: UTF8.self)
    }
    var out = Array(bytes[start..<i])
    while i < bytes.count {
      let b = bytes[i]
      if b == UInt8(ascii: "\"") {
        i += 1
        return String(decoding: out, as: UTF8.self)
      }
      guard b >= 0x20 else { return nil }
      if b != UInt8(ascii: "\\") {
        out.append(b)
        i += 1
        continue
      }
      i += 1
      guard i < bytes.count else { return nil }
      let e = bytes[i]
      i += 1
      switch e {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
      case UInt8(ascii: "b"): out.append(8)
      case UInt8(ascii: "f"): out.append(12)
      case UInt8(ascii: "n"): out.append(10)
      case UInt8(ascii: "r"): out.append(13)
      case UInt8(ascii: "t"): out.append(9)
      case UInt8(ascii: "u"):
        guard var code = hex4() else { return nil }
        if (0xD800...0xDBFF).contains(code) {
          // A high surrogate must be followed by an escaped low one.
          guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
            return nil
          }
          i += 2
          guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(code) {
          return nil
        }
        guard let scalar = Unicode.Scalar(code) else { return nil }
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
      default: return nil
      }
    }
    return nil
  }

  private mutating func hex4() -> UInt32? {
    guard i + 4 <= bytes.count else { return nil }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let b = bytes[i]
      let d: UInt8
      switch b {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
      default: return nil
      }
      v = v << 4 | UInt32(d)
      i += 1
    }
    return v
  }

  /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, as a finite Double.
  private mutating func number() -> Value? {
    let start = i
    func digits() -> Int {
      let s = i
      while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
      return i - s
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
    guard i < bytes.count else { return nil }
    if bytes[i] == UInt8(ascii: "0") {
      i += 1
    } else if digits() == 0 {
      return nil
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard digits() > 0 else { return nil }
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
      guard digits() > 0 else { return nil }
    }
    guard let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)), d.isFinite else { return nil }
    return .number(d)
  }
}
