import Foundation
import RespondCore

/// The environment each key of a batch runs with, from its account's entry in `--accounts`
/// (`AccountMap`): a profile (the shared config, a profile with `role_arn` included), a role
/// assumed with STS AssumeRole (with its external id), or the environment's own credentials.
///
/// Resolved once per account for the whole batch (keys of one account share one AssumeRole, even
/// when they start together) and checked: the credentials must belong to the key's account, or a
/// key would be "not found" in the wrong account and look harmless. Assumed credentials are
/// registered with the masker the moment they arrive and live only in memory, in the key's
/// environment: never in a journal, report or log line. They are assumed again when fewer than
/// five minutes of their hour are left.
package actor AccountCredentials {
  let base: [String: String]
  let transport: any HTTPTransport
  let masker: Masker
  let limiters: RateLimiters
  let now: @Sendable () -> Date
  private var cache: [String: Task<Resolved, any Error>] = [:]

  struct Resolved: Sendable {
    var environment: [String: String]
    var expires: Date?
  }

  /// The variables that carry credentials: a profile's or an assumed role's replace them.
  static let credentialVariables = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]

  package init(
    environment: [String: String], transport: any HTTPTransport, masker: Masker, limiters: RateLimiters,
    now: @escaping @Sendable () -> Date = { Date() }
  ) {
    self.base = environment
    self.transport = transport
    self.masker = masker
    self.limiters = limiters
    self.now = now
  }

  /// The environment for a key of `account` (nil: its id encodes none) with credentials from
  /// `source`; throws a message saying what to configure when there are none or they fail.
  package func environment(for source: AccountMap.Source, account: String?) async throws -> [String: String] {
    let key = "\(account ?? "-")|\(source)"
    if let task = cache[key] {
      let resolved = try await task.value
      if resolved.expires.map({ $0.timeIntervalSince(now()) > 300 }) ?? true { return resolved.environment }
    }
    let task = Task { try await self.resolve(source, account: account) }
    cache[key] = task
    return try await task.value.environment
  }

  func resolve(_ source: AccountMap.Source, account: String?) async throws -> Resolved {
    switch source {
    case .environment:
      try await verify(base, account: account, what: "the environment's AWS credentials")
      return Resolved(environment: base)
    case .profile(let name):
      let env = Self.profileEnvironment(base, name)
      if let role = try Self.profileRole(env, name) { return try await resolve(role, account: account) }
      try await verify(env, account: account, what: "the credentials of AWS profile '\(name)'")
      return Resolved(environment: env)
    case .role(let arn, let externalID, let session, let sourceProfile):
      let from = sourceProfile.map { Self.profileEnvironment(base, $0) } ?? base
      return try await assume(arn: arn, externalID: externalID, session: session, from: from, account: account)
    }
  }

  /// `base` with a profile's credentials: the credential variables (which win over any profile)
  /// are dropped and `AWS_PROFILE` names the profile; region and endpoints stay as they were.
  package static func profileEnvironment(_ base: [String: String], _ name: String) -> [String: String] {
    var env = base.filter { !credentialVariables.contains($0.key) }
    env["AWS_PROFILE"] = name
    return env
  }

  /// A shared-config profile that assumes a role (`role_arn` with `source_profile` or
  /// `credential_source = Environment`, `external_id`, `role_session_name`), as the role it
  /// assumes; nil for a profile with keys of its own.
  static func profileRole(_ env: [String: String], _ name: String) throws -> AccountMap.Source? {
    let config = AWSConfiguration.readINI(AWSConfiguration.configFilePath(env)) ?? [:]
    let section = config[name == "default" ? "default" : "profile \(name)"] ?? [:]
    guard let arn = nonEmpty(section["role_arn"]) else { return nil }
    let sourceProfile = nonEmpty(section["source_profile"])
    if sourceProfile == nil, section["credential_source"]?.lowercased() != "environment" {
      throw ActionError.notConfigured(
        "AWS profile '\(name)' assumes \(arn) but names no source_profile (or credential_source = Environment)")
    }
    return .role(
      arn: arn, externalID: nonEmpty(section["external_id"]),
      sessionName: nonEmpty(section["role_session_name"]) ?? AccountMap.defaultSessionName,
      sourceProfile: sourceProfile)
  }

  /// STS AssumeRole from `from`'s credentials; the answer's session must be in the role's account.
  func assume(arn: String, externalID: String?, session: String, from: [String: String], account: String?)
    async throws -> Resolved
  {
    let client = try AWSClient(context(from))
    var parameters = [("RoleArn", arn), ("RoleSessionName", session)]
    if let externalID { parameters.append(("ExternalId", externalID)) }
    let answer: AWSXMLNode
    do {
      answer = try await client.query(.sts, "AssumeRole", parameters, mutates: false)
    } catch {
      throw ActionError.notConfigured("cannot assume \(arn): \(masker.mask(ActionFailure(error).message))")
    }
    let result = answer.path("AssumeRoleResult")
    guard let id = result?.string("Credentials/AccessKeyId"),
      let secret = result?.string("Credentials/SecretAccessKey"),
      let token = result?.string("Credentials/SessionToken")
    else { throw ActionError.failed("STS AssumeRole for \(arn) answered without credentials") }
    masker.register(secret)
    masker.register(token)
    let roleAccount = arn.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first.map(String.init)
    let sessionAccount = result?.string("AssumedRoleUser/Arn")?.split(separator: ":", omittingEmptySubsequences: false)
      .dropFirst(4).first.map(String.init)
    if let account, sessionAccount != account || roleAccount != account {
      throw ActionError.notConfigured(
        "role \(arn) gave a session in account \(sessionAccount ?? "?"), not the key's account \(account)")
    }
    var env = from
    env["AWS_ACCESS_KEY_ID"] = id
    env["AWS_SECRET_ACCESS_KEY"] = secret
    env["AWS_SESSION_TOKEN"] = token
    return Resolved(environment: env, expires: result?.string("Credentials/Expiration").flatMap(ISO8601.parse))
  }

  /// Checks with STS GetCallerIdentity that `env`'s credentials are in `account` (when the key
  /// names one); a missing profile or key says what was looked for.
  func verify(_ env: [String: String], account: String?, what: String) async throws {
    let client = try AWSClient(context(env))
    guard let account else { return }
    let caller: String?
    do {
      caller = try await client.query(.sts, "GetCallerIdentity", [], mutates: false)
        .string("GetCallerIdentityResult/Account")
    } catch {
      throw ActionError.notConfigured("\(what) do not work: \(masker.mask(ActionFailure(error).message))")
    }
    guard caller == account else {
      throw ActionError.notConfigured(
        "\(what) belong to account \(caller ?? "?"), not the key's account \(account): map \(account) to its own")
    }
  }

  func context(_ env: [String: String]) -> ActionContext {
    ActionContext(
      stepID: "accounts", parameters: [:], environment: env, transport: transport, masker: masker,
      incident: IncidentInfo(id: "accounts", runbook: "", startedAt: now(), mode: .live, directory: ""),
      limiters: limiters)
  }
}
