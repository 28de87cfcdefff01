import Foundation
import RespondCore
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Files respond writes next to names others can predict (issue 12, item 1): a batch summary's
/// and a report's temporary file must not follow a link planted at the name respond would use.
@Suite struct PrivateFilesTests {
  let dir = NSTemporaryDirectory() + "respond-private-" + UUID().uuidString.prefix(8).lowercased()

  init() throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    chmod(dir, 0o700)
  }

  func victim(_ name: String) throws -> String {
    let path = dir + "/" + name
    try "precious\n".write(toFile: path, atomically: false, encoding: .utf8)
    return path
  }

  /// Every temporary name respond ever derived from the final name and its pid: the attacker
  /// sees the pid in `ps` and the stamp on the clock.
  func plantPredictableLinks(for final: String, to target: String) {
    for name in [final + ".tmp-\(getpid())", final + ".tmp"] { symlink(target, name) }
  }

  @Test func aBatchSummaryDoesNotFollowALinkAtItsTemporaryName() throws {
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let stamp = ISO8601.string(now).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
    let target = try victim("victim-batch")
    for ext in ["md", "json"] { plantPredictableLinks(for: dir + "/batch-\(stamp).\(ext)", to: target) }
    let md = try BatchResponse.writeSummary(
      [], source: "leaks.json", format: .gitleaks, directory: dir, masker: Masker(), now: now)
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n", "a planted link was followed")
    #expect(md == dir + "/batch-\(stamp).md")
    #expect(try String(contentsOfFile: md, encoding: .utf8).hasPrefix("# Leaked keys"))
    var st = stat()
    #expect(lstat(md, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && (st.st_mode & 0o777) == 0o600)
  }

  @Test func aPrivateFileDoesNotFollowALinkAtItsTemporaryNameAndLeavesNoneBehind() throws {
    let target = try victim("victim-report")
    let report = dir + "/report.md"
    plantPredictableLinks(for: report, to: target)
    try IncidentFolder.writePrivate("# report\n", to: report)
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
    #expect(try String(contentsOfFile: report, encoding: .utf8) == "# report\n")
    let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("report.md.tmp") }
    #expect(left.sorted() == ["report.md.tmp", "report.md.tmp-\(getpid())"], "only the planted links remain: \(left)")
  }

  /// A link planted at the final name is replaced (rename does not follow it), never written through.
  @Test func aLinkAtTheFinalNameIsReplacedNotFollowed() throws {
    let target = try victim("victim-final")
    let report = dir + "/report.json"
    symlink(target, report)
    try IncidentFolder.writePrivate("{}\n", to: report)
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
    var st = stat()
    #expect(lstat(report, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG)
  }
}
