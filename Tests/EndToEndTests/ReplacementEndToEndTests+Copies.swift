import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Whatever replacement the dispatched provider minted is stored by the same steps, and written
/// into every copy of the leaked value found in the stores: a rotated GitLab token into an
/// OpenBao copy and a Secrets Manager copy (and the Parameter Store parameter given), a new
/// Datadog key into the copies a search found with no store given. Each store is read back with
/// its own client, the report names every copy and store, and no new secret appears in any
/// output of respond.
extension ReplacementEndToEndTests {
  static let alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

  /// The report's fact row `label`, or nil when the report has none.
  static func fact(_ label: String, in report: String) -> String? {
    report.split(separator: "\n").first { $0.hasPrefix("| \(label) |") }.map(String.init)
  }

  @Test func aRotatedGitLabTokenIsStoredAndReplacesEveryCopyFound() throws {
    let gitlab = try R.Provider("gitlab", spec: "gitlab.json")
    // The leaked token looks itself up (it is sent to the receiver, so it is not in the scan's
    // manifest); the admin token rotates it; the rotated one is sent nowhere.
    let (leaked, admin) = (
      "glpat-" + R.random(20, from: Self.alphanumerics), "glpat-" + R.random(20, from: Self.alphanumerics)
    )
    let minted = "glpat-" + R.random(20, from: Self.alphanumerics)
    recordTestSecret(minted)
    try gitlab.script(
      "/api/v4/personal_access_tokens/self",
      [
        ["status": 200, "body": ProviderBranchesTests.gitlabSelf],
        ["status": 401, "body": ["message": "401 Unauthorized"]],
      ])
    let rotated: Value = [
      "id": 43, "name": "ci", "user_id": 7, "scopes": ["api"], "active": true, "revoked": false,
      "token": .string(minted), "expires_at": "2027-01-01",
    ]
    try gitlab.script("/api/v4/personal_access_tokens/42/rotate", [["status": 200, "body": rotated]])
    // Copies: one in OpenBao under the searched path (beside a clean secret), one in Secrets
    // Manager under the prefix; the Parameter Store parameter is the store given.
    let tag = Self.unique("copies/gitlab")
    try bao.put(tag + "/ci/gitlab", ["token": leaked, "url": "https://gitlab.example.com"])
    try bao.put(tag + "/clean", ["token": "unrelated-value"])
    let prefix = Self.unique("copies-gitlab") + "/"
    try moto.createSecret(
      prefix + "deploy", json: Value.object(["token": .string(leaked), "note": "kept"]).jsonString())
    let parameter = "/" + Self.unique("gitlab") + "/token"
    try moto.putParameter(parameter, Value.object(["token": .string(leaked), "note": "kept"]).jsonString())
    let run = try R.respond(
      leaked,
      ["--search-path", "secret/" + tag, "--secrets-prefix", prefix, "--ssm-parameter", parameter],
      env: environment(["GITLAB_URL": gitlab.url, "GITLAB_TOKEN": admin]))
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    #expect(run.state.steps["gitlab-rotate"]?.secretOutputs == ["token"])
    let sent = try gitlab.recorded("/api/v4/personal_access_tokens/42/rotate")
    #expect(R.methodsAndComplaints(sent).0 == ["POST"] && R.methodsAndComplaints(sent).1.isEmpty, "\(sent)")
    // Read back with the stores' own clients: the copies and the store hold the rotated token.
    #expect(try bao.get(tag + "/ci/gitlab") == ["token": minted, "url": "https://gitlab.example.com"])
    #expect(try bao.get(tag + "/clean") == ["token": "unrelated-value"])
    let copy = Value.parseJSON(try moto.secretString(prefix + "deploy"))
    #expect(copy?["token"]?.stringValue == minted && copy?["note"]?.stringValue == "kept")
    let stored = Value.parseJSON(try moto.parameter(parameter).value)
    #expect(stored?["token"]?.stringValue == minted && stored?["note"]?.stringValue == "kept")
    // The report names the replacement, the store and every copy replaced.
    let expected = [
      ("Replacement key", "43"), ("Stored in Parameter Store", parameter),
      ("Copies replaced (Vault/OpenBao)", "vault secret/\(tag)/ci/gitlab (token)"),
      ("Copies replaced (Secrets Manager)", "secrets-manager \(prefix)deploy (token)"),
    ]
    for (label, value) in expected {
      let row = Self.fact(label, in: run.report)
      #expect(row?.contains(value) == true, "\(label): \(row ?? "no row")")
    }
    R.expectAbsent([leaked, admin, minted], in: run)
  }

  /// With no store given, a copy found is reason enough to mint: the new key replaces the leaked
  /// one in each copy (other fields kept), and nothing is written where no copy was.
  @Test func aDatadogReplacementIsWrittenIntoTheCopiesFound() throws {
    let datadog = try R.Provider("datadog", spec: "datadog.json")
    let (leaked, minted) = (R.random(32), R.random(32))
    let (apiKey, appKey) = (R.random(32), R.random(40))
    for secret in [leaked, minted] { recordTestSecret(secret) }
    let (keyID, newID) = (UUID().uuidString.lowercased(), UUID().uuidString.lowercased())
    let old: Value = ["data": ["type": "api_keys", "id": .string(keyID), "attributes": ["name": "agent"]]]
    try datadog.script(
      "/api/v2/api_keys/" + keyID,
      [
        ["status": 200, "body": old], ["status": 204, "body": ""], ["status": 404, "body": ["errors": ["not found"]]],
      ])
    let created: Value = [
      "data": [
        "type": "api_keys", "id": .string(newID),
        "attributes": ["name": "agent (replaced)", "key": .string(minted), "last4": .string(String(minted.suffix(4)))],
      ]
    ]
    try datadog.script("/api/v2/api_keys", [["status": 201, "body": created]])
    let tag = Self.unique("copies/datadog")
    try bao.put(tag + "/agent", ["api_key": leaked, "site": "datadoghq.eu"])
    let prefix = Self.unique("copies-datadog") + "/"
    try moto.createSecret(prefix + "agent", json: Value.object(["DD_API_KEY": .string(leaked)]).jsonString())
    let run = try R.respond(
      leaked,
      ["--provider", "datadog", "--key-id", keyID, "--search-path", "secret/" + tag, "--secrets-prefix", prefix],
      env: environment(["DATADOG_HOST": datadog.url, "DD_API_KEY": apiKey, "DD_APP_KEY": appKey]))
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(run.report.contains("LIVE: CONTAINED"))
    #expect(run.state.steps["datadog-create"]?.outcome == .succeeded, "a copy found is a place that holds it")
    #expect(run.state.steps["store-vault"]?.outcome == .skippedCondition, "no store was given")
    #expect(try bao.get(tag + "/agent") == ["api_key": minted, "site": "datadoghq.eu"])
    #expect(Value.parseJSON(try moto.secretString(prefix + "agent"))?["DD_API_KEY"]?.stringValue == minted)
    for (label, value) in [
      ("Copies replaced (Vault/OpenBao)", "vault secret/\(tag)/agent (api_key)"),
      ("Copies replaced (Secrets Manager)", "secrets-manager \(prefix)agent (DD_API_KEY)"),
    ] {
      let row = Self.fact(label, in: run.report)
      #expect(row?.contains(value) == true, "\(label): \(row ?? "no row")")
    }
    R.expectAbsent([leaked, minted, apiKey, appKey], in: run)
  }

  /// A runner's new token found no store but a copy: it replaces the leaked token there, and the
  /// runner's owner is told where it is rather than that it was kept nowhere.
  @Test func aGitLabRunnersNewTokenReplacesACopyFound() throws {
    let gitlab = try R.Provider("gitlab", spec: "gitlab.json")
    let (leaked, minted) = (
      "glrt-" + R.random(24, from: Self.alphanumerics), "glrt-" + R.random(24, from: Self.alphanumerics)
    )
    recordTestSecret(minted)
    try gitlab.script(
      "/api/v4/runners/reset_authentication_token",
      [["status": 201, "body": ["token": .string(minted), "token_expires_at": .null]]])
    try gitlab.script("/api/v4/runners/verify", [["status": 403, "body": ["message": "403 Forbidden"]]])
    let tag = Self.unique("copies/runner")
    try bao.put(tag + "/runner", ["token": leaked, "url": "https://gitlab.example.com"])
    let run = try R.respond(leaked, ["--search-path", "secret/" + tag], env: environment(["GITLAB_URL": gitlab.url]))
    #expect(run.outcome.status == 0, "stderr: \(run.outcome.stderr)")
    #expect(try bao.get(tag + "/runner") == ["token": minted, "url": "https://gitlab.example.com"])
    #expect(run.report.contains("The new token replaces the leaked one in the copies found"))
    #expect(!run.report.contains("kept nowhere"))
    R.expectAbsent([leaked, minted], in: run)
  }
}
