import CZlib
import Foundation
import RespondCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// MARK: - gzip

/// A gzip file inflated in a stream with zlib (several concatenated members are one stream, as
/// gzip itself reads them). Reads the file in 128 KiB pieces; memory is constant.
final class GzipReader {
  private var stream = z_stream()
  private let fd: Int32
  /// The compressed bytes when they come from memory (an S3 object), else nil.
  private let data: Data?
  private var dataOffset = 0
  private let input: UnsafeMutablePointer<UInt8>
  private static let inputSize = 128 << 10
  private var inputEOF = false
  private var finished = false
  private var sawMember = false

  init(path: String) throws {
    data = nil
    fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw ScanError("cannot open: \(String(cString: strerror(errno)))") }
    input = .allocate(capacity: Self.inputSize)
    guard respond_inflate_init_auto(&stream) == Z_OK else {
      close(fd)
      input.deallocate()
      throw ScanError("zlib could not start")
    }
  }

  /// Inflates compressed bytes held in memory.
  init(data: Data) throws {
    self.data = data
    fd = -1
    input = .allocate(capacity: Self.inputSize)
    guard respond_inflate_init_auto(&stream) == Z_OK else {
      input.deallocate()
      throw ScanError("zlib could not start")
    }
  }

  deinit {
    inflateEnd(&stream)
    if fd >= 0 { close(fd) }
    input.deallocate()
  }

  /// The next compressed bytes into `input`: their count, 0 at the end.
  private func fill() -> Int {
    guard let data else { return readFile(fd, input, Self.inputSize) }
    let n = min(Self.inputSize, data.count - dataOffset)
    if n > 0 {
      data.withUnsafeBytes { raw in
        input.update(from: raw.baseAddress!.advanced(by: dataOffset).assumingMemoryBound(to: UInt8.self), count: n)
      }
      dataOffset += n
    }
    return n
  }

  /// Inflates up to `capacity` bytes into `out`; 0 at the end of the data. Throws on damage.
  func read(into out: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
    if finished { return 0 }
    stream.next_out = out
    stream.avail_out = UInt32(capacity)
    while stream.avail_out > 0 {
      if stream.avail_in == 0 && !inputEOF {
        let n = fill()
        if n < 0 { throw ScanError("read error: \(String(cString: strerror(errno)))") }
        if n == 0 {
          inputEOF = true
        } else {
          stream.next_in = input
          stream.avail_in = UInt32(n)
        }
      }
      if stream.avail_in == 0 && inputEOF {
        if sawMember && stream.total_in == 0 {
          finished = true
          break
        }  // clean end after a member
        // Hand over what was inflated before the damage; the error comes with the next call.
        if Int(stream.avail_out) < capacity { break }
        if stream.total_in == 0 && !sawMember { throw ScanError("empty file, not gzip") }
        throw ScanError("gzip data cut short (truncated file)")
      }
      let status = inflate(&stream, Z_NO_FLUSH)
      switch status {
      case Z_OK, Z_BUF_ERROR:
        continue
      case Z_STREAM_END:
        sawMember = true
        // Another member may follow; a clean end of file after this one is the end.
        if stream.avail_in == 0 {
          let n = fill()
          if n < 0 { throw ScanError("read error: \(String(cString: strerror(errno)))") }
          if n == 0 {
            inputEOF = true
            finished = true
            break
          }
          stream.next_in = input
          stream.avail_in = UInt32(n)
        }
        let produced = capacity - Int(stream.avail_out)
        inflateReset(&stream)
        stream.next_out = out + produced
        stream.avail_out = UInt32(capacity - produced)
        continue
      case Z_DATA_ERROR:
        let message = stream.msg.map { String(cString: $0) } ?? "invalid data"
        throw ScanError("not valid gzip (\(message))")
      case Z_MEM_ERROR:
        throw ScanError("zlib ran out of memory")
      default:
        throw ScanError("zlib error \(status)")
      }
      if finished { break }
    }
    return capacity - Int(stream.avail_out)
  }
}

/// `read(2)`, under a name the reader's own `read` method does not hide.
private func readFile(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
