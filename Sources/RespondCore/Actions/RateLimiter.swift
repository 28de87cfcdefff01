import Foundation

/// Paces requests to a provider: at most `perSecond` starts per second, shared by every step
/// and every concurrent incident that uses the same key (provider, account, region). Throttling
/// answers slow it down further (`penalize`).
package actor RateLimiter {
  private var interval: Duration
  private let baseInterval: Duration
  private var next: ContinuousClock.Instant = .now

  package init(perSecond: Double) {
    let ns = Int64(1e9 / max(perSecond, 0.001))
    self.interval = .nanoseconds(ns)
    self.baseInterval = .nanoseconds(ns)
  }

  /// Waits until a request may start.
  package func acquire() async throws {
    let now = ContinuousClock.now
    let start = max(now, next)
    next = start + interval
    if start > now { try await Task.sleep(until: start, clock: .continuous) }
  }

  /// The provider said "slow down": double the spacing (up to 8x) and push the next start out.
  package func penalize(retryAfter: Duration?) {
    interval = min(interval * 2, baseInterval * 8)
    next = max(next, ContinuousClock.now + (retryAfter ?? interval))
  }
}

/// The run's limiters, by key (e.g. "aws:cloudtrail:123456789012:us-east-1").
package final class RateLimiters: @unchecked Sendable {
  private let lock = NSLock()
  private var limiters: [String: RateLimiter] = [:]

  package init() {}

  /// The limiter for `key`, created with `perSecond` the first time it is asked for.
  package func limiter(_ key: String, perSecond: Double) -> RateLimiter {
    lock.lock()
    defer { lock.unlock() }
    if let l = limiters[key] { return l }
    let l = RateLimiter(perSecond: perSecond)
    limiters[key] = l
    return l
  }
}
