import Foundation
import RespondActions
import RespondCore
import Testing

/// Which steps run for these inputs, decided offline: one pass (`OfflineSteps`) answers for both
/// `respond plan` and the preflight.
@Suite struct OfflineStepsTests {
  static let yaml = """
    runbook: offline
    description: offline fixture
    inputs:
      key: { description: the key, required: true, secret: true }
    env:
      SMTP_URL: { secret: true, description: mail server }
    phases:
      detect:
        - id: identify
          action: key.identify
          with: { key: "${{ inputs.key }}" }
        - id: again
          action: key.identify
          when: ${{ steps.identify.provider == 'aws' }}
          with: { key: "${{ steps.identify.key-id }}" }
        - id: github-only
          action: key.identify
          when: ${{ steps.identify.provider == 'github' }}
          with: { key: "${{ inputs.key }}" }
        - id: owner
          action: aws.iam.get-access-key-last-used
          when: ${{ steps.identify.provider == 'aws' }}
          with: { access-key-id: "${{ steps.identify.key-id }}" }
        - id: after-owner
          action: key.identify
          with: { key: "${{ steps.owner.user-name }}" }
      document:
        - id: email
          action: notify.email
          when: ${{ configured.SMTP_URL }}
          with: { subject: s, body: b }
    """
  static let inputs: [String: Value] = ["key": "AKIAIOSFODNN7EXAMPLE"]

  struct Refuse: HTTPTransport {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
      throw TransportError.refused(url: request.url, reason: "offline")
    }
  }

  static func outcome() async throws -> (OfflineSteps.Outcome, Runbook, ActionRegistry) {
    let registry = StandardActions.registry()
    let rb = try runbook(yaml, registry: registry)
    let outcome = await OfflineSteps.run(
      rb, registry: registry, inputs: inputs, masker: Masker(), transport: Refuse(), incidentID: "test")
    return (outcome, rb, registry)
  }

  /// Offline steps run when their condition and parameters are decided (from the inputs and the
  /// offline steps before them); a false condition skips; the network, a step not run here and
  /// the environment leave a step unknown.
  @Test func offlineStepsRunSkipOrWait() async throws {
    let (outcome, _, _) = try await Self.outcome()
    #expect(outcome.ran.keys.sorted() == ["again", "identify"])
    #expect(outcome.ran["again"]?["provider"] == "aws")
    #expect(outcome.skipped == ["github-only"])
    #expect(outcome.known["github-only"] == [:])
    #expect(outcome.known["owner"] == nil && outcome.known["after-owner"] == nil && outcome.known["email"] == nil)
  }

  /// `plan` and the preflight ask the same pass: the preflight gets what ran, plan what ran and
  /// what was skipped.
  @Test func planAndPreflightShareTheOnePass() async throws {
    let (outcome, rb, registry) = try await Self.outcome()
    let preflight = await Preflight.runOfflineSteps(rb, registry: registry, inputs: Self.inputs, masker: Masker())
    let plan = await PlanRenderer.runOffline(
      rb, inputs: ["key": "AKIAIOSFODNN7EXAMPLE"], registry: registry, masker: Masker(), transport: Refuse())
    #expect(preflight == outcome.ran)
    #expect(plan == outcome.known)
  }

  /// The environment is not read offline: a condition on `configured` or `env` is unknown, never
  /// decided false because nothing was given.
  @Test func aConditionOnTheEnvironmentIsUnknownOffline() throws {
    let registry = StandardActions.registry()
    let rb = try runbook(Self.yaml, registry: registry)
    let email = try #require(rb.steps.first { $0.id == "email" })
    #expect(OfflineSteps.decide(email, offline: true, inputs: Self.inputs, known: [:], unknown: []) == .unknown)
    let github = try #require(rb.steps.first { $0.id == "github-only" })
    let known: [String: [String: Value]] = ["identify": ["provider": "aws"]]
    #expect(OfflineSteps.decide(github, offline: true, inputs: Self.inputs, known: known, unknown: []) == .skipped)
    #expect(
      OfflineSteps.decide(github, offline: true, inputs: Self.inputs, known: [:], unknown: ["identify"]) == .unknown)
  }
}
