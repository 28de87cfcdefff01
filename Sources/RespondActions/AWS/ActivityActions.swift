import Foundation
import RespondCore

/// `aws.activity.classify`: what the key did, from every audit source at once. Each audit step
/// (CloudTrail, CloudWatch Logs, the trail archive) already classified its own events; this
/// merges them (an event found in two sources counts once, by event id) into the groups a
/// responder acts on, turns every persistence event into a follow-up naming what to remove,
/// and lists every secret read (each one a secret to rotate, with the events proving it).
/// Offline and read-only: it only reads other steps' outputs.
struct ClassifyActivityAction: Action {
  var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "aws.activity.classify",
      summary: "Group a key's audit events: secret reads, persistence, defence evasion, compute, other",
      parameters: [
        ParameterSpec(
          "activities", .list, required: true,
          "the `activity` outputs of the audit steps (null for a step that did not run)")
      ],
      outputs: ActivityCategory.allCases.map {
        OutputSpec($0.rawValue, "events of the group (\($0.title)), oldest first")
      } + [
        OutputSpec("counts", "events per group (other counts all; its list keeps the first 50)"),
        OutputSpec("persistence-count", "persistence events (attempts included)"),
        OutputSpec("follow-ups", "one line per persistence event: what to remove, and the event proving it"),
        OutputSpec("assumed-roles", "roles the key assumed (AssumeRole): their sessions outlive the key"),
        OutputSpec("created-users", "IAM users the key created"),
        OutputSpec("created-access-keys", "access key ids the key created"),
        OutputSpec(
          "secrets-read", "each distinct secret the key read: {kind, name, region, first-read, event-ids, call}"),
        OutputSpec("secret-follow-ups", "one line per secret read: what to rotate, and the events proving it"),
        OutputSpec("secrets-manager-read-count", "Secrets Manager secrets read (those respond may rotate)"),
      ],
      // Offline: it only reads other steps' outputs, so it needs no permission at all.
      mutates: false, idempotent: true, permissions: [])
  }

  func run(_ context: ActionContext) async throws -> ActionResult {
    guard let sources = context.parameters["activities"]?.arrayValue else {
      throw ActionError.badParameter(name: "activities", reason: "must be a list of audit steps' activity outputs")
    }
    var all = ActivityClassification()
    for source in sources where !source.isNull { all.add(output: source) }
    return ActionResult(outputs: Self.outputs(all), summary: all.summary)
  }

  /// The outputs of a merged classification.
  static func outputs(_ all: ActivityClassification) -> [String: Value] {
    var outputs = all.value.objectValue ?? [:]
    let persistence = all.group(.persistence)
    let done = persistence.filter { $0.errorCode == nil }
    func created(_ event: String, _ kind: String) -> Value {
      let names = done.filter { $0.name == event }.flatMap(\.resources).filter { $0.hasPrefix(kind + ":") }
        .map { String($0.dropFirst(kind.count + 1)) }
      return .array(Array(Set(names)).sorted().map { .string($0) })
    }
    outputs["persistence-count"] = .number(Double(all.counts[.persistence] ?? 0))
    outputs["follow-ups"] = .array(all.followUps.map { .string($0) })
    outputs["assumed-roles"] = .array(all.assumedRoles.map { .string($0) })
    outputs["created-users"] = created("CreateUser", "user")
    outputs["created-access-keys"] = created("CreateAccessKey", "access-key")
    let reads = SecretReadListing.list(all.group(.secretReads))
    outputs["secrets-read"] = .array(reads.map(\.value))
    outputs["secret-follow-ups"] = .array(reads.map { .string($0.followUp) })
    outputs["secrets-manager-read-count"] = .number(Double(reads.filter { $0.kind == .secretsManager }.count))
    return outputs
  }
}
