/// A token of the expression language and where it starts (offset in Unicode scalars).
struct Token: Sendable, Equatable {
  /// The closed set of token kinds.
  enum Kind: Sendable, Equatable {
    case identifier(String)
    case string(String)
    case number(Double)
    case leftParen, rightParen, leftBracket, rightBracket, dot, comma
    case not, less, lessEqual, greater, greaterEqual, equal, notEqual, and, or
    case end
  }

  var kind: Kind
  var offset: Int

  /// How the token is named in an error message ("'('", "'steps'", "a string").
  var displayName: String {
    switch kind {
    case .identifier(let name):
      return "'" + (name.unicodeScalars.count > 40 ? String(name.prefix(40)) + "…" : name) + "'"
    case .string: return "a string"
    case .number: return "a number"
    case .leftParen: return "'('"
    case .rightParen: return "')'"
    case .leftBracket: return "'['"
    case .rightBracket: return "']'"
    case .dot: return "'.'"
    case .comma: return "','"
    case .not: return "'!'"
    case .less: return "'<'"
    case .lessEqual: return "'<='"
    case .greater: return "'>'"
    case .greaterEqual: return "'>='"
    case .equal: return "'=='"
    case .notEqual: return "'!='"
    case .and: return "'&&'"
    case .or: return "'||'"
    case .end: return "end of expression"
    }
  }
}

/// Splits expression text into tokens in one linear pass, without recursion, so any input
/// (however hostile) costs time proportional to its length.
enum Lexer {
  static func tokenize(_ s: [Unicode.Scalar]) throws(ExpressionError) -> [Token] {
    var tokens: [Token] = []
    var i = 0
    func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
    /// Appends a punctuation token of `width` scalars at `i` and moves past it.
    func add(_ kind: Token.Kind, _ width: Int) {
      tokens.append(Token(kind: kind, offset: i))
      i += width
    }

    while i < s.count {
      let c = s[i]
      let start = i
      switch c {
      case " ", "\t", "\n", "\r":
        i += 1
        continue
      case "(": add(.leftParen, 1)
      case ")": add(.rightParen, 1)
      case "[": add(.leftBracket, 1)
      case "]": add(.rightBracket, 1)
      case ".": add(.dot, 1)
      case ",": add(.comma, 1)
      case "!": at(i + 1) == "=" ? add(.notEqual, 2) : add(.not, 1)
      case "<": at(i + 1) == "=" ? add(.lessEqual, 2) : add(.less, 1)
      case ">": at(i + 1) == "=" ? add(.greaterEqual, 2) : add(.greater, 1)
      case "=":
        guard at(i + 1) == "=" else { throw ExpressionError("unexpected '=': use '==' to compare", at: i) }
        add(.equal, 2)
      case "&":
        guard at(i + 1) == "&" else { throw ExpressionError("unexpected '&': use '&&'", at: i) }
        add(.and, 2)
      case "|":
        guard at(i + 1) == "|" else { throw ExpressionError("unexpected '|': use '||'", at: i) }
        add(.or, 2)
      case "'":
        var text = String.UnicodeScalarView()
        i += 1
        var closed = false
        while i < s.count {
          if s[i] == "'" {
            if at(i + 1) == "'" {
              text.append("'")
              i += 2
              continue
            }
            i += 1
            closed = true
            break
          }
          text.append(s[i])
          i += 1
        }
        guard closed else { throw ExpressionError("unterminated string", at: start) }
        tokens.append(Token(kind: .string(String(text)), offset: start))
      case "\"":
        throw ExpressionError("unexpected '\"': strings use single quotes", at: i)
      default:
        if isDigit(c) || (c == "-" && at(i + 1).map(isDigit) == true) {
          let (value, next) = try lexNumber(s, from: i)
          tokens.append(Token(kind: .number(value), offset: start))
          i = next
        } else if isIdentifierStart(c) {
          var name = String.UnicodeScalarView()
          while i < s.count, isIdentifierStart(s[i]) || isDigit(s[i]) || s[i] == "-" {
            name.append(s[i])
            i += 1
          }
          tokens.append(Token(kind: .identifier(String(name)), offset: start))
        } else {
          throw ExpressionError("unexpected character \(describe(c))", at: i)
        }
      }
    }
    tokens.append(Token(kind: .end, offset: s.count))
    return tokens
  }

  /// A number as JSON writes it (`-1`, `2.5`, `1e3`) or hexadecimal (`0xff`), as in GitHub
  /// Actions. Anything glued to its end (`1.`, `12ab`) is an error rather than two tokens.
  private static func lexNumber(_ s: [Unicode.Scalar], from start: Int) throws(ExpressionError) -> (Double, Int) {
    var i = start
    func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
    let invalid = ExpressionError("invalid number", at: start)
    var text = String.UnicodeScalarView()
    if s[i] == "-" {
      text.append("-")
      i += 1
    }
    var value: Double?
    if s[i] == "0", let x = at(i + 1), x == "x" || x == "X" {
      i += 2
      var hex = String.UnicodeScalarView()
      while let h = at(i), isHexDigit(h) {
        hex.append(h)
        i += 1
      }
      guard !hex.isEmpty, let v = UInt64(String(hex), radix: 16) else { throw invalid }
      value = text.isEmpty ? Double(v) : -Double(v)
    } else {
      while let d = at(i), isDigit(d) {
        text.append(d)
        i += 1
      }
      if at(i) == "." {
        text.append(".")
        i += 1
        guard let d = at(i), isDigit(d) else { throw invalid }
        while let d = at(i), isDigit(d) {
          text.append(d)
          i += 1
        }
      }
      if let e = at(i), e == "e" || e == "E" {
        text.append("e")
        i += 1
        if let sign = at(i), sign == "+" || sign == "-" {
          text.append(sign)
          i += 1
        }
        guard let d = at(i), isDigit(d) else { throw invalid }
        while let d = at(i), isDigit(d) {
          text.append(d)
          i += 1
        }
      }
      value = Double(String(text))
    }
    if let next = at(i), isIdentifierStart(next) || isDigit(next) || next == "." { throw invalid }
    guard let value, value.isFinite else { throw invalid }
    return (value, i)
  }

  static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

  static func isHexDigit(_ c: Unicode.Scalar) -> Bool {
    isDigit(c) || (c.value >= 0x41 && c.value <= 0x46) || (c.value >= 0x61 && c.value <= 0x66)
  }

  static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
    (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A) || c == "_"
  }

  /// A character for an error message: printable ASCII quoted, anything else as `U+XXXX`, so a
  /// message never carries control characters or half a grapheme.
  static func describe(_ c: Unicode.Scalar) -> String {
    if c.value >= 0x21 && c.value <= 0x7E { return "'\(Character(c))'" }
    let hex = String(c.value, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
  }
}
