/// How often and how patiently to retry: the one retry type respond has. A runbook step's
/// `retry:` block, the AWS client, the Vault client and the notification sender each hold one,
/// so every wait comes from `delay(afterAttempt:elapsed:hint:)` and every loop from `run(...)`:
/// a change to backoff, jitter or the honouring of a provider's Retry-After is made once.
package struct RetryPolicy: Sendable, Equatable {
  /// Total attempts, first included.
  package var attempts: Int
  /// First backoff; doubles each attempt, with jitter.
  package var backoff: Duration
  /// Cap on one wait, computed or hinted (what a longer hint does is `longHint`).
  package var maxDelay: Duration
  /// No retry starts whose wait would end later than this after the first attempt began; nil
  /// bounds the retries by count only (each wait is still at most `maxDelay`).
  package var maxTotal: Duration?
  package var longHint: LongHint

  /// What a provider's hint (Retry-After) longer than `maxDelay` does.
  package enum LongHint: Sendable, Equatable {
    /// Wait `maxDelay` and try again: a runbook step, whose action has already given up on the
    /// provider's own limit and reported the hint.
    case capped
    /// Stop retrying here and report the error with its hint, so the caller (the step's retry,
    /// or a resume) decides whether to wait that long.
    case endsRetries
  }

  package init(
    attempts: Int = 3, backoff: Duration = .milliseconds(500), maxDelay: Duration = .seconds(10),
    maxTotal: Duration? = .seconds(120), longHint: LongHint = .capped
  ) {
    self.attempts = attempts
    self.backoff = backoff
    self.maxDelay = maxDelay
    self.maxTotal = maxTotal
    self.longHint = longHint
  }

  /// The wait before attempt `attempt + 1`, or nil when no attempt is left in count or time.
  /// Without a hint: exponential backoff capped at `maxDelay`, with jitter over its upper half
  /// (`jitter` in 0.5...1, random unless a test fixes it) so that many clients throttled at once
  /// do not come back at once. With a hint: the provider's word, as it knows best when to return.
  package func delay(
    afterAttempt attempt: Int, elapsed: Duration, hint: Duration?, jitter: Double = .random(in: 0.5...1)
  ) -> Duration? {
    guard attempt < attempts else { return nil }
    let wait: Duration
    if let hint {
      guard hint <= maxDelay || longHint == .capped else { return nil }
      wait = min(hint, maxDelay)
    } else {
      wait = min(backoff * (1 << min(max(attempt - 1, 0), 16)), maxDelay) * jitter
    }
    if let maxTotal, elapsed + wait > maxTotal { return nil }
    return wait
  }

  /// What one attempt came to, for `run`.
  package enum Attempt<T> {
    case done(T)
    /// Another attempt may succeed (`hint`: the provider's Retry-After). `error` is thrown when
    /// the policy allows no more.
    case retry(any Error, hint: Duration? = nil)
    /// Final: thrown at once.
    case fail(any Error)
  }

  /// Makes attempts (numbered from 1) until one is done or fails, or the policy allows no more
  /// retries; then throws the last error. `onRetry` is told each retry before its wait (to log
  /// or journal it: the attempt that failed, the wait, the error); `sleep` waits (tests pass one
  /// that records).
  package func run<T>(
    sleep: (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
    onRetry: (_ failedAttempt: Int, _ wait: Duration, _ error: any Error) async throws -> Void = { _, _, _ in },
    attempt: (_ number: Int) async throws -> Attempt<T>
  ) async throws -> T {
    let started = ContinuousClock.now
    var number = 0
    while true {
      number += 1
      switch try await attempt(number) {
      case .done(let value): return value
      case .fail(let error): throw error
      case .retry(let error, let hint):
        guard let wait = delay(afterAttempt: number, elapsed: ContinuousClock.now - started, hint: hint) else {
          throw error
        }
        try await onRetry(number, wait, error)
        try await sleep(wait)
      }
    }
  }
}
