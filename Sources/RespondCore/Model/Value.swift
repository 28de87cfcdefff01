import Foundation

/// A JSON-shaped value: what expressions evaluate to, what `with:` parameters resolve to, and
/// what actions output. One type everywhere keeps the journal, expressions and reports in step.
package enum Value: Sendable, Equatable, Hashable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([Value])
  case object([String: Value])

  /// The value as a string, if it is one (numbers and booleans are rendered, as in GitHub Actions).
  package var stringValue: String? {
    switch self {
    case .string(let s): return s
    case .number, .bool: return description
    default: return nil
    }
  }

  package var boolValue: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  package var numberValue: Double? {
    switch self {
    case .number(let n): return n
    case .string(let s): return Double(s)
    default: return nil
    }
  }

  package var intValue: Int? {
    guard let n = numberValue, n.rounded() == n, abs(n) < 9.0e15 else { return nil }
    return Int(n)
  }

  package var arrayValue: [Value]? {
    if case .array(let a) = self { return a }
    return nil
  }

  package var objectValue: [String: Value]? {
    if case .object(let o) = self { return o }
    return nil
  }

  package var isNull: Bool { self == .null }

  /// Truthiness as GitHub Actions defines it: null, false, 0, "" are false; everything else true.
  package var isTruthy: Bool {
    switch self {
    case .null: return false
    case .bool(let b): return b
    case .number(let n): return n != 0 && !n.isNaN
    case .string(let s): return !s.isEmpty
    case .array, .object: return true
    }
  }

  /// Looks up a member of an object (`nil` for anything else or a missing key).
  package subscript(key: String) -> Value? {
    if case .object(let o) = self { return o[key] }
    return nil
  }

  /// The name of the value's type, for error messages.
  package var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .number: return "number"
    case .string: return "string"
    case .array: return "list"
    case .object: return "map"
    }
  }
}

extension Value: CustomStringConvertible {
  /// Strings print bare; everything else prints as compact JSON with sorted keys.
  package var description: String {
    switch self {
    case .null: return ""
    case .bool(let b): return b ? "true" : "false"
    case .number(let n):
      if n.rounded() == n, abs(n) < 1e15 { return String(Int64(n)) }
      return String(n)
    case .string(let s): return s
    case .array, .object: return jsonString()
    }
  }
}

// MARK: - JSON

extension Value: Codable {
  package init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let n = try? c.decode(Double.self) {
      self = .number(n)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else if let a = try? c.decode([Value].self) {
      self = .array(a)
    } else {
      self = .object(try c.decode([String: Value].self))
    }
  }

  package func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .number(let n):
      if n.rounded() == n, abs(n) < 9.0e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
    case .string(let s): try c.encode(s)
    case .array(let a): try c.encode(a)
    case .object(let o): try c.encode(o)
    }
  }

  /// Compact JSON with sorted keys and unescaped slashes: stable for journals and golden files.
  package func jsonString(pretty: Bool = false) -> String { json(pretty: pretty) }

  /// Parses JSON text into a value (`nil` when it is not JSON).
  package static func parseJSON(_ data: Data) -> Value? { JSONParser.parse(data) }

  package static func parseJSON(_ text: String) -> Value? { JSONParser.parse(text.utf8) }

  /// Follows an RFC 6901 JSON pointer (`/a/0/b`); `""` is the whole value.
  package func pointer(_ pointer: String) -> Value? {
    if pointer.isEmpty { return self }
    guard pointer.hasPrefix("/") else { return nil }
    var current = self
    for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
      let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
      switch current {
      case .object(let o):
        guard let next = o[token] else { return nil }
        current = next
      case .array(let a):
        guard let i = Int(token), a.indices.contains(i) else { return nil }
        current = a[i]
      default:
        return nil
      }
    }
    return current
  }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
  package init(stringLiteral value: String) { self = .string(value) }
  package init(booleanLiteral value: Bool) { self = .bool(value) }
  package init(integerLiteral value: Int) { self = .number(Double(value)) }
  package init(nilLiteral: ()) { self = .null }
  package init(arrayLiteral elements: Value...) { self = .array(elements) }
  package init(dictionaryLiteral elements: (String, Value)...) {
    self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
  }
}
