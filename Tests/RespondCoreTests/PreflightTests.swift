import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

/// Issue 13 item 4: the preflight's decisions, without a network. Which steps will run for these
/// inputs (after the offline steps), and whether each can: configuration that goes together,
/// credentials, and AWS permission per call.
@Suite struct PreflightTests {
  static let yaml = """
    runbook: pf
    description: preflight fixture
    inputs:
      key: { description: the key, required: true, secret: true }
      vault-path: { description: a KV path }
    env:
      SMTP_URL: { secret: true, description: mail server }
    phases:
      detect:
        - id: identify
          action: key.identify
          with: { key: "${{ inputs.key }}" }
        - id: owner
          action: aws.iam.get-access-key-last-used
          when: ${{ steps.identify.provider == 'aws' }}
          with: { access-key-id: "${{ steps.identify.key-id }}" }
      contain:
        - id: deactivate
          action: aws.iam.update-access-key
          when: ${{ steps.owner.found }}
          with: { access-key-id: "${{ steps.identify.key-id }}", status: Inactive }
        - id: vault-revoke
          action: vault.token.revoke
          when: ${{ steps.identify.provider == 'vault' }}
          with: { token: "${{ inputs.key }}" }
        - id: check
          action: check
          when: ${{ steps.owner.found || steps.vault-revoke.revoked }}
          verifies: [deactivate, vault-revoke]
          with: { condition: "${{ steps.owner.found }}", message: still active }
      recover:
        - id: create
          action: aws.iam.create-access-key
          when: ${{ steps.owner.found }}
          with: { user-name: "${{ steps.owner.user-name }}" }
        - id: store
          action: vault.kv.write
          when: ${{ steps.create.access-key-id && inputs.vault-path }}
          with: { path: "${{ inputs.vault-path }}", fields: { a: b } }
      document:
        - id: email
          action: notify.email
          when: ${{ configured.SMTP_URL }}
          with: { subject: s, body: b }
    """
  static let awsKey = "AKIAIOSFODNN7EXAMPLE"
  static let awsEnv = [
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "eu-west-1",
  ]
  static let principal = "arn:aws:iam::123456789012:user/responder"

  static func preflight(_ inputs: [String: String], env: [String: String]) async throws -> (Preflight, ActionRegistry) {
    let registry = StandardActions.registry()
    let rb = try runbook(yaml, registry: registry)
    let values = inputs.mapValues(Value.string)
    let known = await Preflight.runOfflineSteps(rb, registry: registry, inputs: values, masker: Masker())
    return (Preflight.plan(rb, registry: registry, inputs: values, known: known, environment: env), registry)
  }

  static func reach(_ p: Preflight) -> [String: Preflight.Reach] {
    Dictionary(uniqueKeysWithValues: p.steps.map { ($0.step.id, $0.reach) })
  }

  static func allowed(_ p: Preflight, except denied: [String] = []) -> Preflight.AWSAnswers {
    var d: [String: String] = [:]
    for a in p.awsActions { d[a.lowercased()] = denied.contains(a) ? "implicitDeny" : "allowed" }
    return .decided(principal: principal, decisions: d)
  }

  // MARK: - Which steps run

  @Test func anAWSKeyTakesTheAWSBranchAndLeavesTheOthers() async throws {
    let (p, _) = try await Self.preflight(["key": Self.awsKey], env: Self.awsEnv)
    let reach = Self.reach(p)
    #expect(reach["identify"] == .will)
    #expect(reach["owner"] == .will, "decided from key.identify's outputs, offline")
    #expect(reach["deactivate"] == .may, "reads what owner finds")
    #expect(reach["vault-revoke"] == .wont)
    #expect(reach["check"] == .may, "may-run || decided-false is still may-run")
    // `steps.create.access-key-id && inputs.vault-path` with no --vault-path is decided false
    // although create's outputs are unknown.
    #expect(reach["store"] == .wont)
    #expect(reach["email"] == .wont, "SMTP_URL is not set")
    #expect(
      p.awsActions == [
        "iam:CreateAccessKey", "iam:GetAccessKeyLastUsed", "iam:UpdateAccessKey",
      ])
  }

  @Test func aVaultTokenMakesNoAWSCall() async throws {
    let (p, _) = try await Self.preflight(["key": "s." + String(repeating: "Ab9", count: 8)], env: [:])
    let reach = Self.reach(p)
    #expect(reach["owner"] == .wont)
    #expect(reach["deactivate"] == .wont, "owner will not run, so owner.found reads null")
    #expect(reach["vault-revoke"] == .will)
    #expect(p.awsActions.isEmpty)
  }

  // MARK: - What is found

  /// SMTP_URL and SMTP_FROM without SMTP_TO: the e-mail cannot work. It is needed for nothing
  /// containment does, so it is "not configured": skipped at its turn, never a failure.
  @Test func aHalfConfiguredMailerIsNotConfiguredNotBlocking() async throws {
    var env = Self.awsEnv
    env["SMTP_URL"] = "smtp://127.0.0.1:2525"
    env["SMTP_FROM"] = "respond@example.test"
    let (p, registry) = try await Self.preflight(["key": Self.awsKey], env: env)
    let d = p.decide(registry: registry, environment: env, aws: Self.allowed(p), host: "h", runbook: "pf")
    #expect(d.blocking.isEmpty)
    #expect(d.notConfigured.keys.sorted() == ["email"])
    #expect(d.notConfigured["email"] == "SMTP: half configured, SMTP_TO not set (set SMTP_TO)")
    let finding = try #require(d.findings.first { $0.kind == .notConfigured })
    #expect(finding.steps == ["email"])
    #expect(d.lines.contains("  not configured  step email: SMTP: half configured, SMTP_TO not set"))
  }

  /// SMTP_URL and SMTP_TO without SMTP_FROM: the mail goes from the user at this host, and the
  /// preflight says so.
  @Test func aMissingSenderDefaultsToTheUserAtThisHost() async throws {
    var env = Self.awsEnv
    env["SMTP_URL"] = "smtp://127.0.0.1:2525"
    env["SMTP_TO"] = "oncall@example.test"
    env["USER"] = "alice"
    let (p, registry) = try await Self.preflight(["key": Self.awsKey], env: env)
    let d = p.decide(registry: registry, environment: env, aws: Self.allowed(p), host: "bastion", runbook: "pf")
    #expect(d.notConfigured.isEmpty && d.blocking.isEmpty && d.warnings.isEmpty)
    #expect(
      d.findings == [
        Preflight.Finding(
          kind: .note, steps: ["email"], message: "SMTP_FROM is not set: using alice@bastion",
          fix: "set SMTP_FROM to choose another")
      ])
  }

  /// A denied call that containment needs stops the run; a denied call after containment is
  /// shown and does not.
  @Test func aDeniedContainmentCallBlocksADeniedRecoveryCallWarns() async throws {
    let (p, registry) = try await Self.preflight(["key": Self.awsKey], env: Self.awsEnv)
    let d = p.decide(
      registry: registry, environment: Self.awsEnv,
      aws: Self.allowed(p, except: ["iam:UpdateAccessKey", "iam:CreateAccessKey"]), host: "h", runbook: "pf")
    #expect(d.blocking.map(\.steps) == [["deactivate"]])
    #expect(d.blocking.first?.message == "\(Self.principal) may not call iam:UpdateAccessKey (implicitDeny)")
    #expect(d.blocking.first?.fix?.contains("`respond policy pf`") == true)
    #expect(d.findings.filter { $0.kind == .willFail }.map(\.steps) == [["create"]])
    #expect(d.principal == Self.principal)
  }

  /// No AWS credentials: every AWS step up to containment is blocking, with the variables to set.
  @Test func missingCredentialsForContainmentBlock() async throws {
    let (p, registry) = try await Self.preflight(["key": Self.awsKey], env: [:])
    let d = p.decide(registry: registry, environment: [:], aws: .notAsked, host: "h", runbook: "pf")
    let blocking = try #require(d.blocking.first { $0.message == "AWS credentials: not configured" })
    #expect(blocking.steps == ["owner", "deactivate"])
    #expect(blocking.fix == "AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    // The same credentials, known to resolve from a profile file, are no problem.
    let profiled = p.decide(
      registry: registry, environment: [:], satisfied: ["AWS credentials"], aws: .notAsked, host: "h", runbook: "pf")
    #expect(profiled.blocking.isEmpty)
  }

  /// A simulation that could not run is said, and the run goes on.
  @Test func anUnknownPermissionIsSaidAndDoesNotBlock() async throws {
    let (p, registry) = try await Self.preflight(["key": Self.awsKey], env: Self.awsEnv)
    let d = p.decide(
      registry: registry, environment: Self.awsEnv, aws: .unknown("AccessDenied"), host: "h", runbook: "pf")
    #expect(d.blocking.isEmpty)
    #expect(d.warnings.map(\.kind) == [.unknown])
    #expect(d.lines.contains { $0.contains("AWS permissions could not be checked (AccessDenied); going on") })
  }

  /// A recovery step that will fail at its turn (a Vault path given, no Vault configured) is a
  /// warning: containment can still go ahead.
  @Test func aMissingCredentialAfterContainmentWillFailButDoesNotBlock() async throws {
    let (p, registry) = try await Self.preflight(["key": Self.awsKey, "vault-path": "secret/ci/aws"], env: Self.awsEnv)
    #expect(Self.reach(p)["store"] == .may)
    let d = p.decide(registry: registry, environment: Self.awsEnv, aws: Self.allowed(p), host: "h", runbook: "pf")
    #expect(d.blocking.isEmpty)
    #expect(d.findings.map(\.kind) == [.willFail])
    #expect(d.findings.first?.steps == ["store"])
    #expect(d.findings.first?.fix == "Vault/OpenBao: set VAULT_ADDR and VAULT_TOKEN, or BAO_ADDR and BAO_TOKEN")
  }

  /// The caller IAM simulates: an assumed-role session is its role; users and roles are
  /// themselves; the root user and federated users cannot be simulated (the preflight says
  /// "unknown" for them).
  @Test func theSimulatedPrincipalIsTheCallersUserOrRole() {
    #expect(
      AWSPermissionProbe.principalARN("arn:aws:sts::123456789012:assumed-role/Responder/alice@example.test")
        == "arn:aws:iam::123456789012:role/Responder")
    #expect(
      AWSPermissionProbe.principalARN("arn:aws-us-gov:sts::123456789012:assumed-role/R/s")
        == "arn:aws-us-gov:iam::123456789012:role/R")
    #expect(
      AWSPermissionProbe.principalARN("arn:aws:iam::123456789012:user/ops/oncall")
        == "arn:aws:iam::123456789012:user/ops/oncall")
    #expect(AWSPermissionProbe.principalARN("arn:aws:iam::123456789012:root") == nil)
    #expect(AWSPermissionProbe.principalARN("arn:aws:sts::123456789012:federated-user/bob") == nil)
    #expect(AWSPermissionProbe.principalARN("not an arn") == nil)
    // The simulation asks about the caller's own account (and partition).
    let role = "arn:aws-us-gov:iam::123456789012:role/R"
    #expect(
      AWSPermissionProbe.concrete("arn:aws:iam::*:user/*", for: role) == "arn:aws-us-gov:iam::123456789012:user/*")
    #expect(
      AWSPermissionProbe.concrete("arn:aws:logs:*:*:log-group:*", for: role)
        == "arn:aws-us-gov:logs:*:123456789012:log-group:*")
    #expect(AWSPermissionProbe.concrete("*", for: role) == "*")
  }

  /// IAM's answer as botocore's model shapes it: a refusal that hangs on context the simulation
  /// lacked (an MFA condition) is unknown, not a denial.
  @Test func simulationDecisionsLeaveContextDependentRefusalsUnknown() throws {
    let xml = """
      <SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
        <SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>
          <member><EvalActionName>iam:UpdateAccessKey</EvalActionName><EvalDecision>allowed</EvalDecision></member>
          <member><EvalActionName>iam:CreateAccessKey</EvalActionName><EvalDecision>explicitDeny</EvalDecision>
            <MissingContextValues/></member>
          <member><EvalActionName>iam:DeleteAccessKey</EvalActionName><EvalDecision>implicitDeny</EvalDecision>
            <MissingContextValues><member>aws:MultiFactorAuthPresent</member></MissingContextValues></member>
        </EvaluationResults></SimulatePrincipalPolicyResult>
      </SimulatePrincipalPolicyResponse>
      """
    let answer = try #require(XMLTree.parse(Array(xml.utf8)))
    #expect(
      AWSPermissionProbe.decisions(answer) == ["iam:updateaccesskey": "allowed", "iam:createaccesskey": "explicitDeny"])
  }

  /// Calls are asked per resource pattern: a policy narrowed to users allows nothing on `*`.
  @Test func awsCallsAreGroupedByTheResourceTheyTouch() async throws {
    let (p, _) = try await Self.preflight(["key": Self.awsKey], env: Self.awsEnv)
    let questions = p.awsQuestions
    #expect(questions.map(\.resource) == ["arn:aws:iam::*:user/*"])
    #expect(questions.first?.actions == ["iam:CreateAccessKey", "iam:GetAccessKeyLastUsed", "iam:UpdateAccessKey"])
  }

  /// Vault/OpenBao: the token's capabilities on each path a step would use (sys/capabilities-self).
  /// A revocation it may not make blocks; a KV write needs create or update, either will do.
  @Test func vaultCapabilitiesAreCheckedPerPath() async throws {
    let vaultEnv = ["VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_TOKEN": "t"]
    let token = "s." + String(repeating: "Ab9", count: 8)
    let (p, registry) = try await Self.preflight(["key": token], env: vaultEnv)
    #expect(p.vaultPaths == ["auth/token/revoke"])
    let d = p.decide(
      registry: registry, environment: vaultEnv, aws: .notAsked, vault: .decided(["auth/token/revoke": ["deny"]]),
      host: "h", runbook: "pf")
    #expect(d.blocking.map(\.steps) == [["vault-revoke"]])
    #expect(d.blocking.first?.message == "the Vault/OpenBao token may not update auth/token/revoke (it has: deny)")
    #expect(
      d.blocking.first?.fix
        == "add to the token's policy: path \"auth/token/revoke\" { capabilities = [\"update\"] } (`respond policy pf --vault` prints them all)"
    )
    let root = p.decide(
      registry: registry, environment: vaultEnv, aws: .notAsked, vault: .decided(["auth/token/revoke": ["root"]]),
      host: "h", runbook: "pf")
    #expect(root.findings.isEmpty)

    var env = Self.awsEnv.merging(vaultEnv) { a, _ in a }
    env["AWS_REGION"] = "eu-west-1"
    let (aws, _) = try await Self.preflight(["key": Self.awsKey, "vault-path": "secret/ci/aws"], env: env)
    #expect(aws.vaultPaths == ["secret/data/ci/aws"])
    let writable = aws.decide(
      registry: registry, environment: env, aws: Self.allowed(aws),
      vault: .decided(["secret/data/ci/aws": ["read", "update"]]),
      host: "h", runbook: "pf")
    #expect(writable.findings.isEmpty, "update alone writes an existing secret")
    let readOnly = aws.decide(
      registry: registry, environment: env, aws: Self.allowed(aws), vault: .decided(["secret/data/ci/aws": ["read"]]),
      host: "h", runbook: "pf")
    #expect(readOnly.findings.map(\.kind) == [.willFail], "after containment: shown, not blocking")
    #expect(readOnly.findings.first?.message.hasPrefix("the Vault/OpenBao token may not create or update") == true)
    let unknown = aws.decide(
      registry: registry, environment: env, aws: Self.allowed(aws), vault: .unknown("HTTP 403"), host: "h",
      runbook: "pf")
    #expect(unknown.blocking.isEmpty && unknown.warnings.map(\.kind) == [.unknown])
  }

  // MARK: - Conditions decided before the run

  @Test func partialEvaluationDecidesOnlyWhatItCan() throws {
    let ctx = EvaluationContext(inputs: ["a": "x"], steps: ["gone": [:]], configured: ["S": true])
    func decide(_ text: String) throws -> Value? {
      try Template.parse("${{ \(text) }}").decide(ctx, unknownSteps: ["later"])
    }
    #expect(try decide("steps.later.x && inputs.b") == .null, "falsy side decides &&")
    #expect(try decide("steps.later.x || configured.S") == .bool(true), "truthy side decides ||")
    #expect(try decide("steps.later.x == 'y'") == nil)
    #expect(try decide("steps.later.x && inputs.a") == nil)
    #expect(try decide("!steps.gone.found") == .bool(true), "a step that will not run reads null")
    #expect(try decide("incident.verdict == 'CONTAINED'") == nil)
    #expect(try decide("format('{0}', steps.later.x)") == nil)
  }
}
