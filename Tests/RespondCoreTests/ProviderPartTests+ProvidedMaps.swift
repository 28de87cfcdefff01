import Foundation
import Testing

@testable import RespondCore

/// A part's provided value may be a mapping whose leaves are each one expression: the host reads
/// it as one object (`fields: ${{ provider.fields }}` hands a store every field the dispatched
/// provider's replacement has), null until every leaf has a value, and each leaf's mistake is
/// located where the leaf is written.
extension ProviderPartTests {
  static let mapHost = providedHost.replacingOccurrences(of: "provided: [owner]", with: "provided: [owner, fields]")
    .replacingOccurrences(
      of: "with: { key: \"${{ provider.owner }}\" }", with: "with: { key: \"${{ provider.fields }}\" }")

  static let fields = """
    fields:
        token: ${{ steps.NAME-revoke.status }}
        nested:
          id: ${{ steps.identify.provider }}
    """

  func loadMap(acme: String = part("acme", provides: fields)) throws -> (Runbook?, [String]) {
    try loadProvided(host: Self.mapHost, acme: acme, beta: Self.part("beta", provides: Self.fields))
  }

  @Test func aProvidedMappingIsAnObjectOfItsLeaves() throws {
    let (loaded, problems) = try loadMap()
    #expect(problems.isEmpty, "\(problems)")
    let rb = try #require(loaded)
    let handed = try #require(rb.step("by-hand")?.with.first?.1)
    let expected: [(String, Value)] = [
      ("acme", ["token": 204, "nested": ["id": "acme"]]), ("beta", ["token": 202, "nested": ["id": "beta"]]),
      ("aws", .null),
    ]
    for (provider, value) in expected {
      #expect(try handed.evaluate(Self.context(dispatched: provider)) == value, "\(provider)")
    }
    // A leaf without a value (the step that mints it did not run) makes the whole value null:
    // a store is never handed half a credential, and a `when:` on it does not hold.
    var partial = Self.context(dispatched: "acme")
    partial.steps["acme-revoke"] = nil
    #expect(try handed.evaluate(partial) == .null)
    // What it reads is every leaf's steps, so ordering checks and the plan see them.
    let template = try #require(handed.templates.first?.0)
    #expect(StepPolicy.dependencies(in: [template]) == ["identify", "acme-revoke", "beta-revoke"])
    #expect(template.decide(partial, unknownSteps: ["acme-revoke"]) == nil, "not known before the step ran")
    #expect(template.decide(partial, unknownSteps: []) == .null, "one leaf known null decides it")
  }

  @Test func aProvidedMappingsMistakesAreLocatedAtTheLeaf() throws {
    let cases: [(provides: String, expected: String)] = [
      (
        "fields:\n    token: the token",
        "providers/acme/response.yaml:3:12: error: provided value 'fields.token' must be one expression, e.g. ${{ steps.lookup.owner }}"
      ),
      (
        "fields:\n    token: [\"${{ steps.acme-revoke.status }}\"]",
        "providers/acme/response.yaml:3:12: error: provided value 'fields.token' must be one expression, e.g. ${{ steps.lookup.owner }}"
      ),
      (
        "fields:\n    token: ${{ steps.acme-revok.status }}",
        "providers/acme/response.yaml:3:16: error: unknown step 'acme-revok'"
      ),
      (
        "fields:\n    token: ${{ provider.owner }}",
        "providers/acme/response.yaml:3:16: error: a provided value cannot read another provided value"
      ),
      (
        "fields: {}",
        "providers/acme/response.yaml:2:11: error: provided value 'fields' is an empty map: name its fields, each one expression"
      ),
    ]
    for (provides, expected) in cases {
      let (_, problems) = try loadMap(acme: Self.part("acme", provides: provides))
      #expect(problems.contains(expected), "\(provides): \(problems)")
    }
  }
}
