import Foundation
import RespondCore

// MARK: - vault.token.lookup

/// `vault.token.lookup`: what a (leaked) token is — its accessor, type, policies, issuing auth path
/// and expiry — by the token itself or by its accessor. An unknown, expired or revoked token is
/// `found: false` rather than a failure, so a runbook can branch on it (and verify a revocation).
package struct VaultTokenLookupAction: Action {
  package init() {}

  package static let outputNames = [
    "accessor", "type", "display-name", "policies", "path", "expire-time", "issue-time", "ttl", "orphan",
    "entity-id", "renewable",
  ]

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.token.lookup", summary: "Look up a Vault/OpenBao token (by token or accessor) without using it",
      parameters: [
        ParameterSpec("token", secret: true, "the token to look up"),
        ParameterSpec("accessor", .string, "the token's accessor, instead of the token"),
      ],
      outputs: [
        OutputSpec("found", "false when Vault does not know the token (invalid, expired or revoked)"),
        OutputSpec("accessor", "the token's accessor (an identifier, not a secret; empty for batch tokens)"),
        OutputSpec("type", "service or batch"),
        OutputSpec("display-name"),
        OutputSpec("policies", "list of policy names"),
        OutputSpec("path", "the auth path that issued it, e.g. auth/token/create"),
        OutputSpec("expire-time", "UTC expiry, null when it never expires"),
        OutputSpec("issue-time", "UTC issue time"),
        OutputSpec("ttl", "seconds left"),
        OutputSpec("orphan"),
        OutputSpec("entity-id"),
        OutputSpec("renewable"),
      ],
      mutates: false, idempotent: true, requirements: [VaultActions.requirement],
      permissions: [
        .vault(VaultPermission(.fixed("auth/token/lookup"), ["update"], purpose: "token lookup", onlyWith: "token")),
        .vault(
          VaultPermission(
            .fixed("auth/token/lookup-accessor"), ["update"], purpose: "token lookup", onlyWith: "accessor")),
      ])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let token = context.optionalString("token")
    let accessor = context.optionalString("accessor")
    if let token { context.masker.register(token) }
    let client = try VaultClient(context)
    let reply: VaultClient.Reply
    let subject: String
    if let token {
      reply = try await client.call(
        "POST", "auth/token/lookup", body: ["token": .string(token)], mutates: false, accept: [400, 403])
      subject = "token \(Masker.fingerprint(token))"
    } else if let accessor {
      reply = try await client.call(
        "POST", "auth/token/lookup-accessor", body: ["accessor": .string(accessor)], mutates: false,
        accept: [400, 403])
      subject = "accessor \(accessor)"
    } else {
      throw ActionError.badParameter(name: "token", reason: "is required (or give accessor)")
    }

    if reply.status == 400 || reply.status == 403 {
      // Vault says "bad token" (403) / "invalid token" / "invalid accessor" (400) for a token it does
      // not know; any other 4xx (permission denied: our own token lacks the right) is a real failure.
      let text = reply.errors.joined(separator: " ").lowercased()
      let unknown = ["bad token", "invalid token", "invalid accessor", "token not found"].contains { text.contains($0) }
      guard unknown else { throw reply.error() }
      var outputs: [String: Value] = ["found": false]
      for name in Self.outputNames { outputs[name] = .null }
      return ActionResult(outputs: outputs, summary: "Vault does not know \(subject) (invalid, expired or revoked)")
    }

    let d = reply.data ?? .null
    func time(_ key: String) -> Value {
      guard let s = d[key]?.stringValue, !s.isEmpty, let date = ISO8601.parse(s) else { return .null }
      return .string(ISO8601.string(date))
    }
    let outputs: [String: Value] = [
      "found": true,
      "accessor": d["accessor"] ?? .null,
      "type": d["type"] ?? .null,
      "display-name": d["display_name"] ?? .null,
      "policies": d["policies"] ?? .array([]),
      "path": d["path"] ?? .null,
      "expire-time": time("expire_time"),
      "issue-time": time("issue_time"),
      "ttl": d["ttl"] ?? .null,
      "orphan": d["orphan"] ?? .null,
      "entity-id": d["entity_id"] ?? .null,
      "renewable": d["renewable"] ?? .null,
    ]
    let type = d["type"]?.stringValue ?? "?"
    let policies = (d["policies"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
    let expiry = outputs["expire-time"]?.stringValue ?? "never"
    return ActionResult(
      outputs: outputs,
      summary: "\(subject): \(type) token, accessor \(d["accessor"]?.stringValue ?? "-"), policies [\(policies)], "
        + "expires \(expiry)")
  }
}

// MARK: - vault.token.revoke

/// `vault.token.revoke`: revokes a token, its child tokens and their leases. Vault treats an
/// unknown token as already revoked, so the step is idempotent. Batch tokens cannot be revoked:
/// that is a clear, non-retryable error (code `batch-token`) a runbook can branch on.
package struct VaultTokenRevokeAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.token.revoke", summary: "Revoke a Vault/OpenBao token with its children and leases",
      parameters: [ParameterSpec("token", required: true, secret: true, "the token to revoke")],
      outputs: [OutputSpec("revoked", "true once Vault no longer honours the token")],
      mutates: true, idempotent: true, requirements: [VaultActions.requirement],
      permissions: [.vault(VaultPermission(.fixed("auth/token/revoke"), ["update"], purpose: "token revocation"))])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let token = try context.string("token")
    context.masker.register(token)
    let client = try VaultClient(context)
    do {
      _ = try await client.call("POST", "auth/token/revoke", body: ["token": .string(token)], mutates: true)
    } catch ActionError.provider(var error) where error.code == "batch-token" {
      error.retryable = false
      error.message =
        "batch tokens cannot be revoked: a batch token stays valid until its TTL runs out or its parent token "
        + "is revoked; find the parent (or shorten exposure by revoking it) and restrict the policies it grants"
      throw ActionError.provider(error)
    }
    return ActionResult(outputs: ["revoked": true], summary: "revoked token \(Masker.fingerprint(token))")
  }
}

// MARK: - vault.token.revoke-accessor

/// `vault.token.revoke-accessor`: revokes the token behind an accessor (when only the accessor is
/// known, e.g. from an audit log). An accessor Vault no longer knows is reported, not an error.
package struct VaultTokenRevokeAccessorAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.token.revoke-accessor", summary: "Revoke the Vault/OpenBao token behind an accessor",
      parameters: [ParameterSpec("accessor", required: true, "the token's accessor")],
      outputs: [
        OutputSpec("revoked", "true once no token with this accessor is valid"),
        OutputSpec("found", "false when Vault had no token with this accessor (already revoked or expired)"),
      ],
      mutates: true, idempotent: true, requirements: [VaultActions.requirement],
      permissions: [
        .vault(VaultPermission(.fixed("auth/token/revoke-accessor"), ["update"], purpose: "token revocation"))
      ])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let accessor = try context.string("accessor")
    let client = try VaultClient(context)
    let reply = try await client.call(
      "POST", "auth/token/revoke-accessor", body: ["accessor": .string(accessor)], mutates: true, accept: [400])
    if reply.status == 400 {
      // Some servers answer 400 "invalid accessor" instead of the warning.
      guard reply.errors.contains(where: { $0.lowercased().contains("invalid accessor") }) else { throw reply.error() }
      return ActionResult(outputs: ["revoked": true, "found": false], summary: "no token has accessor \(accessor)")
    }
    let notFound = reply.warnings.contains { $0.lowercased().contains("no token found") }
    return ActionResult(
      outputs: ["revoked": true, "found": .bool(!notFound)],
      summary: notFound
        ? "no token has accessor \(accessor) (already revoked or expired)"
        : "revoked the token with accessor \(accessor)")
  }
}
