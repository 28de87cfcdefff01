import Foundation
import Testing

@testable import RespondCore

/// Evidence files (kept, hashed, checked by verify) and the postmortem draft written from the
/// journal: the pure decisions, the files on disk, and a golden postmortem.
@Suite struct EvidenceTests {
  let dir = NSTemporaryDirectory() + "respond-evidence-" + UUID().uuidString

  init() throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    chmod(dir, 0o700)
  }

  // MARK: - Which answers are kept

  func keeps(_ phase: Phase, outcome: StepOutcome, offline: Bool, hasContent: Bool, action: String = "aws.x") -> Bool {
    EvidenceStore.keeps(phase: phase, action: action, outcome: outcome, offline: offline, hasContent: hasContent)
  }

  @Test func onlyAProviderAnswerTheResponseReliesOnIsKept() {
    #expect(!keeps(.contain, outcome: .succeeded, offline: false, hasContent: true, action: "manual"))
    #expect(!keeps(.contain, outcome: .succeeded, offline: false, hasContent: true, action: "check"))
    #expect(keeps(.investigate, outcome: .succeeded, offline: false, hasContent: true))
    #expect(keeps(.contain, outcome: .succeeded, offline: false, hasContent: true))
    #expect(keeps(.recover, outcome: .succeeded, offline: false, hasContent: true))
    #expect(keeps(.detect, outcome: .succeeded, offline: false, hasContent: true))
    #expect(!keeps(.detect, outcome: .succeeded, offline: true, hasContent: true), "format check")
    #expect(!keeps(.notify, outcome: .succeeded, offline: false, hasContent: true))
    #expect(!keeps(.document, outcome: .succeeded, offline: false, hasContent: true))
    #expect(!keeps(.contain, outcome: .failed, offline: false, hasContent: true))
    #expect(!keeps(.contain, outcome: .skippedDryRun, offline: false, hasContent: true))
    #expect(!keeps(.contain, outcome: .succeeded, offline: false, hasContent: false))
  }

  @Test func aStepIdBecomesASafeFileName() {
    #expect(EvidenceStore.fileStem("cloudtrail") == "cloudtrail")
    #expect(EvidenceStore.fileStem("../x/y") == "_.._x_y")
    #expect(EvidenceStore.fileStem(".hidden") == "_.hidden")
  }

  // MARK: - Files and their hashes

  func record(_ seq: Int, _ file: EvidenceFile) -> JournalRecord {
    var r = JournalRecord(seq: seq, type: .stepFinished)
    r.step = "s\(seq)"
    r.evidenceFile = file
    return r
  }

  @Test func aKeptFileIsPrivateMaskedAndNeverOverwritten() throws {
    let masker = Masker()
    masker.register("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    let text = try EvidenceStore.document(
      incident: "i", step: "cloudtrail", phase: .investigate, action: "aws.cloudtrail.lookup-events",
      at: Date(timeIntervalSince1970: 0), outputs: ["agent": "k=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
      evidence: nil, masker: masker)
    #expect(!text.contains("wJalrXUtnFEMI"), "masked before it is written")
    let first = try EvidenceStore.write(text, step: "cloudtrail", in: dir)
    let second = try EvidenceStore.write(text, step: "cloudtrail", in: dir)
    #expect(first.path == "evidence/cloudtrail.json")
    #expect(second.path == "evidence/cloudtrail-2.json", "a second answer gets its own file")
    #expect(first.sha256 == sha256Hex(Array(text.utf8)) && first.bytes == text.utf8.count)
    let folderMode = try FileManager.default.attributesOfItem(atPath: dir + "/evidence")[.posixPermissions] as? Int
    let fileMode = try FileManager.default.attributesOfItem(atPath: dir + "/" + first.path)[.posixPermissions] as? Int
    #expect(folderMode == 0o700 && fileMode == 0o600)
    #expect(EvidenceStore.check(directory: dir, records: [record(4, first), record(9, second)]).findings.isEmpty)
  }

  @Test func aChangedByteAMissingFileAndAnUnnamedFileAreEachNamed() throws {
    let a = try EvidenceStore.write("{\"a\": 1}\n", step: "owner", in: dir)
    let b = try EvidenceStore.write("{\"b\": 2}\n", step: "logs", in: dir)
    let records = [record(3, a), record(7, b)]
    #expect(EvidenceStore.check(directory: dir, records: records) == ([], []))

    try Data("{\"b\": 3}\n".utf8).write(to: URL(fileURLWithPath: dir + "/" + b.path))
    let changed = EvidenceStore.check(directory: dir, records: records).findings
    #expect(
      changed.map(\.description) == [
        "evidence/logs.json: does not match the SHA-256 in journal record 7 (the file was changed)"
      ])

    try FileManager.default.removeItem(atPath: dir + "/" + a.path)
    let missing = EvidenceStore.check(directory: dir, records: records).findings
    #expect(missing.first?.description == "evidence/owner.json: is missing (journal record 3 holds its SHA-256)")

    try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/evidence/planted.json"))
    let planted = EvidenceStore.check(directory: dir, records: records)
    #expect(planted.findings.count == 2, "a file nobody recorded is no problem of the recorded ones")
    #expect(
      planted.notes == [
        "evidence/planted.json is not named by the journal (a crash before its record leaves one): it is not evidence"
      ])

    var outside = record(8, b)
    outside.evidenceFile?.path = "../journal.jsonl"
    let escaped = EvidenceStore.check(directory: dir, records: [outside]).findings
    #expect(escaped.first?.description == "journal.jsonl: record 8 names evidence outside evidence/: ../journal.jsonl")
  }

  @Test func aLinkPlantedAtAnEvidenceNameIsNotWrittenThroughOrRead() throws {
    try FileManager.default.createDirectory(atPath: dir + "/evidence", withIntermediateDirectories: false)
    chmod(dir + "/evidence", 0o700)
    let target = dir + "/target"
    try Data("theirs".utf8).write(to: URL(fileURLWithPath: target))
    try FileManager.default.createSymbolicLink(atPath: dir + "/evidence/owner.json", withDestinationPath: target)
    let file = try EvidenceStore.write("{}\n", step: "owner", in: dir)
    #expect(file.path == "evidence/owner-2.json", "the planted name is skipped")
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "theirs")
    #expect(EvidenceStore.readNoFollow(dir + "/evidence/owner.json") == nil)
  }

  // MARK: - Event classes

  @Test func eventNamesAreClassedByTheirVerb() {
    #expect(EventClass.of("CreateUser") == .created)
    #expect(EventClass.of("RunInstances") == .created)
    #expect(EventClass.of("PutBucketPolicy") == .changed)
    #expect(EventClass.of("AttachUserPolicy") == .changed)
    #expect(EventClass.of("ListBuckets") == .read)
    #expect(EventClass.of("GetCallerIdentity") == .read)
    #expect(EventClass.of("Getaway") == .other, "a verb must end where a word starts")
    #expect(EventClass.of("update secret/data/ci") == .changed, "Vault operations")
    #expect(EventClass.of("AssumeRole") == .other)
  }
}
