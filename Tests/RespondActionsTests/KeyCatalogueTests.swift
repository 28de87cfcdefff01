import Foundation
import RespondActions
import RespondCore
import RespondTestSupport
import Testing

/// One answer to "what is this key and how is it shown": the masker's readable values and the
/// batch's display are `key.identify`'s own (the format's declared display and public part).
@Suite struct KeyCatalogueTests {
  static let samples = [
    "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234",
    "glpat-abcdefghij0123456789", "hvs." + String(repeating: "a1B2", count: 24), "p4ssw0rd-xyz",
    "SK" + String(repeating: "0a", count: 16), "sk_live_" + String(repeating: "Q7wE", count: 6),
  ]

  static func folders() -> ProviderFormats {
    let (providers, _) = RunbookLoader().loadProviders(folder: TestServices.repositoryRoot() + "/Runbooks/providers")
    return ProviderFormats(providers)
  }

  @Test func theCatalogueAnswersAsKeyIdentify() {
    for providers in [ProviderFormats(), Self.folders()] {
      let catalogue = KeyCatalogue(providers: providers)
      for key in Self.samples {
        let identity = KeyIdentifyAction.identity(of: key, providers: providers)
        #expect(
          catalogue.shown(key) == ShownCredential(display: identity.display, isPublic: !identity.secret), "\(key)")
        #expect(catalogue.isReadable(key) == !identity.secret, "\(key)")
      }
    }
  }

  /// A provider folder's `authenticates: false` id (Twilio's API key SID) is public as its
  /// format declares: readable with the folders' catalogue, masked by one that does not know it.
  @Test func aFolderDeclaredPublicIdStaysReadable() {
    let sid = "SK" + String(repeating: "0a", count: 16)
    let withFolders = Masker(formats: KeyCatalogue(providers: Self.folders()))
    withFolders.register(sid)
    #expect(withFolders.mask("sid \(sid)") == "sid \(sid)")
    #expect(withFolders.display(sid) == sid)
    let swiftOnly = Masker()
    swiftOnly.register(sid)
    #expect(swiftOnly.mask("sid \(sid)") == "sid \(Masker.fingerprint(sid))")
  }

  /// Region names are AWS's declared public names; a secret beside them is still masked, and a
  /// value already found readable is not asked again (it stays readable).
  @Test func regionNamesAreDeclaredReadable() {
    let catalogue = KeyCatalogue()
    #expect(catalogue.isReadable("eu-west-2") && !catalogue.isReadable("prod-east-1"))
    let m = Masker()
    m.register("eu-west-2")
    m.register("eu-west-2")
    m.register("prod-east-1")
    #expect(m.mask("eu-west-2 prod-east-1") == "eu-west-2 \(Masker.fingerprint("prod-east-1"))")
  }
}
