import Foundation

/// Encodes any `Encodable` into a `Value` tree (dates as ISO-8601 with milliseconds), which
/// `Value.json` then writes. Foundation's JSONEncoder is slow on Linux, and respond encodes a
/// journal line per event and a report per run: this pair keeps that off the response's clock.
package struct ValueEncoder {
  package init() {}

  package func encode<T: Encodable>(_ value: T) throws -> Value {
    let root = Box()
    try ValueEncoderImpl(box: root, codingPath: []).encodeAny(value)
    return root.value
  }
}

/// A mutable slot in the tree being built.
private final class Box {
  var value: Value = .null
  var object: [String: Box]?
  var array: [Box]?

  /// The finished value: containers are assembled from their children.
  var built: Value {
    if let object { return .object(object.mapValues(\.built)) }
    if let array { return .array(array.map(\.built)) }
    return value
  }
}

private struct ValueEncoderImpl: Encoder {
  let box: Box
  /// Not extended per key: nothing respond encodes reads it, and building it cost an array
  /// allocation per field.
  var codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  /// Known leaf types are recognised by comparing metatypes (a pointer compare), not by `as?`
  /// casts: a failed dynamic cast walks the runtime's conformance tables, and this runs for
  /// every field of every journal record.
  func encodeAny<T: Encodable>(_ v: T) throws {
    if T.self == String.self {
      box.value = .string(unsafeBitCast(v, to: String.self))
    } else if T.self == Value.self {
      box.value = v as! Value
    } else if T.self == Date.self {
      box.value = .string(ISO8601.precise(unsafeBitCast(v, to: Date.self)))
    } else if T.self == Bool.self {
      box.value = .bool(unsafeBitCast(v, to: Bool.self))
    } else if T.self == Int.self {
      box.value = .number(Double(unsafeBitCast(v, to: Int.self)))
    } else if T.self == Double.self {
      box.value = .number(unsafeBitCast(v, to: Double.self))
    } else {
      try v.encode(to: self)
      box.value = box.built
    }
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if box.object == nil { box.object = [:] }
    return KeyedEncodingContainer(Keyed<Key>(box: box, codingPath: codingPath))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    if box.array == nil { box.array = [] }
    return Unkeyed(box: box, codingPath: codingPath)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer { Single(box: box, codingPath: codingPath) }

  struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    var codingPath: [any CodingKey]

    func child(_ key: Key) -> Box {
      let b = Box()
      box.object?[key.stringValue] = b
      return b
    }

    mutating func encodeNil(forKey key: Key) throws { child(key).value = .null }
    // The leaf types synthesized Codable calls most, without the generic path.
    mutating func encode(_ value: String, forKey key: Key) throws { child(key).value = .string(value) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).value = .bool(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { child(key).value = .number(Double(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { child(key).value = .number(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
      let b = child(key)
      try ValueEncoderImpl(box: b, codingPath: codingPath).encodeAny(value)
      b.value = b.object != nil || b.array != nil ? b.built : b.value
      b.object = nil
      b.array = nil
    }
    // Optionals that are nil are left out, as JSONEncoder does.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
      if let value { try encode(value, forKey: key) }
    }
    mutating func nestedContainer<N: CodingKey>(keyedBy: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
      let b = child(key)
      b.object = [:]
      return KeyedEncodingContainer(Keyed<N>(box: b, codingPath: codingPath))
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
      let b = child(key)
      b.array = []
      return Unkeyed(box: b, codingPath: codingPath)
    }
    mutating func superEncoder() -> any Encoder { ValueEncoderImpl(box: box, codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
      ValueEncoderImpl(box: child(key), codingPath: codingPath)
    }
  }

  struct Unkeyed: UnkeyedEncodingContainer {
    let box: Box
    var codingPath: [any CodingKey]
    var count: Int { box.array?.count ?? 0 }

    func next() -> Box {
      let b = Box()
      box.array?.append(b)
      return b
    }

    mutating func encodeNil() throws { next().value = .null }
    mutating func encode(_ value: String) throws { next().value = .string(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
      let b = next()
      try ValueEncoderImpl(box: b, codingPath: codingPath).encodeAny(value)
      b.value = b.object != nil || b.array != nil ? b.built : b.value
      b.object = nil
      b.array = nil
    }
    mutating func nestedContainer<N: CodingKey>(keyedBy: N.Type) -> KeyedEncodingContainer<N> {
      let b = next()
      b.object = [:]
      return KeyedEncodingContainer(Keyed<N>(box: b, codingPath: codingPath))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
      let b = next()
      b.array = []
      return Unkeyed(box: b, codingPath: codingPath)
    }
    mutating func superEncoder() -> any Encoder { ValueEncoderImpl(box: next(), codingPath: codingPath) }
  }

  struct Single: SingleValueEncodingContainer {
    let box: Box
    var codingPath: [any CodingKey]
    mutating func encodeNil() throws { box.value = .null }
    mutating func encode(_ value: Bool) throws { box.value = .bool(value) }
    mutating func encode(_ value: String) throws { box.value = .string(value) }
    mutating func encode(_ value: Double) throws { box.value = .number(value) }
    mutating func encode(_ value: Float) throws { box.value = .number(Double(value)) }
    mutating func encode(_ value: Int) throws { box.value = .number(Double(value)) }
    mutating func encode(_ value: Int64) throws { box.value = .number(Double(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
      try ValueEncoderImpl(box: box, codingPath: codingPath).encodeAny(value)
    }
  }
}

extension Value {
  /// JSON text with sorted keys and unescaped slashes, written directly as UTF-8 bytes (no
  /// Foundation encoder). `pretty` indents by two spaces.
  package func json(pretty: Bool = false) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(512)
    write(to: &out, pretty: pretty, indent: 0)
    return String(decoding: out, as: UTF8.self)
  }

  private func write(to out: inout [UInt8], pretty: Bool, indent: Int) {
    func newline(_ level: Int) {
      out.append(10)
      out.append(contentsOf: repeatElement(32, count: level * 2))
    }
    switch self {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .number(let n):
      let text = n.rounded() == n && abs(n) < 9.0e15 ? String(Int64(n)) : (n.isFinite ? String(n) : "null")
      out.append(contentsOf: text.utf8)
    case .string(let s): Value.writeString(s, to: &out)
    case .array(let a):
      if a.isEmpty {
        out.append(contentsOf: "[]".utf8)
        return
      }
      out.append(91)
      for (i, v) in a.enumerated() {
        if i > 0 { out.append(44) }
        if pretty { newline(indent + 1) }
        v.write(to: &out, pretty: pretty, indent: indent + 1)
      }
      if pretty { newline(indent) }
      out.append(93)
    case .object(let o):
      if o.isEmpty {
        out.append(contentsOf: "{}".utf8)
        return
      }
      out.append(123)
      for (i, (k, v)) in o.sorted(by: { $0.key < $1.key }).enumerated() {
        if i > 0 { out.append(44) }
        if pretty { newline(indent + 1) }
        Value.writeString(k, to: &out)
        out.append(contentsOf: (pretty ? " : " : ":").utf8)
        v.write(to: &out, pretty: pretty, indent: indent + 1)
      }
      if pretty { newline(indent) }
      out.append(125)
    }
  }

  private static let hexDigits = Array("0123456789abcdef".utf8)

  private static func writeString(_ s: String, to out: inout [UInt8]) {
    out.append(34)
    var s = s
    s.withUTF8 { bytes in
      // Runs of bytes that need no escaping (nearly all of them) are copied in one go.
      var runStart = 0
      for (i, byte) in bytes.enumerated() where byte == 34 || byte == 92 || byte < 32 {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
        runStart = i + 1
        out.append(92)
        switch byte {
        case 34, 92: out.append(byte)
        case 10: out.append(110)
        case 13: out.append(114)
        case 9: out.append(116)
        default:
          out.append(117)
          out.append(48)
          out.append(48)
          out.append(hexDigits[Int(byte >> 4)])
          out.append(hexDigits[Int(byte & 15)])
        }
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
    }
    out.append(34)
  }
}
