import Crypto
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Ed25519 keys for signing bundles, read from files in the forms people have: PEM as
/// `openssl genpkey -algorithm ed25519` writes it (PKCS#8 private, SPKI public), or the 32 raw
/// key bytes, as such or in base64. The private key never reaches an output; only the public
/// key's fingerprint is shown.
package enum SigningKeys {
  /// DER before the 32 key bytes: PKCS#8 for an Ed25519 private key (RFC 8410).
  static let pkcs8Prefix: [UInt8] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
  ]
  /// DER before the 32 key bytes: SubjectPublicKeyInfo for an Ed25519 public key (RFC 8410).
  static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

  /// The signing key in `path`. A key file others can read is refused, as ssh refuses one: a
  /// signature means only as much as the key is private.
  package static func privateKey(file path: String) throws -> Curve25519.Signing.PrivateKey {
    var st = stat()
    guard lstat(path, &st) == 0 else { throw UsageError("cannot read the signing key \(path): no such file") }
    if st.st_mode & 0o077 != 0 {
      throw UsageError(
        "refusing the signing key \(path): other users can read or write it (mode 0\(String(st.st_mode & 0o777, radix: 8))); chmod 600 it"
      )
    }
    let raw = try keyBytes(file: path, pemLabel: "PRIVATE KEY", derPrefix: pkcs8Prefix)
    do { return try Curve25519.Signing.PrivateKey(rawRepresentation: raw) } catch {
      throw UsageError("\(path) is not an Ed25519 private key")
    }
  }

  package static func publicKey(file path: String) throws -> Curve25519.Signing.PublicKey {
    let raw = try keyBytes(file: path, pemLabel: "PUBLIC KEY", derPrefix: spkiPrefix)
    do { return try Curve25519.Signing.PublicKey(rawRepresentation: raw) } catch {
      throw UsageError("\(path) is not an Ed25519 public key")
    }
  }

  /// `sha256:` and the first 16 hex digits of the SHA-256 of the raw public key.
  package static func fingerprint(_ key: Curve25519.Signing.PublicKey) -> String {
    "sha256:" + sha256Hex(key.rawRepresentation).prefix(16)
  }

  /// The 32 key bytes of a PEM, base64 or raw key file.
  static func keyBytes(file path: String, pemLabel: String, derPrefix: [UInt8]) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw UsageError("cannot read the key file \(path)")
    }
    let bytes = [UInt8](data)
    if bytes.count == 32 { return bytes }
    let text = String(decoding: bytes, as: UTF8.self)
    let body: String
    if text.contains("-----BEGIN \(pemLabel)-----") {
      body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    } else {
      body = text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    guard let decoded = Data(base64Encoded: body).map([UInt8].init) else {
      throw UsageError("\(path) holds no Ed25519 key (PEM, base64 or 32 raw bytes)")
    }
    if decoded.count == 32 { return decoded }
    if decoded.count == derPrefix.count + 32, Array(decoded.prefix(derPrefix.count)) == derPrefix {
      return Array(decoded.suffix(32))
    }
    throw UsageError("\(path) holds no Ed25519 key (PEM, base64 or 32 raw bytes)")
  }
}
