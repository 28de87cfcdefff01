import Foundation
import RespondActions
import RespondCore
import RespondHTTP

#if canImport(Glibc)
  import Glibc
#endif

/// Wires the real world into the core: the process environment, stderr progress (coloured only
/// on a terminal), the terminal approver, the libcurl transport.
enum Frontend {
  static var environment: [String: String] { ProcessInfo.processInfo.environment }

  /// When the process started, for `RESPOND_TIMING`.
  nonisolated(unsafe) static var startedAt = ContinuousClock.now
  nonisolated(unsafe) static var measured: MeasuredTransport?

  /// The real transport; measured when RESPOND_TIMING is set (benchmarks read the line it prints).
  static func transport() -> any HTTPTransport {
    let curl = CurlTransport()
    guard environment["RESPOND_TIMING"] != nil else { return curl }
    let m = MeasuredTransport(curl)
    measured = m
    return m
  }

  /// Named moments of the run (loaded, ran, reported), for the timing line.
  nonisolated(unsafe) static var marks: [(String, ContinuousClock.Instant)] = []

  static func mark(_ name: String) {
    if measured != nil { marks.append((name, ContinuousClock.now)) }
  }

  /// `respond: timing: wall=41.2ms servers=30.1ms own=11.1ms requests=17 (load=5.0ms run=30.0ms report=6.2ms)`
  static func printTiming() {
    guard let m = measured else { return }
    let wall = ContinuousClock.now - startedAt
    let (waiting, n) = m.totals
    let ms = { (d: Duration) in String(format: "%.1fms", d.seconds * 1000) }
    var phases: [String] = []
    var previous = startedAt
    for (name, at) in marks {
      phases.append("\(name)=\(ms(at - previous))")
      previous = at
    }
    note("timing: wall=\(ms(wall)) servers=\(ms(waiting)) own=\(ms(wall - waiting)) requests=\(n) (\(phases.joined(separator: " ")))")
  }

  static func progress(_ masker: Masker) -> ProgressLog {
    let colour = isatty(STDERR_FILENO) == 1 && environment["NO_COLOR"] == nil
    return ProgressLog(masker: masker, colour: colour) { text in
      FileHandle.standardError.write(Data(text.utf8))
    }
  }

  /// Asks on the terminal when stdin and stderr are one; nil otherwise (no guessing).
  static func approver() -> (any Approver)? {
    isatty(STDIN_FILENO) == 1 && isatty(STDERR_FILENO) == 1 ? TerminalApprover() : nil
  }

  static func error(_ message: String) {
    FileHandle.standardError.write(Data("respond: error: \(message)\n".utf8))
  }

  static func note(_ message: String) {
    FileHandle.standardError.write(Data("respond: \(message)\n".utf8))
  }
}

/// y/N questions on the terminal.
struct TerminalApprover: Approver {
  func ask(_ question: String) async -> Bool? {
    FileHandle.standardError.write(Data("\n\(question) [y/N] ".utf8))
    guard let line = readLine(strippingNewline: true) else { return nil }
    return ["y", "yes"].contains(line.trimmingCharacters(in: .whitespaces).lowercased())
  }
}
