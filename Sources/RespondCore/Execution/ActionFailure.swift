/// Any error, classified for the retry decision and phrased for the operator.
package struct ActionFailure: Sendable {
  package var message: String
  package var retryable: Bool
  /// The provider certainly did not act on the failed request (`ActionError.requestNotProcessed`):
  /// a non-idempotent step may be retried, and resume runs it again without asking.
  package var notProcessed: Bool
  package var retryAfter: Duration?

  package init(_ error: Error) {
    switch error {
    case let e as ActionError:
      message = e.description
      retryable = e.isRetryable
      notProcessed = e.requestNotProcessed
      retryAfter = e.retryAfter
    case let e as TransportError:
      let a = ActionError.transport(e)
      message = a.description
      retryable = a.isRetryable
      notProcessed = a.requestNotProcessed
      retryAfter = nil
    case let e as StepTimeout:
      message = e.description
      retryable = false
      notProcessed = false
      retryAfter = nil
    default:
      message = String(describing: error)
      retryable = false
      notProcessed = false
      retryAfter = nil
    }
  }
}
