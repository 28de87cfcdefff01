import Foundation
import RespondCore
import Testing

/// A shared state in memory with S3's conditional-write semantics, for the pure parts.
final class MemoryStateStore: SharedStateStore, @unchecked Sendable {
  struct Object {
    var body: Data
    var etag: String
    var retainUntil: String?
  }
  private let lock = NSLock()
  private var counter = 0
  var objects: [String: Object] = [:]
  var objectLock = false

  func objectLockEnabled() async throws -> Bool { objectLock }

  private func store(_ key: String, _ body: Data, _ until: String?) -> String {
    counter += 1
    objects[key] = Object(body: body, etag: "\"e\(counter)\"", retainUntil: until)
    return "\"e\(counter)\""
  }

  func createIfAbsent(_ key: String, body: Data, retainUntil: String?) async throws -> String? {
    lock.withLock { objects[key] == nil ? store(key, body, retainUntil) : nil }
  }

  func replace(_ key: String, body: Data, ifMatch etag: String, retainUntil: String?) async throws -> String? {
    lock.withLock { objects[key]?.etag == etag ? store(key, body, retainUntil) : nil }
  }

  func get(_ key: String) async throws -> (body: Data, etag: String)? {
    lock.withLock { objects[key].map { ($0.body, $0.etag) } }
  }

  func put(_ key: String, body: Data, retainUntil: String?) async throws {
    _ = lock.withLock { store(key, body, retainUntil) }
  }

  func delete(_ key: String) async throws { _ = lock.withLock { objects.removeValue(forKey: key) } }
}

@Suite struct SharedStateLocationTests {
  @Test func aStateURLIsParsedStrictly() throws {
    let l = try SharedStateLocation.parse("s3://team-state/respond/prod/")
    #expect(l == SharedStateLocation(bucket: "team-state", prefix: "respond/prod"))
    #expect(l.description == "s3://team-state/respond/prod")
    #expect(l.lockKey(digest: "ab12") == "respond/prod/locks/ab12")
    #expect(
      l.incidentPrefix("20260101T000000Z-key-compromised") == "respond/prod/incidents/20260101T000000Z-key-compromised/"
    )
    #expect(try SharedStateLocation.parse("s3://team-state").key("locks/x") == "locks/x")
  }

  @Test func aWrongStateURLSaysWhatIsExpected() throws {
    let cases: [(String, String)] = [
      ("https://team-state/x", "'https://team-state/x' is not an s3:// URL: expected s3://bucket/prefix"),
      ("s3:///x", "'s3:///x': no bucket: expected s3://bucket/prefix"),
      (
        "s3://Team_State/x",
        "'s3://Team_State/x': 'Team_State' is not an S3 bucket name (3 to 63 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)"
      ),
      (
        "s3://ab/x",
        "'s3://ab/x': 'ab' is not an S3 bucket name (3 to 63 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)"
      ),
      ("s3://team-state/a//b", "'s3://team-state/a//b': the prefix has an empty segment ('//')"),
      ("s3://team-state/a/../b", "'s3://team-state/a/../b': the prefix has a '..' segment"),
      ("s3://team-state/a?x=1", "'s3://team-state/a?x=1': a query or fragment has no place in it"),
    ]
    for (raw, said) in cases {
      #expect(throws: SharedStateLocation.Invalid(said)) { try SharedStateLocation.parse(raw) }
    }
    #expect(
      throws: SharedStateLocation.Invalid("RESPOND_STATE_URL: 'team' is not an s3:// URL: expected s3://bucket/prefix")
    ) {
      try SharedStateLocation.fromEnvironment(["RESPOND_STATE_URL": "team"])
    }
    #expect(try SharedStateLocation.fromEnvironment(["RESPOND_STATE_URL": ""]) == nil)
    #expect(try SharedStateLocation.fromEnvironment([:]) == nil)
  }

  @Test func anIncidentURLNamesTheStateAndTheIncident() throws {
    let (l, id) = try SharedStateLocation.parseIncident(
      "s3://team-state/p/q/incidents/20260101T000000Z-key-compromised/")
    #expect(l == SharedStateLocation(bucket: "team-state", prefix: "p/q"))
    #expect(id == "20260101T000000Z-key-compromised")
    #expect(l.incidentURL(id) == "s3://team-state/p/q/incidents/\(id)")
    #expect(throws: SharedStateLocation.Invalid.self) { try SharedStateLocation.parseIncident("s3://team-state/p/q") }
  }

  @Test func retentionDefaultsToAYearAndIsChecked() throws {
    #expect(try SharedRetention.days([:]) == 365)
    #expect(try SharedRetention.days(["RESPOND_STATE_RETENTION_DAYS": "30"]) == 30)
    for bad in ["0", "-1", "forever", "36501", "1.5"] {
      #expect(throws: SharedStateLocation.Invalid.self) {
        try SharedRetention.days(["RESPOND_STATE_RETENTION_DAYS": bad])
      }
    }
    #expect(SharedRetention.retainUntil(Date(timeIntervalSince1970: 0), days: 1) == "1970-01-02T00:00:00Z")
  }

  @Test func onlyTheIncidentsOwnFilesAreMirrored() {
    for yes in ["journal.jsonl", "report.md", "report.json", "postmortem.md", "evidence/identify.json"] {
      #expect(SharedIncident.isMirrored(yes), "\(yes)")
    }
    for no in [".locks", "report.md.tmp-abc", "evidence/.x", "evidence/a/b", "other/x.json", "", "evidence/"] {
      #expect(!SharedIncident.isMirrored(no), "\(no)")
    }
    #expect(SharedIncident.isIncidentID("20260101T000000Z-key-compromised-2"))
    #expect(!SharedIncident.isIncidentID("../x") && !SharedIncident.isIncidentID(".hidden"))
  }
}

@Suite struct SharedLockTests {
  let location = SharedStateLocation(bucket: "team-state", prefix: "team")
  let identity = IncidentLock.Identity(canonical: "aws:AKIAEXAMPLE", label: "AKIAEXAMPLE")

  @Test func theSecondResponderIsRefusedWithTheFirstsIncident() async throws {
    let store = MemoryStateStore()
    let first = try await SharedLock.acquire(store: store, location: location, identity: identity, host: "a")
    try await first.record(incident: "20260101T000000Z-key-compromised")
    let key = "team/locks/\(identity.digest)"
    #expect(store.objects.keys.sorted() == [key])
    let text = String(decoding: store.objects[key]!.body, as: UTF8.self)
    #expect(text.contains("incident 20260101T000000Z-key-compromised") && text.contains("key AKIAEXAMPLE"))
    do {
      _ = try await SharedLock.acquire(store: store, location: location, identity: identity, host: "b")
      Issue.record("a second lock was given")
    } catch let held as IncidentLock.Held {
      #expect(held.holderIncident == "s3://team-state/team/incidents/20260101T000000Z-key-compromised")
      #expect(held.holderPID == "\(getpid()) on a")
      #expect(
        held.description.contains("respond resume s3://team-state/team/incidents/20260101T000000Z-key-compromised"))
    }
    // Resuming that incident takes its lock over; only the holder's release deletes it.
    let resumed = try await SharedLock.acquire(
      store: store, location: location, identity: identity, resuming: "20260101T000000Z-key-compromised", host: "b")
    try await first.release()
    #expect(store.objects[key] != nil, "a lock taken over is not released by its former holder")
    try await resumed.release()
    #expect(store.objects.isEmpty)
  }

  @Test func aHolderStillCreatingItsIncidentIsWaitedForBriefly() async throws {
    let store = MemoryStateStore()
    let first = try await SharedLock.acquire(store: store, location: location, identity: identity, host: "a")
    let naming = Task {
      try await Task.sleep(for: .milliseconds(300))
      try await first.record(incident: "20260101T000000Z-key-compromised")
    }
    await #expect(throws: IncidentLock.Held.self) {
      do {
        _ = try await SharedLock.acquire(store: store, location: location, identity: identity, host: "b")
      } catch let held as IncidentLock.Held {
        #expect(held.holderIncident?.hasSuffix("/incidents/20260101T000000Z-key-compromised") == true)
        throw held
      }
    }
    try await naming.value
  }
}

@Suite struct SharedMirrorTests {
  let location = SharedStateLocation(bucket: "team-state", prefix: "team")

  func incidentFolder() throws -> String {
    let dir = NSTemporaryDirectory() + "respond-mirror-\(UUID().uuidString)/20260101T000000Z-key-compromised"
    try FileManager.default.createDirectory(atPath: dir + "/evidence", withIntermediateDirectories: true)
    return dir
  }

  @Test func theMirrorUploadsWhatWasWrittenAndRetainsIt() async throws {
    let store = MemoryStateStore()
    let dir = try incidentFolder()
    let mirror = IncidentMirror(store: store, location: location, retentionDays: 365, directory: nil, log: { _ in })
    try Data("{\"seq\":1}\n".utf8).write(to: URL(fileURLWithPath: dir + "/journal.jsonl"))
    #expect(await mirror.changed(dir + "/journal.jsonl") == "20260101T000000Z-key-compromised")
    try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/evidence/identify.json"))
    await mirror.changed(dir + "/evidence/identify.json")
    try Data("# report\n".utf8).write(to: URL(fileURLWithPath: dir + "/report.md"))
    try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/report.md.tmp-abc"))
    #expect(await mirror.flush(directory: dir).isEmpty)
    let prefix = "team/incidents/20260101T000000Z-key-compromised/"
    #expect(
      store.objects.keys.sorted() == ["evidence/identify.json", "journal.jsonl", "report.md"].map { prefix + $0 })
    #expect(store.objects[prefix + "report.md"]?.body == Data("# report\n".utf8))
    #expect(store.objects.values.allSatisfy { $0.retainUntil != nil })
  }

  @Test func anIncidentIdTakenInTheSharedStateIsNotMixed() async throws {
    let store = MemoryStateStore()
    let dir = try incidentFolder()
    let key = "team/incidents/20260101T000000Z-key-compromised/journal.jsonl"
    store.objects[key] = .init(body: Data("theirs".utf8), etag: "\"x\"", retainUntil: nil)
    let mirror = IncidentMirror(store: store, location: location, retentionDays: nil, directory: nil, log: { _ in })
    try Data("ours\n".utf8).write(to: URL(fileURLWithPath: dir + "/journal.jsonl"))
    try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/evidence/identify.json"))
    // Even when an evidence file comes first, the id is claimed with the journal.
    await mirror.changed(dir + "/evidence/identify.json")
    await mirror.changed(dir + "/journal.jsonl")
    let problems = await mirror.flush(directory: dir)
    #expect(problems.first?.contains("already holds another incident with this id") == true, "\(problems)")
    #expect(store.objects[key]?.body == Data("theirs".utf8))
    #expect(store.objects.count == 1, "nothing of ours mixed into theirs: \(store.objects.keys.sorted())")
  }

  @Test func aPulledIncidentThatDoesNotVerifyIsRefused() async throws {
    let store = MemoryStateStore()
    let dir = try incidentFolder()
    let journal = try Journal(path: dir + "/journal.jsonl", masker: Masker())
    var started = JournalRecord(type: .runStarted)
    started.incident = IncidentInfo(
      id: "20260101T000000Z-key-compromised", runbook: "key-compromised", startedAt: Date(), mode: .live,
      directory: dir)
    try journal.append(started)
    var note = JournalRecord(type: .note)
    note.note = "checked"
    try journal.append(note)
    let mirror = IncidentMirror(store: store, location: location, retentionDays: nil, directory: dir, log: { _ in })
    #expect(await mirror.flush(directory: dir).isEmpty)
    let out = NSTemporaryDirectory() + "respond-pull-\(UUID().uuidString)"
    let pulled = try await SharedIncidentPull.pull(
      store: store, location: location, id: "20260101T000000Z-key-compromised", outDir: out)
    #expect(
      FileManager.default.contents(atPath: pulled.directory + "/journal.jsonl")
        == FileManager.default.contents(atPath: dir + "/journal.jsonl"))
    // One byte of the first record changed in the shared copy: the pull names it and nothing is resumed.
    let key = "team/incidents/20260101T000000Z-key-compromised/journal.jsonl"
    var bytes = [UInt8](store.objects[key]!.body)
    let at = bytes.firstIndex(of: UInt8(ascii: "k"))!
    bytes[at] = UInt8(ascii: "q")
    store.objects[key]!.body = Data(bytes)
    await #expect(throws: SharedIncidentPull.Refused.self) {
      _ = try await SharedIncidentPull.pull(
        store: store, location: location, id: "20260101T000000Z-key-compromised", outDir: out + "-2")
    }
    await #expect(throws: SharedIncidentPull.Refused.self) {
      _ = try await SharedIncidentPull.pull(store: store, location: location, id: "20260101T000000Z-other", outDir: out)
    }
  }

  /// A run cut off after a stop (the machine died mid-resume) leaves shared reports older than
  /// the shared journal: the team can still pull it, told so; the journal is what is checked.
  @Test func aPulledIncidentWithReportsOlderThanItsJournalIsPulledAndSaidSo() async throws {
    let store = MemoryStateStore()
    let dir = try incidentFolder()
    let journal = try Journal(path: dir + "/journal.jsonl", masker: Masker())
    let records = ReportTests.journal(mode: .live, finished: .completed)
    for (n, var r) in records.enumerated() {
      if r.evidenceFile != nil {
        r.evidenceFile = try EvidenceStore.write("{}\n", step: r.step ?? "", in: dir)
      }
      try journal.append(r, durability: .withNext)
      if n == records.count - 2 { try ReportWriter.write(directory: dir) }  // before the run finished
    }
    let mirror = IncidentMirror(store: store, location: location, retentionDays: nil, directory: dir, log: { _ in })
    #expect(await mirror.flush(directory: dir).isEmpty)
    let pulled = try await SharedIncidentPull.pull(
      store: store, location: location, id: "20260101T000000Z-key-compromised",
      outDir: NSTemporaryDirectory() + "respond-pull-\(UUID().uuidString)")
    #expect(
      pulled.notes.contains { $0.hasPrefix("the shared reports do not match the journal (report.json: 'status'") },
      "\(pulled.notes)")
  }
}
