import Foundation

/// Wraps a transport and adds up the time spent waiting for answers, so respond can tell its
/// own overhead (wall time minus waiting on servers) apart. Used when `RESPOND_TIMING` is set.
package final class MeasuredTransport: HTTPTransport, @unchecked Sendable {
  private let base: any HTTPTransport
  private let lock = NSLock()
  private var waiting: Duration = .zero
  private var count = 0

  package init(_ base: any HTTPTransport) {
    self.base = base
  }

  /// Total time spent inside `send`/`sendMail`, and how many calls.
  package var totals: (waiting: Duration, requests: Int) { lock.withLock { (waiting, count) } }

  package func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    let start = ContinuousClock.now
    defer { add(ContinuousClock.now - start) }
    return try await base.send(request)
  }

  package func sendMail(_ mail: MailRequest) async throws {
    let start = ContinuousClock.now
    defer { add(ContinuousClock.now - start) }
    try await base.sendMail(mail)
  }

  private func add(_ d: Duration) {
    lock.withLock {
      waiting += d
      count += 1
    }
  }
}
