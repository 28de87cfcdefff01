import CSodium
import Foundation
import RespondCore

/// libsodium's sealed box (`crypto_box_seal`): what GitHub requires for an Actions secret's
/// value. An anonymous sender encrypts to the repository's public key; only GitHub, holding the
/// private key, can open it. respond only seals.
enum SealedBox {
  /// `sodium_init` is safe to call more than once and from several threads; it is called before
  /// every seal rather than kept in a global (Swift 6 forbids a mutable global without a lock).
  static func seal(_ message: Data, publicKey: Data) throws -> Data {
    guard sodium_init() >= 0 else { throw ActionError.failed("libsodium could not be initialised") }
    let keyBytes = Int(crypto_box_publickeybytes())
    guard publicKey.count == keyBytes else {
      throw ActionError.failed(
        "the repository's public key is \(publicKey.count) bytes, not the \(keyBytes) of a Curve25519 key")
    }
    guard !message.isEmpty else { throw ActionError.failed("an empty value cannot be stored as a GitHub secret") }
    var sealed = Data(count: message.count + Int(crypto_box_sealbytes()))
    let status = sealed.withUnsafeMutableBytes { out -> Int32 in
      message.withUnsafeBytes { m -> Int32 in
        publicKey.withUnsafeBytes { k -> Int32 in
          guard let o = out.bindMemory(to: UInt8.self).baseAddress, let mp = m.bindMemory(to: UInt8.self).baseAddress,
            let kp = k.bindMemory(to: UInt8.self).baseAddress
          else { return -1 }
          return crypto_box_seal(o, mp, UInt64(message.count), kp)
        }
      }
    }
    guard status == 0 else { throw ActionError.failed("libsodium could not seal the secret") }
    return sealed
  }
}
