import Foundation

/// TEST-ONLY crash points for the crash/resume tests (Tests/EndToEndTests/CrashResumeTests.swift).
/// `RESPOND_TEST_CRASH_AT=<n>` makes the process SIGKILL itself right after journal record `seq`
/// n is written (and, for a record before an outside effect, fsync'd): the harshest crash there is,
/// at a chosen point. Compiled into debug builds only (the tests run those): in a release build no
/// environment variable can kill a real response.
package enum TestCrashHook {
  #if DEBUG
    private static let crashAtRecord: Int? = ProcessInfo.processInfo.environment["RESPOND_TEST_CRASH_AT"].flatMap {
      Int($0)
    }
  #endif

  /// Called after each journal append.
  package static func afterJournalRecord(_ seq: Int) {
    #if DEBUG
      if let n = crashAtRecord, seq == n { raise(SIGKILL) }
    #endif
  }
}
