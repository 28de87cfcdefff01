import Foundation
import Testing

@testable import RespondCore

/// `respond plan`: branches whose conditions the inputs decide false are hidden and counted;
/// `--all` shows them with their decision; undecided conditions are always shown.
@Suite struct PlanRendererTests {
  static let yaml = """
    runbook: branches
    inputs:
      key: { required: true }
      notify: { default: "no" }
    env: [FALLBACK]
    phases:
      detect:
        - id: identify
          action: identify
          with: { key: "${{ inputs.key }}" }
      investigate:
        - id: revoke-aws
          action: revoke
          when: steps.identify.provider == 'aws'
          with: { id: x }
        - id: revoke-github
          action: revoke
          when: steps.identify.provider == 'github'
          with: { id: x }
        - id: revoke-unknown
          action: revoke
          when: env.FALLBACK == 'yes'
          with: { id: x }
      notify:
        - id: page
          action: revoke
          when: inputs.notify == 'yes'
          with: { id: x }
    """

  let registry = ActionRegistry([
    ScriptedAction("identify", parameters: [ParameterSpec("key")], outputs: [OutputSpec("provider")]),
    ScriptedAction("revoke", mutates: true, parameters: [ParameterSpec("id")]),
  ])

  func render(all: Bool) throws -> String {
    let rb = try runbook(Self.yaml, registry: registry)
    return PlanRenderer.render(
      rb, inputs: ["key": "ghp_x"], registry: registry, known: ["identify": ["provider": "github"]], all: all)
  }

  @Test func branchesThatDoNotApplyAreHiddenAndCounted() throws {
    let text = try render(all: false)
    #expect(text.contains("revoke-github"))
    #expect(text.contains("→ runs"))
    #expect(!text.contains("revoke-aws"))
    // Decided by an input's default, so hidden too; a phase left empty loses its heading.
    #expect(!text.contains("page"))
    #expect(!text.contains("\nnotify"))
    // env is not looked at: undecided, shown.
    #expect(text.contains("revoke-unknown"))
    #expect(text.contains("2 step(s) hidden: their conditions are false for these inputs"))
    #expect(text.contains("--all shows them"))
  }

  @Test func allShowsEveryStepWithItsDecision() throws {
    let text = try render(all: true)
    for id in ["identify", "revoke-aws", "revoke-github", "revoke-unknown", "page"] { #expect(text.contains(id)) }
    #expect(text.contains("when steps.identify.provider == 'aws'  → skipped"))
    #expect(!text.contains("hidden"))
  }

  @Test func conditionsAreDecidedOnlyFromInputsAndKnownSteps() throws {
    let rb = try runbook(Self.yaml, registry: registry)
    let values: [String: Value] = ["key": "ghp_x", "notify": "no"]
    let known: [String: [String: Value]] = ["identify": ["provider": "aws"]]
    #expect(PlanRenderer.condition(of: try #require(rb.step("revoke-aws")), values: values, known: known) == true)
    #expect(PlanRenderer.condition(of: try #require(rb.step("revoke-aws")), values: values, known: [:]) == nil)
    #expect(PlanRenderer.condition(of: try #require(rb.step("revoke-unknown")), values: values, known: known) == nil)
    #expect(PlanRenderer.condition(of: try #require(rb.step("identify")), values: values, known: known) == nil)
  }
}
