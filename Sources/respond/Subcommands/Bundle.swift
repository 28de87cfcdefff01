import ArgumentParser
import Foundation
import RespondCore

/// `respond bundle DIR`: one signed archive of an incident to hand over. Thin: the work is in
/// `IncidentBundle`.
struct Bundle: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bundle",
    abstract: "Write one archive of an incident (journal, evidence, reports) with a manifest of SHA-256 hashes.",
    discussion: """
      The archive is <incident>.tar.gz beside the incident folder (or --output
      FILE). Its MANIFEST.json lists every file's SHA-256. When
      RESPOND_SIGNING_KEY names an Ed25519 private key file (mode 0600), the
      manifest is signed, and anyone with the public key checks it anywhere:
        openssl genpkey -algorithm ed25519 -out ~/.respond/signing.pem
        openssl pkey -in ~/.respond/signing.pem -pubout -out team-signing.pub
        RESPOND_SIGNING_KEY=~/.respond/signing.pem respond bundle incidents/<id>
        respond verify incidents/<id>.tar.gz --public-key team-signing.pub
      An incident that does not verify is not bundled. The last line on stdout
      is the archive's path.
      """)

  @Argument(help: "The incident folder.")
  var directory: String

  @Option(name: .long, help: "Where to write the archive (default: <incident>.tar.gz beside the folder).")
  var output: String?

  func run() async throws {
    let folder = URL(fileURLWithPath: directory).standardizedFileURL.path
    let target = output ?? folder + ".tar.gz"
    do {
      let key = try ProcessInfo.processInfo.environment["RESPOND_SIGNING_KEY"].flatMap { path in
        path.isEmpty ? nil : try SigningKeys.privateKey(file: path)
      }
      let signed = try IncidentBundle.write(directory: folder, to: target, signingKey: key)
      Frontend.note(signed.map { "signed with Ed25519 key \($0)" } ?? "not signed: set RESPOND_SIGNING_KEY to sign")
      print(target)
    } catch {
      Frontend.error("\(error)")
      throw ExitCode(error is IncidentBundle.NotIntact ? 1 : 2)
    }
  }
}
