import Foundation
import RespondCore

/// Replaces a leaked secret in every copy found in one store (Secrets Manager, Parameter Store,
/// Vault KV), one secret at a time: re-read, decide with `CopyReplacementPlan`, write, read back.
/// A copy that no longer holds the leaked value (the configured store, already rotated by an
/// earlier step, or a resume) is left alone; one that cannot be rewritten or verified is listed
/// for a person with the reason, and the others still go ahead.
struct SecretCopyReplacer {
  /// `secrets-manager`, `ssm`, `vault`: how the report names the store.
  var store: String
  /// The value stored at a path (a string, or a Vault secret's fields), nil when it is gone.
  var read: @Sendable (String) async throws -> Value?
  /// Writes a new value at a path.
  var write: @Sendable (String, Value) async throws -> Void

  /// What happened to each copy, by label (names only).
  struct Outcome: Sendable {
    var replaced: [String] = []
    var already: [String] = []
    var left: [String] = []
  }

  func run(
    paths: [String], matcher: SecretDigestMatcher, replacement: String, companions: [String: String],
    context: ActionContext
  ) async -> Outcome {
    var outcome = Outcome()
    for path in Array(Set(paths)).sorted() {
      do {
        guard let current = try await read(path) else {
          outcome.already.append("\(store) \(path)")
          continue
        }
        context.masker.register(current)
        switch CopyReplacementPlan.plan(current, matcher: matcher, replacement: replacement, companions: companions) {
        case .alreadyReplaced:
          outcome.already.append("\(store) \(path)")
        case .byHand(let fields):
          outcome.left.append(
            "\(store) \(path) (\(fields.joined(separator: ", "))): the leaked value is nested; replace it by hand")
        case .write(let value, let changed):
          try await write(path, value)
          try await verify(path, wrote: value, matcher: matcher)
          let label = changed == [""] ? "\(store) \(path)" : "\(store) \(path) (\(changed.joined(separator: ", ")))"
          outcome.replaced.append(label)
          context.log("replaced the leaked value in \(label); read back and verified")
        }
      } catch {
        outcome.left.append("\(store) \(path): \(context.masker.mask("\(error)"))")
      }
    }
    return outcome
  }

  /// Reads the copy back: it must hold what was written and no longer the leaked value.
  private func verify(_ path: String, wrote: Value, matcher: SecretDigestMatcher) async throws {
    let back = try await read(path)
    let same: Bool
    switch (back, wrote) {
    case (.string(let a)?, .string(let b)): same = SecretDigestMatcher(b).matches(a)
    default: same = back == wrote
    }
    guard same, let back, matcher.fields(in: back).isEmpty,
      back.stringValue.map(matcher.fields(inText:))?.isEmpty ?? true
    else {
      throw ActionError.verification("\(store) \(path) does not hold the replacement when read back")
    }
  }

  /// The result every replace-copies action returns.
  static func result(_ outcome: Outcome, store: String) -> ActionResult {
    var summary = "replaced the leaked value in \(outcome.replaced.count) \(store) copy(ies)"
    if !outcome.already.isEmpty { summary += "; \(outcome.already.count) no longer held it" }
    if !outcome.left.isEmpty { summary += "; \(outcome.left.count) left for a person" }
    return ActionResult(
      outputs: [
        "replaced": .array(outcome.replaced.map(Value.string)), "already": .array(outcome.already.map(Value.string)),
        "left": .array(outcome.left.map(Value.string)), "count": .number(Double(outcome.replaced.count)),
      ],
      summary: summary)
  }

  /// Parameters every replace-copies action declares.
  static let parameters: [ParameterSpec] = [
    ParameterSpec("matches", .list, required: true, "the copies a find-copies step found (its matches output)"),
    ParameterSpec("value", required: true, secret: true, "the leaked value"),
    ParameterSpec("replacement", required: true, secret: true, "what replaces it where it was found"),
    ParameterSpec(
      "companions", .map, secret: true,
      "fields set beside a matched field when the secret already has them (secret_access_key beside a key id)"),
  ]

  static let outputs: [OutputSpec] = [
    OutputSpec("replaced", "the copies rewritten and read back (store, path, fields)"),
    OutputSpec("already", "copies that no longer held the leaked value"),
    OutputSpec("left", "copies a person must replace, each with the reason"),
    OutputSpec("count", "how many copies were replaced"),
  ]

  /// The step's inputs: paths of the matches, the matcher, the replacement and its companions.
  static func inputs(_ context: ActionContext) throws -> (
    paths: [String], matcher: SecretDigestMatcher, replacement: String, companions: [String: String]
  ) {
    let leaked = try context.string("value")
    let replacement = try context.string("replacement")
    context.masker.register(leaked)
    context.masker.register(replacement)
    guard let list = context.parameters["matches"]?.arrayValue else {
      throw ActionError.badParameter(name: "matches", reason: "must be the list a find-copies step returned")
    }
    let paths = list.compactMap { $0["path"]?.stringValue ?? $0.stringValue }
    var companions: [String: String] = [:]
    for (k, v) in context.parameters["companions"]?.objectValue ?? [:] {
      if let s = v.stringValue, !s.isEmpty { companions[k] = s }
    }
    context.masker.register(.object(companions.mapValues(Value.string)))
    return (paths, SecretDigestMatcher(leaked), replacement, companions)
  }
}
