import Foundation
import RespondTestSupport
import Testing

@testable import RespondCore

/// Foundation has an `Expression` type of its own; the tests mean ours.
private typealias Expr = RespondCore.Expression

/// The data most tests evaluate against.
private let context = EvaluationContext(
  inputs: [
    "key": "AKIAIOSFODNN7EXAMPLE", "count": 3, "flag": true, "empty": "", "list": ["a", "b"],
    "map": ["x": 1, "y": "two"], "name": "x", "numeric": "10",
  ],
  steps: [
    "identify": ["provider": "aws", "key-id": "AKIAIOSFODNN7EXAMPLE", "checksum-valid": .null, "notes": ["n1", "n2"]]
  ],
  env: ["HOME": "/root"],
  incident: ["id": "20240101T000000Z-key-compromised", "mode": "live"]
)

private func evaluate(_ text: String, _ ctx: EvaluationContext = context) throws -> Value {
  try Expr.parse(text).evaluate(ctx)
}

/// The error parsing `text` throws, or nil when it parses.
private func parseError(_ text: String) -> ExpressionError? {
  do {
    _ = try Expr.parse(text)
    return nil
  } catch {
    return error
  }
}

private func templateError(_ text: String) -> ExpressionError? {
  do {
    _ = try Template.parse(text)
    return nil
  } catch {
    return error
  }
}

private func evaluationError(_ text: String) throws -> ExpressionError? {
  let expression = try Expr.parse(text)
  do {
    _ = try expression.evaluate(context)
    return nil
  } catch {
    return error
  }
}

@Suite("Expressions")
struct ExpressionTests {
  // MARK: - Literals and paths

  @Test func literals() throws {
    #expect(try evaluate("'it''s'") == "it's")
    #expect(try evaluate("''") == "")
    #expect(try evaluate("42") == 42)
    #expect(try evaluate("-1.5") == .number(-1.5))
    #expect(try evaluate("1e3") == 1000)
    #expect(try evaluate("2.5E-1") == .number(0.25))
    #expect(try evaluate("0xff") == 255)
    #expect(try evaluate("true") == true)
    #expect(try evaluate("false") == false)
    #expect(try evaluate("null") == .null)
    #expect(try evaluate("  'spaced'\n") == "spaced")
  }

  @Test func propertyPaths() throws {
    #expect(try evaluate("steps.identify.key-id") == "AKIAIOSFODNN7EXAMPLE")
    #expect(try evaluate("steps.identify.provider") == "aws")
    #expect(try evaluate("inputs.key") == "AKIAIOSFODNN7EXAMPLE")
    #expect(try evaluate("env.HOME") == "/root")
    #expect(try evaluate("incident.mode") == "live")
    #expect(try evaluate("steps.identify.notes[1]") == "n2")
    #expect(try evaluate("steps.identify") == .object(context.steps["identify"]!))
    #expect(try evaluate("inputs") == .object(context.inputs))
    #expect(try evaluate("env") == ["HOME": "/root"])
  }

  @Test func indexAccess() throws {
    #expect(try evaluate("inputs['key']") == "AKIAIOSFODNN7EXAMPLE")
    #expect(try evaluate("steps['identify']['key-id']") == "AKIAIOSFODNN7EXAMPLE")
    #expect(try evaluate("inputs.list[0]") == "a")
    #expect(try evaluate("inputs.list[1.0]") == "b")
    #expect(try evaluate("inputs.map[inputs.name]") == 1)
    #expect(try evaluate("inputs.map['y']") == "two")
    #expect(try evaluate("(inputs.map).y") == "two")
  }

  @Test func missingPropertiesAreNull() throws {
    #expect(try evaluate("steps.skipped.provider") == .null)
    #expect(try evaluate("steps.identify.nothing") == .null)
    #expect(try evaluate("inputs.key.deeper") == .null)
    #expect(try evaluate("inputs.list[5]") == .null)
    #expect(try evaluate("inputs.list[-1]") == .null)
    #expect(try evaluate("inputs.list['a']") == .null)
    #expect(try evaluate("inputs.count[0]") == .null)
    #expect(try evaluate("env.NOPE") == .null)
    #expect(try evaluate("steps.identify.checksum-valid") == .null)
    #expect(try evaluate("steps.skipped.provider == 'aws'") == false)
  }

  @Test func keywordsAreAllowedAsPropertyNames() throws {
    let ctx = EvaluationContext(inputs: ["true": "yes", "null": "n"])
    #expect(try evaluate("inputs.true", ctx) == "yes")
    #expect(try evaluate("inputs.null", ctx) == "n")
  }

  // MARK: - Operators

  @Test func precedence() throws {
    #expect(try evaluate("true || false && false") == true)
    #expect(try evaluate("(true || false) && false") == false)
    #expect(try evaluate("!false == true") == true)
    #expect(try evaluate("!(1 == 1)") == false)
    #expect(try evaluate("1 < 2 == true") == true)
    #expect(try evaluate("1 == 1 && 2 > 1 || false") == true)
    #expect(try evaluate("false || 1 < 2 && 'a' == 'b'") == false)
    #expect(try evaluate("!!inputs.key") == true)
    #expect(try evaluate("!inputs.empty") == true)
    #expect(try evaluate("!steps.skipped.x") == true)
  }

  @Test func logicalOperatorsReturnAnOperand() throws {
    #expect(try evaluate("inputs.empty || 'fallback'") == "fallback")
    #expect(try evaluate("steps.skipped.x || inputs.count") == 3)
    #expect(try evaluate("inputs.count && 'yes'") == "yes")
    #expect(try evaluate("null && 'never'") == .null)
    #expect(try evaluate("'' || 0") == 0)
    #expect(try evaluate("'a' || 'b' || 'c'") == "a")
    #expect(try evaluate("'a' && 'b' && 'c'") == "c")
    #expect(try evaluate("'a' && 0 && 'c'") == 0)
  }

  @Test func equality() throws {
    #expect(try evaluate("'abc' == 'abc'") == true)
    #expect(try evaluate("'abc' == 'ABC'") == false)
    #expect(try evaluate("1 == '1'") == true)
    #expect(try evaluate("'1.0' == 1") == true)
    #expect(try evaluate("inputs.numeric == 10") == true)
    #expect(try evaluate("1 == 'one'") == false)
    #expect(try evaluate("null == null") == true)
    #expect(try evaluate("null == ''") == false)
    #expect(try evaluate("null == 0") == false)
    #expect(try evaluate("true == 'true'") == true)
    #expect(try evaluate("false == 'true'") == false)
    #expect(try evaluate("true == 1") == false)
    #expect(try evaluate("inputs.list == inputs.list") == true)
    #expect(try evaluate("inputs.list == inputs.map") == false)
    #expect(try evaluate("1 != 2") == true)
    #expect(try evaluate("'a' != 'a'") == false)
    #expect(try evaluate("steps.identify.provider == 'aws' && steps.identify.key-id != null") == true)
  }

  @Test func ordering() throws {
    #expect(try evaluate("2 < 10") == true)
    #expect(try evaluate("'10' > '9'") == true)  // numeric strings compare as numbers
    #expect(try evaluate("'2024-01-02T00:00:00Z' > '2024-01-01T23:59:59Z'") == true)
    #expect(try evaluate("'b' >= 'a'") == true)
    #expect(try evaluate("'B' < 'a'") == true)  // by code point
    #expect(try evaluate("1 <= 1") == true)
    #expect(try evaluate("1 >= 2") == false)
    #expect(try evaluate("inputs.count > '2'") == true)
  }

  @Test func orderingErrors() throws {
    #expect(
      try evaluationError("null < 1")
        == ExpressionError("'<' needs two numbers or two strings, got null and number", at: 5))
    #expect(
      try evaluationError("inputs.list >= 1")
        == ExpressionError("'>=' needs two numbers or two strings, got list and number", at: 12))
    #expect(
      try evaluationError("1 > 'abc'")
        == ExpressionError("'>' needs two numbers or two strings, got number and string", at: 2))
    #expect(
      try evaluationError("true <= false")
        == ExpressionError("'<=' needs two numbers or two strings, got boolean and boolean", at: 5))
  }

  // MARK: - Functions

  @Test func contains() throws {
    #expect(try evaluate("contains('hello world', 'o w')") == true)
    #expect(try evaluate("contains('hello', 'H')") == false)
    #expect(try evaluate("contains(inputs.list, 'b')") == true)
    #expect(try evaluate("contains(inputs.list, 'c')") == false)
    #expect(try evaluate("contains(steps.skipped.list, 'c')") == false)
    #expect(try evaluate("contains(steps.identify.notes, 'n1')") == true)
    #expect(try evaluate("contains(12345, 34)") == true)
    #expect(
      try evaluationError("contains(inputs.map, 'x')")
        == ExpressionError("contains() needs a string or a list as its first argument, got map", at: 0))
  }

  @Test func startsWithAndEndsWith() throws {
    #expect(try evaluate("startsWith(inputs.key, 'AKIA')") == true)
    #expect(try evaluate("startsWith(inputs.key, 'akia')") == false)
    #expect(try evaluate("endsWith(inputs.key, 'EXAMPLE')") == true)
    #expect(try evaluate("endsWith('abc', 'b')") == false)
    #expect(try evaluate("startswith('abc', 'a')") == true)  // function names ignore case
    #expect(try evaluate("startsWith(steps.skipped.x, 'a')") == false)
    #expect(
      try evaluationError("endsWith(inputs.list, 'b')")
        == ExpressionError("endsWith() needs a string as its first argument, got list", at: 0))
  }

  @Test func defaultFunction() throws {
    #expect(try evaluate("default(steps.skipped.x, 'none')") == "none")
    #expect(try evaluate("default(inputs.empty, 'none')") == "none")
    #expect(try evaluate("default(inputs.key, 'none')") == "AKIAIOSFODNN7EXAMPLE")
    #expect(try evaluate("default(0, 5)") == 0)
    #expect(try evaluate("default(false, true)") == false)
  }

  @Test func mask() throws {
    #expect(try evaluate("mask('hunter2-secret')") == .string(Masker.fingerprint("hunter2-secret")))
    #expect(try evaluate("mask(inputs.key)") == .string(Masker.fingerprint("AKIAIOSFODNN7EXAMPLE")))
    #expect(try evaluate("mask(null)") == .null)
    #expect(try evaluate("mask(12)") == .string(Masker.fingerprint("12")))
  }

  @Test func format() throws {
    #expect(try evaluate("format('{0} and {1}', 'a', 2)") == "a and 2")
    #expect(try evaluate("format('{1}{0}{1}', 'x', 'y')") == "yxy")
    #expect(try evaluate("format('{{literal}} {0}', null)") == "{literal} ")
    #expect(try evaluate("format('plain')") == "plain")
    #expect(try evaluate("format(inputs.name, 1)") == "x")
    #expect(
      parseError("format('{0} {1}', 1)")
        == ExpressionError("format() has no argument {1} (it was given 1 after the format string)", at: 7))
    #expect(parseError("format('{0', 1)") == ExpressionError("format() string has an unmatched '{'", at: 7))
    #expect(parseError("format('a } b')") == ExpressionError("format() string has an unmatched '}'", at: 7))
    let dynamic = EvaluationContext(inputs: ["f": "{3}"])
    #expect(throws: ExpressionError("format() has no argument {3} (it was given 1 after the format string)", at: 0)) {
      try evaluate("format(inputs.f, 1)", dynamic)
    }
  }

  @Test func join() throws {
    #expect(try evaluate("join(inputs.list)") == "a,b")
    #expect(try evaluate("join(inputs.list, ' + ')") == "a + b")
    #expect(try evaluate("join(steps.identify.notes, '')") == "n1n2")
    #expect(try evaluate("join('single', '-')") == "single")
    #expect(try evaluate("join(null)") == "")
    #expect(
      try evaluationError("join(inputs.map)")
        == ExpressionError("join() needs a list as its first argument, got map", at: 0))
  }

  @Test func toJSON() throws {
    #expect(try evaluate("toJSON(inputs.list)") == #"["a","b"]"#)
    #expect(try evaluate("toJSON(inputs.map)") == #"{"x":1,"y":"two"}"#)
    #expect(try evaluate("toJSON('a/b')") == #""a/b""#)
    #expect(try evaluate("toJSON(null)") == "null")
    #expect(try evaluate("toJSON(1.5)") == "1.5")
  }

  @Test func length() throws {
    #expect(try evaluate("length('héllo')") == 5)
    #expect(try evaluate("length(inputs.list)") == 2)
    #expect(try evaluate("length(inputs.map)") == 2)
    #expect(try evaluate("length(steps.skipped.x)") == 0)
    #expect(
      try evaluationError("length(3)") == ExpressionError("length() needs a string, list or map, got number", at: 0))
  }

  @Test func lowerAndUpper() throws {
    #expect(try evaluate("lower('AKIA Key')") == "akia key")
    #expect(try evaluate("upper('aws')") == "AWS")
    #expect(try evaluate("lower(null)") == "")
    #expect(try evaluate("upper(steps.identify.provider) == 'AWS'") == true)
    #expect(
      try evaluationError("lower(inputs.list)")
        == ExpressionError("lower() needs a string as its first argument, got list", at: 0))
  }

  @Test func functionResultsCanBeIndexed() throws {
    #expect(try evaluate("default(steps.skipped.notes, inputs.list)[1]") == "b")
  }

  // MARK: - References

  @Test func references() throws {
    let e = try Expr.parse("steps.identify.key-id == inputs['key'] && contains(steps.x.list[inputs.i].name, env.HOME)")
    #expect(
      e.references == [
        Reference(path: ["steps", "identify", "key-id"], offset: 0),
        Reference(path: ["inputs", "key"], offset: 25),
        Reference(path: ["steps", "x", "list"], offset: 51),
        Reference(path: ["inputs", "i"], offset: 64),
        Reference(path: ["env", "HOME"], offset: 80),
      ])
    #expect(
      try Expr.parse("inputs.list[0].name").references == [Reference(path: ["inputs", "list", "0", "name"], offset: 0)])
    #expect(try Expr.parse("  inputs").references == [Reference(path: ["inputs"], offset: 2)])
    #expect(try Expr.parse("'steps.x' == format('{0}', 1)").references.isEmpty)
    #expect(e.source == "steps.identify.key-id == inputs['key'] && contains(steps.x.list[inputs.i].name, env.HOME)")
  }

  @Test func referenceOffsetsCountUnicodeScalars() throws {
    // "é" written as e + combining accent is one character but two scalars.
    let e = try Expr.parse("'e\u{301}' == inputs.a")
    #expect(e.references == [Reference(path: ["inputs", "a"], offset: 8)])
  }

  // MARK: - Templates

  @Test func templateWithOneExpressionKeepsItsType() throws {
    #expect(try Template.parse("${{ inputs.count }}").evaluate(context) == 3)
    #expect(try Template.parse("  ${{ inputs.flag }}\n").evaluate(context) == true)
    #expect(try Template.parse("${{ inputs.list }}").evaluate(context) == ["a", "b"])
    #expect(try Template.parse("${{ steps.skipped.x }}").evaluate(context) == .null)
    #expect(try Template.parse("${{inputs.key}}").evaluate(context) == "AKIAIOSFODNN7EXAMPLE")
  }

  @Test func templateInterpolatesStrings() throws {
    let t = try Template.parse("Key ${{ inputs.key }} from ${{ steps.identify.provider }}!")
    #expect(try t.evaluate(context) == "Key AKIAIOSFODNN7EXAMPLE from aws!")
    #expect(try Template.parse("n=${{ inputs.count }}").evaluate(context) == "n=3")
    #expect(try Template.parse("[${{ steps.skipped.x }}]").evaluate(context) == "[]")
    #expect(try Template.parse("${{ inputs.list }} ${{ inputs.flag }}").evaluate(context) == #"["a","b"] true"#)
    #expect(!t.isLiteral)
    #expect(t.expressions.map(\.offset) == [7, 30])
    #expect(t.expressions.map(\.expression.source) == [" inputs.key ", " steps.identify.provider "])
    #expect(
      t.references == [
        Reference(path: ["inputs", "key"], offset: 8), Reference(path: ["steps", "identify", "provider"], offset: 31),
      ])
  }

  @Test func templateLiteralDollars() throws {
    for text in [
      "price: $5", "${HOME} and $PATH", "${ {x} }", "$ {{ not }}", "{{ braces }}", "$", "${", "${{", "a$${", "",
    ] {
      if text == "${{" {
        #expect(templateError(text) == ExpressionError("unterminated '${{': expected '}}'", at: 0))
        continue
      }
      let t = try Template.parse(text)
      #expect(t.isLiteral, "\(text)")
      #expect(t.references.isEmpty)
      #expect(try t.evaluate(context) == .string(text))
    }
    #expect(try Template.parse("$${{ inputs.count }}").evaluate(context) == "$3")
    #expect(try Template.parse("${{ inputs.count }}}").evaluate(context) == "3}")
  }

  @Test func templateClosingBracesInsideStrings() throws {
    #expect(try Template.parse("${{ '}}' }}").evaluate(context) == "}}")
    #expect(try Template.parse("a ${{ format('{{{0}}}', 1) }} b").evaluate(context) == "a {1} b")
    #expect(try Template.parse("${{ 'it''s }}' }}").evaluate(context) == "it's }}")
  }

  @Test func templateErrorsAreRelativeToTheTemplate() throws {
    #expect(templateError("a ${{ inputs.x ") == ExpressionError("unterminated '${{': expected '}}'", at: 2))
    #expect(
      templateError("ok ${{ inputs.x }} then ${{ foo }}")
        == ExpressionError(
          "unknown name 'foo': expressions can use inputs, steps, env, configured, incident and provider", at: 28))
    #expect(templateError("x ${{ }}") == ExpressionError("empty expression", at: 5))
    #expect(templateError("${{ don't }}") == ExpressionError("unterminated string", at: 7))
    let t = try Template.parse("n: ${{ inputs.list < 1 }}")
    #expect(throws: ExpressionError("'<' needs two numbers or two strings, got list and number", at: 19)) {
      try t.evaluate(context)
    }
    let interpolated = try Template.parse("n: ${{ 1 }} ${{ inputs.list < 1 }}")
    #expect(throws: ExpressionError("'<' needs two numbers or two strings, got list and number", at: 28)) {
      try interpolated.evaluate(context)
    }
  }

  // MARK: - Errors

  @Test(
    arguments: [ErrorCase]([
      ErrorCase("", "empty expression", 0),
      ErrorCase("   ", "empty expression", 0),
      ErrorCase("inputs.key ==", "expected an expression", 13),
      ErrorCase("'abc", "unterminated string", 0),
      ErrorCase("inputs.a = 'x'", "unexpected '=': use '==' to compare", 9),
      ErrorCase("inputs.a & inputs.b", "unexpected '&': use '&&'", 9),
      ErrorCase("inputs.a | inputs.b", "unexpected '|': use '||'", 9),
      ErrorCase("\"double\"", "unexpected '\"': strings use single quotes", 0),
      ErrorCase(
        "foo.bar", "unknown name 'foo': expressions can use inputs, steps, env, configured, incident and provider", 0),
      ErrorCase(
        "inputs.a == secrets.b",
        "unknown name 'secrets': expressions can use inputs, steps, env, configured, incident and provider", 12),
      ErrorCase(
        "fromJSON(inputs.a)",
        "unknown function 'fromJSON': expressions can call contains, startsWith, endsWith, default, mask, format, "
          + "join, toJSON, length, lower, upper",
        0
      ),
      ErrorCase("startsWith('a')", "startsWith() takes 2 arguments, got 1", 0),
      ErrorCase("true || mask()", "mask() takes 1 argument, got 0", 8),
      ErrorCase("join(1, 2, 3)", "join() takes 1 or 2 arguments, got 3", 0),
      ErrorCase("format()", "format() takes at least 1 argument, got 0", 0),
      ErrorCase("(inputs.a", "expected ')'", 9),
      ErrorCase("contains(inputs.a 'b')", "expected ',' or ')'", 18),
      ErrorCase("inputs.a inputs.b", "expected end of expression, found 'inputs'", 9),
      ErrorCase("inputs.a)", "expected end of expression, found ')'", 8),
      ErrorCase("inputs.", "expected a property name after '.'", 7),
      ErrorCase("inputs.0", "expected a property name after '.'", 7),
      ErrorCase("inputs.list[0", "expected ']'", 13),
      ErrorCase("inputs[]", "expected an expression, found ']'", 7),
      ErrorCase("inputs.a # x", "unexpected character '#'", 9),
      ErrorCase("inputs.\u{E9}", "unexpected character U+00E9", 7),
      ErrorCase("inputs.a == \u{0}", "unexpected character U+0000", 12),
      ErrorCase("1.", "invalid number", 0),
      ErrorCase("12abc", "invalid number", 0),
      ErrorCase("1e", "invalid number", 0),
      ErrorCase("0x", "invalid number", 0),
      ErrorCase("== 1", "expected an expression, found '=='", 0),
      ErrorCase("!", "expected an expression", 1),
    ]))
  func parseErrors(_ c: ErrorCase) {
    #expect(parseError(c.text) == ExpressionError(c.message, at: c.offset))
  }

  @Test func nestingIsLimited() throws {
    let fine = String(repeating: "(", count: 64) + "1" + String(repeating: ")", count: 64)
    #expect(try evaluate(fine) == 1)
    let deep = String(repeating: "(", count: 65) + "1" + String(repeating: ")", count: 65)
    #expect(parseError(deep) == ExpressionError("expression nested too deeply", at: 64))
    #expect(
      parseError(String(repeating: "!", count: 65) + "true") == ExpressionError("expression nested too deeply", at: 64))
    #expect(try evaluate(String(repeating: "!", count: 64) + "true") == true)
    let calls = String(repeating: "lower(", count: 100) + "'x'" + String(repeating: ")", count: 100)
    #expect(parseError(calls) == ExpressionError("expression nested too deeply", at: 6 * 64 + 5))
    let indexes = String(repeating: "inputs[", count: 100) + "'x'" + String(repeating: "]", count: 100)
    #expect(parseError(indexes)?.message == "expression nested too deeply")
  }

  @Test func lengthIsLimited() throws {
    let longest = "'" + String(repeating: "a", count: Expr.maximumLength - 2) + "'"
    #expect(try evaluate(longest).stringValue?.count == Expr.maximumLength - 2)
    let tooLong = longest + " "
    #expect(
      parseError(tooLong) == ExpressionError("expression too long (4097 characters; the limit is 4096)", at: 4096))
  }

  @Test func longOperatorChainsDoNotRecurse() throws {
    let ors = Array(repeating: "null", count: 500).joined(separator: " || ") + " || 'last'"
    #expect(ors.unicodeScalars.count <= Expr.maximumLength)
    #expect(try evaluate(ors) == "last")
    let ands = Array(repeating: "1 == 1", count: 400).joined(separator: " && ")
    #expect(try evaluate(ands) == true)
    let chain = Array(repeating: "1", count: 1300).joined(separator: "==")
    #expect(try evaluate(chain) == false)  // (1 == 1) == 1 is true == 1, which is false
  }

  @Test func errorDescriptionIsTheMessage() {
    #expect(ExpressionError("expected ')'", at: 3).description == "expected ')'")
  }

  // MARK: - Robustness

  /// Tens of thousands of random token soups and random Unicode strings: parsing never crashes or
  /// hangs, and whatever parses also evaluates (to a value or an ExpressionError).
  @Test func randomInputNeverCrashes() throws {
    var rng = SplitMix64(seed: 0x5EED_1234)
    let fragments = [
      "inputs", "steps", "env", "incident", "identify", "key-id", ".", "[", "]", "(", ")", ",", "!", "<", "<=", ">",
      ">=", "==", "!=", "&&", "||", "=", "&", "|", "'", "''", "'x'", "0", "-1", "1.5", "0x1f", "1e9", "true", "false",
      "null", "contains", "startsWith", "endsWith", "default", "mask", "format", "join", "toJSON", "length", "lower",
      "upper", "'{0}'", "'{'", "${{", "}}", "$", "{", "}", " ", "\n", "\t", "é", "\u{301}", "\u{0}", "🙂", "\u{FEFF}",
      "list", "a-b", "_", "-", "foo",
    ]
    let soupContext = EvaluationContext(
      inputs: ["list": [1, "a", ["x": true]], "a-b": "v"], steps: ["identify": ["key-id": "AKIA", "list": [1, 2]]],
      env: ["HOME": "/"], incident: ["id": "i"])
    let start = ContinuousClock.now
    var parsed = 0
    for round in 0..<40_000 {
      var text = ""
      if round % 4 == 2 {
        // a grammatical expression, sometimes with one character changed
        text = randomExpression(&rng, depth: 0)
        if rng.next() % 2 == 0, !text.isEmpty {
          var scalars = Array(text.unicodeScalars)
          let at = Int(rng.next() % UInt64(scalars.count))
          let replacement = fragments[Int(rng.next() % UInt64(fragments.count))].unicodeScalars
          scalars.replaceSubrange(at...at, with: rng.next() % 3 == 0 ? [] : Array(replacement))
          text = String(String.UnicodeScalarView(scalars))
        }
      } else if round % 4 == 3 {
        // random scalars, any plane
        for _ in 0..<Int(rng.next() % 40) {
          let v = UInt32(rng.next() % 0x11_0000)
          if let scalar = Unicode.Scalar(v) { text.unicodeScalars.append(scalar) }
        }
      } else {
        for _ in 0..<Int(rng.next() % 24) {
          text += fragments[Int(rng.next() % UInt64(fragments.count))]
          if rng.next() % 3 == 0 { text += " " }
        }
      }
      if let e = try? Expr.parse(text) {
        parsed += 1
        _ = try? e.evaluate(soupContext)
        for reference in e.references { #expect(reference.offset >= 0 && reference.offset < text.unicodeScalars.count) }
      } else {
        do {
          _ = try Expr.parse(text)
        } catch {
          #expect(error.offset >= 0 && error.offset <= text.unicodeScalars.count, "\(error)")
          #expect(!error.message.isEmpty)
        }
      }
      if let t = try? Template.parse(text) { _ = try? t.evaluate(soupContext) }
      _ = try? Template.parse("x ${{ " + text + " }} y")
    }
    #expect(parsed > 1000, "the generator should produce valid expressions too (got \(parsed))")
    #expect(ContinuousClock.now - start < .seconds(60))
  }

  @Test func hostileInputsAreBounded() throws {
    let n = Expr.maximumLength
    let hostile = [
      String(repeating: "(", count: n), String(repeating: "!", count: n), String(repeating: "[", count: n),
      String(repeating: "'", count: n - 1), String(repeating: "'", count: n), String(repeating: "a.", count: n / 2),
      String(repeating: "inputs[", count: n / 7), String(repeating: "lower(", count: n / 6),
      String(repeating: "x", count: n), String(repeating: "9", count: n), String(repeating: "-", count: n),
      String(repeating: "1 < ", count: n / 4 - 1) + "1", String(repeating: "🙂", count: n),
    ]
    let start = ContinuousClock.now
    for text in hostile {
      _ = try? Expr.parse(text)
      _ = try? Template.parse("${{" + text + "}}")
      _ = try? Template.parse(String(repeating: "${{", count: 10_000))
    }
    let big = String(repeating: "${{ inputs.count }} ", count: 5_000)
    #expect(try Template.parse(big).evaluate(context).stringValue?.count == 10_000)
    #expect(ContinuousClock.now - start < .seconds(30))
  }
}

/// A random expression from the grammar (paths, literals, operators, calls), for the fuzz test.
private func randomExpression(_ rng: inout SplitMix64, depth: Int) -> String {
  let leaves = [
    "inputs.list", "inputs['a-b']", "steps.identify.key-id", "steps.identify.list[1]", "env.HOME", "incident.id",
    "steps.nope.x", "'text'", "''", "42", "-0.5", "true", "null", "inputs",
  ]
  if depth > 4 || rng.next() % 3 == 0 { return leaves[Int(rng.next() % UInt64(leaves.count))] }
  let a = randomExpression(&rng, depth: depth + 1)
  let b = randomExpression(&rng, depth: depth + 1)
  switch rng.next() % 12 {
  case 0: return "(\(a))"
  case 1: return "!\(a)"
  case 2: return "\(a) == \(b)"
  case 3: return "\(a) != \(b)"
  case 4: return "\(a) < \(b)"
  case 5: return "\(a) && \(b)"
  case 6: return "\(a) || \(b)"
  case 7: return "contains(\(a), \(b))"
  case 8: return "format('{0}-{1}', \(a), \(b))"
  case 9: return "default(\(a), \(b))"
  case 10: return "\(a)[\(b)]"
  default:
    let unary = ["length", "toJSON", "lower", "mask", "join"]
    return unary[Int(rng.next() % UInt64(unary.count))] + "(\(a))"
  }
}

/// One expected parse error: the text, the exact message and its offset.
struct ErrorCase: Sendable, CustomTestStringConvertible {
  var text: String
  var message: String
  var offset: Int

  init(_ text: String, _ message: String, _ offset: Int) {
    self.text = text
    self.message = message
    self.offset = offset
  }

  var testDescription: String { text.debugDescription }
}
