import Foundation
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

@testable import RespondActions

/// `aws.cloudtrail.scan-archive` on real gzip archives written by `Tests/Support/trail_archive.py`
/// (CloudTrail's delivery layout and record shape): planted events among decoys (other keys, a
/// near-miss key, the key id inside other strings), actions *on* the key by another identity,
/// a record larger than a read chunk, a two-member gzip, a digest file, and three damaged files.
/// The generator's manifest says exactly which events belong to the keys.
@Suite struct TrailArchiveTests {
  static let target = "AKIA2TARGETKEY7QWERT"
  static let second = "AKIA2TARGETKEY7ZXCVB"

  /// What the generator planted.
  struct Manifest: Decodable {
    struct Event: Decodable {
      let eventID: String
      let key: String
      let eventName: String
      let eventTime: String
      let sourceIPAddress: String
    }
    let planted: [Event]
    let mentions: Int
    let skipped: [String]
    let keptFromDamaged: [Event]

    enum CodingKeys: String, CodingKey {
      case planted, mentions, skipped
      case keptFromDamaged = "kept_from_damaged"
    }
  }

  /// A fresh archive in a temporary folder (a few hundred KB), and its manifest.
  static func archive(_ extra: [String] = ["--damaged", "--tricky"]) throws -> (folder: String, manifest: Manifest) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trail-\(UUID().uuidString)").path
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Support/trail_archive.py").path
    _ = try runProgram("/usr/bin/env", ["python3", script, folder, "--keys", "\(target),\(second)"] + extra)
    let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))
    return (folder, try JSONDecoder().decode(Manifest.self, from: data))
  }

  static func run(_ parameters: [String: Value]) async throws -> ActionResult {
    let action = try #require(AWSActions.all().first { $0.descriptor.name == "aws.cloudtrail.scan-archive" })
    let context = ActionContext(
      stepID: "trail-archive", parameters: parameters, environment: [:], transport: RecordedTransport(),
      masker: Masker(),
      incident: IncidentInfo(
        id: "20261123T130939Z-key-compromised", runbook: "key-compromised", startedAt: Date(), mode: .live,
        directory: "/tmp"))
    return try await action.run(context)
  }

  static func tally(_ events: [Manifest.Event], _ field: KeyPath<Manifest.Event, String>) -> [String: Int] {
    events.reduce(into: [:]) { $0[$1[keyPath: field], default: 0] += 1 }
  }

  static func strings(_ v: Value?) -> [String] { (v?.arrayValue ?? []).compactMap(\.stringValue) }

  @Test func findsExactlyThePlantedEventsOfSeveralKeysAndReportsDamagedFiles() async throws {
    let (folder, manifest) = try Self.archive()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let expected = manifest.planted + manifest.keptFromDamaged
    #expect(expected.count == 14)  // 5 + 5 generated, 2 tricky, 2 before the cut

    let result = try await Self.run([
      "path": .string(folder), "access-key-ids": [.string(Self.target), .string(Self.second)],
    ])
    let out = result.outputs
    #expect(out["event-count"]?.intValue == expected.count)
    #expect(out["per-key"]?[Self.target]?.intValue == expected.filter { $0.key == Self.target }.count)
    #expect(out["per-key"]?[Self.second]?.intValue == expected.filter { $0.key == Self.second }.count)
    #expect(Self.strings(out["event-names"]) == Set(expected.map(\.eventName)).sorted())
    #expect(Self.strings(out["source-ips"]) == Set(expected.map(\.sourceIPAddress)).sorted())
    #expect(out["first-seen"]?.stringValue == expected.map(\.eventTime).min())
    #expect(out["last-seen"]?.stringValue == expected.map(\.eventTime).max())
    #expect(Self.strings(out["principal-arns"]).contains("arn:aws:iam::123456789012:user/ci"))
    #expect(Self.strings(out["role-names"]) == ["ci-role"])
    #expect(out["mentions"]?.intValue == manifest.mentions)

    // The damaged files, and only them, are reported; the scan went on past them.
    let skipped = Self.strings(out["skipped-files"])
    #expect(skipped.count == 3)
    for file in manifest.skipped { #expect(skipped.contains { $0.hasPrefix(file + ": ") }, "\(file) not reported") }
    #expect(skipped.contains { $0.contains("truncated.json.gz") && $0.contains("cut short") })
    #expect(skipped.contains { $0.contains("malformed.json.gz") && $0.contains("not valid gzip") })
    #expect(out["files-scanned"]?.intValue == 6 + 3 + 1 + 1)  // generated, damaged, tricky, digest

    // Evidence: tallies equal the manifest's, provenance names the folder and the keys.
    let evidence = try #require(result.evidence)
    #expect(evidence.eventCount == expected.count)
    #expect(evidence.tallies["event names"] == Self.tally(expected, \.eventName))
    #expect(evidence.tallies["source IPs"] == Self.tally(expected, \.sourceIPAddress))
    #expect(evidence.tallies["access keys"] == Self.tally(expected, \.key))
    #expect(evidence.source == "CloudTrail archive")
    #expect(evidence.endpoint == folder)
    #expect(evidence.query.contains(Self.target) && evidence.query.contains(Self.second))
    #expect(evidence.windowStart == nil && evidence.windowEnd == nil)
    #expect(
      evidence.caveats.contains {
        $0.contains("truncated.json.gz") && $0.contains("2 event(s) from its complete records")
      })
    #expect(
      evidence.caveats.contains {
        $0.contains("\(manifest.mentions) record(s) name a key outside userIdentity.accessKeyId")
      })
    #expect(evidence.caveats.contains { $0.contains("no Records array") })
  }

  @Test func oneKeyInAWindow() async throws {
    let (folder, manifest) = try Self.archive()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let mine = (manifest.planted + manifest.keptFromDamaged).filter { $0.key == Self.target }
    // A window that leaves out the earliest and the latest of the key's events.
    let times = mine.map(\.eventTime).sorted()
    let start = times[1]
    let end = times[times.count - 2]
    let inside = mine.filter { $0.eventTime >= start && $0.eventTime <= end }
    #expect(inside.count < mine.count && inside.count >= 2)

    let result = try await Self.run([
      "path": .string(folder), "access-key-id": .string(Self.target), "start": .string(start), "end": .string(end),
    ])
    #expect(result.outputs["event-count"]?.intValue == inside.count)
    #expect(result.outputs["per-key"] == .object([Self.target: .number(Double(inside.count))]))
    #expect(result.outputs["first-seen"]?.stringValue == start)
    #expect(result.outputs["last-seen"]?.stringValue == end)
    let evidence = try #require(result.evidence)
    #expect(evidence.windowStart == ISO8601.parse(start) && evidence.windowEnd == ISO8601.parse(end))
    #expect(
      evidence.caveats.contains {
        $0.contains("\(mine.count - inside.count) event(s) of the key(s) fell outside the window")
      })
    #expect(result.summary?.contains("\(inside.count) event(s) for \(Self.target)") == true)
  }

  @Test func aKeyWithNoEventsAndASingleFile() async throws {
    let (folder, _) = try Self.archive(["--files", "2", "--planted", "0", "--mentions", "0"])
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let result = try await Self.run(["path": .string(folder), "access-key-id": .string("AKIANOBODYUSESTHIS01")])
    #expect(result.outputs["event-count"]?.intValue == 0)
    #expect(result.outputs["first-seen"] == .null)
    #expect(Self.strings(result.outputs["skipped-files"]).isEmpty)
    let bytes = try #require(result.outputs["bytes-scanned"]?.intValue)
    #expect(bytes > 100_000)

    let one = try #require(try TrailArchiveScanAction.archiveFiles(folder).first)
    let single = try await Self.run(["path": .string(one), "access-key-id": .string(Self.target)])
    #expect(single.outputs["files-scanned"]?.intValue == 1)
  }

  /// The scanner reads 512 KiB first (zlib fills the buffer): a backslash as the very last byte of
  /// that read escapes the first byte of the next one. Plant `\"` across that boundary (and one
  /// byte either side), inside a record whose identity comes after it.
  @Test(arguments: [-1, 0, 1]) func anEscapeAcrossTheReadBoundaryKeepsTheStructure(shift: Int) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trail-edge-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let head = #"{"Records":[{"eventTime":"2026-11-20T00:00:00Z","eventName":"PutObject","eventID":"e1","pad":""#
    let boundary = 2 * TrailArchiveScanner.chunk - 1 + shift
    let pad =
      String(repeating: "a", count: boundary - head.utf8.count) + #"\"}], \\"# + String(repeating: "b", count: 1000)
    let record1 = head + pad + #"","userIdentity":{"accessKeyId":"\#(Self.target)"}}"#
    let record2 =
      #"{"eventTime":"2026-11-20T00:00:01Z","eventName":"GetObject","eventID":"e2","userIdentity":{"accessKeyId":"\#(Self.target)"}}"#
    let json = record1 + "," + record2 + "]}"
    #expect(Array(json.utf8)[boundary] == UInt8(ascii: "\\"))
    #expect(Value.parseJSON(json) != nil)
    try json.write(toFile: folder + "/edge.json", atomically: true, encoding: .utf8)
    _ = try runProgram("/usr/bin/env", ["gzip", "-f", folder + "/edge.json"])
    let result = try await Self.run(["path": .string(folder), "access-key-id": .string(Self.target)])
    #expect(Self.strings(result.outputs["skipped-files"]).isEmpty)
    #expect(result.outputs["event-count"]?.intValue == 2)
    #expect(Self.strings(result.outputs["event-names"]) == ["GetObject", "PutObject"])
  }

  /// The same archive in moto's S3 (`s3://bucket/AWSLogs/`), over the real transport with SigV4:
  /// the same events, and the damaged objects reported by their s3:// names.
  @Test func scansAnS3Prefix() async throws {
    let services = try TestServices.load()
    let (folder, manifest) = try Self.archive()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let bucket = "trail-\(UUID().uuidString.prefix(8).lowercased())"
    let upload = """
      import boto3, os, sys
      s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                        aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
      s3.create_bucket(Bucket=sys.argv[4])
      s3.put_object(Bucket=sys.argv[4], Key="elsewhere/x.json.gz", Body=b"not under the prefix")
      for root, _, files in os.walk(sys.argv[5]):
          for f in files:
              if f.endswith(".json.gz"):
                  path = os.path.join(root, f)
                  s3.upload_file(path, sys.argv[4], os.path.relpath(path, sys.argv[5]))
      """
    _ = try runProgram(
      "/usr/bin/env",
      ["python3", "-c", upload, services.motoURL, services.awsAccessKeyID, services.awsSecretAccessKey, bucket, folder])
    var env = services.awsEnvironment
    env["HOME"] = NSTemporaryDirectory()
    let action = try #require(AWSActions.all().first { $0.descriptor.name == "aws.cloudtrail.scan-archive" })
    // No "/" in the prefix: moto's S3 rejects any signed ListObjectsV2 whose prefix holds one
    // (boto3's own requests too: SignatureDoesNotMatch), a moto quirk, not a signing difference.
    let url = "s3://\(bucket)/AWSLogs"
    let result = try await action.run(
      ActionContext(
        stepID: "trail-archive",
        parameters: ["path": .string(url), "access-key-ids": [.string(Self.target), .string(Self.second)]],
        environment: env, transport: CurlTransport(), masker: Masker(),
        incident: IncidentInfo(id: "i", runbook: "key-compromised", startedAt: Date(), mode: .live, directory: "/tmp")))
    let expected = manifest.planted + manifest.keptFromDamaged
    #expect(result.outputs["event-count"]?.intValue == expected.count)
    #expect(result.evidence?.tallies["event names"] == Self.tally(expected, \.eventName))
    #expect(result.outputs["files-scanned"]?.intValue == 11)
    #expect(result.outputs["mentions"]?.intValue == manifest.mentions)
    let skipped = Self.strings(result.outputs["skipped-files"])
    #expect(skipped.count == 3 && skipped.allSatisfy { $0.hasPrefix("s3://\(bucket)/AWSLogs/") })
    #expect(result.evidence?.endpoint == url)
  }

  @Test func badParametersAreClearErrors() async throws {
    let empty = FileManager.default.temporaryDirectory.appendingPathComponent("trail-empty-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: empty) }
    await #expect { try await Self.run(["path": .string(empty)]) } throws: { "\($0)".contains("access-key-id") }
    await #expect { try await Self.run(["path": .string(empty), "access-key-id": "AKIA\"X"]) } throws: {
      "\($0)".contains("not an access key id")
    }
    await #expect { try await Self.run(["path": .string(empty), "access-key-id": .string(Self.target)]) } throws: {
      "\($0)".contains("no CloudTrail log files")
    }
    await #expect {
      try await Self.run(["path": .string(empty + "/nope"), "access-key-id": .string(Self.target)])
    } throws: {
      "\($0)".contains("no such file or folder")
    }
    await #expect {
      try await Self.run([
        "path": .string(empty), "access-key-id": .string(Self.target), "start": "2026-11-23T00:00:00Z",
        "end": "2026-11-22T00:00:00Z",
      ])
    } throws: { "\($0)".contains("must be before end") }
  }

  @Test func descriptorIsReadOnlyAndIdempotent() throws {
    let action = try #require(AWSActions.all().first { $0.descriptor.name == "aws.cloudtrail.scan-archive" })
    #expect(!action.descriptor.mutates && action.descriptor.idempotent && action.descriptor.requirements.isEmpty)
    for name in [
      "event-count", "event-names", "source-ips", "user-agents", "first-seen", "last-seen", "principal-arns",
      "role-names", "skipped-files",
    ] {
      #expect(action.descriptor.output(name) != nil, "missing output \(name)")
    }
  }
}
