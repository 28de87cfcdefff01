/// How values spliced into a parameter's text by `${{ }}` are encoded, declared by the parameter
/// (`ParameterSpec.interpolation`). The runbook's own text (literals, a `format()` pattern) is
/// kept as written; what comes from inputs, steps and the environment is encoded for where it
/// lands, at the one place templates are evaluated, so no runbook has to remember to.
///
/// - `url`: a value at the very start is the base (a whole URL or an endpoint variable) and is
///   kept; a value in the path is one percent-encoded segment (`/`, `?`, `#`, `%` are encoded,
///   `.` and `..` refused), in the query or fragment a percent-encoded component, in the host
///   only host characters. `--org 'acme/../../admin?x=1#frag'` once sent `GET /admin?x=1` with
///   the GitHub token.
/// - `slackText`: Slack mrkdwn's control characters `&`, `<`, `>` become entities, so a value
///   cannot make a link (`<https://evil|click>`) or a mention (`<!channel>`).
package enum Interpolation: String, Sendable, Equatable {
  case plain
  case url
  case slackText

  /// `value` encoded for where it lands, given the text already produced before it.
  func encode(_ value: String, after preceding: String, at offset: Int) throws(ExpressionError) -> String {
    switch self {
    case .plain:
      return value
    case .slackText:
      return value.replacingASCII([
        UInt8(ascii: "&"): "&amp;", UInt8(ascii: "<"): "&lt;", UInt8(ascii: ">"): "&gt;",
      ])
    case .url:
      return try Interpolation.encodeURLPart(value, after: preceding, at: offset)
    }
  }

  /// Where in a URL a value lands, judged from the text before it.
  enum URLPart: Equatable {
    case base, host, path, query, fragment
  }

  static func urlPart(after preceding: String) -> URLPart {
    if preceding.isEmpty { return .base }
    if preceding.contains("#") { return .fragment }
    if preceding.contains("?") { return .query }
    guard let scheme = preceding.range(of: "://") else { return .host }
    return preceding[scheme.upperBound...].contains("/") ? .path : .host
  }

  static func encodeURLPart(
    _ value: String, after preceding: String, at offset: Int
  ) throws(ExpressionError) -> String {
    switch urlPart(after: preceding) {
    case .base:
      return value
    case .path:
      // A segment that is `.` or `..` would move up the path however it is encoded (servers
      // normalise `%2E%2E` too).
      guard value != ".", value != ".." else {
        throw ExpressionError("'\(value)' cannot be a URL path segment", at: offset)
      }
      return value.percentEncoded(keeping: "-._~")
    case .query, .fragment:
      return value.percentEncoded(keeping: "-._~")
    case .host:
      let hostChars = value.utf8.allSatisfy { b in
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 46
      }
      guard hostChars else {
        throw ExpressionError("a value in a URL's host may hold only letters, digits, '-' and '.'", at: offset)
      }
      return value
    }
  }
}

extension Template {
  /// A piece of the template as encoding sees it: the runbook's text, or a value to encode.
  private enum Piece {
    case text(String)
    case value(Node, offset: Int)
  }

  /// The template's pieces, with `format()` calls whose pattern is a literal opened up (their
  /// pattern is runbook text, their arguments are values) and string literals as text.
  private func pieces() throws(ExpressionError) -> [Piece] {
    var out: [Piece] = []
    func add(_ node: Node, offset: Int) throws(ExpressionError) {
      switch node {
      case .literal(.string(let text)):
        out.append(.text(text))
      case .call(.format, let arguments, let at):
        guard case .literal(.string(let pattern)) = arguments[0] else {
          out.append(.value(node, offset: offset))
          return
        }
        let parts: [Function.FormatPiece]
        do throws(FormatError) {
          parts = try Function.formatPieces(pattern, argumentCount: arguments.count - 1)
        } catch {
          throw ExpressionError(error.message, at: offset + at)
        }
        for part in parts {
          switch part {
          case .text(let text): out.append(.text(text))
          case .argument(let index): try add(arguments[index + 1], offset: offset)
          }
        }
      default:
        out.append(.value(node, offset: offset))
      }
    }
    // A template that is one expression (whitespace aside) is that expression, as `evaluate` has it.
    if let (e, offset) = soleExpression {
      try add(e.root, offset: offset)
      return out
    }
    for part in parts {
      switch part {
      case .literal(let text): out.append(.text(text))
      case .expression(let e, let offset): try add(e.root, offset: offset)
      }
    }
    return out
  }

  /// Evaluates the template with every value encoded by `interpolation`. A template that is one
  /// value keeps its type when that is not text (a number stays a number).
  package func evaluate(_ context: EvaluationContext, interpolation: Interpolation) throws(ExpressionError) -> Value {
    if interpolation == .plain || isLiteral { return try evaluate(context) }
    let evaluator = Evaluator(context: context)
    let pieces = try pieces()
    var out = ""
    for piece in pieces {
      switch piece {
      case .text(let text):
        out += text
      case .value(let node, let offset):
        let value: Value
        do throws(ExpressionError) {
          value = try evaluator.evaluate(node)
        } catch {
          throw error.shifted(by: offset)
        }
        if pieces.count == 1 {
          switch value {
          case .number, .bool, .array, .object: return value
          case .string, .null: break
          }
        }
        out += try interpolation.encode(value.description, after: out, at: offset)
      }
    }
    return .string(out)
  }
}
