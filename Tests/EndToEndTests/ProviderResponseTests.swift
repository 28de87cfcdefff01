import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Issue 15 item 1 through the built CLI: a provider's whole response is one folder. A folder
/// written here, with no Swift (its format, a revoke and a lookup on the generic http action, and
/// its part of key-compromised), joins a copy of the shipped runbooks: `respond key-compromised`
/// dispatches to it, revokes the key at the test receiver and proves it dead.
@Suite struct ProviderResponseTests {
  let root = NSTemporaryDirectory() + "respond-provider-response-" + UUID().uuidString

  static let provider = """
    provider: acme
    formats:
      - kind: api-key
        prefix: "acme_live_"
        pattern: "acme_live_(?<id>[a-z0-9]{8})_[A-Za-z0-9]{32}"
        public-id: id
        listed-as: public-id
        revocable-via: "DELETE /v1/keys/{id}"
    playbook:
      console-url: https://console.acme.example/keys
      revoke: "Delete the key whose id is shown."
      rotate: "Create a new key."
      update: "Put it where the old one was."

    """

  static let actions = """
    actions:
      acme.key.revoke:
        summary: Revoke an Acme key with itself (DELETE /v1/keys/<id>)
        mutates: true
        idempotent: true
        env: [ACME_URL]
        parameters:
          key-id: { type: string, required: true }
          token: { type: string, required: true, secret: true }
        request:
          method: DELETE
          url: ${{ env.ACME_URL }}/v1/keys/${{ inputs.key-id }}
          auth: { type: bearer, token: "${{ inputs.token }}" }
          expect: [204, 401, 404]
      acme.key.get:
        summary: Look an Acme key up (404 once it is gone)
        mutates: false
        idempotent: true
        env: [ACME_URL]
        parameters:
          key-id: { type: string, required: true }
          token: { type: string, required: true, secret: true }
        request:
          method: GET
          url: ${{ env.ACME_URL }}/v1/keys/${{ inputs.key-id }}
          auth: { type: bearer, token: "${{ inputs.token }}" }
          expect: [200, 401, 404]

    """

  static let response = """
    steps:
      contain:
        - id: acme-revoke
          name: Revoke the Acme key
          action: acme.key.revoke
          approval: required
          with:
            key-id: ${{ steps.identify.key-id }}
            token: ${{ inputs.key }}
        - id: acme-after
          name: Look the Acme key up again
          action: acme.key.get
          when: ${{ steps.acme-revoke.status }}
          continue-on-error: true
          with:
            key-id: ${{ steps.identify.key-id }}
            token: ${{ inputs.key }}
        - id: acme-dead
          name: Acme no longer has the key
          action: check
          when: ${{ steps.acme-revoke.status }}
          verifies: acme-revoke
          with:
            condition: ${{ steps.acme-after.status == 404 || steps.acme-after.status == 401 }}
            message: Acme still lists the key; delete it in the console now
            success: GET /v1/keys/<id> now answers 404

    """

  /// A copy of the shipped runbooks (the host, the shared actions, every provider folder) plus acme.
  func runbooks() throws -> String {
    let folder = root + "/Runbooks"
    let shipped = TestServices.repositoryRoot() + "/Runbooks"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for item in ["key-compromised.yaml", "actions", "providers"] {
      try FileManager.default.copyItem(atPath: shipped + "/" + item, toPath: folder + "/" + item)
    }
    let acme = folder + "/providers/acme"
    try FileManager.default.createDirectory(atPath: acme, withIntermediateDirectories: true)
    for (name, text) in [("provider", Self.provider), ("actions", Self.actions), ("response", Self.response)] {
      try text.write(toFile: acme + "/" + name + ".yaml", atomically: true, encoding: .utf8)
    }
    return folder
  }

  @Test func aProviderFolderWithNoSwiftContainsItsKeyEndToEnd() throws {
    let acme = try RevocationEndToEndTests.Provider("acme", spec: nil)
    let id = RevocationEndToEndTests.random(8, from: "abcdefghijklmnopqrstuvwxyz0123456789")
    // Sent to the receiver as the bearer (the key revokes itself), so not in the secrets manifest.
    let key =
      "acme_live_\(id)_" + RevocationEndToEndTests.random(32, from: "ABCDEFGHIJKLMNOPabcdefghijklmnop0123456789")
    try acme.script("/v1/keys/\(id)", [["status": 204, "body": ""], ["status": 404, "body": ["error": "not found"]]])
    let folder = try runbooks()
    let out = root + "/out"
    let o = try runRespond(
      ["key-compromised", "--key", key, "--yes", "--runbooks", folder, "--out", out],
      environment: ["HOME": root, "ACME_URL": acme.url])
    #expect(o.status == 0, "stderr: \(o.stderr)")
    let directory = (o.lastLine as NSString).deletingLastPathComponent
    let report = try String(contentsOfFile: directory + "/report.md", encoding: .utf8)
    #expect(report.contains("LIVE: CONTAINED"), "\(report)")
    let state = try IncidentState.load(journal: directory + "/journal.jsonl")
    #expect(ContainmentVerdict.decide(state)?.verifiedBy == "acme-dead")
    #expect(state.steps["not-automated"]?.outcome == .skippedCondition, "no manual steps once proved dead")
    #expect(state.steps["npm-revoke"]?.outcome == .skippedCondition, "another provider's part does not run")
    let requests = try acme.recorded("/v1/keys/\(id)")
    #expect(requests.map { $0["method"]?.stringValue ?? "" } == ["DELETE", "GET"])
    for (path, text) in allFileContents(under: directory) { #expect(!text.contains(key), "the key is in \(path)") }
    #expect(!o.stdout.contains(key) && !o.stderr.contains(key))
  }

  /// `respond validate` covers the parts: a bad reference in acme's part is located in its file.
  @Test func validateLocatesAProblemInAPart() throws {
    let folder = try runbooks()
    let broken = Self.response.replacingOccurrences(
      of: "steps.acme-after.status == 404", with: "steps.acme-aftr.status == 404")
    try broken.write(toFile: folder + "/providers/acme/response.yaml", atomically: true, encoding: .utf8)
    let o = try runRespond(["validate", folder], environment: [:])
    #expect(o.status != 0)
    #expect(
      o.stdout.contains("\(folder)/providers/acme/response.yaml:24:24: error: unknown step 'acme-aftr'"),
      "\(o.stdout)\(o.stderr)")
  }
}
