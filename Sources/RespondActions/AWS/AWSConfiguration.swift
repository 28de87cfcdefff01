import Foundation
import RespondCore

/// The AWS services respond talks to, with what each needs for endpoints, signing and errors.
package enum AWSService: String, Sendable, CaseIterable {
  case iam, sts, cloudtrail, logs, secretsManager, ssm, s3, ec2

  /// The SigV4 signing name (and default endpoint host prefix).
  package var signingName: String {
    switch self {
    case .iam: return "iam"
    case .sts: return "sts"
    case .cloudtrail: return "cloudtrail"
    case .logs: return "logs"
    case .secretsManager: return "secretsmanager"
    case .ssm: return "ssm"
    case .s3: return "s3"
    case .ec2: return "ec2"
    }
  }

  /// The suffix of `AWS_ENDPOINT_URL_<SERVICE>`: the service id, upper-cased, spaces as `_`.
  package var endpointVariableSuffix: String {
    switch self {
    case .iam: return "IAM"
    case .sts: return "STS"
    case .cloudtrail: return "CLOUDTRAIL"
    case .logs: return "CLOUDWATCH_LOGS"
    case .secretsManager: return "SECRETS_MANAGER"
    case .ssm: return "SSM"
    case .s3: return "S3"
    case .ec2: return "EC2"
    }
  }

  /// The key of this service in a shared-config `[services x]` section (service id, lower-case, `_`).
  package var configSectionKey: String { endpointVariableSuffix.lowercased() }

  /// How errors name the provider: "AWS IAM", "AWS Secrets Manager".
  package var displayName: String {
    switch self {
    case .iam: return "AWS IAM"
    case .sts: return "AWS STS"
    case .cloudtrail: return "AWS CloudTrail"
    case .logs: return "AWS CloudWatch Logs"
    case .secretsManager: return "AWS Secrets Manager"
    case .ssm: return "AWS SSM"
    case .s3: return "AWS S3"
    case .ec2: return "AWS EC2"
    }
  }

  /// IAM and STS are global: one endpoint, signed for us-east-1 (in the commercial partition).
  package var isGlobal: Bool { self == .iam || self == .sts }
}

/// Where a request for a service goes and how it is signed.
package struct AWSEndpoint: Sendable, Equatable {
  /// The URL to send to (scheme, host, optional port and path).
  package var url: String
  /// The region in the credential scope.
  package var signingRegion: String
  /// The region the call is about (for a global service: the configured one or us-east-1).
  package var region: String
  package var service: AWSService
  /// Where the URL came from: "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL", "profile x", "default".
  package var source: String
}

/// Credentials as resolved, with where they came from (for messages; never the secret itself).
package struct AWSCredentials: Sendable, Equatable {
  package var sigV4: SigV4.Credentials
  /// "environment" or "profile default (/root/.aws/credentials)".
  package var source: String

  package var accessKeyID: String { sigV4.accessKeyID }
}

/// Credentials, region and endpoints resolved the way the AWS CLI and SDKs do, from the step's
/// environment (never the process's), the shared credentials file and the shared config file.
///
/// Precedence:
/// - credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else the
///   profile `AWS_PROFILE` (default `default`) from `AWS_SHARED_CREDENTIALS_FILE`
///   (`~/.aws/credentials`), then from `AWS_CONFIG_FILE` (`~/.aws/config`, `[profile x]` sections);
/// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`; global services (IAM,
///   STS) fall back to us-east-1, regional ones fail clearly;
/// - endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's `services` section,
///   the profile's `endpoint_url`, then the public endpoint; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`
///   (or `ignore_configured_endpoint_urls`) skips every configured one.
/// The secret access key and session token are registered with the masker the moment they are read.
package struct AWSConfiguration: Sendable {
  package var environment: [String: String]
  package var profileName: String
  package var credentials: AWSCredentials
  /// The profile's settings from the config file (`region`, `endpoint_url`, ...), empty if none.
  package var profileSettings: [String: String]
  /// Service key → settings from the profile's `[services x]` section.
  package var serviceSettings: [String: [String: String]]

  /// The requirement actions declare: keys in the environment, or a profile (a default profile
  /// in `~/.aws/credentials` also works; `isConfigured` checks that for real).
  package static let credentialsRequirement = Requirement(
    "AWS credentials", anyOf: [["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], ["AWS_PROFILE"]])

  /// The requirement regional services declare: a region from the environment (or a profile's).
  package static let regionRequirement = Requirement(
    "AWS region", anyOf: [["AWS_REGION"], ["AWS_DEFAULT_REGION"], ["AWS_PROFILE"]])

  /// Whether credentials can really be resolved from `env` (environment or profile files).
  package static func isConfigured(_ env: [String: String]) -> Bool {
    (try? resolve(environment: env, masker: Masker())) != nil
  }

  /// Whether credentials and a region for `service` can really be resolved from `env`.
  package static func isConfigured(_ env: [String: String], for service: AWSService) -> Bool {
    guard let config = try? resolve(environment: env, masker: Masker()) else { return false }
    return (try? config.endpoint(for: service)) != nil
  }

  // MARK: - Resolution

  /// Resolves credentials and the profile; registers the secret parts with `masker` at once.
  package static func resolve(environment env: [String: String], masker: Masker) throws -> AWSConfiguration {
    let profileExplicit = nonEmpty(env["AWS_PROFILE"])
    let profile = profileExplicit ?? "default"
    let credentialsPath = sharedCredentialsPath(env)
    let configPath = configFilePath(env)
    let credFile = readINI(credentialsPath)
    let configFile = readINI(configPath)
    let credSection = credFile?[profile]
    let configSection =
      configFile?[profile == "default" ? "default" : "profile \(profile)"]
      ?? (profile == "default" ? configFile?["profile default"] : nil)
    let settings = configSection ?? [:]
    let services = Self.serviceSections(configFile, settings)

    let envKey = nonEmpty(env["AWS_ACCESS_KEY_ID"])
    let envSecret = nonEmpty(env["AWS_SECRET_ACCESS_KEY"])
    if let envSecret { masker.register(envSecret) }
    if let token = nonEmpty(env["AWS_SESSION_TOKEN"]) { masker.register(token) }

    if let envKey, let envSecret {
      let creds = SigV4.Credentials(
        accessKeyID: envKey, secretAccessKey: envSecret, sessionToken: nonEmpty(env["AWS_SESSION_TOKEN"]))
      return AWSConfiguration(
        environment: env, profileName: profile, credentials: AWSCredentials(sigV4: creds, source: "environment"),
        profileSettings: settings, serviceSettings: services)
    }
    if envKey != nil || envSecret != nil {
      let missing = envKey == nil ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"
      let present = envKey == nil ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"
      throw ActionError.notConfigured(
        "incomplete AWS credentials: \(present) is set but \(missing) is not (set both, or unset both to use a profile)"
      )
    }

    // A profile: the credentials file first, then the config file (the CLI accepts keys in both).
    for (section, path) in [(credSection, credentialsPath), (configSection, configPath)] {
      guard let section else { continue }
      for (k, v) in section where k == "aws_secret_access_key" || k == "aws_session_token" {
        masker.register(v)
      }
      guard let id = nonEmpty(section["aws_access_key_id"]), let secret = nonEmpty(section["aws_secret_access_key"])
      else { continue }
      let creds = SigV4.Credentials(
        accessKeyID: id, secretAccessKey: secret, sessionToken: nonEmpty(section["aws_session_token"]))
      return AWSConfiguration(
        environment: env, profileName: profile,
        credentials: AWSCredentials(sigV4: creds, source: "profile \(profile) (\(path))"),
        profileSettings: settings, serviceSettings: services)
    }

    // Nothing usable: say exactly what was looked for.
    let unsupported = ["role_arn", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file"]
    if let kind = unsupported.first(where: { settings[$0] != nil || credSection?[$0] != nil }) {
      throw ActionError.notConfigured(
        "AWS profile '\(profile)' gets its credentials through \(kind), which respond does not support: "
          + "export AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (e.g. from `aws configure export-credentials --profile \(profile) --format env`)"
      )
    }
    if let profileExplicit, credSection == nil, configSection == nil {
      throw ActionError.notConfigured(
        "AWS profile '\(profileExplicit)' (AWS_PROFILE) was not found in \(credentialsPath) or \(configPath)")
    }
    if let profileExplicit {
      throw ActionError.notConfigured(
        "AWS profile '\(profileExplicit)' has no aws_access_key_id and aws_secret_access_key (looked in \(credentialsPath) and \(configPath))"
      )
    }
    throw ActionError.notConfigured(
      "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials (looked in \(credentialsPath))"
    )
  }

  /// The configured region (environment, then profile), or nil.
  package var configuredRegion: String? {
    nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
      ?? nonEmpty(profileSettings["region"])
  }

  /// The region for a regional service, or a clear error naming where it was looked for.
  package func region(for service: AWSService, override: String? = nil) throws -> String {
    if let r = nonEmpty(override) ?? configuredRegion { return r }
    if service.isGlobal { return "us-east-1" }
    throw ActionError.notConfigured(
      "no AWS region for \(service.displayName): set AWS_REGION (or AWS_DEFAULT_REGION, or region in profile '\(profileName)' of \(Self.configFilePath(environment)))"
    )
  }

  /// Whether configured endpoint URLs are to be ignored (env var over profile setting).
  package var ignoresConfiguredEndpoints: Bool {
    if let v = nonEmpty(environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]) { return v.lowercased() == "true" }
    return profileSettings["ignore_configured_endpoint_urls"]?.lowercased() == "true"
  }

  /// The endpoint for a service (optionally in a given region).
  package func endpoint(for service: AWSService, region override: String? = nil) throws -> AWSEndpoint {
    let region = try self.region(for: service, override: override)
    let signingRegion = service.isGlobal ? Self.globalSigningRegion(for: region) : region
    if !ignoresConfiguredEndpoints {
      let specific = "AWS_ENDPOINT_URL_\(service.endpointVariableSuffix)"
      if let url = nonEmpty(environment[specific]) {
        return AWSEndpoint(url: url, signingRegion: signingRegion, region: region, service: service, source: specific)
      }
      if let url = nonEmpty(environment["AWS_ENDPOINT_URL"]) {
        return AWSEndpoint(
          url: url, signingRegion: signingRegion, region: region, service: service, source: "AWS_ENDPOINT_URL")
      }
      if let url = nonEmpty(serviceSettings[service.configSectionKey]?["endpoint_url"]) {
        return AWSEndpoint(
          url: url, signingRegion: signingRegion, region: region, service: service,
          source: "services section of profile '\(profileName)'")
      }
      if let url = nonEmpty(profileSettings["endpoint_url"]) {
        return AWSEndpoint(
          url: url, signingRegion: signingRegion, region: region, service: service,
          source: "endpoint_url of profile '\(profileName)'")
      }
    }
    return AWSEndpoint(
      url: Self.defaultEndpoint(service, region: region), signingRegion: signingRegion, region: region,
      service: service, source: "default")
  }

  /// The public endpoint: `https://<svc>.<region>.amazonaws.com`, the global ones for IAM and
  /// STS, and the China / GovCloud partitions' own domains.
  package static func defaultEndpoint(_ service: AWSService, region: String) -> String {
    let china = region.hasPrefix("cn-")
    let suffix = china ? "amazonaws.com.cn" : "amazonaws.com"
    switch service {
    case .iam:
      if china { return "https://iam.cn-north-1.amazonaws.com.cn" }
      if region.hasPrefix("us-gov-") { return "https://iam.us-gov.amazonaws.com" }
      return "https://iam.amazonaws.com"
    case .sts:
      if china || region.hasPrefix("us-gov-") { return "https://sts.\(region).\(suffix)" }
      return "https://sts.amazonaws.com"
    default:
      return "https://\(service.signingName).\(region).\(suffix)"
    }
  }

  /// The region a global service signs with in the partition of `region`.
  static func globalSigningRegion(for region: String) -> String {
    if region.hasPrefix("cn-") { return "cn-north-1" }
    if region.hasPrefix("us-gov-") { return "us-gov-west-1" }
    return "us-east-1"
  }

  // MARK: - Files

  /// `$AWS_SHARED_CREDENTIALS_FILE`, else `$HOME/.aws/credentials` (HOME from the given environment).
  package static func sharedCredentialsPath(_ env: [String: String]) -> String {
    if let p = nonEmpty(env["AWS_SHARED_CREDENTIALS_FILE"]) { return expandHome(p, env) }
    return home(env) + "/.aws/credentials"
  }

  /// `$AWS_CONFIG_FILE`, else `$HOME/.aws/config`.
  package static func configFilePath(_ env: [String: String]) -> String {
    if let p = nonEmpty(env["AWS_CONFIG_FILE"]) { return expandHome(p, env) }
    return home(env) + "/.aws/config"
  }

  static func home(_ env: [String: String]) -> String {
    var h = nonEmpty(env["HOME"]) ?? "~"
    while h.count > 1 && h.hasSuffix("/") { h.removeLast() }
    return h
  }

  static func expandHome(_ path: String, _ env: [String: String]) -> String {
    guard path == "~" || path.hasPrefix("~/") else { return path }
    return home(env) + path.dropFirst()
  }

  /// The `[services x]` section named by the profile's `services` setting, as service → settings.
  static func serviceSections(_ file: [String: [String: String]]?, _ profile: [String: String]) -> [String: [String:
    String]]
  {
    guard let name = nonEmpty(profile["services"]), let section = file?["services \(name)"] else { return [:] }
    var out: [String: [String: String]] = [:]
    for (key, value) in section {
      // Nested settings were flattened by the reader as "service.setting".
      let parts = key.split(separator: ".", maxSplits: 1)
      guard parts.count == 2 else { continue }
      out[String(parts[0]), default: [:]][String(parts[1])] = value
    }
    return out
  }

  /// Reads an AWS INI file: `[section]` headers, `key = value` lines, `#`/`;` comments, and
  /// indented sub-settings under a key with an empty value (flattened as `key.sub`). Section
  /// names and keys are kept as written (keys lower-cased). Nil when the file cannot be read.
  package static func readINI(_ path: String) -> [String: [String: String]]? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return parseINI(text)
  }

  package static func parseINI(_ text: String) -> [String: [String: String]] {
    var sections: [String: [String: String]] = [:]
    var current: String?
    var parentKey: String?
    for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
      let line = String(rawLine).replacingOccurrences(of: "\r", with: "")
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
      if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") {
        let name = trimmed.dropFirst().dropLast().split(whereSeparator: { $0 == " " || $0 == "\t" })
          .joined(separator: " ")
        current = name
        parentKey = nil
        if sections[name] == nil { sections[name] = [:] }
        continue
      }
      guard let section = current, let eq = trimmed.firstIndex(of: "=") else { continue }
      let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
      var value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
      // Inline comments need whitespace before the marker (secrets may contain '#').
      for marker in [" #", "\t#", " ;", "\t;"] {
        if let r = value.range(of: marker) { value = value[..<r.lowerBound].trimmingCharacters(in: .whitespaces) }
      }
      let indented = line.first == " " || line.first == "\t"
      if indented, let parent = parentKey {
        sections[section]?["\(parent).\(key)"] = value
      } else {
        sections[section]?[key] = value
        parentKey = value.isEmpty ? key : nil
      }
    }
    return sections
  }
}

/// nil for nil or the empty string: unset and empty variables mean the same to AWS tools.
func nonEmpty(_ s: String?) -> String? {
  guard let s, !s.isEmpty else { return nil }
  return s
}
