import Foundation
import Yams

/// A checksum a credential format carries, from a closed set: a YAML file names one, the code
/// that verifies it is respond's. New kinds need Swift, on purpose: a checksum is an algorithm.
package enum CredentialChecksum: String, CaseIterable, Sendable {
  /// GitHub's 2021 token checksum (npm uses it too): the last 6 characters are the CRC-32 of the
  /// characters between the prefix and them, in base62, left-padded with `0`.
  case crc32Base62 = "crc32-base62"
}

/// What the provider's own console shows of a credential, so a person revokes exactly that entry.
package enum CredentialListing: String, CaseIterable, Sendable {
  /// Nothing of it: the person finds it by name, date or scope.
  case none
  /// `…` and the last four characters (OpenAI, Google).
  case last4
  /// The prefix, `...` and the last four characters (Stripe's `sk_live_...abcd`).
  case prefixLast4 = "prefix-last4"
  /// The declared public identifier (a key id the console lists).
  case publicID = "public-id"
}

/// One credential format of a provider, as its folder declares it.
package struct CredentialFormat: Sendable {
  /// The credential's kind within its provider (`personal-access-token`, `api-key`...).
  package var kind: String
  /// The literal start every such credential has (may be empty when the format has none); the
  /// only part of a secret respond ever shows, with the fingerprint.
  package var prefix: String
  /// The whole credential, as a regular expression matched against the entire string.
  package var pattern: String
  package var compiled: CompiledPattern
  package var checksum: CredentialChecksum?
  /// The named group of `pattern` that is a public identifier (not secret, safe to show).
  package var publicID: String?
  package var listing: CredentialListing
  /// False for identifiers that name a credential without authenticating (an access key id).
  package var authenticates: Bool
  package var revocableVia: String
  package var notes: [String]
  package var location: SourceLocation
  /// `only-when-named: true`: tried only when the responder names the provider (`--provider`),
  /// for a format with nothing distinctive (Datadog's bare hex keys).
  package var onlyWhenNamed = false
}

/// A pattern compiled once at load. `Regex` is not `Sendable` (its output may hold any type);
/// this one is only ever matched, never changed, so it is shared across tasks.
package final class CompiledPattern: @unchecked Sendable {
  package let regex: Regex<AnyRegexOutput>
  init(_ regex: Regex<AnyRegexOutput>) { self.regex = regex }
}

/// The manual steps for a provider's credentials: where, what to revoke, how to rotate, what to update.
package struct ProviderPlaybook: Sendable {
  package var consoleURL: String?
  package var revoke: String
  package var rotate: String
  package var update: String
}

/// A provider's folder (`Runbooks/providers/<name>/provider.yaml`): its formats and its playbook.
package struct ProviderDefinition: Sendable {
  package var name: String
  package var formats: [CredentialFormat]
  package var playbook: ProviderPlaybook
  package var location: SourceLocation
}

extension RunbookLoader {
  /// The providers under `folder` (one subfolder each, holding `provider.yaml`), sorted by name,
  /// with every problem located. A provider with any error is left out, never half-loaded.
  package func loadProviders(folder: String) -> ([ProviderDefinition], [Diagnostic]) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return ([], []) }
    var providers: [ProviderDefinition] = []
    var diagnostics: [Diagnostic] = []
    for name in names.sorted() where !name.hasPrefix(".") {
      let path = folder + "/" + name + "/provider.yaml"
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDirectory),
        isDirectory.boolValue
      else { continue }
      // A folder may hold only its part of the response and its actions (GitHub's formats
      // need Swift for their checksums); one with none of the three files is a mistake.
      let parts = ["response.yaml", "actions.yaml"].map { folder + "/" + name + "/" + $0 }
      guard FileManager.default.fileExists(atPath: path) else {
        if parts.contains(where: { FileManager.default.fileExists(atPath: $0) }) { continue }
        diagnostics.append(
          Diagnostic(
            SourceLocation(file: folder + "/" + name, line: 1, column: 1), "provider folder has no provider.yaml"))
        continue
      }
      let (provider, problems) = loadProvider(path: path, folderName: name)
      diagnostics += problems
      if let provider, !problems.hasErrors { providers.append(provider) }
    }
    return (providers, diagnostics)
  }

  /// One provider file.
  package func loadProvider(path: String, folderName: String) -> (ProviderDefinition?, [Diagnostic]) {
    switch RunbookLoader.composeFile(path, what: "provider files") {
    case .problem(let problem): return (nil, [problem])
    case .composed(let node, _, var reader):
      let provider = reader.provider(node, folderName: folderName)
      return (provider, reader.diagnostics)
    }
  }
}

extension NodeReader {
  mutating func provider(_ node: YAMLNode, folderName: String) -> ProviderDefinition? {
    let allowed = ["provider", "formats", "playbook"]
    guard let pairs = mapping(node, what: "provider file", allowed: allowed) else { return nil }
    var definition = ProviderDefinition(
      name: "", formats: [], playbook: ProviderPlaybook(consoleURL: nil, revoke: "", rotate: "", update: ""),
      location: loc(node))
    var sawPlaybook = false
    for (key, keyNode, value) in pairs {
      switch key {
      case "provider":
        definition.name = string(value, what: "'provider'") ?? ""
        // The folder is the provider: one name, so a copy under another folder cannot shadow it.
        if definition.name != folderName {
          error(value, "provider '\(definition.name)' must be named as its folder ('\(folderName)')")
        }
        let nameOK = definition.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" }
        if definition.name.isEmpty || !nameOK {
          error(value, "provider name must be lower-case letters, digits and '-'")
        }
        definition.location = loc(keyNode)
      case "formats":
        let nodes = sequence(value, what: "'formats'") ?? []
        definition.formats = nodes.compactMap { credentialFormat($0) }
        if nodes.isEmpty { error(value, "'formats' must list at least one credential format") }
      case "playbook":
        sawPlaybook = true
        if let playbook = providerPlaybook(value) { definition.playbook = playbook }
      default: break
      }
    }
    for missing in ["provider", "formats"] where !pairs.contains(where: { $0.0 == missing }) {
      error(node, "missing required key '\(missing)'")
    }
    if !sawPlaybook { error(node, "missing required key 'playbook' (the manual steps: console-url, revoke...)") }
    var kinds = Set<String>()
    for format in definition.formats where !kinds.insert(format.kind + "\u{0}" + format.prefix).inserted {
      error(format.location, "format '\(format.kind)' with prefix '\(format.prefix)' is declared twice")
    }
    return definition
  }

  mutating func providerPlaybook(_ node: YAMLNode) -> ProviderPlaybook? {
    let keys = ["console-url", "revoke", "rotate", "update"]
    guard let pairs = mapping(node, what: "'playbook'", allowed: keys) else { return nil }
    var playbook = ProviderPlaybook(consoleURL: nil, revoke: "", rotate: "", update: "")
    for (key, _, value) in pairs {
      let text = string(value, what: "'\(key)'") ?? ""
      switch key {
      case "console-url":
        // A person opens this address: only https, so a provider file cannot point them elsewhere.
        if !text.hasPrefix("https://") { error(value, "'console-url' must be an https:// address") }
        playbook.consoleURL = text
      case "revoke": playbook.revoke = text
      case "rotate": playbook.rotate = text
      default: playbook.update = text
      }
    }
    for required in ["revoke", "rotate", "update"] where !pairs.contains(where: { $0.0 == required }) {
      error(node, "'playbook' is missing required key '\(required)'")
    }
    return playbook
  }

  mutating func credentialFormat(_ node: YAMLNode) -> CredentialFormat? {
    let allowed = [
      "kind", "prefix", "pattern", "checksum", "public-id", "listed-as", "authenticates", "revocable-via", "notes",
      "only-when-named",
    ]
    guard let pairs = mapping(node, what: "a credential format", allowed: allowed) else { return nil }
    var values: [String: (String, YAMLNode)] = [:]
    var notes: [String] = []
    var authenticates = true
    var onlyWhenNamed = false
    for (key, _, value) in pairs {
      switch key {
      case "only-when-named": onlyWhenNamed = bool(value, what: "'only-when-named'") ?? false
      case "notes": notes = (sequence(value, what: "'notes'") ?? []).compactMap { string($0, what: "a note") }
      case "authenticates": authenticates = bool(value, what: "'authenticates'") ?? true
      default: if let text = string(value, what: "'\(key)'") { values[key] = (text, value) }
      }
    }
    for required in ["kind", "pattern", "revocable-via"] where values[required] == nil {
      error(node, "a credential format is missing required key '\(required)'")
    }
    guard let (kind, _) = values["kind"], let (pattern, patternNode) = values["pattern"] else { return nil }
    let prefix = values["prefix"]?.0 ?? ""
    // The closed sets are checked before the pattern, so one file shows every problem at once.
    if let (name, at) = values["checksum"], CredentialChecksum(rawValue: name) == nil {
      let known = CredentialChecksum.allCases.map(\.rawValue).joined(separator: ", ")
      error(at, "unknown checksum '\(name)'; known: \(known)")
    }
    if let (listing, at) = values["listed-as"], CredentialListing(rawValue: listing) == nil {
      let known = CredentialListing.allCases.map(\.rawValue).joined(separator: ", ")
      error(at, "unknown 'listed-as' '\(listing)'; known: \(known)")
    }
    let regex: Regex<AnyRegexOutput>
    do {
      regex = try Regex(pattern)
    } catch {
      self.error(patternNode, "'pattern' is not a valid regular expression: \(error)")
      return nil
    }
    // A pattern that matches nothing-but-the-prefix would call any string starting so a credential.
    if (try? regex.wholeMatch(in: prefix)) != nil {
      self.error(patternNode, "'pattern' must not match the prefix alone")
    }
    var format = CredentialFormat(
      kind: kind, prefix: prefix, pattern: pattern, compiled: CompiledPattern(regex), checksum: nil, publicID: nil,
      listing: .none,
      authenticates: authenticates, revocableVia: values["revocable-via"]?.0 ?? "", notes: notes, location: loc(node))
    format.checksum = values["checksum"].flatMap { CredentialChecksum(rawValue: $0.0) }
    format.onlyWhenNamed = onlyWhenNamed
    if let (group, at) = values["public-id"] {
      format.publicID = group
      if !pattern.contains("(?<\(group)>") {
        error(at, "'public-id' must name a group of the pattern: (?<\(group)>...)")
      }
    }
    if let (listing, at) = values["listed-as"] {
      format.listing = CredentialListing(rawValue: listing) ?? .none
      if format.listing == .publicID && format.publicID == nil {
        error(at, "'listed-as: public-id' needs a 'public-id'")
      }
    }
    return format
  }
}
