import Crypto
import Foundation
import RespondCore

/// The key actions, for the registry.
package enum KeyActions {
  package static func all() -> [any Action] { [KeyIdentifyAction()] }
}

/// `key.identify`: recognises a leaked credential's provider and kind from its format, offline.
/// The detect phase's first step; every later step dispatches on its outputs. Read-only and
/// needs nothing from the environment, so it runs the same in live runs, dry runs and drills.
package struct KeyIdentifyAction: Action {
  /// The formats the provider folders declare, tried after the Swift ones.
  package let providers: ProviderFormats

  package init(providers: ProviderFormats = ProviderFormats()) { self.providers = providers }

  package var descriptor: ActionDescriptor {
    var d = ActionDescriptor(
      name: "key.identify",
      summary: "Recognise a leaked credential's provider and kind from its format (offline)",
      parameters: [
        ParameterSpec("key", required: true, secret: true, "the leaked key, token or webhook URL"),
        ParameterSpec(
          "provider", .string,
          "the provider when the format does not name it (Datadog's bare hex keys): its folder's formats marked "
            + "only-when-named are then tried too"),
      ],
      outputs: [
        OutputSpec(
          "provider",
          "aws, github, gitlab, slack, stripe, sendgrid, openai, vault, google, npm, a provider folder's name, or unknown"
        ),
        OutputSpec(
          "kind", "the credential's kind, e.g. access-key, session-key, classic-pat, service-token; opaque if unknown"),
        OutputSpec("key-id", "the public identifier naming the key (AWS access key id, SendGrid key id), or null"),
        OutputSpec("fingerprint", "sha256: fingerprint of the key"),
        OutputSpec("checksum-valid", "whether the format's checksum matches (GitHub, npm), or null without one"),
        OutputSpec("display", "a form safe to print: an AWS key id, otherwise prefix…fingerprint"),
        OutputSpec("secret", "whether the string authenticates by itself (false for AWS access key ids)"),
        OutputSpec("revocable-via", "how such a credential is revoked"),
        OutputSpec("notes", "facts about this format worth knowing (a list)"),
        OutputSpec(
          "hashed-token", "GitHub tokens: base64 of the SHA-256 digest, as the audit log's hashed_token shows it"),
        OutputSpec(
          "automated", "whether respond contains it through the provider's API; false: by hand (manual-steps)"),
        OutputSpec("manual-steps", "what a person must do when not automated: find, revoke, rotate, update; or null"),
        OutputSpec("console-url", "where to do the manual steps (the provider's console page), or null"),
        OutputSpec(
          "listed-as", "the credential as the provider's own list shows it (Stripe: sk_live_...last4), or null"),
      ],
      mutates: false,
      idempotent: true
    )
    d.offline = true
    return d
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let raw = try context.string("key")
    context.masker.register(raw)
    let key = try Self.normalise(raw)
    context.masker.register(key)
    // An unknown format is not an error: it is still a leaked credential, and the run goes on to
    // report it, notify, and hand the person the generic playbook (verdict NOT CONTAINED).
    let hint = context.optionalString("provider").flatMap { $0.isEmpty ? nil : $0 }
    let identity = Self.identity(of: key, providers: providers, hint: hint)
    // A service-account key file holds a private key of its own: masked on its own too.
    if identity.kind == "service-account-key", let inner = Value.parseJSON(key)?["private_key"]?.stringValue {
      context.masker.register(inner)
    }
    var summary = "\(identity.provider) \(identity.kind) \(identity.display)"
    if let valid = identity.checksumValid { summary += valid ? ", checksum valid" : ", checksum does NOT match" }
    if identity.provider == "unknown" {
      summary += ": not a known format, handled as an opaque secret (contained by hand)"
    } else if !identity.automated {
      summary += ": no API respond can call, contained by hand"
    }
    var outputs = Self.outputs(identity)
    // GitHub's audit log names a token by base64(SHA-256(token)): a one-way digest, safe to show.
    outputs["hashed-token"] =
      identity.provider == "github"
      ? .string(Data(SHA256.hash(data: Data(key.utf8))).base64EncodedString()) : .null
    return ActionResult(outputs: outputs, summary: summary)
  }

  /// What `key` is: a Swift-recognised format first (those whose protocol needs code: checksums
  /// with more rules, AWS key ids, Vault token shapes, JSON key files), then the provider
  /// folders' formats in folder order, else an opaque secret.
  package static func identity(of key: String, providers: ProviderFormats, hint: String? = nil) -> KeyIdentity {
    if let known = KeyFormats.identify(key) ?? providers.identify(key, hint: hint) { return known }
    var opaque = KeyFormats.opaque(key)
    if KeyFormats.nearMiss(key) == nil, let hint = providers.nearMiss(key) { opaque.notes.append(hint) }
    return opaque
  }

  /// The key without surrounding whitespace; a key with a line break or control character inside
  /// is refused (two keys pasted at once, or a copy that picked up a terminal escape).
  package static func normalise(_ raw: String) throws -> String {
    let scalars = raw.unicodeScalars
    let start = scalars.firstIndex { !isSpace($0) } ?? scalars.endIndex
    let end = scalars.lastIndex { !isSpace($0) }.map { scalars.index(after: $0) } ?? start
    let key = start < end ? String(scalars[start..<end]) : ""
    if key.isEmpty { throw ActionError.badParameter(name: "key", reason: "is empty") }
    if key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || isLineBreak($0) }) {
      throw ActionError.badParameter(
        name: "key", reason: "contains a line break or control character: pass exactly one key, on one line")
    }
    return key
  }

  private static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

  private static func isLineBreak(_ c: Unicode.Scalar) -> Bool {
    c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" || c == "\u{85}" || c == "\u{2028}" || c == "\u{2029}"
  }

  /// The outputs as later steps read them (`steps.<id>.provider`...); absent facts are null.
  static func outputs(_ identity: KeyIdentity) -> [String: Value] {
    [
      "provider": .string(identity.provider),
      "kind": .string(identity.kind),
      "key-id": identity.keyID.map { .string($0) } ?? .null,
      "fingerprint": .string(identity.fingerprint),
      "checksum-valid": identity.checksumValid.map { .bool($0) } ?? .null,
      "display": .string(identity.display),
      "secret": .bool(identity.secret),
      "revocable-via": .string(identity.revocableVia),
      "notes": .array(identity.notes.map { .string($0) }),
      "automated": .bool(identity.automated),
      "manual-steps": identity.manual.map { .string($0.steps) } ?? .null,
      "console-url": identity.manual?.consoleURL.map { .string($0) } ?? .null,
      "listed-as": identity.manual?.listedAs.map { .string($0) } ?? .null,
    ]
  }
}
