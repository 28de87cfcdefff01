import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// `respond drill key-compromised --from FILE` through the real executable: one incident per
/// distinct key, a key that fails does not stop the others, and the summary is printed last.
/// Drills with no credentials make no network calls.
@Suite struct BatchCommandTests {
  @Test func eachKeyGetsItsOwnIncidentAndTheSummaryListsThemAll() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-e2e-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { removeTestOutput(dir) }
    let garbage = "zz-not-a-known-key-format-0123456789"
    let list = "AKIA2TARGETKEY7QWERT\n# dup below\nAKIA2TARGETKEY7QWERT\nAKIA2TARGETKEY7ZXCVB\n\(garbage)\n"
    try list.write(toFile: dir + "/keys.txt", atomically: true, encoding: .utf8)
    let o = try runRespond(
      ["drill", "key-compromised", "--from", dir + "/keys.txt", "--parallel", "2", "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    #expect(o.status == 1, "stderr: \(o.stderr)")  // the garbage key fails; the others complete
    #expect(o.lastLine.hasSuffix(".md") && o.lastLine.contains("/out/batch-"))
    let summary = try String(contentsOfFile: o.lastLine, encoding: .utf8)
    #expect(summary.contains("3 distinct key(s)"))
    #expect(summary.contains("| `AKIA2TARGETKEY7QWERT` |") && summary.contains("| `AKIA2TARGETKEY7ZXCVB` |"))
    #expect(summary.contains("2 completed") && summary.contains("1 failed"))
    #expect(!summary.contains(garbage) && !o.stderr.contains(garbage) && !o.stdout.contains(garbage))
    let incidents = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").filter { !$0.hasPrefix("batch-") }
    #expect(incidents.count == 3)
    for incident in incidents {
      #expect(FileManager.default.fileExists(atPath: "\(dir)/out/\(incident)/report.md"), "\(incident) has no report")
    }
    let json = try #require(Value.parseJSON(try Data(contentsOf: URL(fileURLWithPath: o.lastLine.replacingOccurrences(of: ".md", with: ".json")))))
    #expect(json["keys"]?.arrayValue?.compactMap { $0["incident-directory"]?.stringValue }.count == 3)
  }

  /// Issue 12 item 13 for `--from`: a scanner report is read under a size limit checked before
  /// reading; a 200 MB file (sparse: no disk used) is refused from its size with exit 2.
  @Test func oversizedFindingsFileIsRefusedFromItsSize() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-huge-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/findings.json"
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.truncate(atOffset: 200 << 20)
    try handle.close()
    let o = try runRespond(
      ["drill", "key-compromised", "--from", path, "--out", dir + "/out"],
      environment: ["HOME": dir], cwd: TestServices.repositoryRoot())
    #expect(o.status == 2, "stderr: \(o.stderr)")
    #expect(o.stderr.contains("file is \(200 << 20) bytes; the limit is \(64 << 20)"), "stderr: \(o.stderr)")
  }
}
