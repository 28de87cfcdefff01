import CZlib
import Foundation

/// Whole-buffer gzip for incident bundles (a few megabytes of journal, evidence and reports).
package enum Gzip {
  package struct Failure: Error, CustomStringConvertible {
    package var description: String
  }

  /// `bytes` as one gzip member.
  package static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
    var stream = z_stream()
    guard respond_deflate_init_gzip(&stream, Z_BEST_COMPRESSION) == Z_OK else {
      throw Failure(description: "cannot start gzip compression")
    }
    defer { deflateEnd(&stream) }
    var input = bytes
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
    let status = input.withUnsafeMutableBufferPointer { inBuf in
      out.withUnsafeMutableBufferPointer { outBuf in
        stream.next_in = inBuf.baseAddress
        stream.avail_in = uInt(inBuf.count)
        stream.next_out = outBuf.baseAddress
        stream.avail_out = uInt(outBuf.count)
        return deflate(&stream, Z_FINISH)
      }
    }
    guard status == Z_STREAM_END else { throw Failure(description: "gzip compression failed (\(status))") }
    return Array(out.prefix(Int(stream.total_out)))
  }

  /// The bytes of a gzip stream, refusing more than `limit` bytes (a bundle is not a bomb).
  package static func decompress(_ bytes: [UInt8], limit: Int = 1 << 30) throws -> [UInt8] {
    var stream = z_stream()
    guard respond_inflate_init_auto(&stream) == Z_OK else { throw Failure(description: "cannot start gzip") }
    defer { inflateEnd(&stream) }
    var input = bytes
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    return try input.withUnsafeMutableBufferPointer { inBuf in
      stream.next_in = inBuf.baseAddress
      stream.avail_in = uInt(inBuf.count)
      while true {
        let (status, produced) = chunk.withUnsafeMutableBufferPointer { c in
          stream.next_out = c.baseAddress
          stream.avail_out = uInt(c.count)
          let status = inflate(&stream, Z_NO_FLUSH)
          return (status, c.count - Int(stream.avail_out))
        }
        out.append(contentsOf: chunk[0..<produced])
        guard out.count <= limit else { throw Failure(description: "more than \(limit) bytes once decompressed") }
        switch status {
        case Z_STREAM_END: return out
        case Z_OK: continue
        case Z_BUF_ERROR where stream.avail_in == 0: throw Failure(description: "the gzip data is cut short")
        case Z_BUF_ERROR: continue
        default: throw Failure(description: "not gzip data, or damaged (zlib status \(status))")
        }
      }
    }
  }
}
