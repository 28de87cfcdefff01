import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 15 item 5: GitHub Actions secrets as a secret store. A leaked AWS key is rotated and the
/// replacement written into the repository's Actions secrets through the receiver standing in for
/// GitHub, which checks every request against GitHub's own OpenAPI description. The test plays
/// GitHub with its own key pair and opens the sealed boxes respond sent (PyNaCl, libsodium's
/// Python binding) to prove they hold the new key, and that the new secret authenticates.
@Suite(.serialized) struct GitHubSecretsStoreTests {
  let services: TestServices
  let moto: MotoFixture
  let cloudtrail: CloudTrailEmulator
  let out = NSTemporaryDirectory() + "respond-ghsecrets-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
  }

  func curl(_ args: [String]) throws -> String { try runProgram("/usr/bin/curl", ["-sS", "--fail"] + args) }

  func post(_ path: String, _ body: Value) throws {
    _ = try curl(["-X", "POST", "--data-binary", body.jsonString(), services.receiverURL + path])
  }

  func sealedBox(_ args: [String]) throws -> String {
    try runProgram("/usr/bin/env", ["python3", services.repoRoot + "/Tests/Support/sealed_box.py"] + args)
  }

  /// Scripts GitHub's answers under `prefix` for owner/repo; `updatedAt` is what GitHub lists.
  func scriptGitHub(
    prefix: String, repo: String, publicKey: String, updatedAt: String,
    names: [String] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
  ) throws {
    try post("/_control/contract", ["prefix": .string(prefix), "spec": "github.json"])
    let base = "\(prefix)/repos/\(repo)/actions/secrets"
    try post(
      "/_control/script",
      [
        "path": .string(base + "/public-key"),
        "default": ["status": 200, "body": ["key_id": "3380204578043523366", "key": .string(publicKey)]],
      ])
    for name in names {
      try post(
        "/_control/script",
        [
          "path": .string("\(base)/\(name)"),
          "responses": [
            ["status": 201, "body": [:]],
            [
              "status": 200,
              "body": [
                "name": .string(name), "created_at": "2020-01-10T14:59:22Z", "updated_at": .string(updatedAt),
              ],
            ],
          ],
        ])
    }
  }

  @Test func theReplacementIsSealedToTheRepositoryKeyAndStored() throws {
    let user = "gh-store-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let prefix = "/github-\(UUID().uuidString.prefix(8).lowercased())"
    let repo = "octo-org/deploy"
    let pair = Value.parseJSON(try sealedBox(["keypair"])) ?? [:]
    let publicKey = try #require(pair["public"]?.stringValue)
    let privateKey = try #require(pair["private"]?.stringValue)
    let soon = ISO8601.string(Date().addingTimeInterval(30))
    try scriptGitHub(prefix: prefix, repo: repo, publicKey: publicKey, updatedAt: soon)
    let githubToken = "ghp_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(36))

    var env = cloudtrail.awsEnvironment()
    env["GITHUB_API_URL"] = services.receiverURL + prefix
    env["GITHUB_TOKEN"] = githubToken
    let o = try runRespond(
      ["key-compromised", "--key", leaked.id, "--github-repo", repo, "--yes", "--out", out], environment: env)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let newID = try #require(try moto.keys(of: user).first?.id)

    let sent = Value.parseJSON(try curl([services.receiverURL + "/_control/requests"]))?.arrayValue ?? []
    let mine = sent.filter { ($0["path"]?.stringValue ?? "").hasPrefix(prefix + "/") }
    #expect(mine.allSatisfy { $0["contract"] == nil }, "\(mine.compactMap { $0["contract"] })")
    #expect(mine.allSatisfy { $0.pointer("/headers/Authorization")?.stringValue == "Bearer \(githubToken)" })
    var opened: [String: String] = [:]
    for r in mine where r["method"]?.stringValue == "PUT" {
      let body = Value.parseJSON(r["body"]?.stringValue ?? "") ?? [:]
      #expect(body["key_id"] == "3380204578043523366")
      let name = String((r["path"]?.stringValue ?? "").split(separator: "/").last ?? "")
      opened[name] = try sealedBox(["open", privateKey, body["encrypted_value"]?.stringValue ?? ""])
    }
    #expect(opened["AWS_ACCESS_KEY_ID"] == newID)
    let newSecret = try #require(opened["AWS_SECRET_ACCESS_KEY"])
    recordTestSecret(newSecret)
    #expect(moto.authenticates(newID, newSecret), "GitHub now holds a working key")

    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("Stored in GitHub Actions secrets | \(repo): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"))
    let dir = (o.lastLine as NSString).deletingLastPathComponent
    for s in [newSecret, leaked.secret, githubToken] {
      #expect(!o.stdout.contains(s) && !o.stderr.contains(s))
      for (path, text) in allFileContents(under: dir) { #expect(!text.contains(s), "a secret in \(path)") }
    }
  }

  /// GitHub listing the secret as last updated long before the write proves nothing was stored:
  /// the step fails (exit 1, resumable) rather than report the store written.
  @Test func aSecretGitHubDoesNotListAsUpdatedFailsTheStep() throws {
    let user = "gh-stale-\(UUID().uuidString.prefix(8).lowercased())"
    let leaked = try moto.createUser(user)
    let prefix = "/github-\(UUID().uuidString.prefix(8).lowercased())"
    let pair = Value.parseJSON(try sealedBox(["keypair"])) ?? [:]
    try scriptGitHub(
      prefix: prefix, repo: "octo-org/stale", publicKey: pair["public"]?.stringValue ?? "",
      updatedAt: "2020-01-10T14:59:22Z")
    var env = cloudtrail.awsEnvironment()
    env["GITHUB_API_URL"] = services.receiverURL + prefix
    env["GITHUB_TOKEN"] = "ghp_" + String(repeating: "a", count: 36)
    let o = try runRespond(
      ["key-compromised", "--key", leaked.id, "--github-repo", "octo-org/stale", "--yes", "--out", out],
      environment: env)
    #expect(o.status == 1, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("as last updated 2020-01-10T14:59:22Z"), "stderr: \(o.stderr)")
  }

  /// Another provider's replacement goes the same way: a GitLab token rotated by id is written
  /// as the repository's GITLAB_TOKEN (the name the GitLab part provides), sealed to its key.
  @Test func aRotatedGitLabTokenIsSealedIntoTheRepositorysSecret() throws {
    let letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    func token() -> String { "glpat-" + String((0..<20).map { _ in letters.randomElement()! }) }
    let (leaked, admin, minted) = (token(), token(), token())
    recordTestSecret(minted)
    let gitlab = "/gitlab-\(UUID().uuidString.prefix(8).lowercased())"
    try post("/_control/contract", ["prefix": .string(gitlab), "spec": "gitlab.json"])
    try post(
      "/_control/script",
      [
        "path": .string(gitlab + "/api/v4/personal_access_tokens/self"),
        "responses": [
          ["status": 200, "body": ProviderBranchesTests.gitlabSelf],
          ["status": 401, "body": ["message": "401 Unauthorized"]],
        ],
      ])
    let rotated: Value = [
      "id": 43, "name": "ci", "user_id": 7, "scopes": ["api"], "active": true, "revoked": false,
      "token": .string(minted), "expires_at": "2027-01-01",
    ]
    try post(
      "/_control/script",
      [
        "path": .string(gitlab + "/api/v4/personal_access_tokens/42/rotate"),
        "responses": [["status": 200, "body": rotated]],
      ])
    let prefix = "/github-\(UUID().uuidString.prefix(8).lowercased())"
    let repo = "octo-org/gitlab-sync"
    let pair = Value.parseJSON(try sealedBox(["keypair"])) ?? [:]
    let privateKey = try #require(pair["private"]?.stringValue)
    try scriptGitHub(
      prefix: prefix, repo: repo, publicKey: pair["public"]?.stringValue ?? "",
      updatedAt: ISO8601.string(Date().addingTimeInterval(30)), names: ["GITLAB_TOKEN"])
    let githubToken = "ghp_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(36))
    let env = [
      "GITLAB_URL": services.receiverURL + gitlab, "GITLAB_TOKEN": admin,
      "GITHUB_API_URL": services.receiverURL + prefix, "GITHUB_TOKEN": githubToken,
    ]
    let o = try runRespond(
      ["key-compromised", "--key", leaked, "--github-repo", repo, "--yes", "--out", out], environment: env)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let sent = Value.parseJSON(try curl([services.receiverURL + "/_control/requests"]))?.arrayValue ?? []
    let mine = sent.filter { ($0["path"]?.stringValue ?? "").hasPrefix(prefix + "/") }
    #expect(mine.allSatisfy { $0["contract"] == nil }, "\(mine.compactMap { $0["contract"] })")
    let puts = mine.filter { $0["method"]?.stringValue == "PUT" }
    #expect(puts.map { $0["path"]?.stringValue ?? "" } == ["\(prefix)/repos/\(repo)/actions/secrets/GITLAB_TOKEN"])
    let body = Value.parseJSON(puts.first?["body"]?.stringValue ?? "") ?? [:]
    #expect(try sealedBox(["open", privateKey, body["encrypted_value"]?.stringValue ?? ""]) == minted)
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(report.contains("Stored in GitHub Actions secrets | \(repo): GITLAB_TOKEN"))
    let dir = (o.lastLine as NSString).deletingLastPathComponent
    for s in [minted, admin, githubToken] {
      #expect(!o.stdout.contains(s) && !o.stderr.contains(s))
      for (path, text) in allFileContents(under: dir) { #expect(!text.contains(s), "a secret in \(path)") }
    }
  }
}
