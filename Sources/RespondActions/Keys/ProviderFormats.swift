import RespondCore

/// The credential formats the provider folders declare (`Runbooks/providers/<name>/provider.yaml`),
/// recognised offline like the Swift ones, each with the manual playbook its folder writes. Adding
/// a provider that respond contains by hand takes a folder, no Swift.
package struct ProviderFormats: Sendable {
  package var providers: [ProviderDefinition]

  package init(_ providers: [ProviderDefinition] = []) { self.providers = providers }

  /// Every format, with the provider that declares it, in the order they are tried.
  package var formats: [(provider: String, format: CredentialFormat)] {
    providers.flatMap { provider in provider.formats.map { (provider.name, $0) } }
  }

  /// The first declared format `key` matches whole (its prefix, then its pattern), or nil.
  /// Bounded like `KeyFormats.identify`: printable ASCII, at most `maximumLength` characters.
  /// `hint`: the provider the responder named (`--provider`); only then are its formats marked
  /// `only-when-named` tried (bare hex keys, which would otherwise match any hex string).
  package func identify(_ key: String, hint: String? = nil) -> KeyIdentity? {
    let bytes = Array(key.utf8)
    guard !bytes.isEmpty, bytes.count <= KeyFormats.maximumLength, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
      return nil
    }
    for provider in providers {
      for format in provider.formats
      where key.hasPrefix(format.prefix) && (!format.onlyWhenNamed || provider.name == hint) {
        guard let match = try? format.compiled.regex.wholeMatch(in: key) else { continue }
        let publicID = format.publicID.flatMap { match.output[$0]?.substring.map(String.init) }
        return Self.identity(key, provider: provider, format: format, publicID: publicID)
      }
    }
    return nil
  }

  /// For a string no format accepts: a hint when it starts with a folder format's distinctive
  /// prefix (four characters or more: a truncated or mangled paste). Names only the prefix.
  package func nearMiss(_ key: String) -> String? {
    for (provider, format) in formats where format.prefix.count >= 4 && key.hasPrefix(format.prefix) {
      return
        "it starts like the \(provider) \(format.kind) format ('\(format.prefix)') but does not have that format's "
        + "length or characters"
    }
    return nil
  }

  /// The identity of a matched key. What is shown of it: the whole string only when it does not
  /// authenticate; otherwise the declared public identifier (or the prefix) and the fingerprint.
  static func identity(_ key: String, provider: ProviderDefinition, format: CredentialFormat, publicID: String?)
    -> KeyIdentity
  {
    let fingerprint = Masker.fingerprint(key)
    let checksumValid = format.checksum.map { checksumMatches(key.utf8.dropFirst(format.prefix.utf8.count), $0) }
    var identity = KeyIdentity(
      provider: provider.name, kind: format.kind, keyID: publicID, fingerprint: fingerprint,
      checksumValid: checksumValid,
      display: format.authenticates ? (publicID ?? format.prefix) + "…" + fingerprint : key,
      secret: format.authenticates, revocableVia: format.revocableVia, notes: format.notes)
    identity.manual = playbook(provider.playbook, listedAs: listedAs(key, format: format, publicID: publicID))
    return identity
  }

  /// The credential as the provider's console lists it, as the format declares.
  static func listedAs(_ key: String, format: CredentialFormat, publicID: String?) -> String? {
    let last4 = String(key.suffix(4))
    switch format.listing {
    case .none: return nil
    case .last4: return "…" + last4
    case .prefixLast4: return format.prefix + "..." + last4
    case .publicID: return publicID
    }
  }

  /// The folder's playbook as steps in order: revoke, rotate, update, then how to record it.
  static func playbook(_ playbook: ProviderPlaybook, listedAs: String?) -> ManualPlaybook {
    var steps = playbook.consoleURL.map { "Open \($0). " } ?? ""
    if let listedAs { steps += "The console lists this credential as `\(listedAs)`. " }
    steps += "Revoke: \(playbook.revoke) Rotate: \(playbook.rotate) Update: \(playbook.update) "
    return ManualPlaybook(
      consoleURL: playbook.consoleURL, listedAs: listedAs, steps: steps + ManualPlaybooks.confirmHint)
  }

  /// Whether the body (the key after its prefix) carries a matching checksum of the given kind.
  static func checksumMatches(_ body: Substring.UTF8View, _ checksum: CredentialChecksum) -> Bool {
    switch checksum {
    case .crc32Base62:
      let bytes = Array(body)
      guard bytes.count > 6, let encoded = KeyFormats.base62Decode(bytes.suffix(6)) else { return false }
      return UInt64(KeyFormats.crc32(bytes.dropLast(6))) == encoded
    }
  }
}
