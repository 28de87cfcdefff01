import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

/// Issue 15 item 7: an action definition's `request:` is checked when the file loads, each
/// problem at its line, so a typo fails `validate` instead of sending the wrong request.
@Suite struct RequestValidationTests {
  /// The diagnostics of one definition whose request is `request` (indented YAML lines), as
  /// `line: message` with the file name left out.
  static func problems(_ request: String, env: String = "[EXAMPLE_API_URL]") throws -> [String] {
    let yaml = """
      actions:
        example.thing.delete:
          summary: Delete a thing
          env: \(env)
          parameters:
            id: { type: string, required: true }
          request:
      \(request.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))

      """
    let path = try HostileRunbooks.write(yaml, name: "defs")
    defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    return RunbookLoader().loadActions(path: path).1.sorted().map {
      "\($0.location.line): \($0.message)"
    }
  }

  static let url = "url: https://api.example.test/v1/things/${{ inputs.id }}"

  @Test func aWellFormedRequestLoadsClean() throws {
    let request = """
      method: DELETE
      \(Self.url)
      query: { force: true }
      headers: { Accept: application/json }
      auth: { type: bearer, token: "${{ inputs.id }}" }
      expect: [204, 404, 2xx]
      outputs: { gone: /deleted, whole: "" }
      secret-outputs: [gone]
      timeout: 10
      """
    #expect(try Self.problems(request) == [])
  }

  @Test func anUnknownKeyIsNamedWithTheKeyItResembles() throws {
    let found = try Self.problems("methd: DELETE\n\(Self.url)")
    #expect(found.count == 1)
    #expect(found.first?.hasPrefix("8: unknown key 'methd' in the request of 'example.thing.delete'") == true)
    #expect(found.first?.contains("did you mean 'method'?") == true)
  }

  @Test func aMethodTheHTTPActionDoesNotSendIsRefused() throws {
    #expect(
      try Self.problems("method: DELTE\n\(Self.url)") == [
        "8: 'DELTE' is not an HTTP method respond sends; did you mean DELETE? (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)"
      ])
    #expect(try Self.problems("method: ${{ inputs.id }}\n\(Self.url)").count == 1)
  }

  @Test func anExpectedStatusOutside100To599IsRefused() throws {
    #expect(
      try Self.problems("\(Self.url)\nexpect: [204, 4044]") == [
        "9: status 4044 is not an HTTP status (100 to 599)"
      ])
    #expect(
      try Self.problems("\(Self.url)\nexpect: [6xx]") == [
        "9: '6xx' is not a status (200) or a class of statuses (2xx)"
      ])
  }

  @Test func aJSONPointerMustStartWithASlash() throws {
    #expect(
      try Self.problems("\(Self.url)\noutputs: { name: login }") == [
        "9: 'login' is not a JSON pointer: it starts with '/', e.g. /login"
      ])
  }

  @Test func plainHTTPGoesOnlyToLoopback() throws {
    #expect(
      try Self.problems("url: http://api.example.test/v1/things") == [
        "8: plain http to 'api.example.test' would send the request unencrypted: use https (http is for loopback only)"
      ])
    // Also inside an expression's default, and without complaint for loopback.
    let inDefault = try Self.problems("url: ${{ default(env.EXAMPLE_API_URL, 'http://example.test') }}/v1/things")
    #expect(inDefault.count == 1 && inDefault[0].contains("plain http to 'example.test'"))
    #expect(try Self.problems("url: http://127.0.0.1:8080/v1/things") == [])
    #expect(try Self.problems("url: http://[::1]:8080/v1/things") == [])
  }

  @Test func aSingleBraceOrMissingDollarPlaceholderIsRefused() throws {
    #expect(
      try Self.problems("url: https://api.example.test/v1/things/${inputs.id}") == [
        "8: '${' is not an expression: write ${{ inputs.name }}"
      ])
    #expect(
      try Self.problems("\(Self.url)\njson: { id: \"{{ inputs.id }}\" }") == [
        "9: '{{' is not an expression: write ${{ inputs.name }}"
      ])
  }

  @Test func aBareRootOrSchemelessURLIsRefused() throws {
    #expect(
      try Self.problems("url: https://api.example.test/") == [
        "8: 'url' is a bare root (no path after the host): name the endpoint the request is for"
      ])
    #expect(
      try Self.problems("url: ${{ env.EXAMPLE_API_URL }}") == [
        "8: 'url' is a bare root (no path after the host): name the endpoint the request is for"
      ])
    #expect(try Self.problems("url: api.example.test/v1/things").count == 1)
  }

  @Test func anUnknownAuthTypeOrFieldIsRefused() throws {
    #expect(
      try Self.problems("\(Self.url)\nauth: { type: berer, token: x }") == [
        "9: unknown auth type 'berer'; did you mean 'bearer'? (types: bearer, basic, header)"
      ])
    #expect(
      try Self.problems("\(Self.url)\nauth: { type: basic, user: x }") == [
        "9: basic auth needs 'username'",
        "9: unknown key 'user' in basic auth (keys: type, username, password)",
      ])
  }

  @Test func twoBodiesTimeoutsAndSecretOutputsAreChecked() throws {
    #expect(
      try Self.problems("\(Self.url)\njson: {}\nbody: x") == [
        "10: 'body' cannot be combined with 'json': a request has one body"
      ])
    #expect(
      try Self.problems("\(Self.url)\ntimeout: 7200") == [
        "9: 'timeout' must be between 0 and 3600 seconds"
      ])
    #expect(
      try Self.problems("\(Self.url)\nsecret-outputs: [token]") == [
        "9: secret output 'token' is not an output of the request"
      ])
    #expect(try Self.problems("\(Self.url)\nmutates: false").count == 1)
  }

  /// The loader's list of request keys is the http action's parameters (less `mutates`), so a
  /// parameter added to the action cannot be refused in a definition, nor a removed one accepted.
  @Test func theRequestKeysAreTheHTTPActionsParameters() {
    let parameters = HTTPAction().descriptor.parameters.map(\.name).filter { $0 != "mutates" }
    #expect(Set(parameters) == Set(RequestSchema.keys))
  }

  /// Every shipped action file (Runbooks/actions and the provider folders) passes the checks.
  @Test func theShippedActionsLoadClean() throws {
    let runbooks = TestServices.repositoryRoot() + "/Runbooks"
    let (registry, diagnostics) = StandardActions.registry(runbooksFolder: runbooks)
    #expect(diagnostics.map(\.description) == [])
    for name in ["github.credentials.revoke", "sendgrid.key.delete", "twilio.key.delete", "twilio.key.get"] {
      #expect(registry.action(named: name) != nil, "\(name) is not registered")
    }
  }
}
