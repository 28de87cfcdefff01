import Testing

@testable import RespondCore

/// Every kind of mistake `validate` must catch, with its exact text and location.
@Suite struct ValidationTests {
  let registry = ActionRegistry([
    ScriptedAction(
      "key.identify", parameters: [ParameterSpec("key", required: true)],
      outputs: [OutputSpec("provider"), OutputSpec("key-id")]),
    ScriptedAction(
      "aws.iam.update-access-key", mutates: true,
      parameters: [
        ParameterSpec("access-key-id", required: true),
        ParameterSpec("status", required: true, allowed: ["Active", "Inactive"]),
        ParameterSpec("attempts", .integer),
      ]),
    ScriptedAction(
      "http", parameters: [ParameterSpec("url", required: true), ParameterSpec("outputs", .map)],
      outputs: [OutputSpec("status")]),
  ])

  @Test func aGoodRunbookHasNoDiagnostics() {
    let yaml = """
      runbook: ok
      inputs:
        key: { required: true, secret: true }
      phases:
        detect:
          - id: identify
            action: key.identify
            with: { key: "${{ inputs.key }}" }
        contain:
          - id: off
            action: aws.iam.update-access-key
            when: steps.identify.provider == 'aws'
            with: { access-key-id: "${{ steps.identify.key-id }}", status: Inactive }
          - id: call
            action: http
            with: { url: "https://x.example/", outputs: { user-id: /id } }
          - id: use
            action: http
            verifies: off
            with: { url: "https://x.example/${{ steps.call.user-id }}" }
      """
    #expect(diagnostics(yaml, registry: registry) == [])
  }

  /// CONTAINED rests on proof: a contain-phase change nobody verifies, a verification that
  /// changes state, one that names a later or unknown step, or one outside the contain phase.
  @Test func everyContainmentChangeNeedsAVerification() {
    let yaml = """
      runbook: unproved
      phases:
        contain:
          - id: check-first
            action: http
            verifies: off
            with: { url: "https://x.example/" }
          - id: off
            action: aws.iam.update-access-key
            with: { access-key-id: AKIAIOSFODNN7EXAMPLE, status: Inactive }
          - id: revoke
            action: aws.iam.update-access-key
            with: { access-key-id: AKIAIOSFODNN7EXAMPLE, status: Inactive }
          - id: changer
            action: aws.iam.update-access-key
            verifies: [revoke, revoek]
            with: { access-key-id: AKIAIOSFODNN7EXAMPLE, status: Inactive }
        investigate:
          - id: late
            action: http
            verifies: off
            with: { url: "https://x.example/" }
      """
    #expect(
      diagnostics(yaml, registry: registry) == [
        "rb.yaml:6:17: error: step 'check-first' verifies 'off', which runs after it",
        "rb.yaml:15:15: error: contain step 'changer' changes state but no step verifies it: add a read or 'check' "
          + "step after it with 'verifies: changer' that proves the credential is dead",
        "rb.yaml:16:17: error: step 'changer' verifies unknown step 'revoek'; did you mean 'revoke'?",
        "rb.yaml:16:17: error: step 'changer': a verification must only read (aws.iam.update-access-key changes state)",
        "rb.yaml:21:17: error: step 'late': 'verifies' belongs on a contain-phase step",
      ])
  }

  @Test func structuralMistakesAreEachLocated() {
    let yaml = """
      runbook: bad
      colour: blue
      phases:
        detect:
          - id: identify
            action: key.identfy
            with: { key: x }
          - id: identify
            action: key.identify
            with: { key: x, extra: 1 }
          - id: two
            action: aws.iam.update-access-key
            with: { status: Sleeping, attempts: [1] }
            retry: { attempts: 99 }
            timeout: soon
            approval: maybe
        cleanup:
          - id: x
            action: key.identify
      """
    #expect(
      diagnostics(yaml, registry: registry) == [
        "rb.yaml:2:1: error: unknown key 'colour' in runbook; expected one of: runbook, description, inputs, env, "
          + "phases, on-stop, report, drill, dispatch, provided",
        "rb.yaml:6:15: error: unknown action 'key.identfy'; did you mean 'key.identify'? (`respond actions` lists them)",
        "rb.yaml:8:11: error: duplicate step id 'identify' (first defined at line 5)",
        "rb.yaml:10:23: error: step 'identify': action key.identify has no parameter 'extra'",
        "rb.yaml:11:11: error: step 'two': action aws.iam.update-access-key requires parameter 'access-key-id'",
        "rb.yaml:13:15: error: step 'two': parameter 'status' of aws.iam.update-access-key must be one of Active, Inactive, found 'Sleeping'",
        "rb.yaml:13:33: error: step 'two': parameter 'attempts' of aws.iam.update-access-key must be an integer, found a list",
        "rb.yaml:14:26: error: 'attempts' must be a whole number from 1 to 20",
        "rb.yaml:15:16: error: 'timeout' must be a positive duration like 30s, 500ms, 2m or 1h, found 'soon'",
        "rb.yaml:16:17: error: 'approval' must be 'required', 'two-person' or 'none', found 'maybe'",
        "rb.yaml:17:3: error: unknown phase 'cleanup'; phases are detect, contain, investigate, recover, notify, document",
      ])
  }

  /// A drill's target is a duration; anything else under `drill:` is a located mistake.
  @Test func drillTargetIsADurationAndNothingElse() throws {
    let bad = """
      runbook: drill
      drill: { target: soon, goal: 1m }
      phases:
        detect:
          - id: identify
            action: key.identify
            with: { key: x }
      """
    #expect(
      diagnostics(bad, registry: registry) == [
        "rb.yaml:2:18: error: 'drill: target' must be a positive duration like 30s, 500ms, 2m or 1h, found 'soon'",
        "rb.yaml:2:24: error: unknown key 'goal' in 'drill'; expected one of: target",
      ])
    let good = bad.replacingOccurrences(of: "{ target: soon, goal: 1m }", with: "{ target: 90s }")
    #expect(diagnostics(good, registry: registry) == [])
  }

  @Test func referenceMistakesAreLocatedInsideTheExpression() {
    let yaml = """
      runbook: refs
      inputs:
        key: { required: true }
      phases:
        detect:
          - id: identify
            action: key.identify
            with: { key: "${{ inputs.kee }}" }
          - id: early
            action: key.identify
            with: { key: "${{ steps.later.provider }}" }
          - id: wrong-output
            action: key.identify
            with: { key: "${{ steps.identify.owner }}" }
          - id: envs
            action: key.identify
            with: { key: "${{ env.GITHUB_TOKEN }}" }
          - id: syntax
            action: key.identify
            with: { key: "${{ inputs.key == }}" }
          - id: nobody
            action: key.identify
            when: steps.ghost.provider == 'aws'
            with: { key: x }
        contain:
          - id: later
            action: key.identify
            with: { key: "${{ incident.colour }}" }
      """
    #expect(
      diagnostics(yaml, registry: registry) == [
        "rb.yaml:8:25: error: undefined input 'kee'; did you mean 'key'?",
        "rb.yaml:11:25: error: step 'later' has not run yet at this point (it runs later, in phase contain)",
        "rb.yaml:14:25: error: step 'identify' (key.identify) has no output 'owner'; its outputs are key-id, provider",
        "rb.yaml:17:25: error: env 'GITHUB_TOKEN' is not declared in the runbook's 'env' list",
        "rb.yaml:20:39: error: invalid expression: expected an expression",
        "rb.yaml:23:13: error: unknown step 'ghost'",
        "rb.yaml:28:25: error: unknown incident field 'colour'; fields are id, runbook, started-at, mode, directory, "
          + "verdict, verdict-reason, stopped-at, stop-reason, resume-command",
      ])
  }

  @Test func yamlSyntaxAndDuplicateKeysAndMissingNameAreReported() {
    #expect(diagnostics("runbook: [unclosed\nphases: {}\n", registry: registry).first?.hasPrefix("rb.yaml:2:") == true)
    #expect(
      diagnostics("runbook: a\nrunbook: b\nphases: {}\n", registry: registry)
        == ["rb.yaml:1:1: error: duplicate key 'runbook'"])
    #expect(
      diagnostics("description: x\nphases:\n  detect: []\n", registry: registry)
        == [
          "rb.yaml:1:1: error: missing required key 'runbook' (the runbook's name)",
          "rb.yaml:1:1: error: runbook has no steps",
        ])
  }

  @Test func anchorsAndAliasesAreRefused() {
    let yaml = """
      runbook: a
      phases:
        detect:
          - &s { id: one, action: key.identify, with: { key: x } }
          - *s
      """
    #expect(
      diagnostics(yaml, registry: registry) == [
        "rb.yaml:4:7: error: YAML anchors and aliases are not allowed in runbooks"
      ])
    // `&&` in a condition is not an anchor.
    let ok =
      "runbook: a\nphases:\n  detect:\n    - id: one\n      action: key.identify\n      when: inputs.a && inputs.b\n      with: { key: x }\n"
    #expect(!diagnostics(ok, registry: registry).contains { $0.contains("anchors") })
  }

  @Test func anchorsAreLocatedByCharacterAndIgnoredInQuotesAndComments() {
    // The column counts characters, not bytes, after a multi-byte one.
    let yaml = "runbook: a\ndescription: é x &anchor\nphases:\n  detect: []\n"
    #expect(RunbookLoader.firstAnchorOrAlias(in: yaml)! == (2, 18))
    #expect(RunbookLoader.firstAnchorOrAlias(in: "a: 'x &y'\nb: \"*z\" # &c\n# *d\n") == nil)
    #expect(RunbookLoader.firstAnchorOrAlias(in: "a: x *é\n")! == (1, 6))
    #expect(RunbookLoader.firstAnchorOrAlias(in: "a: x *✓\n") == nil)
    #expect(RunbookLoader.firstAnchorOrAlias(in: "a: 1\r\nb: &c 2\r\n")! == (2, 4))
  }

  @Test func plainScalarsAreBooleansAndNumbersAsInYAML11() {
    for t in ["true", "True", "TRUE", "yes", "on", "ON"] { #expect(PlainScalar.bool(t) == true, "\(t)") }
    for f in ["false", "No", "off", "OFF"] { #expect(PlainScalar.bool(f) == false, "\(f)") }
    for s in ["tRue", "y", "1", ""] { #expect(PlainScalar.bool(s) == nil, "\(s)") }
    let numbers: [(String, Double)] = [
      ("3", 3), ("-2", -2), ("+7", 7), ("1_000", 1000), ("2.5", 2.5), (".5", 0.5),
      ("1.5e3", 1500), ("6.02E-2", 0.0602),
    ]
    for (text, value) in numbers { #expect(PlainScalar.number(text) == value, "\(text)") }
    for s in ["1e5", "AKIA123", "1.2.3", "-", "_1", "1e", "10s", "0x1F", "2026-11-23"] {
      #expect(PlainScalar.number(s) == nil, "\(s)")
    }
  }
}
