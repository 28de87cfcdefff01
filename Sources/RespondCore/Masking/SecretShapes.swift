/// Secrets respond was never told but can recognise by shape in text a provider hands back. An
/// attacker who holds a leaked key also holds its secret half and may put it where respond will
/// copy it: a user agent, a request parameter, a resource name in an audit event. When the run has
/// no secret store to learn the secret from, the masker does not know it; this is how the audit
/// readers find it and register it before anything is journaled.
package enum SecretShapes {
  /// Tokens shaped like an AWS secret access key: exactly 40 characters of `[A-Za-z0-9/+]`,
  /// bounded by anything else, with an upper-case letter, a lower-case letter and a digit (a git
  /// commit id or a hex digest, lower case only, is not one).
  package static func awsSecretAccessKeys(in text: String) -> [String] {
    var found: [String] = []
    var run: [UInt8] = []
    func close() {
      if run.count == 40, run.contains(where: isUpper), run.contains(where: isLower), run.contains(where: isDigit) {
        found.append(String(decoding: run, as: UTF8.self))
      }
      run.removeAll(keepingCapacity: true)
    }
    for byte in text.utf8 {
      if isUpper(byte) || isLower(byte) || isDigit(byte) || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "+") {
        run.append(byte)
      } else {
        close()
      }
    }
    close()
    return found
  }

  /// Every string leaf of a provider answer, checked with `awsSecretAccessKeys`.
  package static func awsSecretAccessKeys(in value: Value) -> [String] {
    switch value {
    case .string(let s): return s.utf8.count >= 40 ? awsSecretAccessKeys(in: s) : []
    case .array(let items): return items.flatMap { awsSecretAccessKeys(in: $0) }
    case .object(let fields): return fields.values.flatMap { awsSecretAccessKeys(in: $0) }
    default: return []
    }
  }

  private static func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
  private static func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
  private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}
