import Foundation
import RespondCore

/// `aws.sts.get-caller-identity`: who the configured credentials are, or, with `access-key-id`
/// and `secret-access-key`, whether a new key authenticates (the check after rotation). IAM is
/// eventually consistent, so a brand-new key may be refused for a few seconds: that case is
/// retried over about 10 s before the key is declared bad.
struct GetCallerIdentityAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.sts.get-caller-identity",
      summary:
        "Show which identity credentials belong to, or check that a new key authenticates (STS GetCallerIdentity)",
      parameters: [
        ParameterSpec("access-key-id", .string, "a key to check instead of the configured credentials"),
        ParameterSpec("secret-access-key", secret: true, "that key's secret"),
        ParameterSpec("session-token", secret: true, "that key's session token (temporary credentials)"),
      ],
      outputs: [
        OutputSpec("account", "the AWS account id"),
        OutputSpec("arn", "the caller's ARN"),
        OutputSpec("user-id", "the caller's unique id"),
        OutputSpec("access-key-id", "the key that was checked"),
      ],
      mutates: false, idempotent: true, requirements: AWSActions.requirements(regional: false),
      permissions: [])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let keyID = context.optionalString("access-key-id")
    let secret = context.optionalString("secret-access-key")
    if let secret { context.masker.register(secret) }
    if let token = context.optionalString("session-token") { context.masker.register(token) }
    var override: SigV4.Credentials?
    switch (keyID, secret) {
    case (nil, nil): break
    case (let id?, let secret?):
      override = SigV4.Credentials(
        accessKeyID: id, secretAccessKey: secret, sessionToken: context.optionalString("session-token"))
    case (nil, _):
      throw ActionError.badParameter(name: "access-key-id", reason: "is required with secret-access-key")
    case (_, nil):
      throw ActionError.badParameter(name: "secret-access-key", reason: "is required with access-key-id")
    }
    let client = try AWSClient(context, credentials: override)
    var waits = override == nil ? [] : AWSRetryPolicy.current.propagationWaits
    var xml: AWSXMLNode
    while true {
      do {
        xml = try await client.query(.sts, "GetCallerIdentity", [], mutates: false)
        break
      } catch let error as ActionError where error.awsCode == "InvalidClientTokenId" && !waits.isEmpty {
        let wait = waits.removeFirst()
        context.log(
          "the new key \(client.credentials.accessKeyID) is not accepted yet (IAM propagates new keys); checking again in \(wait.shortDescription)"
        )
        try await Task.sleep(for: wait)
      }
    }
    let result = xml.path("GetCallerIdentityResult")
    let arn = result?.string("Arn")
    return ActionResult(
      outputs: [
        "account": AWSActions.value(result?.string("Account")), "arn": AWSActions.value(arn),
        "user-id": AWSActions.value(result?.string("UserId")),
        "access-key-id": .string(client.credentials.accessKeyID),
      ],
      summary: "\(client.credentials.accessKeyID) authenticates as \(arn ?? "an unnamed identity")")
  }
}
