import RespondActions
import Testing

@testable import RespondCore

@Suite struct RunbookInvocationTests {
  let inputs = [
    InputSpec(
      name: "key", description: "the key", required: true, defaultValue: nil, secret: true, pattern: nil,
      location: SourceLocation(file: "x", line: 1, column: 1)),
    InputSpec(
      name: "vault-path", description: "", required: false, defaultValue: nil, secret: false,
      pattern: "[a-z0-9/_-]+", location: SourceLocation(file: "x", line: 1, column: 1)),
  ]

  @Test func parsesInputsAndOwnFlags() throws {
    let inv = try RunbookInvocation.parse(
      ["--key", "AKIA1", "--vault-path=secret/ci", "--dry-run", "--yes", "--out", "/tmp/x"], inputs: inputs)
    #expect(inv.inputs == ["key": "AKIA1", "vault-path": "secret/ci"])
    #expect(inv.dryRun && inv.yes)
    #expect(inv.out == "/tmp/x")
  }

  @Test func unknownFlagSuggestsTheNearestInput() {
    #expect(throws: UsageError.self) { try RunbookInvocation.parse(["--vault-pth", "x"], inputs: inputs) }
    do {
      _ = try RunbookInvocation.parse(["--vault-pth", "x"], inputs: inputs)
    } catch {
      #expect("\(error)" == "unknown option --vault-pth; did you mean --vault-path?")
    }
  }

  @Test func missingRequiredInputAndBadPatternAndControlCharactersAreRefused() throws {
    let none = try RunbookInvocation.parse([], inputs: inputs)
    #expect(throws: UsageError.self) { try none.checkInputs(inputs) }
    let bad = try RunbookInvocation.parse(["--key", "k", "--vault-path", "../etc?x#y"], inputs: inputs)
    #expect(throws: UsageError.self) { try bad.checkInputs(inputs) }
    let nl = try RunbookInvocation.parse(["--key", "a\nb"], inputs: inputs)
    #expect(throws: UsageError.self) { try nl.checkInputs(inputs) }
    #expect(throws: UsageError.self) { try RunbookInvocation.parse(["--key"], inputs: inputs) }
    #expect(throws: UsageError.self) { try RunbookInvocation.parse(["stray"], inputs: inputs) }
  }

  /// A pretty-printed JSON key file (a Google Cloud service-account key) becomes one line; any
  /// other text, and a JSON object already on one line, is left as it is.
  @Test func aJSONKeyFileIsReadAsOneLine() {
    let pretty = "{\n  \"type\": \"service_account\",\n  \"private_key\": \"-----BEGIN\\nX\\n\"\n}"
    let one = RunbookInvocation.oneLine(pretty)
    #expect(!one.contains("\n"))
    #expect(Value.parseJSON(one) == Value.parseJSON(pretty))
    #expect(RunbookInvocation.oneLine("two\nlines") == "two\nlines")
    #expect(RunbookInvocation.oneLine(#"{"a": 1}"#) == #"{"a": 1}"#)
  }

  /// Whether a secret input given inline deserves the warning is the formats' answer: an access
  /// key id alone names a key and is no secret; the core knows no format of its own.
  @Test func anInlineSecretIsWarnedAboutUnlessItsFormatIsPublic() throws {
    let id = try RunbookInvocation.parse(["--key", "AKIAIOSFODNN7EXAMPLE"], inputs: inputs)
    #expect(id.secretsGivenInline(inputs, formats: KeyCatalogue()) == [])
    #expect(id.secretsGivenInline(inputs, formats: NoCredentialFormats()) == ["key"])
    let token = try RunbookInvocation.parse(["--key", "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234"], inputs: inputs)
    #expect(token.secretsGivenInline(inputs, formats: KeyCatalogue()) == ["key"])
  }
}
