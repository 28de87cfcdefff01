import Foundation

/// Paces requests to a provider with a token bucket: up to `burst` requests at once, refilled at
/// `perSecond`, shared by every step and every concurrent incident that uses the same key
/// (provider, account, region). A single incident's dozen calls go out without waiting; a batch
/// settles at the provider's documented rate. Throttling answers slow it down further.
package actor RateLimiter {
  private var rate: Double
  private let baseRate: Double
  private let burst: Double
  private var tokens: Double
  private var last: ContinuousClock.Instant = .now
  private var notBefore: ContinuousClock.Instant = .now

  /// `burst` defaults to one second's worth of requests (at least 1).
  package init(perSecond: Double, burst: Double? = nil) {
    let r = max(perSecond, 0.001)
    rate = r
    baseRate = r
    self.burst = max(1, burst ?? r)
    tokens = self.burst
  }

  /// Waits until a request may start, then takes a token.
  package func acquire() async throws {
    while true {
      let now = ContinuousClock.now
      tokens = min(burst, tokens + (now - last).seconds * rate)
      last = now
      if now >= notBefore && tokens >= 1 {
        tokens -= 1
        return
      }
      let needed = tokens >= 1 ? 0 : (1 - tokens) / rate
      let wait = max(notBefore - now, .milliseconds(Int64(needed * 1000) + 1))
      try await Task.sleep(for: wait)
    }
  }

  /// A request went through: a penalized rate creeps back towards the base rate (additive
  /// increase, one sixteenth of the base per success), so one throttling answer early in a long
  /// batch does not slow the rest of it for good.
  package func recover() {
    guard rate < baseRate else { return }
    rate = min(baseRate, rate + baseRate / 16)
  }

  /// The current rate (requests per second), for tests and progress.
  package var currentRate: Double { rate }

  /// The provider said "slow down": halve the rate (down to 1/8 of the base), empty the
  /// bucket, and wait out the provider's hint if it gave one.
  package func penalize(retryAfter: Duration?) {
    rate = max(rate / 2, baseRate / 8)
    tokens = 0
    last = .now
    notBefore = max(notBefore, ContinuousClock.now + (retryAfter ?? .milliseconds(Int64(1000 / rate))))
  }
}

/// The run's limiters, by key (e.g. "aws:cloudtrail:us-east-1").
package final class RateLimiters: @unchecked Sendable {
  fileprivate let lock = NSLock()
  private var limiters: [String: RateLimiter] = [:]
  fileprivate var mutexes: [String: AsyncMutex] = [:]

  package init() {}

  /// The limiter for `key`, created with `perSecond` the first time it is asked for.
  package func limiter(_ key: String, perSecond: Double, burst: Double? = nil) -> RateLimiter {
    lock.lock()
    defer { lock.unlock() }
    if let l = limiters[key] { return l }
    let l = RateLimiter(perSecond: perSecond, burst: burst)
    limiters[key] = l
    return l
  }
}

/// One-at-a-time sections by key, shared like the limiters: a batch's runners take turns where
/// concurrent calls would race at the provider (e.g. two incidents rotating keys of the same IAM
/// user, whose two key slots the "make room" step counts on).
package actor AsyncMutex {
  private var held = false
  private var waiting: [CheckedContinuation<Void, Never>] = []

  package init() {}

  package func lock() async {
    if !held {
      held = true
      return
    }
    await withCheckedContinuation { waiting.append($0) }
  }

  package func unlock() {
    if waiting.isEmpty { held = false } else { waiting.removeFirst().resume() }
  }
}

extension RateLimiters {
  /// Runs `body` while no other holder of `key` (in any runner sharing these limiters) runs.
  package func exclusive<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
    let mutex = lock.withLock { () -> AsyncMutex in
      if let m = mutexes[key] { return m }
      let m = AsyncMutex()
      mutexes[key] = m
      return m
    }
    await mutex.lock()
    do {
      let value = try await body()
      await mutex.unlock()
      return value
    } catch {
      await mutex.unlock()
      throw error
    }
  }
}
