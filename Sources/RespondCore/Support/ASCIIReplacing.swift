extension String {
  /// This string with each listed ASCII byte replaced by its string. A single pass over the UTF-8
  /// bytes: report rendering escapes every table cell, and Foundation's `replacingOccurrences`
  /// (through NSString on Linux) was a tenth of a report's rendering time. ASCII bytes never
  /// occur inside a multi-byte UTF-8 sequence, so the result is valid UTF-8.
  package func replacingASCII(_ replacements: [UInt8: String]) -> String {
    guard utf8.contains(where: { $0 < 0x80 && replacements[$0] != nil }) else { return self }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count + 16)
    for byte in utf8 {
      if byte < 0x80, let with = replacements[byte] { out.append(contentsOf: with.utf8) } else { out.append(byte) }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
