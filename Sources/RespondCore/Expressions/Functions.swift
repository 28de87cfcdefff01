/// The functions expressions can call: a fixed set, so an unknown name or a wrong argument
/// count is found when the runbook is validated.
enum Function: String, Sendable, CaseIterable {
  case contains, startsWith, endsWith, `default`, mask, format, join, toJSON, length, lower, upper

  /// Looks a function up by name, ignoring case as GitHub Actions does (`startswith` works).
  static func named(_ name: String) -> Function? {
    allCases.first { $0.rawValue.lowercased() == name.lowercased() }
  }

  /// How many arguments the function takes.
  var arity: ClosedRange<Int> {
    switch self {
    case .contains, .startsWith, .endsWith, .default: return 2...2
    case .mask, .toJSON, .length, .lower, .upper: return 1...1
    case .join: return 1...2
    case .format: return 1...Int.max
    }
  }

  /// "takes 2 arguments" / "takes 1 or 2 arguments" / "takes at least 1 argument".
  var arityDescription: String {
    switch self {
    case .format: return "takes at least 1 argument"
    case .join: return "takes 1 or 2 arguments"
    default: return arity.lowerBound == 1 ? "takes 1 argument" : "takes \(arity.lowerBound) arguments"
    }
  }

  /// Applies the function to evaluated arguments. Errors name the function and the offending
  /// type, never a value (values can be secrets).
  func apply(_ arguments: [Value], at offset: Int) throws(ExpressionError) -> Value {
    func fail(_ message: String) -> ExpressionError { ExpressionError("\(rawValue)() \(message)", at: offset) }
    /// Scalars as text (null is ""); lists and maps are refused.
    func text(_ value: Value, _ position: String) throws(ExpressionError) -> String {
      switch value {
      case .null: return ""
      case .string, .number, .bool: return value.description
      case .array, .object: throw fail("needs a string as its \(position) argument, got \(value.typeName)")
      }
    }

    switch self {
    case .contains:
      switch arguments[0] {
      case .null: return .bool(false)
      case .array(let items): return .bool(items.contains { Evaluator.looselyEqual($0, arguments[1]) })
      case .string, .number, .bool:
        return .bool(arguments[0].description.contains(try text(arguments[1], "second")))
      case .object: throw fail("needs a string or a list as its first argument, got map")
      }
    case .startsWith:
      return .bool(try text(arguments[0], "first").hasPrefix(try text(arguments[1], "second")))
    case .endsWith:
      return .bool(try text(arguments[0], "first").hasSuffix(try text(arguments[1], "second")))
    case .default:
      switch arguments[0] {
      case .null, .string(""): return arguments[1]
      default: return arguments[0]
      }
    case .mask:
      if arguments[0].isNull { return .null }
      return .string(Masker.fingerprint(arguments[0].description))
    case .format:
      let pattern = try text(arguments[0], "first")
      do throws(FormatError) {
        return .string(try Function.format(pattern, arguments: Array(arguments.dropFirst())))
      } catch {
        throw ExpressionError(error.message, at: offset)
      }
    case .join:
      let separator = arguments.count > 1 ? try text(arguments[1], "second") : ","
      switch arguments[0] {
      case .null: return .string("")
      case .array(let items): return .string(items.map(\.description).joined(separator: separator))
      case .string, .number, .bool: return .string(arguments[0].description)
      case .object: throw fail("needs a list as its first argument, got map")
      }
    case .toJSON:
      return .string(arguments[0].jsonString())
    case .length:
      switch arguments[0] {
      case .null: return .number(0)
      case .string(let s): return .number(Double(s.count))
      case .array(let a): return .number(Double(a.count))
      case .object(let o): return .number(Double(o.count))
      case .number, .bool: throw fail("needs a string, list or map, got \(arguments[0].typeName)")
      }
    case .lower:
      return .string(try text(arguments[0], "first").lowercased())
    case .upper:
      return .string(try text(arguments[0], "first").uppercased())
    }
  }

  /// GitHub Actions' `format`: `{0}` is replaced by the first argument, `{{` and `}}` are literal
  /// braces; an unmatched brace or a missing argument is an error.
  static func format(_ pattern: String, arguments: [Value]) throws(FormatError) -> String {
    var out = ""
    for piece in try formatPieces(pattern, argumentCount: arguments.count) {
      switch piece {
      case .text(let text): out += text
      case .argument(let index): out += arguments[index].description
      }
    }
    return out
  }

  /// A `format()` pattern's pieces: its own text, and where each argument goes. Templates that
  /// encode what they splice (a URL, a Slack message) read a `format()` call through these, so
  /// the pattern stays the runbook's text and only the arguments are encoded.
  enum FormatPiece: Equatable {
    case text(String)
    case argument(Int)
  }

  static func formatPieces(_ pattern: String, argumentCount: Int) throws(FormatError) -> [FormatPiece] {
    let s = Array(pattern.unicodeScalars)
    var pieces: [FormatPiece] = []
    var out = String.UnicodeScalarView()
    func flush() {
      if !out.isEmpty { pieces.append(.text(String(out))) }
      out = String.UnicodeScalarView()
    }
    var i = 0
    while i < s.count {
      let c = s[i]
      if c == "{" {
        if i + 1 < s.count, s[i + 1] == "{" {
          out.append("{")
          i += 2
          continue
        }
        var j = i + 1
        var digits = ""
        while j < s.count, Lexer.isDigit(s[j]), digits.count < 6 {
          digits.unicodeScalars.append(s[j])
          j += 1
        }
        guard !digits.isEmpty, j < s.count, s[j] == "}", let index = Int(digits) else {
          throw FormatError(message: "format() string has an unmatched '{'")
        }
        guard index < argumentCount else {
          throw FormatError(
            message: "format() has no argument {\(index)} (it was given \(argumentCount) after the format string)")
        }
        flush()
        pieces.append(.argument(index))
        i = j + 1
      } else if c == "}" {
        guard i + 1 < s.count, s[i + 1] == "}" else {
          throw FormatError(message: "format() string has an unmatched '}'")
        }
        out.append("}")
        i += 2
      } else {
        out.append(c)
        i += 1
      }
    }
    flush()
    return pieces
  }
}

/// A malformed `format()` pattern; the caller locates it.
struct FormatError: Error {
  var message: String
}
