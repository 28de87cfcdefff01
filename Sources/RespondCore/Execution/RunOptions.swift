import Foundation

/// Asks a person whether a step may run (or a manual step is done). The CLI provides a terminal
/// implementation; nil answers mean "nobody can be asked here".
package protocol Approver: Sendable {
  func ask(_ question: String) async -> Bool?
}

/// How one invocation should run.
package struct RunOptions: Sendable {
  package var mode: RunMode = .live
  /// `--yes`: every approval gate is answered yes.
  package var assumeYes = false
  /// Resume only: run again a non-idempotent step that was interrupted, after the operator checked.
  package var rerunInterrupted = false
  package var operatorName = RunOptions.currentUser()
  package var host = ProcessInfo.processInfo.hostName
  /// `--approver NAME`: the name this person's approvals are journaled under (else user@host).
  package var approverName: String?
  package var version = respondVersion
  /// Default per-step time limit when the step sets none.
  package var defaultTimeout: Duration = .seconds(300)
  /// The rate limiters the run paces its provider calls with. A batch passes one set to every
  /// key's runner so a provider's limits hold across the whole batch; nil means a fresh set.
  package var limiters: RateLimiters?
  /// From the preflight: steps that cannot work as configured (step id → why). Each is skipped
  /// at its turn as "not configured" and becomes a follow-up, instead of failing there.
  package var notConfigured: [String: String] = [:]
  /// The preflight's findings, journaled as a note right after the run starts.
  package var preflightNote: String?
  /// From the preflight, for drills: per step, what it found besides unset variables (AWS calls
  /// the caller may not make), added to the step's readiness.
  package var preflightMissing: [String: [String]] = [:]

  package init() {}

  /// The person whose approvals this run gives (at the terminal or with `--yes`).
  package var approvalPerson: ApprovalPerson {
    ApprovalPerson(approver: approverName, user: operatorName, host: host)
  }

  /// Who runs respond: $USER, $LOGNAME, or the account name of the process's user.
  package static func currentUser() -> String {
    let env = ProcessInfo.processInfo.environment
    if let u = env["USER"] ?? env["LOGNAME"], !u.isEmpty { return u }
    if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    return "uid \(getuid())"
  }
}

package let respondVersion = "0.1.0"

/// The result of one invocation.
package struct RunResult: Sendable {
  package var status: RunStatus
  package var stoppedAt: String?
  package var message: String?
  package var incidentDirectory: String
  package var state: IncidentState

  /// The exit status the contract promises: 0 finished (and, live, verified contained), 1 failed
  /// (resumable), 3 approval gate, 4 finished but the credential is not verified contained.
  package var exitCode: Int32 {
    switch status {
    case .completed: return RunResult.completedExitCode(state)
    case .failed, .needsOperator, .interrupted: return 1
    case .stoppedAtApproval: return 3
    }
  }
}

extension RunResult {
  /// A finished run exits 0 only when there was nothing to contain, it was a drill, or the
  /// credential is verified (or confirmed) contained; otherwise 4, so automation never reads a
  /// finished run as a contained credential.
  package static func completedExitCode(_ state: IncidentState) -> Int32 {
    if state.incident?.mode.isDry ?? false { return 0 }
    guard let verdict = ContainmentVerdict.decide(state) else { return 0 }
    return verdict.verdict == .contained ? 0 : 4
  }
}

extension RunOptions {
  /// The options a command line asks for, built in this one place for `respond <runbook>`,
  /// `respond resume` and both batch forms. `mode` is the command's (see `startMode`) or, on
  /// resume, the incident's journaled one; `limiters` are shared by a batch's keys.
  package init(mode: RunMode, invocation: RunbookInvocation, limiters: RateLimiters? = nil) {
    self.init()
    self.mode = mode
    assumeYes = invocation.yes
    approverName = invocation.approver
    rerunInterrupted = invocation.rerunInterrupted
    self.limiters = limiters
  }

  /// The mode of a new incident: `respond drill` drills; otherwise `--dry-run` or live.
  package static func startMode(_ requested: RunMode, dryRun: Bool) -> RunMode {
    requested == .drill ? .drill : (dryRun ? .dryRun : .live)
  }
}
