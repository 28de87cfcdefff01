import Foundation
import RespondCore

/// The preflight's question to AWS: may the caller make these calls? STS GetCallerIdentity names
/// the caller (an assumed-role session becomes its role), then IAM SimulatePrincipalPolicy asks
/// for all the actions on one resource pattern at once (the IAM users' keys, the log groups; one
/// request per pattern, with the caller's account filled in, since a policy narrowed to users
/// allows nothing on `*`). A simulation that fails for any reason (not allowed, unreachable, an
/// emulator that lacks it) is "unknown", never a reason to stop: the preflight says so and the
/// run goes on. One attempt each: the preflight must not hold up a response.
package enum AWSPermissionProbe {
  package static func check(
    _ questions: [(resource: String, actions: [String])], environment: [String: String],
    transport: any HTTPTransport, masker: Masker
  ) async -> Preflight.AWSAnswers {
    guard !questions.isEmpty, AWSConfiguration.isConfigured(environment) else { return .notAsked }
    let context = ActionContext(
      stepID: "preflight", parameters: [:], environment: environment, transport: transport, masker: masker,
      incident: IncidentInfo(id: "preflight", runbook: "", startedAt: Date(), mode: .live, directory: ""))
    let once = AWSRetryPolicy(
      retry: RetryPolicy(attempts: 1, backoff: .zero, maxDelay: .zero, maxTotal: .seconds(30)), propagationWaits: [])
    return await AWSRetryPolicy.$current.withValue(once) {
      let principal: String
      do {
        let client = try AWSClient(context)
        let identity = try await client.query(.sts, "GetCallerIdentity", [], mutates: false)
        guard let arn = identity.string("GetCallerIdentityResult/Arn"), let p = principalARN(arn) else {
          return .unknown("STS GetCallerIdentity named no caller IAM can simulate")
        }
        principal = p
      } catch {
        return .unknown("STS GetCallerIdentity failed: \(masker.mask(ActionFailure(error).message))")
      }
      var all: [String: String] = [:]
      for (resource, actions) in questions {
        do {
          let client = try AWSClient(context)
          var parameters = [("PolicySourceArn", principal)]
          for (i, action) in actions.enumerated() { parameters.append(("ActionNames.member.\(i + 1)", action)) }
          if resource != "*" { parameters.append(("ResourceArns.member.1", concrete(resource, for: principal))) }
          let answer = try await client.query(.iam, "SimulatePrincipalPolicy", parameters, mutates: false)
          let decisions = decisions(answer)
          guard !decisions.isEmpty else { return .unknown("IAM SimulatePrincipalPolicy answered no decisions") }
          // An action asked on several resources is allowed only if allowed on each.
          all.merge(decisions) { old, new in old == "allowed" ? new : old }
        } catch {
          return .unknown(
            "IAM SimulatePrincipalPolicy for \(principal) failed: \(masker.mask(ActionFailure(error).message))")
        }
      }
      return .decided(principal: principal, decisions: all)
    }
  }

  /// A resource pattern with the caller's partition and account filled in
  /// (`arn:aws:iam::*:user/*` → `arn:aws:iam::123456789012:user/*`): what the simulation asks about.
  package static func concrete(_ resource: String, for principal: String) -> String {
    let caller = principal.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
    var parts = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
    guard caller.count == 6, parts.count == 6, parts[0] == "arn" else { return resource }
    parts[1] = String(caller[1])
    if parts[4] == "*" { parts[4] = String(caller[4]) }
    return parts.joined(separator: ":")
  }

  /// The IAM principal behind a caller ARN: an assumed-role session
  /// (`arn:aws:sts::123456789012:assumed-role/Responder/alice`) is its role
  /// (`arn:aws:iam::123456789012:role/Responder`); users and roles are themselves; anything else
  /// (the root user, a federated user) cannot be simulated.
  package static func principalARN(_ arn: String) -> String? {
    let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 6, parts[0] == "arn" else { return nil }
    let (partition, service, account, resource) = (parts[1], parts[2], parts[4], parts[5])
    if service == "sts", resource.hasPrefix("assumed-role/") {
      let role = resource.dropFirst("assumed-role/".count).split(separator: "/").first.map(String.init) ?? ""
      return role.isEmpty ? nil : "arn:\(partition):iam::\(account):role/\(role)"
    }
    if service == "iam", resource.hasPrefix("user/") || resource.hasPrefix("role/") { return arn }
    return nil
  }

  /// IAM action (lower-cased) → decision (`allowed`, `implicitDeny`, `explicitDeny`) from the
  /// answer. A refusal that depends on context the simulation did not have (a condition on MFA,
  /// the source IP) is left out: unknown, not denied.
  package static func decisions(_ answer: AWSXMLNode) -> [String: String] {
    var out: [String: String] = [:]
    let results = answer.path("SimulatePrincipalPolicyResult/EvaluationResults")?.children("member") ?? []
    for member in results {
      guard let action = member.string("EvalActionName"), let decision = member.string("EvalDecision") else { continue }
      let missingContext = !(member.path("MissingContextValues")?.children("member").isEmpty ?? true)
      if decision != "allowed" && missingContext { continue }
      out[action.lowercased()] = decision
    }
    return out
  }
}
