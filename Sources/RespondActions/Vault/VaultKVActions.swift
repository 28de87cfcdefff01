import Foundation
import RespondCore

// MARK: - Shared KV v2 reading

/// One read of a KV v2 secret: its fields (empty when absent), its current version (also known for
/// a soft-deleted latest version, which check-and-set must still match) and whether it has data.
struct KVSecret: Sendable {
  var fields: [String: Value]
  var version: Int
  var found: Bool
  var createdTime: String?
}

extension VaultClient {
  /// Reads the latest version of a KV v2 secret. A missing or soft-deleted secret is `found: false`,
  /// not an error.
  func readKV(_ location: KVPath) async throws -> KVSecret {
    let reply = try await call("GET", location.dataPath, mutates: false, accept: [404])
    let metadata = reply.data?["metadata"]
    let version = metadata?["version"]?.intValue ?? 0
    let created = metadata?["created_time"]?.stringValue.flatMap { ISO8601.parse($0) }.map { ISO8601.string($0) }
    guard reply.status != 404, let fields = reply.data?["data"]?.objectValue else {
      return KVSecret(fields: [:], version: version, found: false, createdTime: created)
    }
    return KVSecret(fields: fields, version: version, found: true, createdTime: created)
  }
}

/// Shared parameter declarations.
private let mountParameter = ParameterSpec(
  "mount", required: false,
  "the KV v2 mount, when its name has a slash in it; otherwise the first segment of path is the mount")

// MARK: - vault.kv.read

/// `vault.kv.read`: reads a KV v2 secret. Every value is a secret: registered with the masker as soon
/// as it is parsed, and the `data` output is declared secret.
package struct VaultKVReadAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.kv.read", summary: "Read the latest version of a Vault/OpenBao KV v2 secret",
      parameters: [
        ParameterSpec("path", required: true, "<mount>/<path> of the secret, e.g. secret/ci/aws"),
        mountParameter,
      ],
      outputs: [
        OutputSpec("data", secret: true, "the secret's fields (every value is masked)"),
        OutputSpec("version", "the current version (0 when the secret never existed)"),
        OutputSpec("found", "false when there is no live secret at the path"),
        OutputSpec("created-time", "when the current version was written (UTC)"),
      ],
      mutates: false, idempotent: true, requirements: [VaultActions.requirement],
      permissions: [.vault(VaultPermission(.kvData(parameter: "path"), ["read"], purpose: "the secret store"))])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let location = try KVPath.parse(
      try context.string("path"), mount: context.optionalString("mount"), parameter: "path")
    let client = try VaultClient(context)
    let secret = try await client.readKV(location)
    context.masker.register(.object(secret.fields))
    return ActionResult(
      outputs: [
        "data": .object(secret.fields), "version": .number(Double(secret.version)), "found": .bool(secret.found),
        "created-time": secret.createdTime.map(Value.string) ?? .null,
      ],
      summary: secret.found
        ? "read \(location) version \(secret.version) (\(secret.fields.count) field(s))"
        : "no live secret at \(location)")
  }
}

// MARK: - vault.kv.write

/// `vault.kv.write`: sets some fields of a KV v2 secret and keeps the others. It reads the current
/// version, merges, and writes with check-and-set on that version; when another writer got in first
/// it re-reads and merges again (a bounded number of times), so no concurrent update is lost. When
/// the secret already holds exactly the merged fields nothing is written (`changed: false`), which
/// also makes a retried or resumed step land once.
package struct VaultKVWriteAction: Action {
  /// How many check-and-set races to lose before giving up (retryably).
  package var maxRaces: Int

  package init(maxRaces: Int = 8) { self.maxRaces = maxRaces }

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.kv.write",
      summary: "Set fields of a Vault/OpenBao KV v2 secret, keeping its other fields (check-and-set)",
      parameters: [
        ParameterSpec("path", required: true, "<mount>/<path> of the secret, e.g. secret/ci/aws"),
        ParameterSpec("fields", .map, required: true, secret: true, "field → value to set; other fields are kept"),
        mountParameter,
      ],
      outputs: [
        OutputSpec("version", "the secret's version after the step"),
        OutputSpec("previous-version", "the version the write was based on (0 when new)"),
        OutputSpec("changed", "false when the secret already held these values and nothing was written"),
      ],
      mutates: true, idempotent: true, requirements: [VaultActions.requirement],
      permissions: [
        .vault(VaultPermission(.kvData(parameter: "path"), ["create", "read", "update"], purpose: "the secret store"))
      ])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let location = try KVPath.parse(
      try context.string("path"), mount: context.optionalString("mount"), parameter: "path")
    guard let fields = context.parameters["fields"]?.objectValue else {
      throw ActionError.badParameter(name: "fields", reason: "must be a map of field names to values")
    }
    guard !fields.isEmpty else { throw ActionError.badParameter(name: "fields", reason: "must set at least one field") }
    context.masker.register(.object(fields))
    let client = try VaultClient(context)

    var races = 0
    var unconfirmed = 0
    while true {
      let current = try await client.readKV(location)
      context.masker.register(.object(current.fields))
      let merged = current.fields.merging(fields) { _, new in new }
      if current.found, merged == current.fields {
        return ActionResult(
          outputs: [
            "version": .number(Double(current.version)), "previous-version": .number(Double(current.version)),
            "changed": false,
          ],
          summary: "\(location) already holds these values (version \(current.version)); nothing written")
      }
      let body: Value = ["options": ["cas": .number(Double(current.version))], "data": .object(merged)]
      do {
        let reply = try await client.call("POST", location.dataPath, body: body, mutates: true, secretBody: true)
        // A 2xx that does not say which version was written (garbled, truncated by a middlebox,
        // not Vault's) proves nothing: read the secret back (the loop's next read) rather than
        // assume the write happened.
        guard let version = reply.data?["version"]?.intValue else {
          unconfirmed += 1
          guard unconfirmed < 3 else {
            throw ActionError.verification(
              "Vault answered HTTP \(reply.status) to the write of \(location) without saying what it wrote, "
                + "\(unconfirmed) times; check the secret, then resume")
          }
          context.log("\(location): Vault's answer to the write is unreadable; reading the secret back")
          continue
        }
        let kept = current.fields.keys.filter { fields[$0] == nil }.count
        return ActionResult(
          outputs: [
            "version": .number(Double(version)), "previous-version": .number(Double(current.version)),
            "changed": true,
          ],
          summary: "wrote \(fields.count) field(s) to \(location) (version \(current.version) → \(version), "
            + "\(kept) other field(s) kept)")
      } catch ActionError.provider(let error) where error.code == "cas-mismatch" {
        races += 1
        guard races < maxRaces else {
          var e = error
          e.retryable = true
          e.processed = false
          e.message = "another writer kept changing \(location) (lost \(races) check-and-set races): \(error.message)"
          throw ActionError.provider(e)
        }
        context.log("\(location) changed while writing (check-and-set); re-reading and merging again")
        try await Task.sleep(for: .milliseconds(Int64.random(in: 5...40) * Int64(races)))
      }
    }
  }
}

// MARK: - vault.kv.find

/// `vault.kv.find`: finds every copy of a value (a leaked credential) under a KV v2 mount or prefix.
/// Walks the metadata tree with LIST, reads each secret and compares its field values in memory; the
/// values are never printed, logged or returned, only where they matched. Reads run with bounded
/// concurrency; folders that cannot be listed or read are reported, not fatal.
package struct VaultKVFindAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "vault.kv.find", summary: "Find which KV v2 secrets (and fields) hold a given value",
      parameters: [
        ParameterSpec("path", required: true, "a mount (secret) or a prefix inside it (secret/ci)"),
        ParameterSpec("value", required: true, secret: true, "the value to look for"),
        ParameterSpec(
          "match", allowed: ["exact", "contains"],
          "exact (default): a field equals the value; contains: a field's text contains it"),
        mountParameter,
        ParameterSpec("concurrency", .integer, "parallel requests (default 8, at most 32)"),
        ParameterSpec("max-secrets", .integer, "stop after reading this many secrets (default 20000)"),
        ParameterSpec("per-second", .number, "at most this many requests a second (default 20, at most 200)"),
      ],
      outputs: [
        OutputSpec("matches", "list of {path, field} where the value was found"),
        OutputSpec("paths", "the distinct secret paths (<mount>/<path>) that hold the value"),
        OutputSpec("count", "number of matching fields"),
        OutputSpec("scanned", "number of secrets read"),
        OutputSpec("unreadable", "paths that could not be listed or read (permission denied)"),
        OutputSpec("complete", "false when max-secrets stopped the walk early or some paths were unreadable"),
        OutputSpec("stopped", "why the walk stopped early (the bound that was hit), null when it did not"),
      ],
      mutates: false, idempotent: true, requirements: [VaultActions.requirement],
      permissions: [
        .vault(VaultPermission(.kvTree(parameter: "path"), ["list", "read"], purpose: "where the value is stored"))
      ])
  }

  /// A unit of work in the walk: list a folder, or read a secret.
  private enum Item: Sendable {
    case folder(String)  // path inside the mount, "" or ending in "/"
    case secret(String)
  }

  private enum Outcome: Sendable {
    case listed(children: [Item])
    case read(path: String, matchedFields: [String])
    case missing
    case unreadable(String)
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let root = try KVPath.parse(
      try context.string("path"), mount: context.optionalString("mount"), parameter: "path", allowEmptyPath: true)
    let needle = try context.string("value")
    context.masker.register(needle)
    let contains = (context.optionalString("match") ?? "exact") == "contains"
    let compare = Comparison(needle: needle, contains: contains)
    let limit = max(1, min(try context.int("concurrency", default: 8) ?? 8, 32))
    let maxSecrets = max(1, try context.int("max-secrets", default: 20000) ?? 20000)
    let perSecond = min(max(context.parameters["per-second"]?.numberValue ?? 20, 0.1), 200)
    let client = try VaultClient(context)
    // One pace per Vault server for every search of the run: a walk must not flood it.
    let pace = context.limiters.limiter(
      "vault:find|\(context.environment["VAULT_ADDR"] ?? context.environment["BAO_ADDR"] ?? "")", perSecond: perSecond)
    let mount = root.mount

    var pending: [Item] = [.folder(root.path.isEmpty ? "" : root.path + "/")]
    if !root.path.isEmpty { pending.append(.secret(root.path)) }
    var seenSecrets = Set<String>()
    var matches: [(path: String, field: String)] = []
    var scanned = 0
    var unreadable: [String] = []
    var truncated = false

    try await withThrowingTaskGroup(of: Outcome.self) { group in
      var inFlight = 0
      while true {
        while inFlight < limit, let item = pending.popLast() {
          if case .secret(let p) = item {
            guard seenSecrets.count < maxSecrets else {
              truncated = true
              continue
            }
            guard seenSecrets.insert(p).inserted else { continue }
          }
          group.addTask {
            try await pace.acquire()
            return try await Self.process(item, mount: mount, client: client, compare: compare)
          }
          inFlight += 1
        }
        guard inFlight > 0, let outcome = try await group.next() else { break }
        inFlight -= 1
        switch outcome {
        case .listed(let children): pending.append(contentsOf: children)
        case .read(let path, let fields):
          scanned += 1
          matches.append(contentsOf: fields.map { (path, $0) })
        case .missing: break
        case .unreadable(let p): unreadable.append(p)
        }
      }
    }

    matches.sort { ($0.path, $0.field) < ($1.path, $1.field) }
    let paths = Array(Set(matches.map(\.path))).sorted()
    unreadable.sort()
    let complete = !truncated && unreadable.isEmpty
    var summary =
      "found the value in \(matches.count) field(s) of \(paths.count) secret(s); "
      + "\(scanned) secret(s) scanned under \(root)"
    if !unreadable.isEmpty { summary += "; \(unreadable.count) path(s) unreadable" }
    let stopped =
      truncated
      ? "Vault search stopped at max-secrets \(maxSecrets) (\(scanned) read, at most \(Int(perSecond)) requests/s): "
        + "raise max-secrets or narrow the path to look further" : nil
    if let stopped { summary += "; \(stopped)" }
    return ActionResult(
      outputs: [
        "matches": .array(matches.map { ["path": .string($0.path), "field": .string($0.field)] }),
        "paths": .array(paths.map(Value.string)),
        "count": .number(Double(matches.count)), "scanned": .number(Double(scanned)),
        "unreadable": .array(unreadable.map(Value.string)), "complete": .bool(complete),
        "stopped": stopped.map(Value.string) ?? .null,
      ],
      summary: summary)
  }

  /// Lists one folder or reads one secret. 404 (vanished, or soft-deleted) is not an error; 403 is
  /// recorded as unreadable so one locked folder does not hide the rest.
  private static func process(
    _ item: Item, mount: String, client: VaultClient, compare: Comparison
  ) async throws -> Outcome {
    switch item {
    case .folder(let prefix):
      let reply = try await client.call(
        "GET", "\(mount)/metadata/\(prefix)", query: "list=true", mutates: false, accept: [403, 404])
      if reply.status == 403 { return .unreadable("\(mount)/\(prefix)") }
      let keys = reply.data?["keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
      return .listed(children: keys.map { $0.hasSuffix("/") ? .folder(prefix + $0) : .secret(prefix + $0) })
    case .secret(let path):
      let reply = try await client.call("GET", "\(mount)/data/\(path)", mutates: false, accept: [403, 404])
      if reply.status == 403 { return .unreadable("\(mount)/\(path)") }
      guard reply.status != 404, let fields = reply.data?["data"]?.objectValue else { return .missing }
      return .read(path: "\(mount)/\(path)", matchedFields: compare.fields(in: .object(fields)))
    }
  }
}

/// How `vault.kv.find` compares: an exact match by digest in constant time
/// (`SecretDigestMatcher`), or, when asked, a substring search (which cannot be done by digest).
private struct Comparison: Sendable {
  let needle: String
  let contains: Bool
  let matcher: SecretDigestMatcher

  init(needle: String, contains: Bool) {
    self.needle = needle
    self.contains = contains
    matcher = SecretDigestMatcher(needle)
  }

  /// The dotted names of the fields that hold the value.
  func fields(in value: Value) -> [String] {
    guard contains else { return matcher.fields(in: value) }
    var hits: [String] = []
    collect(value, field: "", into: &hits)
    return hits.sorted()
  }

  private func collect(_ value: Value, field: String, into hits: inout [String]) {
    switch value {
    case .string(let s): if s.contains(needle) { hits.append(field) }
    case .number, .bool: if value.description.contains(needle) { hits.append(field) }
    case .array(let items):
      for (i, v) in items.enumerated() { collect(v, field: "\(field)[\(i)]", into: &hits) }
    case .object(let o):
      for (k, v) in o { collect(v, field: field.isEmpty ? k : "\(field).\(k)", into: &hits) }
    case .null: break
    }
  }
}
