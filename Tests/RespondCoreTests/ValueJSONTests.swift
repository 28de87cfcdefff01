import Foundation
import RespondTestSupport
import Testing

@testable import RespondCore

/// The direct JSON writer must produce what any JSON reader parses back to the same value.
@Suite struct ValueJSONTests {
  @Test func roundTripsThroughFoundationsDecoder() throws {
    let tricky = "quote \" backslash \\ slash / nl \n tab \t cr \r nul \u{0} bell \u{7} é 🔑 \u{1F}"
    let v: Value = [
      "s": .string(tricky), "n": 3, "f": .number(2.5), "b": true, "z": nil,
      "list": [1, "two", ["k": "v"]], "empty": [:], "none": [],
    ]
    for pretty in [false, true] {
      let text = v.json(pretty: pretty)
      let back = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
      #expect(back == v)
    }
    #expect(Value.object(["b": 1, "a": 2]).json() == #"{"a":2,"b":1}"#)
  }

  @Test func encodesCodableTypesWithDatesAsMilliseconds() throws {
    var r = JournalRecord(seq: 7, at: Date(timeIntervalSince1970: 1_795_000_000.25), type: .note)
    r.note = "hello"
    let v = try ValueEncoder().encode(r)
    #expect(v["at"] == "2026-11-18T11:06:40.250Z")
    #expect(v["seq"] == 7)
    #expect(v["step"] == nil)  // nil optionals are left out
    let decoded = try JournalRecord.decoder().decode(JournalRecord.self, from: Data(v.json().utf8))
    #expect(decoded == r)
  }

  /// The hand-written journal encoding must equal the `Encodable` one. The record has every field
  /// set (checked through reflection), so a field added to `JournalRecord` but not to
  /// `jsonValue()` fails here.
  @Test func journalRecordsHandWrittenEncodingEqualsTheCodableOne() throws {
    let t = Date(timeIntervalSince1970: 1_795_000_000.125)
    var r = JournalRecord(seq: 42, at: t, type: .stepFinished)
    r.incident = IncidentInfo(
      id: "20261118T110640Z-key-compromised", runbook: "key-compromised", startedAt: t,
      mode: .live, directory: "/tmp/x")
    r.runbookFile = "/r/key-compromised.yaml"
    r.runbookDigest = "sha256:abc"
    r.runbookDescription = "quote \" and \n newline"
    r.operator = "alice"
    r.host = "laptop"
    r.version = "0.1.0"
    r.inputs = ["key": "AKIAIOSFODNN7EXAMPLE", "n": 3, "nested": ["a": [true, nil]]]
    r.withheldInputs = ["token"]
    r.plan = [
      PlanEntry(
        id: "a", phase: .detect, action: "key.identify", title: "Identify", condition: "x",
        mutates: false, approval: true, continueOnError: false)
    ]
    r.step = "logs"
    r.phase = .investigate
    r.action = "aws.logs.filter-log-events"
    r.attempt = 2
    r.outcome = .skippedDryRun
    r.outputs = ["event-count": 3, "names": ["A", "B"], "empty": [:]]
    r.secretOutputs = ["secret-access-key"]
    r.durationMs = 239
    r.error = "AccessDenied: no"
    r.summary = "3 events"
    r.evidence = Evidence(
      source: "CloudWatch Logs", endpoint: "https://logs/", query: "q", windowStart: t, windowEnd: t, eventCount: 1,
      firstSeen: t, lastSeen: t, tallies: ["ips": ["203.0.113.7": 1]],
      events: [
        EvidenceEvent(
          time: t, name: "ListBuckets", sourceIP: "203.0.113.7", detail: "aws-cli", id: "e-1",
          actor: "arn:aws:iam::123456789012:user/ci", userAgent: "aws-cli/2")
      ], caveats: ["c"])
    r.evidenceFile = EvidenceFile(path: "evidence/logs.json", sha256: String(repeating: "cd", count: 32), bytes: 812)
    r.wouldSend = ["POST https://iam/"]
    r.missing = ["AWS_REGION"]
    r.mutates = true
    r.continueOnError = false
    r.notProcessed = true
    r.stop = "stopped-at-approval:deactivate"
    r.via = "respond approve"
    r.account = "bob@host"
    r.decision = "granted (--yes)"
    r.note = "a note"
    r.status = .needsOperator
    r.facts = [["Leaked key", "AKIA…"], ["Owner", ""]]
    r.prev = String(repeating: "ab", count: 32)
    r.drillTargetMs = 120_000
    for child in Mirror(reflecting: r).children {
      #expect(String(describing: child.value) != "nil", "set \(child.label ?? "?") in this test's record")
    }
    #expect(try r.jsonValue() == ValueEncoder().encode(r))
    // And a sparse record, as most are.
    var sparse = JournalRecord(seq: 1, at: t, type: .note)
    sparse.note = "n"
    #expect(try sparse.jsonValue() == ValueEncoder().encode(sparse))
    #expect(try JournalRecord.decoder().decode(JournalRecord.self, from: Data(r.jsonValue().json().utf8)) == r)
  }

  @Test func parsesWhatTheWriterWritesAndEscapesOfEveryKind() throws {
    let tricky = "quote \" backslash \\ slash / nl \n tab \t cr \r nul \u{0} bell \u{7} é 🔑 \u{1F}"
    let v: Value = [
      "s": .string(tricky), "n": -3, "f": .number(2.5e-3), "b": true, "no": false, "z": nil,
      "list": [1, "two", ["k": "v"]], "empty": [:], "none": [],
    ]
    for pretty in [false, true] { #expect(Value.parseJSON(v.json(pretty: pretty)) == v) }
    #expect(Value.parseJSON(#" "\u00e9\ud83d\udd11\/\b\f" "#) == .string("é🔑/\u{8}\u{C}"))
    #expect(Value.parseJSON("1E+2") == 100)
    #expect(Value.parseJSON("[0.5,-0,1e-2]") == .array([.number(0.5), .number(0), .number(0.01)]))
  }

  /// Against Foundation's decoder: the same verdict and the same value on every input, valid or
  /// broken (a mutation of valid JSON), except where Foundation is laxer than RFC 8259.
  @Test func agreesWithFoundationOnValidAndBrokenInput() {
    var rng = SplitMix64(seed: 0x150_4A5E)
    let seeds = [
      #"{"a":[1,2.5,{"b":null}],"c":"d\"e","f":true,"g":false,"h":-0.25e3}"#,
      #"[{"k":"v"},[],{},"\u0041\n",0,12345678901]"#,
      #"{"Events":[{"EventName":"ListBuckets","CloudTrailEvent":"{\"x\":1}"}],"NextToken":"abc"}"#,
    ]
    let alphabet = Array("{}[]\":,.-+eE0123456789tfnrulsa\\/ \n\tbu".utf8)
    var disagreements: [String] = []
    for _ in 0..<20_000 {
      var bytes = Array(seeds.randomElement(using: &rng)!.utf8)
      for _ in 0..<Int.random(in: 1...3, using: &rng) {
        let at = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: bytes[at] = alphabet.randomElement(using: &rng)!
        case 1: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
        default: if bytes.count > 1 { bytes.remove(at: at) }
        }
      }
      let ours = Value.parseJSON(Data(bytes))
      let theirs = try? JSONDecoder().decode(Value.self, from: Data(bytes))
      if ours == theirs { continue }
      // Foundation ignores what follows a complete value (`[1] x`); RFC 8259 does not.
      let laxAboutTrailingText =
        ours == nil && theirs != nil
        && (1..<bytes.count).contains { Value.parseJSON(Data(bytes[..<$0])) == theirs }
      // Foundation also accepts a comma before a closing bracket (`[1,]`, `{"a":1,}`).
      let text = String(decoding: bytes, as: UTF8.self)
      let laxAboutTrailingComma =
        ours == nil && theirs != nil
        && Value.parseJSON(text.replacing(/,\s*([\]}])/) { $0.output.1 }) == theirs
      if !laxAboutTrailingText && !laxAboutTrailingComma { disagreements.append(text) }
    }
    #expect(disagreements.isEmpty, "first: \(disagreements.prefix(5))")
  }

  @Test func refusesNestingBeyondTheBoundInsteadOfOverflowingTheStack() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(Value.parseJSON(deep) == nil)
    let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
    #expect(Value.parseJSON(ok) != nil)
  }
}
