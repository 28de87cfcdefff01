extension String {
  /// This string with each listed ASCII byte replaced by its string. A single pass over the UTF-8
  /// bytes, copying runs without a listed byte in one go: report rendering escapes every table
  /// cell, and Foundation's `replacingOccurrences` (through NSString on Linux) was a tenth of a
  /// report's rendering time. The list is a few pairs, searched linearly (a dictionary lookup per
  /// byte cost more than the copy). ASCII bytes never occur inside a multi-byte UTF-8 sequence,
  /// so the result is valid UTF-8.
  package func replacingASCII(_ replacements: KeyValuePairs<UInt8, String>) -> String {
    func replacement(_ byte: UInt8) -> String? {
      guard byte < 0x80 else { return nil }
      for (k, v) in replacements where k == byte { return v }
      return nil
    }
    var text = self
    return text.withUTF8 { bytes -> String in
      guard bytes.contains(where: { replacement($0) != nil }) else { return self }
      var out: [UInt8] = []
      out.reserveCapacity(bytes.count + 16)
      var runStart = 0
      for (i, byte) in bytes.enumerated() {
        guard let with = replacement(byte) else { continue }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
        out.append(contentsOf: with.utf8)
        runStart = i + 1
      }
      out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
      return String(decoding: out, as: UTF8.self)
    }
  }
}

extension String {
  /// Percent-encoding of every UTF-8 byte but ASCII letters, digits and the ASCII characters in
  /// `keeping`, with upper-case hex (RFC 3986). One implementation for SigV4's canonical URIs,
  /// query and form encoding, and the masker's encoded spellings of a secret.
  package func percentEncoded(keeping: String) -> String {
    let keep = Set(keeping.utf8)
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count * 3)
    for b in utf8 {
      let alnum = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
      if alnum || keep.contains(b) {
        out.append(b)
      } else {
        out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
