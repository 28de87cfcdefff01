import Foundation
import RespondActions
import RespondCore

#if canImport(Glibc)
  import Glibc
#endif

/// Secret inputs kept off the command line: `--key -` reads standard input (without echo on a
/// terminal), `--key-file FILE` reads a file. A secret given inline still works, with a warning:
/// `ps` and shell history show it to others.
enum SecretInput {
  /// The most a secret input may hold: a private key file is a few KB; anything bigger is a mistake.
  static let maxBytes = 64 * 1024

  /// Reads the invocation's secret sources and warns about secrets given inline.
  static func resolve(
    _ invocation: inout RunbookInvocation, declared: [InputSpec]?, formats: any CredentialCatalogue = KeyCatalogue()
  ) throws {
    for name in invocation.secretsGivenInline(declared ?? [], formats: formats) {
      Frontend.note(
        "warning: --\(name) on the command line is visible to other users of this machine (ps) and stays in "
          + "your shell history; next time use --\(name) - (standard input) or --\(name)-file FILE")
    }
    try invocation.readSecretSources(standardInput: readStandardInput, file: readFile)
  }

  /// One line from a terminal with echo off (prompted on stderr), or all of a pipe.
  static func readStandardInput(_ name: String) throws -> String {
    guard isatty(STDIN_FILENO) == 1 else {
      let data = FileHandle.standardInput.readData(ofLength: maxBytes + 1)
      guard data.count <= maxBytes else {
        throw UsageError("--\(name) -: standard input holds more than \(maxBytes) bytes")
      }
      guard let text = String(data: data, encoding: .utf8) else {
        throw UsageError("--\(name) -: standard input is not UTF-8")
      }
      return text
    }
    FileHandle.standardError.write(Data("\(name) (not echoed): ".utf8))
    var saved = termios()
    let canHide = tcgetattr(STDIN_FILENO, &saved) == 0
    if canHide {
      var quiet = saved
      quiet.c_lflag &= ~tcflag_t(ECHO)
      tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
    }
    defer {
      if canHide { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
      FileHandle.standardError.write(Data("\n".utf8))
    }
    guard let line = readLine(strippingNewline: true) else { throw UsageError("--\(name) -: nothing was typed") }
    return line
  }

  /// A file's text, refused when it is not a regular file or too big to be a credential.
  static func readFile(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw UsageError("cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw UsageError("\(path) is not a regular file") }
    guard st.st_size <= maxBytes else { throw UsageError("\(path) is \(st.st_size) bytes: too big to be a credential") }
    let data = FileHandle(fileDescriptor: fd, closeOnDealloc: false).readDataToEndOfFile()
    guard let text = String(data: data, encoding: .utf8) else { throw UsageError("\(path) is not UTF-8 text") }
    return text
  }
}
