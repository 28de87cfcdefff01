import Foundation

/// The kinds a parameter can take; `validate` checks literal arguments against them.
package enum ParameterType: String, Sendable, Codable, CaseIterable {
  case string, integer, number, boolean, list, map, any
}

/// One declared parameter of an action.
package struct ParameterSpec: Sendable, Equatable {
  package var name: String
  package var type: ParameterType
  package var required: Bool
  package var description: String
  /// Secret parameters are registered with the masker when resolved (passwords, tokens).
  package var secret: Bool
  /// Allowed literal values, when the set is closed (e.g. `Active`, `Inactive`).
  package var allowed: [String]?
  /// How values spliced into this parameter's text are encoded (`http`'s `url`, Slack's `text`):
  /// declared by the action, applied where the step's templates are evaluated.
  package var interpolation: Interpolation

  package init(
    _ name: String, _ type: ParameterType = .string, required: Bool = false, secret: Bool = false,
    allowed: [String]? = nil, interpolation: Interpolation = .plain, _ description: String = ""
  ) {
    self.name = name
    self.type = type
    self.required = required
    self.description = description
    self.secret = secret
    self.allowed = allowed
    self.interpolation = interpolation
  }
}

/// One declared output. Secret outputs are masked everywhere and never journaled. Derived
/// outputs (`journaled: false`) are large values an idempotent action can make again at no cost,
/// such as the report's own text: later steps of the same process read them, the journal and the
/// report do not carry copies, and resume runs the step again if a later step needs one.
package struct OutputSpec: Sendable, Equatable {
  package var name: String
  package var description: String
  package var secret: Bool
  package var journaled: Bool

  package init(_ name: String, secret: Bool = false, journaled: Bool = true, _ description: String = "") {
    self.name = name
    self.description = description
    self.secret = secret
    self.journaled = journaled
  }
}

/// What an action needs from the environment to run for real: used by drills' readiness
/// section and by clear "missing credentials" errors. Each requirement is satisfied when any of
/// its alternatives has all of its variables set (e.g. keys in env, or a profile).
package struct Requirement: Sendable, Equatable {
  package var what: String
  package var alternatives: [[String]]
  /// Variables that belong with these but have a sensible default when unset (SMTP_FROM:
  /// the user at this host): the preflight says which default is used.
  package var defaults: [String: ConfigurationDefault]

  package init(_ what: String, anyOf alternatives: [[String]], defaults: [String: ConfigurationDefault] = [:]) {
    self.what = what
    self.alternatives = alternatives
    self.defaults = defaults
  }

  package init(_ what: String, all variables: [String], defaults: [String: ConfigurationDefault] = [:]) {
    self.init(what, anyOf: [variables], defaults: defaults)
  }

  /// Whether some of the variables that go together are set but the requirement is not met:
  /// half a configuration (SMTP_URL without SMTP_TO), which cannot work as it stands.
  package func isHalfSet(in env: [String: String]) -> Bool {
    let related = Set(alternatives.flatMap { $0 }).union(defaults.keys)
    return !isMet(in: env) && related.contains { !(env[$0] ?? "").isEmpty }
  }

  /// The variables of the closest alternative that are not set ("set SMTP_TO").
  package func unset(in env: [String: String]) -> [String] {
    let missing = alternatives.map { $0.filter { (env[$0] ?? "").isEmpty } }
    return missing.min { $0.count < $1.count } ?? []
  }

  /// Whether the environment satisfies this requirement.
  package func isMet(in env: [String: String]) -> Bool {
    alternatives.contains { alt in alt.allSatisfy { !(env[$0] ?? "").isEmpty } }
  }

  /// "AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
  package var missingDescription: String {
    let alts = alternatives.map { $0.joined(separator: " and ") }
    return "\(what): set " + alts.joined(separator: ", or ")
  }
}

/// A value used for a variable that is not set.
package enum ConfigurationDefault: Sendable, Equatable {
  /// `user@host`: the account running respond ($USER, else $LOGNAME) at this machine's name.
  case userAtHost

  package func value(environment: [String: String], host: String) -> String {
    switch self {
    case .userAtHost:
      let user = [environment["USER"], environment["LOGNAME"]].compactMap { $0 }.first { !$0.isEmpty } ?? "respond"
      return "\(user)@\(host.isEmpty ? "localhost" : host)"
    }
  }
}

/// Everything `validate`, `actions`, `plan` and the executor need to know about an action
/// without running it.
package struct ActionDescriptor: Sendable {
  package var name: String
  package var summary: String
  package var parameters: [ParameterSpec]
  package var outputs: [OutputSpec]
  /// Whether running it changes anything anywhere. Mutating actions never run in a dry run.
  package var mutates: Bool
  /// Whether running it twice has the same effect as once: decides blind retries and resume.
  package var idempotent: Bool
  /// Environment the action needs to run for real.
  package var requirements: [Requirement]
  /// Whether the action accepts parameters it does not declare (the generic `http` action's
  /// user-defined wrappers); off means unknown parameters are validation errors.
  package var acceptsExtraParameters: Bool
  /// Whether it works without any network or environment (format checks): `plan` runs such
  /// steps to show which branch a given input takes.
  package var offline: Bool = false
  /// What it must be allowed to do at its provider (IAM actions, Vault capabilities): nil when
  /// the action never declared it, empty when it needs nothing (STS GetCallerIdentity). `respond
  /// policy` and the preflight read it; an action with provider credentials must declare it.
  package var permissions: [ProviderPermission]?

  package init(
    name: String, summary: String, parameters: [ParameterSpec] = [], outputs: [OutputSpec] = [],
    mutates: Bool, idempotent: Bool, requirements: [Requirement] = [], acceptsExtraParameters: Bool = false,
    permissions: [ProviderPermission]? = nil
  ) {
    self.permissions = permissions
    self.name = name
    self.summary = summary
    self.parameters = parameters
    self.outputs = outputs
    self.mutates = mutates
    self.idempotent = idempotent
    self.requirements = requirements
    self.acceptsExtraParameters = acceptsExtraParameters
  }

  package func parameter(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
  package func output(_ name: String) -> OutputSpec? { outputs.first { $0.name == name } }
}

/// What an action hands back: outputs (later steps read them as `steps.<id>.<name>`), and
/// optionally evidence gathered for the report and a one-line summary for progress.
package struct ActionResult: Sendable {
  package var outputs: [String: Value]
  package var evidence: Evidence?
  package var summary: String?

  package init(outputs: [String: Value] = [:], evidence: Evidence? = nil, summary: String? = nil) {
    self.outputs = outputs
    self.evidence = evidence
    self.summary = summary
  }
}

/// Evidence from an audit-log query, with its provenance: which query, which endpoint, which
/// time window. The report prints it as found; an auditor can re-run the query.
package struct Evidence: Sendable, Codable, Equatable {
  package var source: String  // "CloudTrail LookupEvents"
  package var endpoint: String  // URL queried
  package var query: String  // e.g. "AttributeKey=AccessKeyId, AttributeValue=AKIA…"
  package var windowStart: Date?
  package var windowEnd: Date?
  package var eventCount: Int
  package var firstSeen: Date?
  package var lastSeen: Date?
  /// Name → count tables: "event names", "source IPs", "user agents", "paths"...
  package var tallies: [String: [String: Int]]
  /// A bounded sample of events (time, name, source, detail), newest last.
  package var events: [EvidenceEvent]
  /// Anything the query could not cover (pages not read, provider limits).
  package var caveats: [String]

  enum CodingKeys: String, CodingKey {
    case source, endpoint, query
    case windowStart = "window-start"
    case windowEnd = "window-end"
    case eventCount = "event-count"
    case firstSeen = "first-seen"
    case lastSeen = "last-seen"
    case tallies, events, caveats
  }

  package init(
    source: String, endpoint: String, query: String, windowStart: Date? = nil, windowEnd: Date? = nil,
    eventCount: Int = 0, firstSeen: Date? = nil, lastSeen: Date? = nil,
    tallies: [String: [String: Int]] = [:], events: [EvidenceEvent] = [], caveats: [String] = []
  ) {
    self.source = source
    self.endpoint = endpoint
    self.query = query
    self.windowStart = windowStart
    self.windowEnd = windowEnd
    self.eventCount = eventCount
    self.firstSeen = firstSeen
    self.lastSeen = lastSeen
    self.tallies = tallies
    self.events = events
    self.caveats = caveats
  }
}

/// One event kept as evidence.
package struct EvidenceEvent: Sendable, Codable, Equatable {
  package var time: Date
  package var name: String
  package var sourceIP: String?
  package var detail: String?
  /// The provider's own id for the event (CloudTrail's `eventID`), so an auditor can find the
  /// very record again at the provider.
  package var id: String?
  /// Who made the call (CloudTrail's `userIdentity.arn`): the postmortem's timeline names it.
  package var actor: String?
  package var userAgent: String?

  enum CodingKeys: String, CodingKey {
    case time, name
    case sourceIP = "source-ip"
    case detail, id, actor
    case userAgent = "user-agent"
  }

  package init(
    time: Date, name: String, sourceIP: String? = nil, detail: String? = nil, id: String? = nil,
    actor: String? = nil, userAgent: String? = nil
  ) {
    self.time = time
    self.name = name
    self.sourceIP = sourceIP
    self.detail = detail
    self.id = id
    self.actor = actor
    self.userAgent = userAgent
  }
}

/// How the run is going: live, a dry run, or a drill (a dry run with a readiness section).
package enum RunMode: String, Sendable, Codable {
  case live
  case dryRun = "dry-run"
  case drill

  package var isDry: Bool { self != .live }
}

/// What an action sees while it runs: its resolved parameters, the environment, the network
/// (already gated for dry runs), the masker, and where to say what it is doing.
package struct ActionContext: Sendable {
  package var stepID: String
  package var parameters: [String: Value]
  package var environment: [String: String]
  package var transport: any HTTPTransport
  package var masker: Masker
  package var incident: IncidentInfo
  /// ProgressLog lines for stderr; the sink masks them.
  package var log: @Sendable (String) -> Void
  /// Answers a question for a human (manual steps): nil when there is no terminal to ask.
  package var ask: (@Sendable (String) async -> Bool?)?
  /// Shared per-provider rate limiters (one per provider and account across a whole run).
  package var limiters: RateLimiters
  /// The incident so far, folded from the journal's records (for actions that report on it).
  package var incidentState: (@Sendable () -> IncidentState)?

  package init(
    stepID: String, parameters: [String: Value], environment: [String: String],
    transport: any HTTPTransport, masker: Masker, incident: IncidentInfo,
    log: @escaping @Sendable (String) -> Void = { _ in },
    ask: (@Sendable (String) async -> Bool?)? = nil, limiters: RateLimiters = RateLimiters()
  ) {
    self.stepID = stepID
    self.parameters = parameters
    self.environment = environment
    self.transport = transport
    self.masker = masker
    self.incident = incident
    self.log = log
    self.ask = ask
    self.limiters = limiters
  }

  // MARK: - Parameter access with clear errors

  /// A required string parameter; a missing or empty one is a clear error naming it.
  package func string(_ name: String) throws -> String {
    guard let v = parameters[name], !v.isNull, let s = v.stringValue, !s.isEmpty else {
      throw ActionError.badParameter(name: name, reason: "is required")
    }
    return s
  }

  package func optionalString(_ name: String) -> String? {
    guard let s = parameters[name]?.stringValue, !s.isEmpty else { return nil }
    return s
  }

  package func bool(_ name: String, default def: Bool) throws -> Bool {
    guard let v = parameters[name], !v.isNull else { return def }
    if let b = v.boolValue { return b }
    if let s = v.stringValue?.lowercased(), ["true", "false"].contains(s) { return s == "true" }
    throw ActionError.badParameter(name: name, reason: "must be true or false, got \(v.typeName)")
  }

  package func int(_ name: String, default def: Int? = nil) throws -> Int? {
    guard let v = parameters[name], !v.isNull else { return def }
    guard let i = v.intValue else {
      throw ActionError.badParameter(name: name, reason: "must be a whole number")
    }
    return i
  }
}

/// The incident as actions see it.
package struct IncidentInfo: Sendable, Codable, Equatable {
  package var id: String
  package var runbook: String
  package var startedAt: Date
  package var mode: RunMode
  package var directory: String

  package init(id: String, runbook: String, startedAt: Date, mode: RunMode, directory: String) {
    self.id = id
    self.runbook = runbook
    self.startedAt = startedAt
    self.mode = mode
    self.directory = directory
  }
}

/// An action: a named, declared operation the runbook's steps invoke. Open set: a protocol and a
/// registry. Actions do their I/O only through `ActionContext.transport` so dry runs, recorded
/// tests and masking apply to everything they send.
package protocol Action: Sendable {
  var descriptor: ActionDescriptor { get }
  func run(_ context: ActionContext) async throws -> ActionResult
  /// Called on resume when this step started but never finished (the process died mid-call),
  /// before deciding whether to run it again. Idempotent actions need nothing. A non-idempotent
  /// action can look at the provider and clean up what the lost attempt may have done (e.g. a
  /// created key nobody recorded) and return `.safeToRerun`; the default says it cannot tell.
  func reconcileInterrupted(_ context: ActionContext, startedAt: Date) async throws -> InterruptedDecision
}

/// What resume may do with a step whose previous attempt was cut off.
package enum InterruptedDecision: Sendable, Equatable {
  case safeToRerun(note: String)
  /// A human must check; the message says exactly what.
  case needsOperator(String)
}

extension Action {
  package func reconcileInterrupted(_ context: ActionContext, startedAt: Date) async throws -> InterruptedDecision {
    if descriptor.idempotent { return .safeToRerun(note: "the action is idempotent") }
    return .needsOperator(
      "step '\(context.stepID)' (\(descriptor.name)) started at \(ISO8601.string(startedAt)) but never recorded a result, "
        + "and running it again is not safe: check at the provider whether it took effect, then resume with --yes to run it again or fix the state by hand"
    )
  }
}
