/// A runbook string that may contain `${{ ... }}` expressions: a `with:` argument, a `when:`
/// condition, a message body.
///
/// A template that is exactly one expression (surrounding whitespace allowed) evaluates to the
/// expression's typed value, so `${{ steps.x.count }}` stays a number and `${{ inputs.flag }}` a
/// boolean. Anything else renders to a string, each expression written with `Value.description`
/// (null as ""). A `$` or `${` not followed by `{` is literal text.
package struct Template: Sendable {
  /// A piece of the template: literal text, or an expression and the offset of its text.
  enum Part: Sendable {
    case literal(String)
    case expression(Expression, offset: Int)
  }

  /// The text the template was parsed from.
  package let source: String
  let parts: [Part]

  /// Parses a template. Errors and references carry offsets relative to `text`.
  package static func parse(_ text: String) throws(ExpressionError) -> Template {
    let s = Array(text.unicodeScalars)
    var parts: [Part] = []
    var literal = String.UnicodeScalarView()
    var i = 0
    while i < s.count {
      guard s[i] == "$", i + 2 < s.count, s[i + 1] == "{", s[i + 2] == "{" else {
        literal.append(s[i])
        i += 1
        continue
      }
      let open = i
      let start = i + 3
      var j = start
      var end: Int?
      // Find the closing `}}` outside string literals, so `format('{{0}}', x)` works.
      while j < s.count {
        if s[j] == "'" {
          let quote = j
          j += 1
          var closed = false
          while j < s.count {
            if s[j] == "'" {
              if j + 1 < s.count, s[j + 1] == "'" {
                j += 2
                continue
              }
              closed = true
              j += 1
              break
            }
            j += 1
          }
          if !closed { throw ExpressionError("unterminated string", at: quote) }
          continue
        }
        if s[j] == "}", j + 1 < s.count, s[j + 1] == "}" {
          end = j
          break
        }
        j += 1
      }
      guard let end else { throw ExpressionError("unterminated '${{': expected '}}'", at: open) }
      var inner = String.UnicodeScalarView()
      inner.append(contentsOf: s[start..<end])
      let expression: Expression
      do throws(ExpressionError) {
        expression = try Expression.parse(String(inner))
      } catch {
        throw error.shifted(by: start)
      }
      if !literal.isEmpty {
        parts.append(.literal(String(literal)))
        literal = String.UnicodeScalarView()
      }
      parts.append(.expression(expression, offset: start))
      i = end + 2
    }
    if !literal.isEmpty { parts.append(.literal(String(literal))) }
    return Template(source: text, parts: parts)
  }

  /// Every expression and the offset of its text (just after `${{`) inside the template.
  package var expressions: [(expression: Expression, offset: Int)] {
    parts.compactMap { part in
      if case .expression(let e, let offset) = part { return (e, offset) }
      return nil
    }
  }

  /// Every use of run data in any expression, with offsets relative to the template's text.
  package var references: [Reference] {
    expressions.flatMap { item in
      item.expression.references.map { Reference(path: $0.path, offset: $0.offset + item.offset) }
    }
  }

  /// Whether the template has no expressions (its value is its text).
  package var isLiteral: Bool { expressions.isEmpty }

  /// The one expression of a template that is nothing else (whitespace aside), if it is one.
  var soleExpression: (expression: Expression, offset: Int)? {
    var found: (Expression, Int)?
    for part in parts {
      switch part {
      case .literal(let text):
        if !text.unicodeScalars.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) { return nil }
      case .expression(let e, let offset):
        if found != nil { return nil }
        found = (e, offset)
      }
    }
    return found
  }

  /// Evaluates the template: the typed value of a sole expression, else the rendered string.
  /// Errors carry offsets relative to the template's text.
  package func evaluate(_ context: EvaluationContext) throws(ExpressionError) -> Value {
    if let (expression, offset) = soleExpression {
      do throws(ExpressionError) {
        return try expression.evaluate(context)
      } catch {
        throw error.shifted(by: offset)
      }
    }
    var out = ""
    for part in parts {
      switch part {
      case .literal(let text): out += text
      case .expression(let e, let offset):
        do throws(ExpressionError) {
          out += try e.evaluate(context).description
        } catch {
          throw error.shifted(by: offset)
        }
      }
    }
    return .string(out)
  }
}
