import RespondCore

/// The credential formats as the masker and the batch ask them (`CredentialCatalogue`): the
/// same answer `key.identify` gives (`KeyIdentifyAction.identity`: the Swift formats, then the
/// provider folders'), so what a key is and how it is shown is decided in one place, the
/// format's own declaration (its `display`, and `secret: false` for a public identifier).
package struct KeyCatalogue: CredentialCatalogue {
  /// The formats the provider folders declare, tried after the Swift ones.
  package var providers: ProviderFormats

  package init(providers: ProviderFormats = ProviderFormats()) { self.providers = providers }

  /// The catalogue of a registry: its `key.identify` action's provider formats.
  package init(_ registry: ActionRegistry) {
    self.init(providers: (registry.action(named: "key.identify") as? KeyIdentifyAction)?.providers ?? ProviderFormats())
  }

  /// The catalogue a run of a runbook in `runbooksFolder` masks with (its registry's), for a
  /// command that masks before or without running one: a provider folder's public id shown by
  /// the run is shown by the command too, not masked as a secret.
  package init(runbooksFolder: String?) {
    self.init(StandardActions.registry(runbooksFolder: runbooksFolder).0)
  }

  package func shown(_ value: String) -> ShownCredential {
    let identity = KeyIdentifyAction.identity(of: value, providers: providers)
    return ShownCredential(display: identity.display, isPublic: !identity.secret)
  }

  /// A public identifier a format declares (`secret: false`: an AWS access key id, a provider
  /// folder's `authenticates: false` id), or a public name the formats' providers declare.
  package func isReadable(_ value: String) -> Bool {
    KeyFormats.publicNames.contains { $0(value) } || shown(value).isPublic
  }
}

extension Masker {
  /// The masker respond runs with when no provider folders are at hand: the Swift formats decide
  /// what stays readable. The command line hands in its registry's catalogue instead.
  package convenience init() { self.init(formats: KeyCatalogue()) }
}
