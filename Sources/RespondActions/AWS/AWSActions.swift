import Foundation
import RespondCore

/// Every AWS action respond ships, for the registry; plus what drills and descriptors share
/// (the credentials requirement and a real readiness check).
package enum AWSActions {
  package static func all() -> [any Action] {
    [
      GetCallerIdentityAction(),
      GetAccessKeyLastUsedAction(),
      ListAccessKeysAction(),
      UpdateAccessKeyAction(),
      CreateAccessKeyAction(),
      DeleteAccessKeyAction(),
      DenySessionsBeforeAction(),
      GetInlinePolicyAction(),
      PutSecretValueAction(),
      GetSecretValueAction(),
      PutParameterAction(),
      GetParameterAction(),
      FindSecretCopiesAction(),
      FindParameterCopiesAction(),
      ReplaceSecretCopiesAction(),
      ReplaceParameterCopiesAction(),
      FilterLogEventsAction(),
      LookupEventsAction(),
      TrailArchiveScanAction(),
      ClassifyActivityAction(),
      IAMTriageAction(),
      DeleteInlinePolicyAction(),
      QuarantineUserAction(),
      GetLoginProfileAction(),
      DeleteLoginProfileAction(),
      EradicatePersistenceAction(),
      RotateReadSecretsAction(),
    ]
  }

  /// AWS credentials: keys in the environment, or a profile. A default profile in
  /// `~/.aws/credentials` also works, which env-var requirements cannot see: `isConfigured` can.
  package static let credentialsRequirement = AWSConfiguration.credentialsRequirement

  /// Whether AWS credentials can really be resolved from `env` (environment or profile files).
  package static func isConfigured(_ env: [String: String]) -> Bool { AWSConfiguration.isConfigured(env) }

  /// Requirements for a global service (credentials) or a regional one (credentials and region).
  static func requirements(regional: Bool) -> [Requirement] {
    regional
      ? [AWSConfiguration.credentialsRequirement, AWSConfiguration.regionRequirement]
      : [AWSConfiguration.credentialsRequirement]
  }

  // MARK: - Shared parameter handling

  /// An optional ISO-8601 time parameter; a malformed one is a clear error.
  static func date(_ context: ActionContext, _ name: String) throws -> Date? {
    guard let text = context.optionalString(name) else { return nil }
    guard let date = ISO8601.parse(text) else {
      throw ActionError.badParameter(
        name: name, reason: "must be an ISO-8601 UTC time such as 2026-11-23T13:09:39Z, got '\(text)'")
    }
    return date
  }

  /// The query window from optional `start`/`end` parameters: by default the last 90 days (how
  /// far back CloudTrail's event history goes).
  static func window(_ context: ActionContext, now: Date = Date()) throws -> (start: Date, end: Date) {
    let end = try date(context, "end") ?? now
    let start = try date(context, "start") ?? end.addingTimeInterval(-90 * 86_400)
    guard start < end else {
      throw ActionError.badParameter(name: "start", reason: "must be before end (\(ISO8601.string(end)))")
    }
    return (start, end)
  }

  /// A parameter that is a list of strings or one comma-separated string.
  static func stringList(_ context: ActionContext, _ name: String) throws -> [String]? {
    guard let v = context.parameters[name], !v.isNull else { return nil }
    if let a = v.arrayValue {
      return try a.map { item in
        guard let s = item.stringValue, !s.isEmpty else {
          throw ActionError.badParameter(name: name, reason: "must be a list of strings")
        }
        return s
      }
    }
    if let s = v.stringValue {
      let items = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      return items.isEmpty ? nil : items
    }
    throw ActionError.badParameter(name: name, reason: "must be a list of strings, got \(v.typeName)")
  }

  /// An output value for an optional string.
  static func value(_ s: String?) -> Value { s.map { .string($0) } ?? .null }

  /// An output value for an optional date (ISO-8601 UTC).
  static func value(_ d: Date?) -> Value { d.map { .string(ISO8601.string($0)) } ?? .null }
}

/// The resource ARN patterns the AWS actions' permissions name: as narrow as respond can say
/// without knowing the account (the policy's user narrows them further, e.g. to one user path).
enum IAMResources {
  static let user = "arn:aws:iam::*:user/*"
  static let role = "arn:aws:iam::*:role/*"
  static let group = "arn:aws:iam::*:group/*"
  /// Managed policies, AWS's own included (`arn:aws:iam::aws:policy/...`: `*` matches `aws`).
  static let policy = "arn:aws:iam::*:policy/*"
  static let secret = "arn:aws:secretsmanager:*:*:secret:*"
  static let parameter = "arn:aws:ssm:*:*:parameter/*"
  static let kmsKey = "arn:aws:kms:*:*:key/*"
  static let logGroup = "arn:aws:logs:*:*:log-group:*"
}
