import Foundation
import Testing

@testable import RespondCore

/// Issue 15 item 1: a provider folder's `response.yaml` is its part of a composed runbook. The
/// host places the parts (`- provider-steps: contain`) and names its `dispatch` once; each placed
/// step runs only for its folder, is validated like the host's own, and is located in its file.
@Suite struct ProviderPartTests {
  let root = temporaryDirectory()

  static let host = """
    runbook: host
    dispatch: ${{ steps.identify.provider }}
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
          action: t.manual
          when: ${{ incident.verdict != 'CONTAINED' }}

    """

  static let acme = """
    inputs:
      acme-project: { description: the project }
    steps:
      contain:
        - id: acme-revoke
          action: t.revoke
          with: { key: "${{ inputs.key }}", project: "${{ inputs.acme-project }}" }
        - id: acme-dead
          action: t.read
          when: ${{ steps.acme-revoke.status == 204 }}
          verifies: acme-revoke

    """

  static let registry = ActionRegistry([
    ScriptedAction("t.identify", parameters: [ParameterSpec("key")], outputs: [OutputSpec("provider", "")]),
    ScriptedAction("t.manual"),
    ScriptedAction(
      "t.revoke", mutates: true, parameters: [ParameterSpec("key"), ParameterSpec("project")],
      outputs: [OutputSpec("status", "")]),
    ScriptedAction("t.read"),
  ])

  func write(_ path: String, _ text: String) throws {
    let full = root + "/" + path
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: full, atomically: true, encoding: .utf8)
  }

  /// The host and `acme`'s part loaded and validated: the runbook, and every diagnostic as
  /// `validate` prints it, the temporary folder left out.
  func load(part: String = acme) throws -> (Runbook?, [String]) {
    try write("host.yaml", Self.host)
    try write("providers/acme/response.yaml", part)
    let (rb, problems) = RunbookLoader().load(path: root + "/host.yaml")
    let all = problems + (rb.map { RunbookValidator(registry: Self.registry).validate($0) } ?? [])
    return (rb, all.sorted().map { $0.description.replacingOccurrences(of: root + "/", with: "") })
  }

  @Test func aPartsStepsRunAtTheirSlotOnlyForTheirProvider() throws {
    let (rb, problems) = try load()
    #expect(problems.isEmpty, "\(problems)")
    let steps = try #require(rb).steps
    #expect(steps.map(\.id) == ["identify", "acme-revoke", "acme-dead", "by-hand"])
    #expect(steps.map(\.phase) == [.detect, .contain, .contain, .contain])
    #expect(try #require(rb).input("acme-project") != nil, "the part's input joins the runbook's")
    let revoke = try #require(steps.first { $0.id == "acme-revoke" })
    #expect(revoke.whenSource == "${{ steps.identify.provider == 'acme' }}")
    let dead = try #require(steps.first { $0.id == "acme-dead" })
    for (provider, status, runs) in [("acme", 204, true), ("other", 204, false), ("acme", 500, false)] {
      let context = EvaluationContext(
        steps: ["identify": ["provider": .string(provider)], "acme-revoke": ["status": .number(Double(status))]])
      #expect(try #require(dead.when).evaluate(context).isTruthy == runs, "\(provider) \(status)")
      #expect(try #require(revoke.when).evaluate(context).isTruthy == (provider == "acme"))
    }
  }

  /// `respond plan` leaves another provider's part out like any branch not taken, even where the
  /// step's own condition reads what plan cannot know (a step not run yet, a credential's env).
  @Test func planHidesAnotherProvidersPart() throws {
    let (rb, _) = try load()
    let dead = try #require(rb?.step("acme-dead"))
    for (provider, decided) in [("other", false as Bool?), ("acme", nil)] {
      let known: [String: [String: Value]] = ["identify": ["provider": .string(provider)]]
      #expect(PlanRenderer.condition(of: dead, values: [:], known: known) == decided, "\(provider)")
    }
  }

  @Test func theDigestCoversTheParts() throws {
    let (before, _) = try load()
    let (after, _) = try load(part: Self.acme.replacingOccurrences(of: "== 204", with: "== 200"))
    #expect(try #require(before).digest != (try #require(after)).digest)
  }

  @Test func aDuplicateStepIDIsLocatedInThePart() throws {
    let (_, problems) = try load(part: Self.acme.replacingOccurrences(of: "id: acme-dead", with: "id: identify"))
    #expect(
      problems.contains(
        "providers/acme/response.yaml:8:11: error: step id 'identify' is already used by the runbook or another provider"
      ), "\(problems)")
  }

  @Test func anUnknownSlotIsLocatedInThePart() throws {
    let (_, problems) = try load(part: Self.acme.replacingOccurrences(of: "  contain:", with: "  cleanup:"))
    #expect(
      problems.contains(
        "providers/acme/response.yaml:4:3: error: unknown slot 'cleanup'; runbook 'host' places: contain"),
      "\(problems)")
  }

  @Test func aBadReferenceInsideAPartIsLocatedInThePart() throws {
    let (_, problems) = try load(
      part: Self.acme.replacingOccurrences(of: "steps.acme-revoke.status", with: "steps.acme-revok.status"))
    #expect(
      problems.contains { $0.hasPrefix("providers/acme/response.yaml:10:17: error: unknown step 'acme-revok'") },
      "\(problems)")
  }

  @Test func anInputDeclaredDifferentlyIsLocatedInThePart() throws {
    let (_, problems) = try load(
      part: Self.acme.replacingOccurrences(
        of: "acme-project: { description: the project }", with: "key: { required: false }"))
    #expect(
      problems.contains {
        $0.hasPrefix("providers/acme/response.yaml:2:3: error: input 'key' is already declared differently at ")
      },
      "\(problems)")
  }

  @Test func providerStepsWithoutADispatchIsAnError() throws {
    try write("host.yaml", Self.host.replacingOccurrences(of: "dispatch: ${{ steps.identify.provider }}\n", with: ""))
    let (_, problems) = RunbookLoader().load(path: root + "/host.yaml")
    #expect(problems.contains { $0.message.hasPrefix("'provider-steps' needs a top-level 'dispatch'") }, "\(problems)")
  }
}
