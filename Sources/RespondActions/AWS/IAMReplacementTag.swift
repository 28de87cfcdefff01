import Foundation
import RespondCore

/// The rerun guard of `aws.iam.create-access-key` (issue 16): the owner's IAM tag
/// `respond:replaces:<leaked key id>`, written by respond itself when it mints. Its value is the
/// replacement's id once minted, or `minting:<time>` while CreateAccessKey is in flight. The key's
/// status read before the change cannot be the guard without costing containment a round trip,
/// and a newer Active key is no proof of a replacement (the user's other key may be leaked too,
/// or be one the attacker made); only respond's own record names the key respond made for this one.
enum IAMReplacementTag {
  /// The tag naming what replaced `leaked`.
  static func key(_ leaked: String) -> String { "respond:replaces:\(leaked)" }

  /// Every respond replacement tag starts with this.
  static let prefix = "respond:replaces:"

  /// The value written before CreateAccessKey: a run dying before the id is tagged leaves it, so
  /// the next one knows an attempt started then and may have made a key nobody holds.
  static let mintingPrefix = "minting:"

  /// What the tag says about the leaked key, given the user's keys now.
  enum Finding: Equatable {
    /// No replacement respond knows of (no tag, or the key it names is gone): mint one.
    case none
    /// This key, minted by respond for the leaked one, is still listed: mint nothing.
    case replacedBy(String)
    /// An attempt started at this time and never tagged its key (the run died in between).
    case lostAttempt(since: Date)
  }

  /// The pure decision: only a tag naming a key still listed for the user is a replacement.
  static func finding(tag: String?, listed: [IAMAccessKey]) -> Finding {
    guard let tag, !tag.isEmpty else { return .none }
    if tag.hasPrefix(mintingPrefix) {
      guard let since = ISO8601.parse(String(tag.dropFirst(mintingPrefix.count))) else { return .none }
      return .lostAttempt(since: since)
    }
    return listed.contains { $0.id == tag } ? .replacedBy(tag) : .none
  }

  /// When a lost attempt that started at `since` may have created its key: from `since` (less
  /// 2 s of clock skew) to `length` after it.
  static func attemptWindow(since: Date, length: TimeInterval) -> ClosedRange<Date> {
    since.addingTimeInterval(-2)...since.addingTimeInterval(length)
  }

  /// The keys a lost attempt that started at `since` may have made: created within its window,
  /// neither the leaked key (nil on a resume whose step names none) nor any key a respond tag
  /// names (another leaked key's replacement), nor one this process handed to a run. Both the
  /// tag's `minting:` marker and a resumed step's reconciliation decide with this.
  static func orphans(
    of keys: [IAMAccessKey], since: Date, window: TimeInterval, leaked: String?, tags: [String: String],
    handedOut: (String) -> Bool
  ) -> [IAMAccessKey] {
    let named = Set(tags.filter { $0.key.hasPrefix(prefix) }.values)
    let span = attemptWindow(since: since, length: window)
    return keys.filter { key in
      guard let created = key.createDate, key.id != leaked, !named.contains(key.id), !handedOut(key.id) else {
        return false
      }
      return span.contains(created)
    }
  }

  /// The user's tags (IAM ListUserTags, all pages).
  static func read(_ client: AWSClient, user: String) async throws -> [String: String] {
    var tags: [String: String] = [:]
    var marker: String?
    var pages = 0
    repeat {
      var params = [("UserName", user)]
      if let marker { params.append(("Marker", marker)) }
      let xml = try await client.query(.iam, "ListUserTags", params, mutates: false)
      let result = xml.path("ListUserTagsResult")
      for member in result?.path("Tags")?.children("member") ?? [] {
        guard let key = member.string("Key") else { continue }
        tags[key] = member.string("Value") ?? ""
      }
      pages += 1
      let truncated = result?.string("IsTruncated")?.lowercased() == "true"
      marker = truncated ? nonEmpty(result?.string("Marker")) : nil
    } while marker != nil && pages < 20
    return tags
  }

  /// Sets `respond:replaces:<leaked>` on the user (IAM TagUser overwrites a tag of the same key).
  static func write(_ client: AWSClient, user: String, leaked: String, value: String) async throws {
    _ = try await client.query(
      .iam, "TagUser",
      [("UserName", user), ("Tags.member.1.Key", key(leaked)), ("Tags.member.1.Value", value)],
      mutates: true)
  }

  /// The in-flight marker for an attempt starting now.
  static func minting(_ now: Date) -> String { mintingPrefix + ISO8601.string(now) }

  /// The IAM calls the guard makes, only when the create step names the key it replaces.
  static let permissions: [ProviderPermission] = [
    .aws(
      AWSPermission(
        "iam", "ListUserTags", resource: IAMResources.user, mutates: false, purpose: "AccessKeys",
        onlyWith: "replaces")),
    .aws(
      AWSPermission(
        "iam", "ListAccessKeys", resource: IAMResources.user, mutates: false, purpose: "AccessKeys",
        onlyWith: "replaces")),
    .aws(
      AWSPermission(
        "iam", "TagUser", resource: IAMResources.user, mutates: true, purpose: "AccessKeys", onlyWith: "replaces")),
    .aws(
      AWSPermission(
        "iam", "DeleteAccessKey", resource: IAMResources.user, mutates: true, purpose: "AccessKeys",
        onlyWith: "replaces")),
  ]
}
