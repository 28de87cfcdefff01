import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads a file the user named (a runbook, an action file, a scanner report) with a size limit
/// that holds before the content is read: a 200 MB "runbook" used to be read whole (seconds and
/// hundreds of megabytes) only to be refused afterwards. The size of a regular file comes from
/// `fstat` on the descriptor that is then read (no window between check and read); anything else
/// (a pipe, `/dev/stdin`, `/dev/zero`) is read at most one byte past the limit.
package enum BoundedFile {
  /// Why a file could not be read.
  package enum Failure: Error, Equatable, Sendable {
    /// It could not be opened or read; the system's reason.
    case unreadable(String)
    /// It holds more than `limit` bytes (`size` when known, nil for a stream past the limit).
    case tooLarge(size: Int?, limit: Int)
  }

  /// The file's bytes, or a failure without having read more than `limit + 1` bytes.
  package static func read(_ path: String, limit: Int) -> Result<Data, Failure> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(.unreadable(String(cString: strerror(errno)))) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return .failure(.unreadable(String(cString: strerror(errno)))) }
    let isRegular = (st.st_mode & S_IFMT) == S_IFREG
    if (st.st_mode & S_IFMT) == S_IFDIR { return .failure(.unreadable("is a directory")) }
    if isRegular && Int(st.st_size) > limit { return .failure(.tooLarge(size: Int(st.st_size), limit: limit)) }
    // A regular file may still grow between fstat and read: the loop stops one byte past the limit.
    let capacity = isRegular ? min(Int(st.st_size), limit) + 1 : 64 * 1024
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: min(capacity, 1 << 20))
    while data.count <= limit {
      let want = min(buffer.count, limit + 1 - data.count)
      let n = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, want) }
      if n < 0 {
        if errno == EINTR { continue }
        return .failure(.unreadable(String(cString: strerror(errno))))
      }
      if n == 0 { break }
      data.append(contentsOf: buffer[0..<n])
    }
    guard data.count <= limit else { return .failure(.tooLarge(size: nil, limit: limit)) }
    return .success(data)
  }
}

extension BoundedFile.Failure: CustomStringConvertible {
  /// `file is 209715200 bytes; the limit is 1048576` or the system's reason.
  package var description: String {
    switch self {
    case .unreadable(let why): return "cannot read file (\(why))"
    case .tooLarge(let size?, let limit): return "file is \(size) bytes; the limit is \(limit)"
    case .tooLarge(nil, let limit): return "file is larger than \(limit) bytes, the limit"
    }
  }
}

/// `read(2)`, under a name `BoundedFile.read` does not hide.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
  read(fd, buffer, count)
}
