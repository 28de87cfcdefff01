/// A step ran past its time limit.
package struct StepTimeout: Error, CustomStringConvertible {
  package var limit: Duration
  package var description: String { "step timed out after \(limit.shortDescription)" }
}

extension StepTimeout {
  /// Runs `work`, failing with a `StepTimeout` if it takes longer than `limit`.
  package static func limiting<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T)
    async throws -> T
  {
    try await withThrowingTaskGroup(of: T.self) { group in
      group.addTask { try await work() }
      group.addTask {
        try await Task.sleep(for: limit)
        throw StepTimeout(limit: limit)
      }
      defer { group.cancelAll() }
      return try await group.next()!
    }
  }
}
