import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

/// Issue 12 item 2: a credential variable is read only by the actions that own it and sent only
/// to its provider's endpoint. The decisions (`CredentialEndpoints`) and how validation applies
/// them to a hostile runbook.
@Suite struct CredentialEndpointsTests {
  @Test(arguments: [
    ("https://api.github.com/user", "https://api.github.com:443"),
    ("HTTPS://API.GitHub.com:443/x?y", "https://api.github.com:443"),
    ("http://127.0.0.1:8200/v1", "http://127.0.0.1:8200"),
  ])
  func originIsSchemeHostAndPort(_ url: String, _ expected: String) {
    #expect(CredentialEndpoints.origin(of: url) == expected)
  }

  @Test func originOfSomethingThatIsNotAnHTTPURLIsNil() {
    #expect(CredentialEndpoints.origin(of: "file:///etc/passwd") == nil)
    #expect(CredentialEndpoints.origin(of: "/relative") == nil)
    // Where parsers disagree on the host, there is none to send a credential to.
    #expect(CredentialEndpoints.origin(of: "https://a\\@b/") == nil)
    #expect(CredentialEndpoints.origin(of: "https://api.github.com@evil.example.test/") == nil)
    #expect(
      CredentialEndpoints.refusal(
        url: "https://api.github.com:443@evil.example.test/", carrying: ["GITHUB_TOKEN"],
        environment: ["GITHUB_TOKEN": "t"])
        != nil)
  }

  @Test func credentialsAreKnownByNameConventionOrDeclaration() {
    for name in [
      "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "VAULT_TOKEN", "BAO_TOKEN", "GITHUB_TOKEN", "GITLAB_TOKEN",
      "SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SENDGRID_API_KEY", "PAGERDUTY_ROUTING_KEY", "SMTP_PASSWORD",
      "SMTP_URL", "OPENAI_ADMIN_KEY", "DATADOG_API_KEY",
    ] {
      #expect(CredentialEndpoints.isCredential(name), "\(name)")
    }
    #expect(CredentialEndpoints.isCredential("TEAM_CHANNEL", declaredSecret: true))
    for name in ["AWS_REGION", "VAULT_ADDR", "GITHUB_API_URL", "AWS_ACCESS_KEY_ID", "TEAM_CHANNEL"] {
      #expect(!CredentialEndpoints.isCredential(name), "\(name)")
    }
  }

  @Test func aCredentialGoesToItsStandardEndpointOrTheOneTheUserSet() {
    let none: [String: String] = ["GITHUB_TOKEN": "ghp_x"]
    #expect(
      CredentialEndpoints.refusal(url: "https://api.github.com/user", carrying: ["GITHUB_TOKEN"], environment: none)
        == nil)
    #expect(
      CredentialEndpoints.refusal(url: "https://evil.example.test/user", carrying: ["GITHUB_TOKEN"], environment: none)
        == "GITHUB_TOKEN may be sent only to https://api.github.com (default), not to https://evil.example.test; "
        + "nothing was sent")
    let ghes = ["GITHUB_TOKEN": "ghp_x", "GITHUB_API_URL": "https://ghe.example.test/api/v3"]
    #expect(
      CredentialEndpoints.refusal(
        url: "https://ghe.example.test/api/v3/user", carrying: ["GITHUB_TOKEN"],
        environment: ghes) == nil)
    // Once the user names an endpoint, the standard one is no longer where the token goes.
    #expect(
      CredentialEndpoints.refusal(url: "https://api.github.com/user", carrying: ["GITHUB_TOKEN"], environment: ghes)
        == "GITHUB_TOKEN may be sent only to https://ghe.example.test (GITHUB_API_URL), not to https://api.github.com; "
        + "nothing was sent")
    // Same host, other port or scheme: another origin.
    #expect(
      CredentialEndpoints.refusal(
        url: "http://ghe.example.test/api/v3/user", carrying: ["GITHUB_TOKEN"],
        environment: ghes) != nil)
    // A credential that is not set carries nothing.
    #expect(
      CredentialEndpoints.refusal(url: "https://evil.example.test/", carrying: ["GITLAB_TOKEN"], environment: none)
        == nil)
  }

  @Test func vaultHasNoStandardEndpointAndAnUnknownCredentialGoesNowhere() {
    let env = ["VAULT_TOKEN": "s.x", "MY_API_KEY": "k"]
    #expect(
      CredentialEndpoints.refusal(url: "https://vault.example.test/v1", carrying: ["VAULT_TOKEN"], environment: env)
        == "VAULT_TOKEN may be sent only to its provider's endpoint and none is configured "
        + "(set VAULT_ADDR or BAO_ADDR); not sending it to https://vault.example.test")
    #expect(
      CredentialEndpoints.refusal(
        url: "https://vault.example.test/v1", carrying: ["VAULT_TOKEN"],
        environment: env.merging(["BAO_ADDR": "https://vault.example.test"]) { a, _ in a })
        == nil)
    #expect(
      CredentialEndpoints.refusal(url: "https://api.example.test/", carrying: ["MY_API_KEY"], environment: env)
        != nil)
  }

  @Test func aDefinitionMayUseOnlyACredentialWhoseEndpointItReads() {
    #expect(
      CredentialEndpoints.definitionProblem("GITHUB_TOKEN", declaredEnv: ["GITHUB_API_URL", "GITHUB_TOKEN"]) == nil)
    #expect(CredentialEndpoints.definitionProblem("GITHUB_API_URL", declaredEnv: ["GITHUB_API_URL"]) == nil)
    #expect(
      CredentialEndpoints.definitionProblem("GITHUB_TOKEN", declaredEnv: ["GITHUB_TOKEN"])
        == "env 'GITHUB_TOKEN' may be sent only to github's endpoint: add GITHUB_API_URL to 'env' "
        + "and build the url on it")
    #expect(
      CredentialEndpoints.definitionProblem("AWS_SECRET_ACCESS_KEY", declaredEnv: ["AWS_SECRET_ACCESS_KEY"])
        == "env 'AWS_SECRET_ACCESS_KEY' is used only by respond's own aws actions, never by an action definition")
    #expect(
      CredentialEndpoints.definitionProblem("MY_API_KEY", declaredEnv: ["MY_API_KEY"])?
        .hasPrefix("env 'MY_API_KEY' looks like a credential") == true)
  }

  // MARK: - Runbooks

  @Test func theHostileRunbookIsRefusedWithLocatedErrors() throws {
    let path = try HostileRunbooks.write(HostileRunbooks.exfiltrate(to: "https://collector.example.test"))
    defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    let (_, result) = StandardActions.loadRunbook(path: path)
    guard case .failure(let invalid) = result else {
      Issue.record("the hostile runbook validated")
      return
    }
    let credential = { (name: String) in
      "error: env '\(name)' is a credential: a runbook cannot read it (only the actions that own it do, and they send "
        + "it only to its provider's endpoint); use configured.\(name) to test whether it is set"
    }
    let whole =
      "error: the whole env cannot be read while it holds credentials (AWS_SECRET_ACCESS_KEY, VAULT_TOKEN): "
      + "name the variables you need, e.g. env.AWS_REGION"
    #expect(
      invalid.diagnostics.sorted().map(\.description) == [
        "\(path):11:60: " + credential("AWS_SECRET_ACCESS_KEY"),
        "\(path):11:95: " + credential("VAULT_TOKEN"),
        "\(path):12:27: " + whole,
        "\(path):13:9: error: step 'post-quietly': parameter 'mutates' of http must be one of true, found 'false'",
        "\(path):18:57: " + credential("VAULT_TOKEN"),
        "\(path):19:35: " + whole,
      ])
  }

  @Test func configuredSaysWhetherACredentialIsSetWithoutReadingIt() throws {
    let yaml = """
      runbook: ok
      env: [SLACK_WEBHOOK_URL, AWS_REGION]
      phases:
        notify:
          - id: tell
            action: http
            when: ${{ configured.SLACK_WEBHOOK_URL && configured.AWS_REGION }}
            with: { url: "https://status.example.test/${{ env.AWS_REGION }}" }
          - id: nope
            action: http
            when: ${{ configured.NOT_DECLARED }}
            with: { url: "https://status.example.test/" }
      """
    let (rb, loadProblems) = RunbookLoader().load(text: yaml, file: "ok.yaml")
    #expect(loadProblems.isEmpty)
    let diagnostics = RunbookValidator(registry: StandardActions.registry()).validate(try #require(rb))
    #expect(
      diagnostics.map(\.description) == [
        "ok.yaml:11:17: error: env 'NOT_DECLARED' is not declared in the runbook's 'env' list"
      ])
  }
}
