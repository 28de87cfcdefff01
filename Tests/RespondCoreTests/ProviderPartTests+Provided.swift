import Foundation
import RespondTestSupport
import Testing

@testable import RespondCore

/// What a part hands its host: `provides:` values the host reads as `${{ provider.NAME }}` (the
/// dispatched provider's, never another's), and report facts shown only for that provider. The
/// host names no provider's step.
extension ProviderPartTests {
  static let providedHost = """
    runbook: host
    dispatch: ${{ steps.identify.provider }}
    provided: [owner]
    inputs:
      key: { required: true, secret: true }
    phases:
      detect:
        - id: identify
          action: t.identify
          with: { key: "${{ inputs.key }}" }
      contain:
        - provider-steps: contain
        - id: by-hand
          action: t.tell
          with: { key: "${{ provider.owner }}" }
    report:
      facts:
        Owner: ${{ default(provider.owner, 'unknown') }}

    """

  /// Read-only actions only: the parts' steps need no verification here.
  static let providedRegistry = ActionRegistry([
    ScriptedAction("t.identify", parameters: [ParameterSpec("key")], outputs: [OutputSpec("provider", "")]),
    ScriptedAction("t.look", parameters: [ParameterSpec("key")], outputs: [OutputSpec("status", "")]),
    ScriptedAction("t.tell", parameters: [ParameterSpec("key")]),
  ])

  static func part(_ name: String, provides: String = "owner: ${{ steps.NAME-revoke.status }}") -> String {
    """
    provides:
      \(provides)
    facts:
      Revoked (NAME): ${{ steps.NAME-revoke.status }}
    steps:
      contain:
        - id: NAME-revoke
          action: t.look
          with: { key: "${{ inputs.key }}" }

    """.replacingOccurrences(of: "NAME", with: name)
  }

  func loadProvided(host: String = providedHost, acme: String = part("acme"), beta: String = part("beta")) throws
    -> (Runbook?, [String])
  {
    try write("host.yaml", host)
    try write("providers/acme/response.yaml", acme)
    try write("providers/beta/response.yaml", beta)
    let (rb, problems) = RunbookLoader().load(path: root + "/host.yaml")
    let all = problems + (rb.map { RunbookValidator(registry: Self.providedRegistry).validate($0) } ?? [])
    return (rb, all.sorted().map { $0.description.replacingOccurrences(of: root + "/", with: "") })
  }

  static func context(dispatched provider: String) -> EvaluationContext {
    EvaluationContext(steps: [
      "identify": ["provider": .string(provider)], "acme-revoke": ["status": 204], "beta-revoke": ["status": 202],
    ])
  }

  @Test func aProvidedValueIsTheDispatchedProvidersOwn() throws {
    let (loaded, problems) = try loadProvided()
    #expect(problems.isEmpty, "\(problems)")
    let rb = try #require(loaded)
    let owner = try #require(rb.report.facts.first { $0.0 == "Owner" }?.1)
    let handed = try #require(rb.step("by-hand")?.with.first?.1)
    for (provider, expected) in [("acme", Value.number(204)), ("beta", .number(202)), ("aws", .string("unknown"))] {
      #expect(try owner.evaluate(Self.context(dispatched: provider)) == expected, "\(provider)")
    }
    #expect(try handed.evaluate(Self.context(dispatched: "aws")) == .null, "no part provides it: null")
    // The host's text is kept as written; what it reads is every part's steps, for ordering.
    let when = try #require(handed.templates.first?.0)
    #expect(when.source == "${{ provider.owner }}")
    #expect(StepPolicy.dependencies(in: [when]) == ["identify", "acme-revoke", "beta-revoke"])
  }

  @Test func aPartsFactsAreShownOnlyForItsProvider() throws {
    let (loaded, _) = try loadProvided()
    let report = try #require(loaded).report
    #expect(report.facts.map(\.0) == ["Owner"], "parts' facts are not the host's")
    #expect(report.facts(dispatched: .string("beta")).map(\.0) == ["Owner", "Revoked (beta)"])
    #expect(report.facts(dispatched: .string("aws")).map(\.0) == ["Owner"])
    #expect(report.facts(dispatched: nil).map(\.0) == ["Owner"])
  }

  @Test func readingAnUndeclaredValueIsLocatedInTheHost() throws {
    let (_, problems) = try loadProvided(
      host: Self.providedHost.replacingOccurrences(
        of: "with: { key: \"${{ provider.owner }}\" }", with: "with: { key: \"${{ provider.ownr }}\" }"))
    #expect(
      problems.contains("host.yaml:15:25: error: unknown provided value 'ownr'; the runbook declares: owner"),
      "\(problems)")
  }

  @Test func providingAnUndeclaredValueIsLocatedInThePart() throws {
    let (_, problems) = try loadProvided(beta: Self.part("beta", provides: "colour: ${{ steps.beta-revoke.status }}"))
    #expect(
      problems.contains(
        "providers/beta/response.yaml:2:14: error: runbook 'host' reads no provided value 'colour'; it declares: owner"),
      "\(problems)")
  }

  @Test func aProvidedValueMustBeOneExpressionOfKnownSteps() throws {
    let (_, text) = try loadProvided(acme: Self.part("acme", provides: "owner: the owner"))
    #expect(
      text.contains(
        "providers/acme/response.yaml:2:10: error: provided value 'owner' must be one expression, e.g. ${{ steps.lookup.owner }}"
      ), "\(text)")
    let (_, unknown) = try loadProvided(acme: Self.part("acme", provides: "owner: ${{ steps.acme-revok.status }}"))
    #expect(unknown.contains("providers/acme/response.yaml:2:14: error: unknown step 'acme-revok'"), "\(unknown)")
  }

  /// A value read before the step that provides it has run is an error where the host reads it.
  @Test func aProvidedValueReadTooEarlyIsLocatedInTheHost() throws {
    let early = Self.providedHost.replacingOccurrences(
      of: "with: { key: \"${{ inputs.key }}\" }", with: "with: { key: \"${{ provider.owner }}\" }")
    let (_, problems) = try loadProvided(host: early)
    #expect(
      problems.contains { $0.hasPrefix("host.yaml:10:25: error: step 'acme-revoke' has not run yet at this point") },
      "\(problems)")
  }

  /// The shipped runbook names no provider part's step, AWS's included: what it needs from one
  /// it reads as `provider.NAME`, and the dispatched provider's replacement is what the stores
  /// and the found copies get, nobody else's.
  @Test func keyCompromisedReadsNoPartsStepByID() throws {
    let folder = TestServices.repositoryRoot() + "/Runbooks"
    let (parts, partProblems) = RunbookLoader().loadProviderParts(folder: folder + "/providers")
    #expect(partProblems.isEmpty, "\(partProblems)")
    let partSteps = Set(parts.flatMap { $0.slots.flatMap(\.steps) }.map(\.id))
    #expect(partSteps.isSuperset(of: ["owner", "deactivate", "triage", "cloudtrail", "activity", "create"]))
    // The host as written, before any part is placed in it.
    let text = try String(contentsOfFile: folder + "/key-compromised.yaml", encoding: .utf8)
    let host = try #require(RunbookLoader().load(text: text, file: "key-compromised.yaml").0)
    for step in host.steps + host.onStop {
      let read = Set(StepPolicy.dependencies(in: step.templates)).intersection(partSteps)
      #expect(read.isEmpty, "key-compromised.yaml's step \(step.id) reads \(read.sorted())")
    }
    let facts = host.report.facts.flatMap(\.1.templates).map(\.0)
    #expect(Set(StepPolicy.dependencies(in: facts)).isDisjoint(with: partSteps), "a report fact reads a part's step")
    let (loaded, problems) = RunbookLoader().load(path: folder + "/key-compromised.yaml")
    #expect(!problems.hasErrors, "\(problems)")
    let rb = try #require(loaded)
    func parameter(_ step: String, _ name: String) throws -> TemplateValue {
      try #require(rb.step(step)?.with.first { $0.0 == name }?.1)
    }
    // What each provider's own steps minted (only the dispatched provider's steps run).
    let minted: [String: [String: [String: Value]]] = [
      "gitlab": ["gitlab-rotate": ["new-id": "42", "token": "glpat-rotated"]],
      "datadog": ["datadog-create": ["new-id": "dd-new", "key": "dd-key"]],
      "aws": ["create": ["access-key-id": "AKIANEW", "secret-access-key": "new-secret"]],
    ]
    let expected: [(provider: String, replacement: Value, fields: Value, companions: Value)] = [
      ("gitlab", "glpat-rotated", ["token": "glpat-rotated"], .null),
      ("datadog", "dd-key", ["api_key": "dd-key", "key_id": "dd-new"], .null),
      (
        "aws", "AKIANEW", ["access_key_id": "AKIANEW", "secret_access_key": "new-secret"],
        [
          "secret_access_key": "new-secret", "aws_secret_access_key": "new-secret",
          "AWS_SECRET_ACCESS_KEY": "new-secret", "SecretAccessKey": "new-secret",
        ]
      ),
      ("vault", .null, .null, .null),
    ]
    for row in expected {
      var steps = minted[row.provider] ?? [:]
      steps["identify"] = ["provider": .string(row.provider)]
      let context = EvaluationContext(steps: steps)
      for copies in ["replace-vault-copies", "replace-secrets-manager-copies", "replace-ssm-copies"] {
        #expect(try parameter(copies, "replacement").evaluate(context) == row.replacement, "\(row.provider)")
        #expect(try parameter(copies, "companions").evaluate(context) == row.companions, "\(row.provider)")
      }
      for (store, name) in [("store-vault", "fields"), ("store-secrets-manager", "fields"), ("store-ssm", "fields")] {
        #expect(try parameter(store, name).evaluate(context) == row.fields, "\(store) for \(row.provider)")
      }
    }
  }
}
