import Foundation
import RespondCore

extension KeyFormats {
  /// The identity the per-key responder lock is taken on. Two runs on one credential must meet
  /// however it was typed: `KEY`, ` KEY` and `KEY\n` once both finished and left two new keys.
  /// So the key is trimmed and normalised (Unicode NFC) as `key.identify` reads it, and where the
  /// provider names keys by a public id (an AWS access key id, also typed in lower case) the lock
  /// is on that id. The label written into the lock is public (the key id, or the format's
  /// prefix and a fingerprint), never the key.
  package static func lockIdentity(_ raw: String) -> IncidentLock.Identity {
    guard let key = (try? KeyIdentifyAction.normalise(raw))?.precomposedStringWithCanonicalMapping else {
      return IncidentLock.Identity(unrecognised: raw)
    }
    let upper = key.uppercased()
    guard let found = identify(key) ?? identify(upper).flatMap({ $0.provider == "aws" ? $0 : nil }) else {
      return IncidentLock.Identity(unrecognised: key)
    }
    if let id = found.keyID { return IncidentLock.Identity(canonical: "\(found.provider):\(id)", label: id) }
    return IncidentLock.Identity(canonical: "\(found.provider):\(key)", label: found.display)
  }
}
