import Foundation

/// The POSIX ustar format, as much as a bundle needs: plain files and folders with short
/// relative names. Read by any tar; written with fixed owner, mode and time so the same incident
/// bundled twice gives the same bytes.
package enum Tar {
  package struct Entry: Sendable, Equatable {
    package var name: String
    package var bytes: [UInt8]
    package var isDirectory: Bool

    package init(name: String, bytes: [UInt8] = [], isDirectory: Bool = false) {
      self.name = name
      self.bytes = bytes
      self.isDirectory = isDirectory
    }
  }

  package struct Failure: Error, CustomStringConvertible {
    package var description: String
  }

  /// The archive of `entries`, with modification time `time` (seconds since 1970) on each.
  package static func write(_ entries: [Entry], time: Int) throws -> [UInt8] {
    var out: [UInt8] = []
    for e in entries {
      let name = e.isDirectory && !e.name.hasSuffix("/") ? e.name + "/" : e.name
      guard name.utf8.count < 100 else { throw Failure(description: "name too long for a bundle: \(name)") }
      var header = [UInt8](repeating: 0, count: 512)
      func put(_ text: String, at offset: Int) {
        for (i, b) in text.utf8.enumerated() { header[offset + i] = b }
      }
      func octal(_ value: Int, width: Int) -> String {
        let digits = String(value, radix: 8)
        return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
      }
      put(name, at: 0)
      put(octal(e.isDirectory ? 0o700 : 0o600, width: 8), at: 100)
      put(octal(0, width: 8), at: 108)
      put(octal(0, width: 8), at: 116)
      put(octal(e.isDirectory ? 0 : e.bytes.count, width: 12), at: 124)
      put(octal(time, width: 12), at: 136)
      put(e.isDirectory ? "5" : "0", at: 156)
      put("ustar", at: 257)
      put("00", at: 263)
      put("        ", at: 148)
      let sum = header.reduce(0) { $0 + Int($1) }
      put(octal(sum, width: 7) + "\0", at: 148)
      out += header
      if !e.isDirectory {
        out += e.bytes
        out += [UInt8](repeating: 0, count: (512 - e.bytes.count % 512) % 512)
      }
    }
    out += [UInt8](repeating: 0, count: 1024)
    return out
  }

  /// Every entry of an archive. Anything but a plain file or a folder (a link, a device), a name
  /// that is absolute or climbs with `..`, or a damaged header is refused: a bundle is read on an
  /// auditor's machine and must not be able to point outside itself.
  package static func read(_ bytes: [UInt8]) throws -> [Entry] {
    var entries: [Entry] = []
    var offset = 0
    while offset + 512 <= bytes.count {
      let header = Array(bytes[offset..<offset + 512])
      if header.allSatisfy({ $0 == 0 }) { return entries }
      let name = field(header, 0, 100)
      let prefix = field(header, 345, 155)
      let fullName = prefix.isEmpty ? name : prefix + "/" + name
      guard let size = Int(field(header, 124, 12).trimmingCharacters(in: .whitespaces), radix: 8),
        let recorded = Int(field(header, 148, 8).trimmingCharacters(in: .whitespaces), radix: 8)
      else { throw Failure(description: "a damaged tar header at byte \(offset)") }
      var blank = header
      for i in 148..<156 { blank[i] = 32 }
      guard blank.reduce(0, { $0 + Int($1) }) == recorded else {
        throw Failure(description: "the tar header of \(fullName) fails its checksum")
      }
      let type = header[156]
      guard type == UInt8(ascii: "0") || type == 0 || type == UInt8(ascii: "5") else {
        throw Failure(description: "\(fullName) is not a plain file or a folder (tar type \(type))")
      }
      let parts = fullName.split(separator: "/")
      guard !fullName.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
        throw Failure(description: "\(fullName) would land outside the bundle")
      }
      let start = offset + 512
      guard start + size <= bytes.count else { throw Failure(description: "\(fullName) is cut short") }
      let isDirectory = type == UInt8(ascii: "5")
      entries.append(
        Entry(
          name: isDirectory ? String(fullName.dropLast(fullName.hasSuffix("/") ? 1 : 0)) : fullName,
          bytes: Array(bytes[start..<start + size]), isDirectory: isDirectory))
      offset = start + (size + 511) / 512 * 512
    }
    throw Failure(description: "the archive ends without its end marker")
  }

  private static func field(_ header: [UInt8], _ offset: Int, _ length: Int) -> String {
    let slice = header[offset..<offset + length]
    let end = slice.firstIndex(of: 0) ?? slice.endIndex
    return String(decoding: header[offset..<end], as: UTF8.self)
  }
}
