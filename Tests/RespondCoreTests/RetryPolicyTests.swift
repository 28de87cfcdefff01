import Foundation
import Testing

@testable import RespondCore

/// The one retry policy: its delay function (backoff, jitter, caps, hints, count and time
/// bounds) and the send-with-retries loop every client and the runner use.
@Suite struct RetryPolicyTests {
  let policy = RetryPolicy(
    attempts: 4, backoff: .milliseconds(500), maxDelay: .seconds(3), maxTotal: .seconds(20), longHint: .endsRetries)

  @Test func backoffDoublesIsCappedAndJitteredOverItsUpperHalf() {
    let waits = (1...3).map { policy.delay(afterAttempt: $0, elapsed: .zero, hint: nil, jitter: 1) }
    #expect(waits == [.milliseconds(500), .seconds(1), .seconds(2)])
    #expect(policy.delay(afterAttempt: 2, elapsed: .zero, hint: nil, jitter: 0.5) == .milliseconds(500))
    var long = policy
    long.attempts = 10
    #expect(long.delay(afterAttempt: 8, elapsed: .zero, hint: nil, jitter: 1) == .seconds(3))
    for _ in 0..<50 {
      let wait = policy.delay(afterAttempt: 3, elapsed: .zero, hint: nil)!
      #expect(wait >= .seconds(1) && wait <= .seconds(2))
    }
  }

  @Test func boundedInCountAndInTime() {
    #expect(policy.delay(afterAttempt: 4, elapsed: .zero, hint: nil, jitter: 1) == nil)
    #expect(policy.delay(afterAttempt: 3, elapsed: .seconds(18), hint: nil, jitter: 1) == .seconds(2))
    #expect(policy.delay(afterAttempt: 3, elapsed: .seconds(19), hint: nil, jitter: 1) == nil)
    var countOnly = policy
    countOnly.maxTotal = nil
    #expect(countOnly.delay(afterAttempt: 3, elapsed: .seconds(3600), hint: nil, jitter: 1) == .seconds(2))
  }

  @Test func aProviderHintIsHonouredAndALongOneCappedOrEndsTheRetries() {
    // The hint replaces the backoff, longer or shorter: the provider knows when to come back.
    #expect(policy.delay(afterAttempt: 1, elapsed: .zero, hint: .seconds(2), jitter: 1) == .seconds(2))
    #expect(policy.delay(afterAttempt: 3, elapsed: .zero, hint: .zero, jitter: 1) == .zero)
    // Longer than one wait may be: a client hands it to its caller; a step waits the cap.
    #expect(policy.delay(afterAttempt: 1, elapsed: .zero, hint: .seconds(30), jitter: 1) == nil)
    var step = policy
    step.longHint = .capped
    #expect(step.delay(afterAttempt: 1, elapsed: .zero, hint: .seconds(30), jitter: 1) == .seconds(3))
    // The time bound holds for hints too.
    #expect(policy.delay(afterAttempt: 1, elapsed: .seconds(18), hint: .seconds(3), jitter: 1) == nil)
  }

  struct Failure: Error, Equatable { var attempt: Int }

  /// Runs `outcomes` (one per attempt) through the helper, recording retries and waits.
  func run(_ policy: RetryPolicy, _ outcomes: [(Int) -> RetryPolicy.Attempt<String>]) async
    -> (result: Result<String, Failure>, attempts: Int, retried: [Int], waits: [Duration])
  {
    var attempts = 0
    var retried: [Int] = []
    var waits: [Duration] = []
    do {
      let value = try await policy.run(
        sleep: { waits.append($0) }, onRetry: { attempt, _, _ in retried.append(attempt) },
        attempt: { n in
          attempts = n
          // An attempt beyond the script is a bug in the loop: it fails the test, not the process.
          return n <= outcomes.count ? outcomes[n - 1](n) : .fail(Failure(attempt: -n))
        })
      return (.success(value), attempts, retried, waits)
    } catch {
      return (.failure(error as! Failure), attempts, retried, waits)
    }
  }

  @Test func theHelperRetriesUntilDoneAndTellsEachRetry() async {
    let r = await run(
      policy,
      [
        { .retry(Failure(attempt: $0)) }, { .retry(Failure(attempt: $0), hint: .milliseconds(700)) },
        { _ in .done("ok") },
      ])
    #expect(r.result == .success("ok"))
    #expect(r.attempts == 3 && r.retried == [1, 2])
    #expect(r.waits.count == 2 && r.waits[1] == .milliseconds(700))
    #expect(r.waits[0] >= .milliseconds(250) && r.waits[0] <= .milliseconds(500))
  }

  @Test func theHelperThrowsAFinalErrorAtOnceAndTheLastWhenOutOfAttempts() async {
    let final = await run(policy, [{ .retry(Failure(attempt: $0)) }, { .fail(Failure(attempt: $0)) }])
    #expect(final.result == .failure(Failure(attempt: 2)) && final.retried == [1])
    let failing: (Int) -> RetryPolicy.Attempt<String> = { .retry(Failure(attempt: $0)) }
    let exhausted = await run(policy, Array(repeating: failing, count: 4))
    #expect(exhausted.result == .failure(Failure(attempt: 4)) && exhausted.attempts == 4 && exhausted.waits.count == 3)
    let hinted = await run(policy, [{ .retry(Failure(attempt: $0), hint: .seconds(60)) }])
    #expect(hinted.result == .failure(Failure(attempt: 1)) && hinted.waits.isEmpty)
  }
}
