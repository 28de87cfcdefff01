import Foundation
import Testing

@testable import RespondCore

/// Where a dispatched part's facts go: the host marks each place (`provider-facts.<slot>:`) among
/// its own facts, so a provider's rows read where they belong (AWS's severity beside the owner,
/// its audit counts beside the other searches) instead of trailing the report.
extension ProviderPartTests {
  static let factsHost = """
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
    report:
      facts:
        Owner: ${{ steps.identify.provider }}
        provider-facts.credential:
        Stored: ${{ steps.identify.provider }}
        provider-facts.activity: ~
        Also stored: ${{ steps.identify.provider }}

    """

  static func factsPart(_ name: String, facts: String) -> String {
    """
    facts:
    \(facts)
    steps:
      contain:
        - id: NAME-revoke
          action: t.look
          with: { key: "${{ inputs.key }}" }

    """.replacingOccurrences(of: "NAME", with: name)
  }

  static let slotted = """
      credential:
        Severity (NAME): ${{ steps.NAME-revoke.status }}
        Scope (NAME): ${{ steps.NAME-revoke.status }}
      Loose (NAME): ${{ steps.NAME-revoke.status }}
      activity:
        Audit events (NAME): ${{ steps.NAME-revoke.status }}
    """

  func loadFacts(host: String = factsHost, beta: String = factsPart("beta", facts: slotted)) throws
    -> (Runbook?, [String])
  {
    try loadProvided(host: host, acme: Self.part("acme"), beta: beta)
  }

  @Test func aPartsFactsGoWhereTheHostPlacesThem() throws {
    let (loaded, problems) = try loadFacts()
    #expect(problems.isEmpty, "\(problems)")
    let report = try #require(loaded).report
    #expect(report.facts.map(\.0) == ["Owner", "Stored", "Also stored"], "markers are not facts")
    #expect(
      report.facts(dispatched: .string("beta")).map(\.0) == [
        "Owner", "Severity (beta)", "Scope (beta)", "Stored", "Audit events (beta)", "Also stored", "Loose (beta)",
      ])
    // A part whose facts name no slot keeps them after the host's, as before slots.
    #expect(report.facts(dispatched: .string("acme")).map(\.0) == ["Owner", "Stored", "Also stored", "Revoked (acme)"])
    #expect(report.facts(dispatched: .string("aws")).map(\.0) == ["Owner", "Stored", "Also stored"])
  }

  @Test func aBareMarkerPlacesTheFactsOfNoSlot() throws {
    let host = Self.factsHost.replacingOccurrences(of: "    Owner: ", with: "    provider-facts:\n    Owner: ")
    let (loaded, problems) = try loadFacts(host: host)
    #expect(problems.isEmpty, "\(problems)")
    let report = try #require(loaded).report
    #expect(report.facts(dispatched: .string("acme")).map(\.0) == ["Revoked (acme)", "Owner", "Stored", "Also stored"])
    #expect(report.facts(dispatched: .string("beta")).first?.0 == "Loose (beta)")
  }

  @Test func aSlotTheHostDoesNotPlaceIsLocatedInThePart() throws {
    let typo = Self.factsPart("beta", facts: Self.slotted.replacingOccurrences(of: "activity:", with: "activty:"))
    let (_, problems) = try loadFacts(beta: typo)
    #expect(
      problems.contains(
        "providers/beta/response.yaml:6:3: error: unknown fact slot 'activty'; runbook 'host' places: activity, credential"
      ), "\(problems)")
  }

  @Test func aMarkerTakesNoValueAndNamesAValidSlot() throws {
    let valued = Self.factsHost.replacingOccurrences(
      of: "provider-facts.activity: ~", with: "provider-facts.activity: x")
    let (_, problems) = try loadFacts(host: valued)
    #expect(
      problems.contains(
        "host.yaml:17:30: error: 'provider-facts.activity' marks where the provider's facts go and takes no value"),
      "\(problems)")
    let badName = Self.factsHost.replacingOccurrences(of: "provider-facts.credential:", with: "provider-facts.Cred:")
    let (_, named) = try loadFacts(host: badName)
    #expect(
      named.contains("host.yaml:15:5: error: fact slot name 'Cred' must be lower-case letters, digits and '-'"),
      "\(named)")
  }

  @Test func aPartsSlottedFactIsCheckedLikeTheHostsOwn() throws {
    let clash = Self.factsPart("beta", facts: "  credential:\n    Owner: ${{ steps.beta-revoke.status }}")
    let (_, problems) = try loadFacts(beta: clash)
    #expect(
      problems.contains(
        "providers/beta/response.yaml:3:12: error: fact 'Owner' is already one of the runbook's report facts"),
      "\(problems)")
    let unknown = Self.factsPart("beta", facts: "  activity:\n    Audit: ${{ steps.beta-revok.status }}")
    let (_, read) = try loadFacts(beta: unknown)
    #expect(read.contains { $0.hasPrefix("providers/beta/response.yaml:3:") && $0.contains("beta-revok") }, "\(read)")
  }
}
