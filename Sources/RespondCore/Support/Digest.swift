import Crypto
import Foundation

/// Lower-case hex SHA-256: the one helper every digest in respond goes through (runbook digests,
/// lock names, the journal's hash chain, fingerprints), so they are all spelled alike.
package func sha256Hex<D: DataProtocol>(_ data: D) -> String {
  hexString(SHA256.hash(data: data))
}

/// Lower-case hex of bytes, without `String(format:)` (slow, and Foundation-only on Linux). SigV4's
/// signing and the masker's fingerprints use it too.
package func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
  let digits = Array("0123456789abcdef".utf8)
  var out: [UInt8] = []
  out.reserveCapacity(64)
  for b in bytes {
    out.append(digits[Int(b >> 4)])
    out.append(digits[Int(b & 0x0f)])
  }
  return String(decoding: out, as: UTF8.self)
}
