import Crypto
import Foundation

// MARK: - Matching a leaked value without holding it in the clear longer than needed

/// Recognises the leaked secret in stored values by SHA-256 digest, compared in constant time:
/// the search over every secret store never compares the secret byte by byte (no early exit
/// whose timing says how much of a stored value matched) and never keeps a stored value it read.
package struct SecretDigestMatcher: Sendable {
  private let digest: [UInt8]

  package init(_ secret: String) { digest = Self.hash(secret) }

  static func hash(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Data(text.utf8))) }

  /// Whether `candidate` is the secret: digests compared over all 32 bytes, whatever differs.
  package func matches(_ candidate: String) -> Bool {
    let other = Self.hash(candidate)
    var difference: UInt8 = 0
    for i in 0..<digest.count { difference |= digest[i] ^ other[i] }
    return difference == 0
  }

  /// Where a stored value holds the secret: `""` for the whole value, otherwise the dotted names
  /// of JSON fields (nested ones as `outer.inner`, list items as `list[2]`), sorted.
  package func fields(in value: Value) -> [String] {
    var hits: [String] = []
    collect(value, field: "", into: &hits)
    return hits.sorted()
  }

  /// A stored text: the whole of it, or the fields of the JSON object it holds.
  package func fields(inText text: String) -> [String] {
    if matches(text) { return [""] }
    guard let json = Value.parseJSON(text), json.objectValue != nil || json.arrayValue != nil else { return [] }
    return fields(in: json)
  }

  private func collect(_ value: Value, field: String, into hits: inout [String]) {
    switch value {
    case .string(let s):
      if matches(s) { hits.append(field) }
    case .number, .bool:
      if matches(value.description) { hits.append(field) }
    case .array(let items):
      for (i, v) in items.enumerated() { collect(v, field: "\(field)[\(i)]", into: &hits) }
    case .object(let o):
      for (k, v) in o { collect(v, field: field.isEmpty ? k : "\(field).\(k)", into: &hits) }
    case .null:
      break
    }
  }
}

// MARK: - One copy, and what to write instead

/// One place a leaked secret was found: the store, the secret's name or path there, and the
/// field that held it (`""` when the whole value is the secret). Names only, never a value.
package struct SecretCopy: Sendable, Equatable, Hashable {
  package var store: String
  package var path: String
  package var field: String

  package init(store: String, path: String, field: String) {
    self.store = store
    self.path = path
    self.field = field
  }

  /// `secrets-manager ci/app (access_key_id)`: how a person finds it.
  package var label: String { field.isEmpty ? "\(store) \(path)" : "\(store) \(path) (\(field))" }

  package var value: Value { ["store": .string(store), "path": .string(path), "field": .string(field)] }

  /// The copies in a step's `matches` output (a list of {path, field}); malformed items are skipped.
  package static func list(_ value: Value?, store: String) -> [SecretCopy] {
    (value?.arrayValue ?? []).compactMap { item in
      guard let path = item["path"]?.stringValue, !path.isEmpty else { return nil }
      return SecretCopy(store: store, path: path, field: item["field"]?.stringValue ?? "")
    }
  }
}

/// What replacing the leaked secret in one stored value comes to, decided from the value alone.
package enum CopyReplacementPlan: Sendable, Equatable {
  /// Write this instead (the fields named were changed).
  case write(Value, changed: [String])
  /// The value no longer holds the leaked secret (another step, or a person, replaced it).
  case alreadyReplaced
  /// The secret is there but not where respond may rewrite it (nested JSON): a person must.
  case byHand([String])

  /// Replaces the leaked secret in `current` (a whole string, or a JSON object's top-level
  /// fields) with `replacement`; fields named in `companions` that the object already has are
  /// set too (the secret access key beside a key id), and nothing else is touched or added.
  package static func plan(
    _ current: Value, matcher: SecretDigestMatcher, replacement: String, companions: [String: String]
  ) -> CopyReplacementPlan {
    if let text = current.stringValue {
      if matcher.matches(text) { return .write(.string(replacement), changed: [""]) }
      guard let json = Value.parseJSON(text), json.objectValue != nil else {
        return matcher.fields(inText: text).isEmpty ? .alreadyReplaced : .byHand(matcher.fields(inText: text))
      }
      switch plan(json, matcher: matcher, replacement: replacement, companions: companions) {
      case .write(let v, let changed): return .write(.string(v.jsonString()), changed: changed)
      case let other: return other
      }
    }
    guard var object = current.objectValue else { return .alreadyReplaced }
    let hits = matcher.fields(in: current)
    if hits.isEmpty { return .alreadyReplaced }
    let topLevel = hits.filter { object[$0] != nil }
    let nested = hits.filter { object[$0] == nil }
    guard nested.isEmpty else { return .byHand(nested) }
    for field in topLevel { object[field] = .string(replacement) }
    var changed = topLevel
    for (field, value) in companions.sorted(by: { $0.key < $1.key }) where object[field] != nil {
      if !changed.contains(field) { changed.append(field) }
      object[field] = .string(value)
    }
    return .write(.object(object), changed: changed.sorted())
  }
}

/// How far a search of a secret store may go: at most `maxItems` secrets read, at most
/// `perSecond` requests a second. The defaults suit a responder's first look at an account.
package struct CopySearchBounds: Sendable, Equatable {
  package static let defaultMaxItems = 1000
  package static let defaultPerSecond = 5.0

  package var maxItems: Int
  package var perSecond: Double

  package init(maxItems: Int? = nil, perSecond: Double? = nil) {
    self.maxItems = max(1, maxItems ?? Self.defaultMaxItems)
    self.perSecond = min(max(perSecond ?? Self.defaultPerSecond, 0.1), 50)
  }

  /// The sentence the report shows when the bound stopped the search.
  package func stopped(store: String, scanned: Int) -> String {
    "\(store) search stopped at max-items \(maxItems) (\(scanned) read, at most \(perSecond.formatted()) requests/s): "
      + "raise max-items or narrow the prefix to look further"
  }
}

extension Double {
  /// `5`, or `2.5`: how a rate reads in a sentence.
  fileprivate func formatted() -> String { self == rounded() ? String(Int(self)) : String(self) }
}
