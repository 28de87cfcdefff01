import Foundation

extension Preflight {
  /// Runs the steps that need nothing but their inputs (key.identify), with no network, so the
  /// preflight knows which branch these inputs take: `OfflineSteps`, the pass `plan` makes too.
  /// The outputs of the steps that ran are returned by step id. Secret outputs stay in memory;
  /// nothing here is journaled.
  package static func runOfflineSteps(
    _ runbook: Runbook, registry: ActionRegistry, inputs: [String: Value], masker: Masker
  ) async -> [String: [String: Value]] {
    await OfflineSteps.run(
      runbook, registry: registry, inputs: inputs, masker: masker, transport: NoNetwork(), incidentID: "preflight"
    ).ran
  }
}

/// Offline steps promise not to use the network: anything they send is refused.
private struct NoNetwork: HTTPTransport {
  func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    throw TransportError.refused(url: request.url, reason: "the preflight's offline steps send nothing")
  }
}
