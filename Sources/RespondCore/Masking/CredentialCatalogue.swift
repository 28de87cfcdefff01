/// How a value is shown, as the credential format that recognises it declares.
package struct ShownCredential: Sendable, Equatable {
  /// A form safe to print anywhere: the whole value when it is public, else the format's
  /// public part (its prefix or key id) and the fingerprint, or only the fingerprint.
  package var display: String
  /// Whether the whole value is a public identifier: it names a credential without
  /// authenticating (DESIGN: "identifiers (access key ids, token accessors) may appear").
  package var isPublic: Bool

  package init(display: String, isPublic: Bool) {
    self.display = display
    self.isPublic = isPublic
  }
}

/// What respond knows of credential formats, as far as the masker and the batch need it: one
/// answer to "what is this value and how is it shown", asked of the formats' own declarations.
/// RespondCore names no provider: the catalogue is handed in by the target that holds the
/// formats (RespondActions' `KeyCatalogue`: the Swift formats and the provider folders').
package protocol CredentialCatalogue: Sendable {
  /// How `value` is shown: as its format declares, or as an opaque secret (fingerprint only).
  func shown(_ value: String) -> ShownCredential
  /// Whether the masker may leave `value` readable though it reached it as a secret: a format's
  /// public identifier, or another public name a provider declares (an AWS region's).
  func isReadable(_ value: String) -> Bool
}

/// A catalogue that knows no format: every value is an opaque secret. For the core's own
/// maskers, which register nothing (the confirmation and approval journal writers), and tests.
package struct NoCredentialFormats: CredentialCatalogue {
  package init() {}

  package func shown(_ value: String) -> ShownCredential {
    ShownCredential(display: "…" + Masker.fingerprint(value), isPublic: false)
  }

  package func isReadable(_ value: String) -> Bool { false }
}
