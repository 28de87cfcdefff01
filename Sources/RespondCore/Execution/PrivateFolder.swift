import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Folders and files respond writes where other users may write too (a shared /tmp, a team
/// folder given as `--out`). Another user who can write a folder respond uses can plant a link at
/// a name respond will open (a live run once truncated a root-owned file through a planted lock),
/// or hold a lock file open whose text names an incident of their choosing; one who owns the
/// folder can do the same at any later time. So every folder respond writes into must belong to
/// the user and be writable by no one else, its parent must not let another user swap it, and
/// files are opened without following links. The checks throw `UsageError` (exit 2: nothing done).
package enum PrivateFolder {
  /// How strict a folder's mode must be.
  package enum Privacy: Sendable {
    /// A folder the user chose (`--out`): the user's, writable by no one else (0755 is fine).
    case notWritableByOthers
    /// A folder respond keeps for itself (lock folders, incident folders): 0700.
    case ownerOnly

    var forbidden: mode_t { self == .ownerOnly ? 0o077 : 0o022 }
  }

  /// Creates `path` with any missing parents (mode 0700), or checks the folder already there:
  /// see `check`. `what` names it in errors ("the output folder").
  package static func prepare(_ path: String, what: String, privacy: Privacy) throws {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    var prefix = ""
    for part in absolute.split(separator: "/") {
      prefix += "/" + part
      var st = stat()
      if lstat(prefix, &st) == 0 { continue }
      guard errno == ENOENT else { throw unusable(prefix, what: what, errno) }
      if mkdir(prefix, 0o700) != 0, errno != EEXIST { throw unusable(prefix, what: what, errno) }
    }
    try check(absolute, what: what, privacy: privacy)
  }

  /// Refuses a folder another user owns or can write, or whose parent lets another user replace
  /// it, saying which and why and what to do instead.
  package static func check(_ path: String, what: String, privacy: Privacy) throws {
    let me = geteuid()
    var link = stat()
    guard lstat(path, &link) == 0 else { throw unusable(path, what: what, errno) }
    if (link.st_mode & S_IFMT) == S_IFLNK, link.st_uid != me {
      throw refusal(path, what: what, "is a symbolic link that user \(link.st_uid) owns, not you (user \(me))")
    }
    var st = stat()
    guard stat(path, &st) == 0 else { throw unusable(path, what: what, errno) }
    guard (st.st_mode & S_IFMT) == S_IFDIR else { throw refusal(path, what: what, "is not a folder") }
    if st.st_uid != me {
      throw refusal(path, what: what, "belongs to user \(st.st_uid), not to you (user \(me))")
    }
    if st.st_mode & privacy.forbidden != 0 {
      let how = privacy == .ownerOnly ? "readable or writable" : "writable"
      throw refusal(path, what: what, "is \(how) by its group or other users (mode \(octal(st.st_mode)))")
    }
    // The parent: another user who can rename entries in it could swap this folder for theirs
    // after the check. A sticky world-writable parent (/tmp) only lets them rename their own.
    for parent in Set([(path as NSString).deletingLastPathComponent, resolved(path).map(parentOf)].compactMap { $0 }) {
      var p = stat()
      guard !parent.isEmpty, stat(parent, &p) == 0 else { continue }
      let sticky = p.st_mode & S_ISVTX != 0
      if p.st_uid != me && p.st_uid != 0 {
        throw refusal(path, what: what, "is in \(parent), a folder that user \(p.st_uid) owns and can rearrange")
      }
      if p.st_mode & 0o022 != 0 && !sticky {
        throw refusal(
          path, what: what,
          "is in \(parent), a folder writable by other users (mode \(octal(p.st_mode))) without the sticky bit, "
            + "so they could replace it")
      }
    }
  }

  /// Opens a file respond alone writes, creating it (0600) when absent, without following a
  /// link, and checks it is a plain file of the user's that no one else can read or write.
  /// Returns the descriptor (read-write, close-on-exec).
  package static func openOwnFile(_ path: String, what: String) throws -> Int32 {
    var fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    if fd < 0, errno == EEXIST {
      // O_NONBLOCK: a FIFO planted at the name must not hang the responder before the check.
      fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
    }
    guard fd >= 0 else {
      if errno == ELOOP || errno == EMLINK {
        throw refusal(path, what: what, "is a symbolic link, which respond never follows")
      }
      throw unusable(path, what: what, errno)
    }
    var st = stat()
    let problem: String?
    if fstat(fd, &st) != 0 {
      problem = String(cString: strerror(errno))
    } else if (st.st_mode & S_IFMT) != S_IFREG {
      problem = "is not a plain file"
    } else if st.st_uid != geteuid() {
      problem = "belongs to user \(st.st_uid), not to you (user \(geteuid()))"
    } else if st.st_mode & 0o077 != 0 {
      problem = "is readable or writable by other users (mode \(octal(st.st_mode)))"
    } else if st.st_nlink != 1 {
      problem = "has \(st.st_nlink) hard links: another name could point at it"
    } else {
      problem = nil
    }
    if let problem {
      close(fd)
      throw refusal(path, what: what, problem)
    }
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
    return fd
  }

  /// Creates a new file next to `path` under a name no one can predict (`<path>.tmp-<random>`),
  /// with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, like mkstemp. Returns its name and descriptor.
  package static func createTemporary(beside path: String) throws -> (path: String, fd: Int32) {
    for _ in 0..<100 {
      let suffix = (0..<2).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 36) }.joined()
      let tmp = path + ".tmp-" + suffix
      let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
      if fd >= 0 { return (tmp, fd) }
      if errno != EEXIST { throw UsageError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }
    throw UsageError("cannot write \(path): no free temporary name")
  }

  // MARK: - Helpers

  private static func resolved(_ path: String) -> String? {
    guard let real = realpath(path, nil) else { return nil }
    defer { free(real) }
    return String(cString: real)
  }

  private static func parentOf(_ path: String) -> String { (path as NSString).deletingLastPathComponent }

  private static func octal(_ mode: mode_t) -> String { "0" + String(mode & 0o7777, radix: 8) }

  /// The error for a folder or file respond will not use, with what to do instead.
  private static func refusal(_ path: String, what: String, _ why: String) -> UsageError {
    UsageError(
      "refusing \(what) \(path): it \(why). Another user could plant links or hold locks there and steer or block "
        + "the response. Use a folder only you can write (e.g. --out ~/incidents, or `mkdir -m 700 /tmp/mine` "
        + "and --out /tmp/mine); nothing was done")
  }

  private static func unusable(_ path: String, what: String, _ code: Int32) -> UsageError {
    UsageError("cannot use \(what) \(path): \(String(cString: strerror(code)))")
  }
}
