import Foundation

/// Whether the owner of a leaked AWS access key already holds its replacement: another key,
/// Active, created no earlier than the leaked one. The runbook mints a replacement only when
/// there is none, so a rerun after a run that minted one mints no second key (an IAM user holds
/// at most two), while a key deactivated by hand with nothing newer beside it is still replaced.
/// Read from the listing that verifies the deactivation, so the guard costs no call of its own.
package enum AccessKeyReplacement {
  /// One of the owner's keys as ListAccessKeys lists it.
  package struct Key: Sendable, Equatable {
    package var id: String
    package var status: String
    /// Nil when IAM gave no creation time.
    package var created: Date?

    package init(id: String, status: String, created: Date?) {
      self.id = id
      self.status = status
      self.created = created
    }
  }

  /// The id of the newest Active key other than `leaked` that was not created before it, or nil.
  /// An older Active key is the user's other key, not a replacement. What cannot be ordered
  /// counts as a replacement, because minting a second key is the worse mistake: the same
  /// creation time (IAM gives whole seconds), a key without one, or every Active key when the
  /// leaked key is not listed or has no creation time.
  package static func newerActiveKey(leaked: String, among keys: [Key]) -> String? {
    let leakedCreated = keys.first { $0.id == leaked }?.created
    let replacements = keys.filter { key in
      guard key.id != leaked, key.status == "Active" else { return false }
      guard let leakedCreated, let created = key.created else { return true }
      return created >= leakedCreated
    }
    // The newest; a key without a time ahead of the rest; ties to the lowest id, so the answer is stable.
    return replacements.max { a, b in
      switch (a.created, b.created) {
      case (let x?, let y?) where x != y: return x < y
      case (nil, _?): return false
      case (_?, nil): return true
      default: return a.id > b.id
      }
    }?.id
  }
}
