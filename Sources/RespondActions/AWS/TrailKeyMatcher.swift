import CZlib
import Foundation
import RespondCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// MARK: - Key matching

/// Says whether a JSON string's raw bytes are one of the key ids: length table first, then a
/// hash, then the bytes. Cheap enough to run on every string in every record.
struct TrailKeyMatcher: Sendable {
  private let lengths: [Bool]
  private let byHash: [UInt64: [[UInt8]]]

  init(_ keys: [String]) {
    var lengths = [Bool](repeating: false, count: 257)
    var byHash: [UInt64: [[UInt8]]] = [:]
    for key in keys {
      let bytes = Array(key.utf8)
      if bytes.count <= 256 { lengths[bytes.count] = true }
      let hash = bytes.withUnsafeBufferPointer { Self.hash($0.baseAddress!, $0.count) }
      byHash[hash, default: []].append(bytes)
    }
    self.lengths = lengths
    self.byHash = byHash
  }

  /// Access key ids are 16 to 128 letters and digits (IAM's AccessKeyIdType): no JSON escapes.
  static func isPlausible(_ key: String) -> Bool {
    (16...128).contains(key.utf8.count)
      && key.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
  }

  @inline(__always)
  static func hash(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in 0..<count { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
    return h
  }

  @inline(__always)
  func matches(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    guard count <= 256, lengths[count] else { return false }
    guard let candidates = byHash[Self.hash(p, count)] else { return false }
    return candidates.contains { key in
      key.count == count && key.withUnsafeBufferPointer { memcmp($0.baseAddress!, p, count) == 0 }
    }
  }
}
