import Foundation

/// Who approves: the name they go by (`--approver NAME`, else `user@host`) and the
/// operating-system account that records the approval (`user@host`). Names are self-declared,
/// the account is what the machine says; four eyes compares both, so one account cannot give
/// both approvals under two names.
package struct ApprovalPerson: Sendable, Equatable {
  package var name: String
  package var account: String

  package init(name: String, account: String) {
    self.name = name
    self.account = account
  }

  /// The person at this end: `--approver NAME` when given, else the account itself.
  package init(approver: String?, user: String, host: String) {
    let account = "\(user)@\(host)"
    let trimmed = approver?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    self.init(name: trimmed.isEmpty ? account : trimmed, account: account)
  }

  /// The same person: the same name (any case) or the same account.
  package func isSame(as other: ApprovalPerson) -> Bool {
    name.lowercased() == other.name.lowercased() || account.lowercased() == other.account.lowercased()
  }
}

/// How an approval was given, as the journal and the reports say it.
package enum ApprovalVia: String, Sendable, Equatable, CaseIterable {
  /// A person answered yes (or no) at the terminal of the run.
  case terminal
  /// The run's `--yes`: the person who ran it approved every gate in advance.
  case yes = "--yes"
  /// `respond approve DIR --step ID`, from another shell or machine.
  case command = "respond approve"

  /// The journaled decision of a yes given this way (older journals only carry this text).
  package var grantedDecision: String {
    switch self {
    case .terminal: return "granted at the terminal"
    case .yes: return "granted (--yes)"
    case .command: return "granted (respond approve)"
    }
  }
}

/// One approval (or refusal) a person gave, folded from an `approval` journal record.
package struct GivenApproval: Sendable, Equatable {
  package var step: String
  package var person: ApprovalPerson
  package var at: Date
  package var via: ApprovalVia
  package var granted: Bool
  /// The journaled decision text ("granted (--yes)", "declined at the terminal").
  package var decision: String
  /// The journal record's sequence number: approvals after a step last started are the ones
  /// that let it run (each start uses them up).
  package var seq: Int

  /// The approval a journal record holds, nil for a record no person gave ("no terminal to ask").
  package init?(_ r: JournalRecord) {
    guard r.type == .approval, let step = r.step, let how = r.via, let via = ApprovalVia(rawValue: how) else {
      return nil
    }
    let name = r.operator ?? "unknown"
    self.step = step
    self.person = ApprovalPerson(name: name, account: r.account ?? name)
    self.at = r.at
    self.via = via
    self.granted = r.decision?.hasPrefix("granted") ?? false
    self.decision = r.decision ?? ""
    self.seq = r.seq
  }
}

extension JournalRecord {
  /// The journal record of an approval `person` gave for `step` (`granted`: yes or no).
  package static func approval(
    step: String, by person: ApprovalPerson, host: String, via: ApprovalVia, granted: Bool, at: Date = Date()
  ) -> JournalRecord {
    var r = JournalRecord(at: at, type: .approval)
    r.step = step
    r.operator = person.name
    r.account = person.account
    r.host = host
    r.via = via.rawValue
    r.decision = granted ? via.grantedDecision : "declined at the terminal"
    return r
  }
}

extension IncidentState {
  /// Every approval people gave in this incident, oldest first.
  package var approvals: [GivenApproval] { records.compactMap(GivenApproval.init) }

  /// The yeses that count for `step` now: given since it last started (a start uses them up,
  /// so a step run again on resume is approved again).
  package func standingApprovals(for step: String) -> [GivenApproval] {
    let lastStart = records.last { $0.type == .stepStarted && $0.step == step }?.seq ?? -1
    return approvals.filter { $0.step == step && $0.granted && $0.seq > lastStart }
  }

  /// The person who started the run, as four eyes sees them.
  package var starter: ApprovalPerson? {
    guard let user = operatorName else { return nil }
    return ApprovalPerson(name: user, account: host.map { "\(user)@\($0)" } ?? user)
  }
}
