import Foundation  // only for `trimmingCharacters(in: .whitespacesAndNewlines)`, the whitespace set AWS answers used

/// A parsed XML element: its local name (any namespace prefix dropped), its text and its child
/// elements. Enough for the AWS Query answers (IAM, STS, S3 listings), which are small
/// element-only documents; attributes, comments and processing instructions are read and dropped.
package struct XMLTree: Sendable, Equatable {
  package var name: String
  /// The character data and CDATA directly inside, concatenated; trimmed of surrounding
  /// whitespace when the element has child elements (indentation), kept exactly in a leaf.
  package var text: String
  package var children: [XMLTree]

  package init(name: String, text: String = "", children: [XMLTree] = []) {
    self.name = name
    self.text = text
    self.children = children
  }

  /// The document's root element, or nil when the bytes are not well-formed UTF-8 XML (or hold a
  /// DOCTYPE, which no answer respond reads has and which would open entity-expansion attacks).
  package static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> XMLTree? { XMLReader.parse(bytes) }

  package func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

  package func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }

  /// Follows child names separated by `/` ("ListAccessKeysResult/IsTruncated").
  package func path(_ path: String) -> XMLTree? {
    var node: XMLTree? = self
    for part in path.split(separator: "/") { node = node?.child(String(part)) }
    return node
  }

  /// The text at a path, or nil when the element is missing.
  package func string(_ path: String) -> String? { self.path(path)?.text }

  /// The first descendant (depth first, self excluded) matching a predicate.
  package func first(where match: (XMLTree) -> Bool) -> XMLTree? {
    for c in children {
      if match(c) { return c }
      if let found = c.first(where: match) { return found }
    }
    return nil
  }

  /// The first descendant with this name.
  package func descendant(_ name: String) -> XMLTree? { first { $0.name == name } }
}

/// A strict XML 1.0 reader into `XMLTree`, over the UTF-8 bytes: replaces Foundation's
/// `XMLParser`, whose libxml2 (with ICU and liblzma behind it) cost every start of respond
/// about 2 ms of dynamic loading. Any well-formedness violation gives nil. No DTD is read at all: a
/// DOCTYPE is refused, so only the five predefined entities and character references exist.
/// Nesting is bounded (`maxDepth`, far beyond any AWS answer) and walked with an explicit stack.
/// Namespaces are not resolved (an undeclared prefix is not an error), as with
/// `XMLParser.shouldProcessNamespaces = false`.
struct XMLReader {
  static let maxDepth = 256

  private let b: [UInt8]
  private var i = 0

  /// An element whose end tag has not been read yet.
  private struct Open {
    var qualifiedName: Range<Int>
    var node: XMLTree
    var text: [UInt8] = []
  }

  static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> XMLTree? {
    guard let checked = checkedCharacters(Array(bytes)) else { return nil }
    var r = XMLReader(b: checked)
    return r.document()
  }

  /// The bytes when they are UTF-8 made only of XML `Char`s, with line ends normalised to LF as
  /// XML 1.0 §2.11 asks (CR LF and lone CR); nil otherwise. Checking once up front means the
  /// parser below never meets a control character, a surrogate or a broken sequence.
  private static func checkedCharacters(_ bytes: [UInt8]) -> [UInt8]? {
    var sawCR = false
    var i = 0
    while i < bytes.count {
      let c = bytes[i]
      if c < 0x80 {  // the common case, without the decoder
        guard c >= 0x20 || c == 9 || c == 10 || c == 13 else { return nil }
        sawCR = sawCR || c == 13
        i += 1
        continue
      }
      var (decoder, rest) = (UTF8(), bytes[i...].makeIterator())
      guard case .scalarValue(let s) = decoder.decode(&rest), isChar(s.value) else { return nil }
      i += UTF8.width(s)
    }
    guard sawCR else { return bytes }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    for (k, c) in bytes.enumerated() where !(c == 10 && k > 0 && bytes[k - 1] == 13) { out.append(c == 13 ? 10 : c) }
    return out
  }

  /// XML 1.0 `Char`: tab, LF, CR and everything from space up, less surrogates, U+FFFE and U+FFFF.
  private static func isChar(_ s: UInt32) -> Bool {
    s >= 0x20
      ? (s < 0xD800 || (0xE000...0x10FFFF).contains(s)) && s != 0xFFFE && s != 0xFFFF : s == 9 || s == 10 || s == 13
  }

  /// `document ::= BOM? XMLDecl? Misc* element Misc*`, with no doctypedecl allowed.
  private mutating func document() -> XMLTree? {
    if at([0xEF, 0xBB, 0xBF]) { i = 3 }
    if at("<?xml"), i + 5 < b.count, Self.isSpace(b[i + 5]) {
      guard declaration() else { return nil }
    }
    guard misc(), i < b.count, b[i] == UInt8(ascii: "<"), let root = element() else { return nil }
    guard misc(), i == b.count else { return nil }
    return root
  }

  /// `<?xml version="1.x" encoding="UTF-8"? standalone="yes|no"? ?>`. Only UTF-8 is read, so a
  /// declaration of any other encoding is refused rather than misread.
  private mutating func declaration() -> Bool {
    i += 5
    skipSpace()
    guard let version = pseudoAttribute("version"), version.count >= 3, b[version.lowerBound] == UInt8(ascii: "1"),
      b[version.lowerBound + 1] == UInt8(ascii: "."),
      b[(version.lowerBound + 2)..<version.upperBound].allSatisfy(Self.isDigit)
    else { return false }
    var spaced = skipSpace()
    if spaced, at("encoding") {
      guard let encoding = pseudoAttribute("encoding") else { return false }
      let name = String(decoding: b[encoding], as: UTF8.self).uppercased()
      guard name == "UTF-8" || name == "UTF8" else { return false }
      spaced = skipSpace()
    }
    if spaced, at("standalone") {
      guard let standalone = pseudoAttribute("standalone"),
        b[standalone].elementsEqual("yes".utf8) || b[standalone].elementsEqual("no".utf8)
      else { return false }
      skipSpace()
    }
    guard at("?>") else { return false }
    i += 2
    return true
  }

  /// `name Eq "value"` inside the declaration; the value's range.
  private mutating func pseudoAttribute(_ name: String) -> Range<Int>? {
    guard at(name) else { return nil }
    i += name.utf8.count
    return value()
  }

  /// `S? = S? ("..." | '...')` after an attribute name: the value's range. No `<` inside, and
  /// every `&` starts a valid reference.
  private mutating func value() -> Range<Int>? {
    skipSpace()
    guard i < b.count, b[i] == UInt8(ascii: "=") else { return nil }
    i += 1
    skipSpace()
    guard i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") else { return nil }
    let quote = b[i]
    i += 1
    let start = i
    while i < b.count, b[i] != quote {
      if b[i] == UInt8(ascii: "<") { return nil }
      if b[i] == UInt8(ascii: "&") {
        guard reference() != nil else { return nil }
      } else {
        i += 1
      }
    }
    guard i < b.count else { return nil }
    i += 1
    return start..<(i - 1)
  }

  /// Whitespace, comments and processing instructions (before and after the root element).
  private mutating func misc() -> Bool {
    while true {
      skipSpace()
      if at("<!--") {
        guard comment() else { return false }
      } else if at("<?") {
        guard processingInstruction() else { return false }
      } else {
        return true
      }
    }
  }

  /// The element starting at `<`, with everything inside, read without recursion.
  private mutating func element() -> XMLTree? {
    var stack: [Open] = []
    while true {
      // At a start tag.
      guard let (qualifiedName, empty) = startTag() else { return nil }
      guard stack.count < Self.maxDepth else { return nil }
      let node = XMLTree(name: Self.localName(b[qualifiedName]))
      if empty {
        guard !stack.isEmpty else { return node }
        stack[stack.count - 1].node.children.append(node)
      } else {
        stack.append(Open(qualifiedName: qualifiedName, node: node))
      }
      // Content, up to the next start tag or the end of the root element.
      content: while true {
        let start = i
        while i < b.count, b[i] != UInt8(ascii: "<"), b[i] != UInt8(ascii: "&") {
          if b[i] == UInt8(ascii: ">"), i - start >= 2, b[i - 1] == UInt8(ascii: "]"), b[i - 2] == UInt8(ascii: "]") {
            return nil  // `]]>` outside CDATA
          }
          i += 1
        }
        stack[stack.count - 1].text += b[start..<i]
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "&") {
          guard let scalar = reference() else { return nil }
          UTF8.encode(scalar) { stack[stack.count - 1].text.append($0) }
          continue
        }
        // At `<`: what follows says which markup (start tags, the common case, test cheapest).
        switch i + 1 < b.count ? b[i + 1] : 0 {
        case UInt8(ascii: "/"):
          i += 2
          guard let end = name(), b[end].elementsEqual(b[stack[stack.count - 1].qualifiedName]) else { return nil }
          skipSpace()
          guard i < b.count, b[i] == UInt8(ascii: ">") else { return nil }
          i += 1
          let open = stack.removeLast()
          var node = open.node
          node.text = node.children.isEmpty ? String(decoding: open.text, as: UTF8.self) : Self.trimmed(open.text[...])
          guard !stack.isEmpty else { return node }
          stack[stack.count - 1].node.children.append(node)
        case UInt8(ascii: "!"):
          if at("<!--") {
            guard comment() else { return nil }
          } else {
            guard at("<![CDATA[") else { return nil }
            i += 9
            guard let end = find("]]>") else { return nil }
            stack[stack.count - 1].text += b[i..<end]
            i = end + 3
          }
        case UInt8(ascii: "?"):
          guard processingInstruction() else { return nil }
        default:
          break content
        }
      }
    }
  }

  /// The text of an element with children, without the whitespace around it (Unicode's, as
  /// Foundation's `.whitespacesAndNewlines`). Usually that is indentation only: ASCII whitespace
  /// is cut here, and Foundation is asked only when a non-ASCII character is left at an edge.
  private static func trimmed(_ text: ArraySlice<UInt8>) -> String {
    var t = text
    while let c = t.first, isSpace(c) { t.removeFirst() }
    while let c = t.last, isSpace(c) { t.removeLast() }
    let s = String(decoding: t, as: UTF8.self)
    guard let first = t.first, let last = t.last, first >= 0x80 || last >= 0x80 else { return s }
    return s.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// `<Name (S Name Eq AttValue)* S? (> | />)`; the name's range and whether the element is
  /// empty. Attribute values are checked (no `<`, valid references), names unique, then dropped.
  private mutating func startTag() -> (Range<Int>, Bool)? {
    i += 1
    guard let name = name() else { return nil }
    var attributes: [Range<Int>] = []
    while true {
      let spaced = skipSpace()
      guard i < b.count else { return nil }
      if b[i] == UInt8(ascii: ">") {
        i += 1
        return (name, false)
      }
      if at("/>") {
        i += 2
        return (name, true)
      }
      guard spaced, let attribute = self.name(), !attributes.contains(where: { b[$0].elementsEqual(b[attribute]) })
      else { return nil }
      attributes.append(attribute)
      guard value() != nil else { return nil }
    }
  }

  /// A reference at `&`: one of the five predefined entities or a character reference to a
  /// legal `Char`. Anything else is not well-formed here, since there is no DTD to declare it.
  private mutating func reference() -> Unicode.Scalar? {
    i += 1
    var value: UInt32 = 0
    if i < b.count, b[i] == UInt8(ascii: "#") {
      i += 1
      let hex = i < b.count && b[i] == UInt8(ascii: "x")
      if hex { i += 1 }
      let start = i
      while i < b.count, Self.isDigit(b[i]) || (hex && (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b[i] | 0x20)) {
        i += 1
      }
      // (UInt32 refuses an empty or overflowing number.)
      guard let v = UInt32(String(decoding: b[start..<i], as: UTF8.self), radix: hex ? 16 : 10), Self.isChar(v)
      else { return nil }
      value = v
    } else {
      guard let name = name() else { return nil }
      switch String(decoding: b[name], as: UTF8.self) {
      case "amp": value = 0x26
      case "lt": value = 0x3C
      case "gt": value = 0x3E
      case "quot": value = 0x22
      case "apos": value = 0x27
      default: return nil
      }
    }
    guard i < b.count, b[i] == UInt8(ascii: ";") else { return nil }
    i += 1
    return Unicode.Scalar(value)
  }

  /// `<!-- ... -->`, with no `--` inside.
  private mutating func comment() -> Bool {
    i += 4
    guard let end = find("--"), end + 2 < b.count, b[end + 2] == UInt8(ascii: ">") else { return false }
    i = end + 3
    return true
  }

  /// `<?target ...?>`. The target `xml` (any case) is reserved: a declaration anywhere but at the
  /// very start is not well-formed.
  private mutating func processingInstruction() -> Bool {
    i += 2
    guard let target = name() else { return false }
    if target.count == 3, String(decoding: b[target], as: UTF8.self).lowercased() == "xml" { return false }
    if at("?>") {
      i += 2
      return true
    }
    guard skipSpace(), let end = find("?>") else { return false }
    i = end + 2
    return true
  }

  /// An XML `Name` (Fifth Edition character classes) at `i`; its range.
  private mutating func name() -> Range<Int>? {
    let start = i
    while i < b.count {
      let c = b[i]
      if c < 0x80 {  // the common case, without decoding
        let letter = (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
        guard
          letter || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
            || (i > start && (Self.isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")))
        else { break }
        i += 1
        continue
      }
      var (decoder, rest) = (UTF8(), b[i...].makeIterator())
      guard case .scalarValue(let s) = decoder.decode(&rest),
        i == start ? Self.isNameStart(s.value) : Self.isNameChar(s.value)
      else { break }
      i += UTF8.width(s)
    }
    return i > start ? start..<i : nil
  }

  /// The name after its last `:` (`a:Foo` → `Foo`), as the old `XMLParser` tree builder kept it.
  private static func localName(_ qualified: ArraySlice<UInt8>) -> String {
    var end = qualified.endIndex
    while end > qualified.startIndex, qualified[end - 1] == UInt8(ascii: ":") { end -= 1 }
    let start = qualified[..<end].lastIndex(of: UInt8(ascii: ":")).map { $0 + 1 } ?? qualified.startIndex
    return String(decoding: end > start ? qualified[start..<end] : qualified, as: UTF8.self)
  }

  private static func isNameStart(_ s: UInt32) -> Bool {
    switch s {
    case 0x41...0x5A, 0x61...0x7A, 0x5F, 0x3A: return true
    case 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x2FF, 0x370...0x37D, 0x37F...0x1FFF, 0x200C...0x200D, 0x2070...0x218F,
      0x2C00...0x2FEF, 0x3001...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFFD, 0x10000...0xEFFFF:
      return true
    default: return false
    }
  }

  private static func isNameChar(_ s: UInt32) -> Bool {
    switch s {
    case 0x2D, 0x2E, 0x30...0x39, 0xB7, 0x300...0x36F, 0x203F...0x2040: return true
    default: return isNameStart(s)
    }
  }

  private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

  private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 10 || c == 13 || c == 9 }

  /// Skips XML whitespace; whether there was any.
  @discardableResult
  private mutating func skipSpace() -> Bool {
    let start = i
    while i < b.count, Self.isSpace(b[i]) { i += 1 }
    return i > start
  }

  /// Whether the bytes at `i` are `literal`.
  private func at<Literal: Collection<UInt8>>(_ literal: Literal) -> Bool {
    i + literal.count <= b.count && b[i..<(i + literal.count)].elementsEqual(literal)
  }

  private func at(_ literal: String) -> Bool { at(literal.utf8) }

  /// The position of the next `literal` from `i`, or nil.
  private func find(_ literal: String) -> Int? {
    let l = literal.utf8
    let first = l.first!
    var p = i
    while p + l.count <= b.count {
      if b[p] == first, b[p..<(p + l.count)].elementsEqual(l) { return p }
      p += 1
    }
    return nil
  }
}
