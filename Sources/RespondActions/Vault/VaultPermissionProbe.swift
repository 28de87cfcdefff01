import Foundation
import RespondCore

/// The preflight's question to Vault/OpenBao: what may the responder's token do on these paths?
/// One `sys/capabilities-self` request (in every token's default policy) answers for all of
/// them. Any failure is "unknown": said, and the run goes on.
package enum VaultPermissionProbe {
  package static func check(
    paths: [String], environment: [String: String], transport: any HTTPTransport, masker: Masker
  ) async -> Preflight.VaultAnswers {
    guard !paths.isEmpty, VaultActions.requirement.isMet(in: environment) else { return .notAsked }
    do {
      let config = try VaultConfig.load(environment, masker: masker)
      let client = VaultClient(
        config: config, transport: transport, masker: masker,
        retry: RetryPolicy(attempts: 1, backoff: .zero, maxDelay: .zero, maxTotal: nil, longHint: .endsRetries))
      let reply = try await client.call(
        "POST", "sys/capabilities-self", body: ["paths": .array(paths.map(Value.string))], mutates: false)
      var out: [String: [String]] = [:]
      for path in paths {
        // Vault answers each path at the top level and under `data`.
        let listed = reply.json?[path]?.arrayValue ?? reply.data?[path]?.arrayValue
        guard let capabilities = listed?.compactMap(\.stringValue) else {
          return .unknown("sys/capabilities-self did not answer for \(path)")
        }
        out[path] = capabilities
      }
      return .decided(out)
    } catch {
      return .unknown("sys/capabilities-self failed: \(masker.mask(ActionFailure(error).message))")
    }
  }
}
