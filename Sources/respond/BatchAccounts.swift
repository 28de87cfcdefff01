import Foundation
import RespondActions
import RespondCore

/// `--accounts FILE` (or `RESPOND_ACCOUNTS`) for a batch: each key runs with its own AWS
/// account's credentials, chosen by the account its key id encodes (`AccountMap.choose`) and
/// resolved once per account (`AccountCredentials`). A key whose account has none is its own
/// `no-credentials` line in the summary, never the batch's end. Without a file every key runs
/// with the environment's credentials, as before.
struct BatchAccounts: Sendable {
  let map: AccountMap?
  let credentials: AccountCredentials?
  let mode: RunMode

  /// What one key runs with.
  enum KeyCredentials: Sendable {
    /// Run with this environment; `note` says which credentials (journaled, no secret).
    case run([String: String], note: String?)
    /// Do not run: this is the key's line in the summary.
    case skip(BatchResponse.RunReport)
  }

  /// The mapping from `--accounts` (given now, else the one the batch recorded, else
  /// `RESPOND_ACCOUNTS`); a file that cannot be read or is invalid is a usage error (exit 2,
  /// nothing run).
  static func load(flag: String?, recorded: String?, mode: RunMode, masker: Masker, limiters: RateLimiters) throws
    -> BatchAccounts
  {
    let path = flag ?? recorded ?? Frontend.environment["RESPOND_ACCOUNTS"].flatMap { $0.isEmpty ? nil : $0 }
    guard let path else { return BatchAccounts(map: nil, credentials: nil, mode: mode) }
    var map = try AccountMap.read(path: path)
    map.file = BatchCommand.absolute(path)
    let credentials = AccountCredentials(
      environment: Frontend.environment, transport: Frontend.transport(), masker: masker, limiters: limiters)
    return BatchAccounts(map: map, credentials: credentials, mode: mode)
  }

  /// The file to record in the batch summary for a resume.
  var file: String? { map?.file }

  /// The environment `secret` runs with, or its summary line when its account has no credentials.
  func credentials(for secret: LeakedSecret, progress: ProgressLog) async -> KeyCredentials {
    guard let map, let credentials else { return .run(Frontend.environment, note: nil) }
    switch map.choose(secret.secret) {
    case .notAWS:
      return .run(Frontend.environment, note: nil)
    case .unmapped(_, let reason):
      progress.line("not run: \(reason)")
      return .skip(BatchResponse.noCredentials(reason, mode: mode))
    case .use(let account, let source):
      let what = AccountMap.describe(source, account: account)
      do {
        let env = try await credentials.environment(for: source, account: account)
        progress.line("credentials: \(what)")
        return .run(env, note: "credentials: \(what)")
      } catch {
        let reason =
          "no working credentials for \(account.map { "account \($0)" } ?? "the key"): \(ActionFailure(error).message)"
        progress.line("not run: \(reason)")
        return .skip(BatchResponse.noCredentials(reason, mode: mode))
      }
    }
  }
}

extension RunOptions {
  /// These options with `note` journaled as the incident starts (which credentials the key ran
  /// with, for the auditor); a batch runs no preflight, so the note is free.
  func noting(_ note: String?) -> RunOptions {
    guard let note else { return self }
    var options = self
    options.preflightNote = [options.preflightNote, note].compactMap { $0 }.joined(separator: "\n")
    return options
  }
}
