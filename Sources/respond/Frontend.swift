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
  /// `RESPOND_HTTP_TIMEOUT` (seconds, default 30) bounds each HTTP exchange.
  static func transport() -> any HTTPTransport {
    var base: any HTTPTransport = CurlTransport(timeout: httpTimeout)
    #if DEBUG  // test-only: never in a release build
      if let spec = environment["RESPOND_TEST_CRASH_AFTER_RESPONSE"],
        let hook = CrashAfterResponseTransport(base, spec: spec)
      {
        base = hook
      }
    #endif
    guard environment["RESPOND_TIMING"] != nil else { return base }
    let m = MeasuredTransport(base)
    measured = m
    return m
  }

  /// Loads libcurl (about 8 ms of dynamic loading), for commands that run a runbook to do while
  /// the runbook is read. Commands that never touch the network never load it; if this is not
  /// called, the first request loads it, and a failure to load is reported by that request.
  @Sendable static func loadNetworkLibrary() {
    _ = CurlLibrary.load()
  }

  /// Each HTTP exchange's time limit: `RESPOND_HTTP_TIMEOUT` seconds (0.1 to 600), else 30 s.
  static var httpTimeout: Duration {
    guard let text = environment["RESPOND_HTTP_TIMEOUT"], let s = Double(text), s >= 0.1, s <= 600 else {
      return .seconds(30)
    }
    return .milliseconds(Int(s * 1000))
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
    note(
      "timing: wall=\(ms(wall)) servers=\(ms(waiting)) own=\(ms(wall - waiting)) requests=\(n) (\(phases.joined(separator: " ")))"
    )
  }

  /// `all`: also the steps of branches that do not apply (condition false), hidden by default so
  /// the lines a responder reads are the ones that ran.
  static func progress(_ masker: Masker, all: Bool = false) -> ProgressLog {
    let colour = isatty(STDERR_FILENO) == 1 && environment["NO_COLOR"] == nil
    return ProgressLog(masker: masker, colour: colour, showSkipped: all) { text in
      FileHandle.standardError.write(Data(text.utf8))
    }
  }

  /// Asks on the terminal when stdin and stderr are one; nil otherwise (no guessing).
  /// The runbooks folder a command without a runbook of its own uses: `--runbooks`, else the
  /// first folder of the search path that exists (where `respond <runbook>` would look first).
  static func runbooksFolder(_ explicit: String?) -> String? {
    RunbookCatalog(explicit: explicit).searchPath.first { FileManager.default.fileExists(atPath: $0) }
  }

  static func approver() -> (any Approver)? {
    isatty(STDIN_FILENO) == 1 && isatty(STDERR_FILENO) == 1 ? TerminalApprover() : nil
  }

  /// Prints an error line; arguments that look like credentials are masked in it (a usage error
  /// quotes what was typed, and a token typed without its flag must not reach stderr).
  static func error(_ message: String) {
    FileHandle.standardError.write(Data("respond: error: \(ArgumentScrubber.scrub(message))\n".utf8))
  }

  static func note(_ message: String) {
    FileHandle.standardError.write(Data("respond: \(message)\n".utf8))
  }
}

/// TEST-ONLY (Tests/EndToEndTests/CrashResumeTests.swift): with `RESPOND_TEST_CRASH_AFTER_RESPONSE=<n>`
/// the process SIGKILLs itself the moment the n-th HTTP response has arrived, before the action
/// sees it and before anything is journaled: the provider has acted, respond never learned of it.
/// `<n>:<operation>` (e.g. `1:iam:CreateAccessKey`) counts only responses to that operation.
/// Never set outside those tests.
#if DEBUG
  final class CrashAfterResponseTransport: HTTPTransport, @unchecked Sendable {
    private let base: any HTTPTransport
    private let crashAt: Int
    private let operation: String?
    private let lock = NSLock()
    private var responses = 0

    init?(_ base: any HTTPTransport, spec: String) {
      let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
      guard let n = parts.first.flatMap({ Int($0) }) else { return nil }
      self.base = base
      self.crashAt = n
      self.operation = parts.count > 1 ? parts[1] : nil
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
      let response = try await base.send(request)
      if let operation, request.operation != operation { return response }
      let n = lock.withLock {
        responses += 1
        return responses
      }
      if n == crashAt { raise(SIGKILL) }
      return response
    }

    func sendMail(_ mail: MailRequest) async throws { try await base.sendMail(mail) }
  }
#endif

/// y/N questions on the terminal.
struct TerminalApprover: Approver {
  func ask(_ question: String) async -> Bool? {
    FileHandle.standardError.write(Data("\n\(question) [y/N] ".utf8))
    guard let line = readLine(strippingNewline: true) else { return nil }
    return ["y", "yes"].contains(line.trimmingCharacters(in: .whitespaces).lowercased())
  }
}
