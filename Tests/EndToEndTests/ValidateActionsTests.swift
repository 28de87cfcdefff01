import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond validate` on a runbooks folder whose action files have mistakes in their `request:`
/// blocks (issue 15 item 7): each is a located error, sorted, and the exit status is 2, both for
/// `actions/*.yaml` and for a provider folder's `actions.yaml`.
@Suite struct ValidateActionsTests {
  @Test func requestMistakesAreLocatedValidateErrors() throws {
    let dir = NSTemporaryDirectory() + "respond-validate-actions-" + UUID().uuidString
    defer { removeTestOutput(dir) }
    try FileManager.default.createDirectory(atPath: dir + "/actions", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: dir + "/providers/acme", withIntermediateDirectories: true)
    try """
    actions:
      acme.key.delete:
        summary: Delete an Acme key
        env: [ACME_API_URL]
        parameters:
          id: { type: string, required: true }
        request:
          methd: DELETE
          url: ${{ default(env.ACME_API_URL, 'https://api.acme.test') }}/keys/${{ inputs.id }}
          expect: [204, 4044]

    """.write(toFile: dir + "/actions/acme.yaml", atomically: true, encoding: .utf8)
    try """
    provider: acme
    formats:
      - kind: api-key
        prefix: "acme_"
        pattern: "acme_[a-z0-9]{24}"
        revocable-via: "the console"
    playbook:
      console-url: https://acme.test/keys
      revoke: "Delete the key."
      rotate: "Create a new key."
      update: "Update its users."

    """.write(toFile: dir + "/providers/acme/provider.yaml", atomically: true, encoding: .utf8)
    try """
    actions:
      acme.key.get:
        summary: Look an Acme key up
        mutates: false
        env: [ACME_API_URL]
        parameters:
          id: { type: string, required: true }
        request:
          url: http://api.acme.test/keys/${{ inputs.id }}
          outputs: { name: name }

    """.write(toFile: dir + "/providers/acme/actions.yaml", atomically: true, encoding: .utf8)
    try "runbook: x\nphases:\n  detect:\n    - id: a\n      action: manual\n      with: { instruction: look }\n".write(
      toFile: dir + "/x.yaml", atomically: true, encoding: .utf8)

    let o = try runRespond(["validate", dir], environment: [:])
    #expect(o.status == 2, "\(o.stdout)\(o.stderr)")
    let errors = o.stdout.split(separator: "\n").filter { $0.contains(": error: ") }.map {
      String($0.replacingOccurrences(of: dir + "/", with: ""))
    }
    #expect(errors.count == 4, "\(errors)")
    #expect(errors.first?.hasPrefix("actions/acme.yaml:8:7: error: unknown key 'methd'") == true, "\(errors)")
    #expect(errors.contains { $0.hasPrefix("actions/acme.yaml:10:21: error: status 4044") }, "\(errors)")
    #expect(errors.contains { $0.hasPrefix("providers/acme/actions.yaml:9:12: error: plain http") }, "\(errors)")
    #expect(errors.contains { $0.hasPrefix("providers/acme/actions.yaml:10:24: error: 'name' is not a JSON pointer") })
  }
}
