import Foundation
import Testing

@testable import RespondCore

@Suite struct RateLimiterTests {
  /// A burst goes out at once; the next requests are paced at the rate. Checked by counting
  /// how many acquisitions complete within windows, not by asserting a wall-clock duration.
  @Test func burstThenPaced() async throws {
    let limiter = RateLimiter(perSecond: 20, burst: 5)
    let start = ContinuousClock.now
    var stamps: [Duration] = []
    for _ in 0..<10 {
      try await limiter.acquire()
      stamps.append(ContinuousClock.now - start)
    }
    // The first five did not wait for tokens; the tenth needed at least 5 refills (250 ms).
    #expect(stamps[4] < stamps[9])
    #expect(stamps[9] >= .milliseconds(240))
  }

  @Test func penaltySlowsDown() async throws {
    let limiter = RateLimiter(perSecond: 100, burst: 1)
    try await limiter.acquire()
    await limiter.penalize(retryAfter: .milliseconds(200))
    let start = ContinuousClock.now
    try await limiter.acquire()
    #expect(ContinuousClock.now - start >= .milliseconds(190))
  }

  /// After a throttling answer the rate halves; successful requests bring it back to the base
  /// step by step (so one early throttle does not slow a long batch for good), never above it.
  @Test func successesRecoverAPenalizedRate() async throws {
    let limiter = RateLimiter(perSecond: 16, burst: 1)
    await limiter.penalize(retryAfter: .milliseconds(1))
    #expect(await limiter.currentRate == 8)
    for _ in 0..<4 { await limiter.recover() }
    #expect(await limiter.currentRate == 12)
    for _ in 0..<10 { await limiter.recover() }
    #expect(await limiter.currentRate == 16)
  }
}
