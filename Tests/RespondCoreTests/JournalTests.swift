import Foundation
import Testing

@testable import RespondCore

@Suite struct JournalTests {
  @Test func recordsAreAppendedNumberedMaskedAndPrivate() throws {
    let dir = temporaryDirectory()
    let masker = Masker()
    masker.register("super-secret-token")
    let j = try Journal(path: dir + "/journal.jsonl", masker: masker)
    var r = JournalRecord(type: .note)
    r.note = "token is super-secret-token"
    try j.append(r)
    try j.append(JournalRecord(type: .runFinished))
    let text = try String(contentsOfFile: dir + "/journal.jsonl", encoding: .utf8)
    #expect(!text.contains("super-secret-token"))
    let contents = try Journal.read(path: dir + "/journal.jsonl")
    #expect(contents.records.map(\.seq) == [1, 2])
    #expect(contents.records[0].type == .note)
    #expect(!contents.tornTail)
    let mode = try FileManager.default.attributesOfItem(atPath: dir + "/journal.jsonl")[.posixPermissions] as? Int
    #expect(mode == 0o600)
  }

  /// Group commit: what must be on disk before the runner goes on, what is fsync'd in the
  /// background, and what may ride along.
  @Test func changesAreDurableBeforeTheyHappenAndSkipsRideAlong() throws {
    func record(_ type: RecordType, mutates: Bool? = nil, outcome: StepOutcome? = nil) -> JournalRecord {
      var r = JournalRecord(type: type)
      r.mutates = mutates
      r.outcome = outcome
      return r
    }
    for type in [RecordType.runFinished, .approval] { #expect(record(type).durability == .beforeGoingOn) }
    for type in [RecordType.runStarted, .runResumed] { #expect(record(type).durability == .soon) }
    #expect(record(.stepStarted, mutates: true).durability == .beforeGoingOn)
    #expect(record(.stepStarted).durability == .beforeGoingOn)  // unknown: treated as a change
    #expect(record(.stepStarted, mutates: false).durability == .withNext)
    #expect(record(.stepFinished, mutates: true, outcome: .succeeded).durability == .soon)
    #expect(record(.stepFinished, mutates: true, outcome: .failed).durability == .soon)
    #expect(record(.stepFinished, mutates: true, outcome: .skippedCondition).durability == .withNext)
    #expect(record(.stepFinished, mutates: true, outcome: .skippedDryRun).durability == .withNext)
    #expect(record(.stepFinished, mutates: false, outcome: .succeeded).durability == .withNext)
    #expect(record(.stepRetry).durability == .withNext && record(.note).durability == .withNext)

    // Lines that wait for an fsync are still written at once: a killed process loses none.
    let dir = temporaryDirectory()
    var j: Journal? = try Journal(path: dir + "/journal.jsonl", masker: Masker())
    try j!.append(record(.stepFinished, mutates: false, outcome: .skippedCondition), durability: .withNext)
    try j!.append(record(.note), durability: .withNext)
    #expect(try Journal.read(path: dir + "/journal.jsonl").records.map(\.seq) == [1, 2])
    // Background fsyncs, many at once, then a foreground one, then closing while one may run.
    for _ in 0..<50 { try j!.append(record(.stepFinished, mutates: true, outcome: .succeeded), durability: .soon) }
    try j!.append(record(.stepStarted, mutates: true), durability: .beforeGoingOn)
    try j!.append(record(.runStarted), durability: .soon)
    j = nil
    #expect(try Journal.read(path: dir + "/journal.jsonl").records.map(\.seq) == Array(1...54))
  }

  @Test func aTornLastLineIsToleratedAndTheNextRecordStartsOnItsOwnLine() throws {
    let dir = temporaryDirectory()
    let path = dir + "/journal.jsonl"
    let masker = Masker()
    let j = try Journal(path: path, masker: masker)
    try j.append(JournalRecord(type: .note))
    // Simulate a crash mid-write.
    let h = FileHandle(forWritingAtPath: path)!
    h.seekToEndOfFile()
    h.write(Data("{\"seq\":2,\"type\":\"step-sta".utf8))
    h.closeFile()
    let torn = try Journal.read(path: path)
    #expect(torn.records.count == 1)
    #expect(torn.tornTail)
    let j2 = try Journal(path: path, masker: masker, nextSeq: 2, lastHash: torn.lastHash)
    try j2.append(JournalRecord(type: .runResumed))
    let after = try Journal.read(path: path)
    #expect(after.records.map(\.type) == [.note, .runResumed])
    // The resume sealed over the torn line: reported, not taken for tampering.
    #expect(after.damagedLines.isEmpty)
    #expect(after.sealedTornLines == [2])
  }

  /// Three records written through `Journal`, as lines.
  func chainedLines() throws -> (path: String, lines: [String]) {
    let path = temporaryDirectory() + "/journal.jsonl"
    let j = try Journal(path: path, masker: Masker())
    var start = JournalRecord(type: .runStarted)
    start.runbookDigest = "d"
    try j.append(start)
    var finished = JournalRecord(type: .stepFinished)
    finished.step = "deactivate"
    finished.outcome = .failed
    try j.append(finished)
    try j.append(JournalRecord(type: .runFinished))
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    return (path, lines)
  }

  @Test func eachRecordChainsToTheLineBefore() throws {
    let (path, lines) = try chainedLines()
    let contents = try Journal.read(path: path)
    #expect(contents.damagedLines.isEmpty)
    #expect(contents.records.first?.prev == nil)
    #expect(contents.records[1].prev == sha256Hex(Array(lines[0].utf8)))
    #expect(contents.lastHash == sha256Hex(Array(lines[2].utf8)))
  }

  /// The attack of issue 12: a step-finished record edited (failed → succeeded), a forged record
  /// appended, a garbage line in the middle. Each is found, at its line, never silently dropped.
  @Test func anEditedForgedOrDamagedLineIsFound() throws {
    let (path, lines) = try chainedLines()
    func read(_ ls: [String]) throws -> [Int] {
      try ls.joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
      return try Journal.read(path: path).damagedLines.map(\.0)
    }
    let edited = lines[1].replacingOccurrences(of: "\"failed\"", with: "\"succeeded\"")
    #expect(try read([lines[0], edited, lines[2]]) == [3])
    #expect(try read([lines[0], "{not json", lines[1], lines[2]]) == [2])
    let forged = #"{"seq":4,"at":"2026-11-18T10:00:00.000Z","type":"step-finished","step":"x","outcome":"succeeded"}"#
    #expect(try read(lines + [forged]) == [4])
    let renumbered = lines[1].replacingOccurrences(of: "\"seq\":2", with: "\"seq\":7")
    #expect(try read([lines[0], renumbered]) == [2])
    // Two records swapped, and a record deleted from the middle: each breaks the chain where it is.
    #expect(try read([lines[0], lines[2], lines[1]]) == [2, 3])
    #expect(try read([lines[0], lines[2]]) == [2])
    #expect(try read(lines) == [])
    // The break is found at line 3, but line 2 was the one edited: the finding names both.
    try [lines[0], edited, lines[2]].joined(separator: "\n").appending("\n")
      .write(toFile: path, atomically: true, encoding: .utf8)
    let finding = try #require(try Journal.read(path: path).damagedLines.first)
    #expect(finding.1.contains("line 2 was edited, or a line was removed, inserted or moved here"), "\(finding.1)")
  }

  /// Resume refuses an altered journal and a runbook other than the recorded one, before anything.
  @Test func resumeRefusesAnAlteredJournalOrADifferentRunbook() throws {
    var state = IncidentState()
    state.runbookDigest = "abc"
    #expect(ResumeCheck.refusal(state, runbookDigest: "abc", runbookPath: "rb.yaml") == nil)
    #expect(
      ResumeCheck.refusal(state, runbookDigest: "def", runbookPath: "rb.yaml")?.contains("is not the runbook") == true)
    state.damagedLines = [(3, "does not follow from the line before (hash chain broken)")]
    #expect(
      ResumeCheck.refusal(state, runbookDigest: "abc", runbookPath: "rb.yaml")?.hasPrefix(
        "the journal was altered: line 3") == true)
    state.damagedLines = []
    state.runbookDigest = nil
    #expect(ResumeCheck.refusal(state, runbookDigest: "abc", runbookPath: "rb.yaml") != nil)
  }
}
