import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 15 item 5: every copy of a leaked key across the configured stores is found and replaced.
/// The leaked key is planted in Secrets Manager, Parameter Store (SecureString, under a team KMS
/// key) and Vault KV v2 under prefixes, beside decoys; after `respond key-compromised --yes` each
/// copy holds the replacement (read back through boto3 and bao, not respond), the decoys outside
/// the prefixes are untouched, and the report names every copy, values never.
@Suite(.serialized) struct SecretCopiesTests {
  let services: TestServices
  let moto: MotoFixture
  let bao: BaoFixture
  let cloudtrail: CloudTrailEmulator
  let out = NSTemporaryDirectory() + "respond-copies-" + UUID().uuidString

  init() throws {
    services = try TestServices.load()
    moto = MotoFixture(services)
    bao = BaoFixture(services)
    cloudtrail = try CloudTrailEmulator(services)
  }

  var environment: [String: String] { cloudtrail.awsEnvironment(vault: true) }

  func unique(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

  func pair(
    _ id: String, _ secret: String, idField: String = "access_key_id", secretField: String = "secret_access_key"
  )
    -> String
  {
    Value.object([idField: .string(id), secretField: .string(secret), "note": "kept"]).jsonString()
  }

  @Test func everyCopyAcrossTheStoresIsFoundReplacedAndReported() throws {
    let user = unique("copies")
    let leaked = try moto.createUser(user)
    let tag = unique("team")
    // Secrets Manager: two copies under the prefix, a clean secret beside them, a copy outside.
    try moto.createSecret("\(tag)/app", json: pair(leaked.id, leaked.secret))
    try moto.createSecret("\(tag)/deploy/id-only", json: leaked.id)
    try moto.createSecret("\(tag)/clean", json: #"{"token":"unrelated-value"}"#)
    try moto.createSecret("\(tag)-outside/app", json: pair(leaked.id, leaked.secret))
    // Parameter Store: the configured parameter, a copy deeper down under the team's KMS key.
    let kms = try moto.kmsKey()
    try moto.putParameter("/\(tag)/configured", pair(leaked.id, leaked.secret))
    try moto.putParameter(
      "/\(tag)/deep/er/aws",
      pair(leaked.id, leaked.secret, idField: "AWS_ACCESS_KEY_ID", secretField: "AWS_SECRET_ACCESS_KEY"),
      keyID: kms)
    try moto.putParameter("/\(tag)-outside/aws", pair(leaked.id, leaked.secret))
    // Vault: two copies in nested folders, one clean secret.
    try bao.put(
      "\(tag)/ci/aws", ["access_key_id": leaked.id, "secret_access_key": leaked.secret, "region": "eu-west-1"])
    try bao.put("\(tag)/a/b/c/legacy", ["aws_access_key_id": leaked.id, "aws_secret_access_key": leaked.secret])
    try bao.put("\(tag)/clean", ["password": "unrelated-password"])

    let o = try runRespond(
      [
        "key-compromised", "--key", leaked.id, "--ssm-parameter", "/\(tag)/configured", "--secrets-prefix", "\(tag)/",
        "--ssm-path", "/\(tag)", "--search-path", "secret/\(tag)", "--yes", "--out", out,
      ],
      environment: environment)
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let keys = try moto.keys(of: user)
    #expect(keys.count == 1 && keys.first?.id != leaked.id)
    let newID = try #require(keys.first?.id)

    // Each copy, read back independently, holds the new key id and a secret that authenticates.
    func expectReplaced(
      _ json: String?, _ place: String, id: String = "access_key_id", secret: String = "secret_access_key"
    ) {
      let v = json.flatMap { Value.parseJSON($0) }
      #expect(v?[id]?.stringValue == newID, "\(place) still holds \(v?[id]?.stringValue ?? "nothing")")
      let s = v?[secret]?.stringValue ?? ""
      #expect(s != leaked.secret && moto.authenticates(newID, s), "\(place): the new secret key")
      #expect(v?["note"]?.stringValue == "kept", "\(place): other fields kept")
    }
    expectReplaced(try moto.secretString("\(tag)/app"), "SM \(tag)/app")
    #expect(try moto.secretString("\(tag)/deploy/id-only") == newID)
    expectReplaced(try moto.parameter("/\(tag)/configured").value, "SSM configured")
    let deep = try moto.parameter("/\(tag)/deep/er/aws")
    expectReplaced(deep.value, "SSM deep", id: "AWS_ACCESS_KEY_ID", secret: "AWS_SECRET_ACCESS_KEY")
    #expect(deep.keyID == kms && deep.type == "SecureString", "the parameter keeps its KMS key")
    let ci = try bao.get("\(tag)/ci/aws")
    #expect(ci["access_key_id"] == newID && ci["region"] == "eu-west-1")
    #expect(moto.authenticates(newID, ci["secret_access_key"] ?? ""))
    let legacy = try bao.get("\(tag)/a/b/c/legacy")
    #expect(legacy["aws_access_key_id"] == newID && legacy["aws_secret_access_key"] == ci["secret_access_key"])
    // Outside the prefixes nothing was touched (the search is bounded to them).
    #expect(Value.parseJSON(try moto.secretString("\(tag)-outside/app"))?["access_key_id"]?.stringValue == leaked.id)
    #expect(
      Value.parseJSON(try moto.parameter("/\(tag)-outside/aws").value)?["access_key_id"]?.stringValue == leaked.id)
    #expect(try moto.secretString("\(tag)/clean").contains("unrelated-value"))

    // The report names every copy, by store and path.
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    for name in [
      "secrets-manager \(tag)/app (access_key_id, secret_access_key)", "secrets-manager \(tag)/deploy/id-only",
      "ssm /\(tag)/deep/er/aws (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
      "vault secret/\(tag)/ci/aws (access_key_id, secret_access_key)",
      "vault secret/\(tag)/a/b/c/legacy (aws_access_key_id, aws_secret_access_key)",
      "Stored in Parameter Store | /\(tag)/configured",
    ] {
      #expect(report.contains(name), "the report does not name \(name)")
    }
    // No bound was hit: the fact has no value, so it is listed among those not applicable.
    let notApplicable = report.split(separator: "\n").first { $0.hasPrefix("| Not applicable to this run |") }
    #expect(notApplicable?.contains("Copies search stopped early") == true, "no bound was hit")
    #expect(!report.contains("| Copies search stopped early |"))
    #expect(!report.contains("Audit events (Vault)"), "a provider part's fact is not an AWS run's")
    let dir = (o.lastLine as NSString).deletingLastPathComponent
    for s in [leaked.secret, ci["secret_access_key"] ?? "", services.awsSecretAccessKey, services.baoToken] {
      #expect(!o.stdout.contains(s) && !o.stderr.contains(s), "a secret in the output")
      for (path, text) in allFileContents(under: dir) { #expect(!text.contains(s), "a secret in \(path)") }
    }
  }

  /// Without a replacement (a credential of a format respond does not know cannot be rotated),
  /// every copy found is a follow-up naming the store and the path, and nothing is rewritten.
  @Test func copiesWithoutAReplacementAreListedForAPerson() throws {
    let tag = unique("opaque")
    let token = "zq-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    recordTestSecret(token)
    try moto.createSecret("\(tag)/bot", json: Value.object(["token": .string(token)]).jsonString())
    try moto.createSecret("\(tag)/other", json: "nothing to see")
    try moto.createSecret("\(tag)/more", json: "nothing either")
    try moto.putParameter("/\(tag)/bot", token)
    try bao.put("\(tag)/bot", ["token": token])
    let o = try runRespond(
      [
        "key-compromised", "--key", "-", "--secrets-prefix", "\(tag)/", "--ssm-path", "/\(tag)", "--search-path",
        "secret/\(tag)", "--search-max-items", "2", "--search-per-second", "4", "--yes", "--out", out,
      ],
      environment: environment, standardInput: token + "\n")
    #expect(o.status == 4, "not contained until a person confirms: stderr: \(o.stderr)")
    let report = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    for item in [
      "Secrets Manager secrets (or delete the copy), then update what reads it: \(tag)/bot",
      "Parameter Store secrets (or delete the copy), then update what reads it: /\(tag)/bot",
      "Vault/OpenBao secrets (or delete the copy), then update what reads it: secret/\(tag)/bot",
    ] {
      #expect(report.contains(item), "no follow-up \(item)")
    }
    // The bound given on the command line stopped the Secrets Manager search, and the report says so.
    #expect(report.contains("Secrets Manager search stopped at max-items 2 (2 read, at most 4 requests/s)"))
    #expect(!report.contains("Vault search stopped") && !report.contains("Parameter Store search stopped"))
    #expect(try moto.secretString("\(tag)/bot").contains(token), "nothing rewritten without a replacement")
    #expect(try moto.parameter("/\(tag)/bot").value == token)
    let dir = (o.lastLine as NSString).deletingLastPathComponent
    for (path, text) in allFileContents(under: dir) { #expect(!text.contains(token), "the token in \(path)") }
    #expect(!o.stdout.contains(token) && !o.stderr.contains(token))
  }
}
