import Foundation
import RespondCore
import Testing

@testable import RespondActions

/// Credential, region and endpoint resolution as the AWS CLI does it, from an explicit
/// environment and profile files in a temporary HOME.
@Suite struct AWSConfigurationTests {
  /// A temporary HOME with optional ~/.aws/credentials and ~/.aws/config, removed afterwards.
  final class TempHome {
    let path: String

    init(credentials: String? = nil, config: String? = nil) throws {
      path = NSTemporaryDirectory() + "respond-aws-home-" + UUID().uuidString
      try FileManager.default.createDirectory(atPath: path + "/.aws", withIntermediateDirectories: true)
      if let credentials {
        try credentials.write(toFile: path + "/.aws/credentials", atomically: true, encoding: .utf8)
      }
      if let config { try config.write(toFile: path + "/.aws/config", atomically: true, encoding: .utf8) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
  }

  static let envKeys = ["AWS_ACCESS_KEY_ID": "AKIAENVENVENVENVENV1", "AWS_SECRET_ACCESS_KEY": "envsecret/xyz+123"]

  @Test func environmentKeysWinOverProfile() throws {
    let home = try TempHome(
      credentials: "[default]\naws_access_key_id = AKIAFILEFILEFILEFIL1\naws_secret_access_key = filesecret123\n")
    let masker = Masker()
    var env = Self.envKeys
    env["HOME"] = home.path
    env["AWS_SESSION_TOKEN"] = "sessiontoken-abcdef"
    let config = try AWSConfiguration.resolve(environment: env, masker: masker)
    #expect(config.credentials.accessKeyID == "AKIAENVENVENVENVENV1")
    #expect(config.credentials.sigV4.sessionToken == "sessiontoken-abcdef")
    #expect(config.credentials.source == "environment")
    #expect(
      masker.mask("x envsecret/xyz+123 sessiontoken-abcdef")
        == "x \(Masker.fingerprint("envsecret/xyz+123")) \(Masker.fingerprint("sessiontoken-abcdef"))")
  }

  @Test func defaultProfileFromCredentialsFile() throws {
    let home = try TempHome(
      credentials: """
        # comment
        [default]
        aws_access_key_id = AKIAFILEFILEFILEFIL1
        aws_secret_access_key = file#secret/123
        aws_session_token = filetoken-123456
        """,
      config: "[default]\nregion = eu-west-3\n")
    let masker = Masker()
    let config = try AWSConfiguration.resolve(environment: ["HOME": home.path], masker: masker)
    #expect(config.credentials.accessKeyID == "AKIAFILEFILEFILEFIL1")
    #expect(config.credentials.sigV4.secretAccessKey == "file#secret/123")
    #expect(config.credentials.sigV4.sessionToken == "filetoken-123456")
    #expect(config.credentials.source == "profile default (\(home.path)/.aws/credentials)")
    #expect(masker.containsSecret("file#secret/123") && masker.containsSecret("filetoken-123456"))
    #expect(try config.region(for: .logs) == "eu-west-3")
    #expect(AWSConfiguration.isConfigured(["HOME": home.path]))
    #expect(AWSActions.isConfigured(["HOME": home.path]))
  }

  @Test func namedProfileFromConfigFileSections() throws {
    let home = try TempHome(
      credentials: "[default]\naws_access_key_id = AKIADEFAULTDEFAULT01\naws_secret_access_key = defaultsecret\n",
      config: """
        [default]
        region = us-west-2
        [profile ops]
        region = ap-south-1
        aws_access_key_id = AKIAOPSOPSOPSOPSOPS1
        aws_secret_access_key = opssecret-123
        """)
    let config = try AWSConfiguration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "ops"], masker: Masker())
    #expect(config.credentials.accessKeyID == "AKIAOPSOPSOPSOPSOPS1")
    #expect(config.profileName == "ops")
    #expect(try config.region(for: .ssm) == "ap-south-1")
  }

  @Test func filesFromExplicitPaths() throws {
    let home = try TempHome()
    let dir = home.path + "/elsewhere"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "[ci]\naws_access_key_id=AKIACICICICICICICIC1\naws_secret_access_key=cisecret-1\n"
      .write(toFile: dir + "/creds", atomically: true, encoding: .utf8)
    try "[profile ci]\nregion=sa-east-1\n".write(toFile: dir + "/conf", atomically: true, encoding: .utf8)
    let env = [
      "HOME": home.path, "AWS_PROFILE": "ci", "AWS_SHARED_CREDENTIALS_FILE": dir + "/creds",
      "AWS_CONFIG_FILE": dir + "/conf",
    ]
    let config = try AWSConfiguration.resolve(environment: env, masker: Masker())
    #expect(config.credentials.accessKeyID == "AKIACICICICICICICIC1")
    #expect(try config.region(for: .logs) == "sa-east-1")
  }

  @Test func missingCredentialsMessageNamesWhereItLooked() throws {
    let home = try TempHome()
    do {
      _ = try AWSConfiguration.resolve(environment: ["HOME": home.path], masker: Masker())
      Issue.record("expected notConfigured")
    } catch let error as ActionError {
      #expect(
        error.description
          == "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials (looked in \(home.path)/.aws/credentials)"
      )
      guard case .notConfigured = error else {
        Issue.record("wrong case \(error)")
        return
      }
    }
    #expect(!AWSConfiguration.isConfigured(["HOME": home.path]))
    // With HOME=/root the message names /root/.aws/credentials, as the issue asks.
    let rootless = AWSConfiguration.sharedCredentialsPath(["HOME": "/root"])
    #expect(rootless == "/root/.aws/credentials")
  }

  @Test func incompleteEnvironmentKeysAreAnError() throws {
    let home = try TempHome()
    #expect {
      _ = try AWSConfiguration.resolve(
        environment: ["HOME": home.path, "AWS_ACCESS_KEY_ID": "AKIAENVENVENVENVENV1"], masker: Masker())
    } throws: { error in
      "\(error)"
        == "incomplete AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not (set both, or unset both to use a profile)"
    }
  }

  @Test func unknownProfileIsNamed() throws {
    let home = try TempHome(
      credentials: "[default]\naws_access_key_id=AKIADEFAULTDEFAULT01\naws_secret_access_key=x123456\n")
    #expect {
      _ = try AWSConfiguration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "nope"], masker: Masker())
    } throws: { error in
      "\(error)"
        == "AWS profile 'nope' (AWS_PROFILE) was not found in \(home.path)/.aws/credentials or \(home.path)/.aws/config"
    }
  }

  @Test func unsupportedProfileKindsSayWhatToDo() throws {
    let home = try TempHome(config: "[profile sso]\nsso_session = corp\nregion = us-east-1\n")
    #expect {
      _ = try AWSConfiguration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "sso"], masker: Masker())
    } throws: { error in
      "\(error)".contains("sso_session, which respond does not support") && "\(error)".contains("export-credentials")
    }
  }

  @Test func regionPrecedence() throws {
    let home = try TempHome(config: "[default]\nregion = eu-north-1\n")
    var env = Self.envKeys
    env["HOME"] = home.path
    #expect(try AWSConfiguration.resolve(environment: env, masker: Masker()).region(for: .logs) == "eu-north-1")
    env["AWS_DEFAULT_REGION"] = "eu-central-1"
    #expect(try AWSConfiguration.resolve(environment: env, masker: Masker()).region(for: .logs) == "eu-central-1")
    env["AWS_REGION"] = "ca-central-1"
    let config = try AWSConfiguration.resolve(environment: env, masker: Masker())
    #expect(try config.region(for: .logs) == "ca-central-1")
    #expect(try config.region(for: .logs, override: "me-south-1") == "me-south-1")
  }

  @Test func noRegionGlobalFallsBackRegionalFails() throws {
    let home = try TempHome()
    var env = Self.envKeys
    env["HOME"] = home.path
    let config = try AWSConfiguration.resolve(environment: env, masker: Masker())
    let iam = try config.endpoint(for: .iam)
    #expect(iam.url == "https://iam.amazonaws.com")
    #expect(iam.signingRegion == "us-east-1")
    #expect(try config.endpoint(for: .sts).url == "https://sts.amazonaws.com")
    #expect {
      _ = try config.endpoint(for: .secretsManager)
    } throws: { error in
      "\(error)"
        == "no AWS region for AWS Secrets Manager: set AWS_REGION (or AWS_DEFAULT_REGION, or region in profile 'default' of \(home.path)/.aws/config)"
    }
    #expect(AWSConfiguration.isConfigured(env))
    #expect(!AWSConfiguration.isConfigured(env, for: .logs))
    #expect(AWSConfiguration.isConfigured(env, for: .iam))
  }

  @Test func defaultEndpoints() throws {
    var env = Self.envKeys
    env["AWS_REGION"] = "eu-west-1"
    env["HOME"] = "/nonexistent"
    let config = try AWSConfiguration.resolve(environment: env, masker: Masker())
    #expect(try config.endpoint(for: .logs).url == "https://logs.eu-west-1.amazonaws.com")
    #expect(try config.endpoint(for: .secretsManager).url == "https://secretsmanager.eu-west-1.amazonaws.com")
    #expect(try config.endpoint(for: .ssm).url == "https://ssm.eu-west-1.amazonaws.com")
    #expect(
      try config.endpoint(for: .cloudtrail, region: "us-east-2").url == "https://cloudtrail.us-east-2.amazonaws.com")
    let iam = try config.endpoint(for: .iam)
    #expect(iam.url == "https://iam.amazonaws.com" && iam.signingRegion == "us-east-1" && iam.region == "eu-west-1")
    #expect(try config.endpoint(for: .logs).signingRegion == "eu-west-1")
    #expect(AWSConfiguration.defaultEndpoint(.logs, region: "cn-north-1") == "https://logs.cn-north-1.amazonaws.com.cn")
  }

  @Test func endpointPrecedence() throws {
    let home = try TempHome(
      config: """
        [default]
        region = us-east-1
        endpoint_url = http://127.0.0.1:7000
        services = local
        [services local]
        secrets_manager =
          endpoint_url = http://127.0.0.1:7001
        """)
    var env = Self.envKeys
    env["HOME"] = home.path
    func url(_ s: AWSService) throws -> String {
      try AWSConfiguration.resolve(environment: env, masker: Masker()).endpoint(for: s).url
    }
    #expect(try url(.iam) == "http://127.0.0.1:7000")  // profile endpoint_url
    #expect(try url(.secretsManager) == "http://127.0.0.1:7001")  // services section
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5000"
    #expect(try url(.iam) == "http://127.0.0.1:5000")  // global env over config
    #expect(try url(.secretsManager) == "http://127.0.0.1:5000")  // global env over services section
    env["AWS_ENDPOINT_URL_IAM"] = "http://127.0.0.1:5001"
    env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:5002"
    env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = "http://127.0.0.1:5003"
    env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = "http://127.0.0.1:5004"
    env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "http://127.0.0.1:5005"
    env["AWS_ENDPOINT_URL_SSM"] = "http://127.0.0.1:5006"
    env["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:5007"
    let expected: [AWSService: String] = [
      .iam: "5001", .sts: "5002", .cloudtrail: "5003", .logs: "5004", .secretsManager: "5005", .ssm: "5006",
      .s3: "5007",
    ]
    for (service, port) in expected {
      let endpoint = try AWSConfiguration.resolve(environment: env, masker: Masker()).endpoint(for: service)
      #expect(endpoint.url == "http://127.0.0.1:\(port)", "\(service)")
      #expect(endpoint.source == "AWS_ENDPOINT_URL_\(service.endpointVariableSuffix)")
    }
    // The signing region stays what it would be without an override.
    #expect(
      try AWSConfiguration.resolve(environment: env, masker: Masker()).endpoint(for: .iam).signingRegion == "us-east-1")
    env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
    #expect(try url(.iam) == "https://iam.amazonaws.com")
    #expect(try url(.logs) == "https://logs.us-east-1.amazonaws.com")
  }

  @Test func ignoreEndpointsFromProfile() throws {
    let home = try TempHome(
      config:
        "[default]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:7000\nignore_configured_endpoint_urls = true\n")
    var env = Self.envKeys
    env["HOME"] = home.path
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5000"
    #expect(
      try AWSConfiguration.resolve(environment: env, masker: Masker()).endpoint(for: .ssm).url
        == "https://ssm.us-east-1.amazonaws.com")
  }

  @Test func requirementAlternatives() {
    let r = AWSActions.credentialsRequirement
    #expect(r.alternatives == [["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], ["AWS_PROFILE"]])
    #expect(r.isMet(in: Self.envKeys))
    #expect(r.isMet(in: ["AWS_PROFILE": "x"]))
    #expect(!r.isMet(in: ["AWS_ACCESS_KEY_ID": "AKIAENVENVENVENVENV1"]))
    // Every action that calls AWS needs credentials; the archive scan may read local files only,
    // and an action that declares no AWS call (aws.activity.classify reads other steps' outputs)
    // needs none.
    let callers = AWSActions.all().filter {
      $0.descriptor.name != "aws.cloudtrail.scan-archive" && $0.descriptor.permissions != []
    }
    #expect(callers.count > 15, "the filter must not empty the check")
    for action in callers {
      #expect(action.descriptor.requirements.contains(r), "\(action.descriptor.name)")
    }
  }

  @Test func iniParsing() {
    let ini = AWSConfiguration.parseINI(
      """
      [ default ]
      Region = us-east-1   # trailing comment
      ; comment
      [profile  two]
      s3 =
        max_concurrent_requests = 20
      key=a=b
      """)
    #expect(ini["default"]?["region"] == "us-east-1")
    #expect(ini["profile two"]?["s3.max_concurrent_requests"] == "20")
    #expect(ini["profile two"]?["key"] == "a=b")
  }
}
