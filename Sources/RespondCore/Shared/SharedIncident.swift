import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What a shared lock object says: who holds the key's response and in which incident. Plain
/// `name value` lines like the local lock file's; never the key, only its public label.
package struct SharedLockRecord: Sendable, Equatable {
  package var incident: String?
  package var host: String
  package var pid: Int32
  package var key: String
  /// A random value only this holder knows: released only by the holder that wrote it.
  package var token: String

  package init(incident: String?, host: String, pid: Int32, key: String, token: String) {
    self.incident = incident
    self.host = host
    self.pid = pid
    self.key = key
    self.token = token
  }

  package var text: String {
    var lines = ["respond-lock 1", "host \(host)", "pid \(pid)", "key \(key)", "token \(token)"]
    if let incident { lines.append("incident \(incident)") }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Reads what another holder wrote (lenient: an unknown line is ignored, a missing one empty).
  package static func parse(_ data: Data) -> SharedLockRecord {
    var record = SharedLockRecord(incident: nil, host: "", pid: 0, key: "", token: "")
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
      guard let space = line.firstIndex(of: " ") else { continue }
      let value = String(line[line.index(after: space)...]).filter { !$0.isNewline && $0 != "\r" }
      switch line[..<space] {
      case "incident": record.incident = SharedIncident.isIncidentID(value) ? value : nil
      case "host": record.host = value
      case "pid": record.pid = Int32(value) ?? 0
      case "key": record.key = value
      case "token": record.token = value
      default: continue
      }
    }
    return record
  }
}

/// The per-key lock shared by every machine of the team, at `<prefix>/locks/<digest>`. Taken with
/// a conditional create (`If-None-Match: *`): of two responders on two machines, S3 lets exactly
/// one create it; the other reads it and is refused with the holder's incident. Unlike the local
/// lock it outlives the process while the incident is unfinished (a run stopped at a gate, failed
/// or crashed): the team's next step is to resume that incident, which takes the lock over
/// (`If-Match` on what it read). A finished run deletes it.
package final class SharedLock: @unchecked Sendable {
  package let key: String
  package let location: SharedStateLocation
  private let store: any SharedStateStore
  private let lock = NSLock()
  private var record: SharedLockRecord
  private var etag: String

  private init(
    store: any SharedStateStore, location: SharedStateLocation, key: String, record: SharedLockRecord, etag: String
  ) {
    self.store = store
    self.location = location
    self.key = key
    self.record = record
    self.etag = etag
  }

  /// Takes the lock for `identity`, or throws `IncidentLock.Held` naming the holder's incident as
  /// its shared URL (`respond resume` takes it). `resuming`: the incident being resumed, whose
  /// own lock (left by a stopped or crashed run) is taken over. A holder still creating its
  /// incident is asked again for up to `waitForName`, so the refusal can name it.
  package static func acquire(
    store: any SharedStateStore, location: SharedStateLocation, identity: IncidentLock.Identity,
    resuming: String? = nil, host: String, waitForName: Duration = .seconds(3)
  ) async throws -> SharedLock {
    let key = location.lockKey(digest: identity.digest)
    let token = (0..<2).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 36) }.joined()
    let mine = SharedLockRecord(incident: resuming, host: host, pid: getpid(), key: identity.label, token: token)
    let body = Data(mine.text.utf8)
    for _ in 0..<3 {
      if let etag = try await store.createIfAbsent(key, body: body, retainUntil: nil) {
        return SharedLock(store: store, location: location, key: key, record: mine, etag: etag)
      }
      guard var held = try await store.get(key) else { continue }  // released meanwhile: try again
      var holder = SharedLockRecord.parse(held.body)
      if let resuming, holder.incident == resuming {
        if let etag = try await store.replace(key, body: body, ifMatch: held.etag) {
          return SharedLock(store: store, location: location, key: key, record: mine, etag: etag)
        }
        continue
      }
      let deadline = ContinuousClock.now + waitForName
      while holder.incident == nil, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(200))
        guard let again = try await store.get(key) else { break }
        held = again
        holder = SharedLockRecord.parse(again.body)
      }
      throw refusal(holder, location: location, key: key)
    }
    throw IncidentLock.Held(lockPath: "s3://\(location.bucket)/\(key)")
  }

  static func refusal(_ holder: SharedLockRecord, location: SharedStateLocation, key: String) -> IncidentLock.Held {
    var held = IncidentLock.Held(lockPath: "s3://\(location.bucket)/\(key)")
    let host = holder.host.isEmpty ? "" : " on \(holder.host)"
    held.holderPID = holder.pid > 0 ? "\(holder.pid)\(host)" : nil
    held.holderIncident = holder.incident.map { location.incidentURL($0) }
    return held
  }

  /// The incident this lock is held for, written into the lock for a responder it refuses.
  package var incident: String? { lock.withLock { record.incident } }

  /// Names the incident in the lock (after its folder was created).
  package func record(incident id: String) async throws {
    let (body, etag) = lock.withLock { () -> (Data, String) in
      record.incident = id
      return (Data(record.text.utf8), self.etag)
    }
    guard let new = try await store.replace(key, body: body, ifMatch: etag) else {
      throw UsageError("the shared lock s3://\(location.bucket)/\(key) was changed by someone else")
    }
    lock.withLock { self.etag = new }
  }

  /// Deletes the lock when it is still this holder's (the incident is finished).
  package func release() async throws {
    let token = lock.withLock { record.token }
    guard let held = try await store.get(key), SharedLockRecord.parse(held.body).token == token else { return }
    try await store.delete(key)
  }
}

/// One incident shared with the team: its lock (live runs) and a mirror of its folder. The runner
/// calls `written(path)` for every file it writes; the folder is uploaded as the run goes, and
/// `finish` uploads what is left and says what could not be.
package final class SharedIncident: Sendable {
  package let location: SharedStateLocation
  package let lock: SharedLock?
  package let mirror: IncidentMirror

  package init(location: SharedStateLocation, lock: SharedLock?, mirror: IncidentMirror) {
    self.location = location
    self.lock = lock
    self.mirror = mirror
  }

  /// Whether `name` looks like an incident id (a folder name respond makes; nothing to escape).
  package static func isIncidentID(_ name: String) -> Bool {
    !name.isEmpty && !name.hasPrefix(".") && name.count <= 200
      && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
  }

  /// Whether a path relative to the incident folder is mirrored: the folder's own files and its
  /// `evidence/` files, not hidden files nor the temporary files of an atomic write.
  package static func isMirrored(_ relative: String) -> Bool {
    let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 1 || (parts.count == 2 && parts[0] == EvidenceStore.folder) else { return false }
    let name = parts[parts.count - 1]
    return !name.isEmpty && !name.hasPrefix(".") && !name.contains(".tmp-") && name != "." && name != ".."
  }

  /// For the runner: a file of the incident was written. The first names the incident, which
  /// the lock then names too, for a responder it refuses.
  package func written(_ path: String) {
    let mirror = mirror
    let lock = lock
    Task {
      guard let id = await mirror.changed(path), let lock, lock.incident != id else { return }
      do { try await lock.record(incident: id) } catch { await mirror.warn("\(error)") }
    }
  }

  /// For the runner, before a change at a provider: waits until the shared journal holds the
  /// change's write-ahead record (as the local one is fsync'd then), so another machine resuming
  /// the shared copy reconciles the change instead of making it again. A failed upload is said
  /// and the change goes on: containment does not wait for S3.
  package func beforeChange(journal path: String) async {
    await mirror.syncJournal(path)
  }

  /// Uploads every file not yet mirrored as it is now, then releases the lock when the run is
  /// finished. Returns the problems (empty when the team sees the whole incident).
  package func finish(directory: String, finished: Bool) async -> [String] {
    var problems = await mirror.flush(directory: directory)
    if finished, problems.isEmpty, let lock {
      do { try await lock.release() } catch { problems.append("could not release the shared lock: \(error)") }
    }
    return problems
  }
}

/// Mirrors an incident folder to `<prefix>/incidents/<id>/` as the run writes it: each changed
/// file is uploaded as it is when its turn comes (later changes to a file waiting in line ride
/// on the same upload), one upload at a time, so the run never waits for S3. On an Object Lock
/// bucket every object is written with GOVERNANCE retention, so evidence cannot be deleted early
/// (a rewritten journal is a new version; the old ones stay retained). A new incident claims its
/// id with a conditional create: two machines that picked the same id never mix their files.
package actor IncidentMirror {
  private let store: any SharedStateStore
  package let location: SharedStateLocation
  private let retentionDays: Int?
  private let log: @Sendable (String) -> Void
  private var directory: String?
  private var id: String?
  /// Whether the incident's folder in the shared state must first be claimed (a new incident).
  private var mustClaim: Bool
  private var uploaded: [String: String] = [:]
  private var pending: [String] = []
  private var draining: Task<Void, Never>?
  private var problems: [String] = []
  private var stopped: String?

  /// `retentionDays` nil when the bucket has no Object Lock. `directory` is known on resume.
  package init(
    store: any SharedStateStore, location: SharedStateLocation, retentionDays: Int?, directory: String?,
    log: @escaping @Sendable (String) -> Void
  ) {
    self.store = store
    self.location = location
    self.retentionDays = retentionDays
    self.log = log
    mustClaim = directory == nil
    if let directory {
      let dir = Self.standardized(directory)
      self.directory = dir
      id = (dir as NSString).lastPathComponent
    }
  }

  static func standardized(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

  private func adopt(_ directory: String) {
    let dir = Self.standardized(directory)
    self.directory = dir
    id = (dir as NSString).lastPathComponent
  }

  /// A problem to say on stderr and in `finish`'s answer.
  package func warn(_ message: String) {
    problems.append(message)
    log("shared state: \(message)")
  }

  /// Queues the file at `path` for upload; returns the incident id when this call made it known.
  @discardableResult
  package func changed(_ path: String) -> String? {
    var named: String?
    if directory == nil {
      var dir = (path as NSString).deletingLastPathComponent
      if (dir as NSString).lastPathComponent == EvidenceStore.folder {
        dir = (dir as NSString).deletingLastPathComponent
      }
      adopt(dir)
      named = id
    }
    guard let directory, let relative = Self.relative(path, in: directory), SharedIncident.isMirrored(relative) else {
      return named
    }
    if !pending.contains(relative) { pending.append(relative) }
    if draining == nil { draining = Task { await drain() } }
    return named
  }

  static func relative(_ path: String, in directory: String) -> String? {
    let full = URL(fileURLWithPath: path).standardizedFileURL.path
    guard full.hasPrefix(directory + "/") else { return nil }
    return String(full.dropFirst(directory.count + 1))
  }

  private func drain() async {
    while !pending.isEmpty {
      let next = pending.removeFirst()
      await upload(next)
    }
    draining = nil
  }

  private func upload(_ relative: String) async {
    guard stopped == nil, let directory, let id else { return }
    // The incident's id is claimed with its journal, whatever file comes first.
    if mustClaim, relative != "journal.jsonl" {
      await upload("journal.jsonl")
      guard !mustClaim, stopped == nil else { return }
    }
    guard let bytes = EvidenceStore.readNoFollow(directory + "/" + relative) else { return }
    let digest = sha256Hex(bytes)
    guard uploaded[relative] != digest else { return }
    let key = location.incidentPrefix(id) + relative
    #if DEBUG  // test-only: a slow S3, so a test can tell a synced write-ahead record from a lucky one
      if let ms = ProcessInfo.processInfo.environment["RESPOND_TEST_MIRROR_DELAY_MS"].flatMap({ Int($0) }) {
        try? await Task.sleep(for: .milliseconds(ms))
      }
    #endif
    let until = retentionDays.map { SharedRetention.retainUntil(Date(), days: $0) }
    do {
      if mustClaim {
        guard try await store.createIfAbsent(key, body: Data(bytes), retainUntil: until) != nil else {
          stopped = "\(location.incidentURL(id)) already holds another incident with this id"
          warn("\(stopped!): this incident is NOT shared; it goes on locally in \(directory)")
          return
        }
        mustClaim = false
      } else {
        try await store.put(key, body: Data(bytes), retainUntil: until)
      }
      uploaded[relative] = digest
    } catch {
      warn(
        "could not upload \(relative) to \(location.incidentURL(id)): \(error) (tried again at its next change and at the end)"
      )
    }
  }

  /// Uploads the journal as it is now (and whatever waits before it) and returns when done.
  package func syncJournal(_ path: String) async {
    changed(path)
    while let task = draining { await task.value }
  }

  /// Uploads every mirrored file of `directory` that differs from what was uploaded and waits
  /// for the uploads; returns every problem met during the run (empty when all is mirrored).
  package func flush(directory dir: String) async -> [String] {
    if directory == nil { adopt(dir) }
    guard let directory else { return problems }
    var files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    let evidence = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + EvidenceStore.folder)) ?? []
    files += evidence.sorted().map { EvidenceStore.folder + "/" + $0 }
    problems = []
    for file in files where SharedIncident.isMirrored(file) {
      var isFolder: ObjCBool = false
      if FileManager.default.fileExists(atPath: directory + "/" + file, isDirectory: &isFolder), !isFolder.boolValue {
        _ = changed(directory + "/" + file)
      }
    }
    while let task = draining { await task.value }
    if let stopped { return [stopped] }
    return problems
  }
}
