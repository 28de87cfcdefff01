import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// Hostile input for the YAML loader: tens of thousands of generated inputs (mutations of the
/// shipped runbook, deep nesting, huge scalars, alias bombs, invalid UTF-8 through load(path:)).
/// No crash, no hang (time-bounded), and every problem is a located diagnostic.
@Suite struct LoaderFuzzTests {
  static let seedText: String = {
    (try? String(contentsOfFile: TestServices.repositoryRoot() + "/Runbooks/key-compromised.yaml", encoding: .utf8))
      ?? ""
  }()

  /// A compact runbook using every construct (inputs, env, when, retry, timeout, approval, undo,
  /// facts), so tens of thousands of mutations stay fast in a debug build.
  static let compact = """
    runbook: fuzz
    description: compact seed
    inputs:
      key: { description: the key, required: true, secret: true }
      path: { description: a path, pattern: "[a-z/]+", default: "secret/x" }
    env:
      SLACK_WEBHOOK_URL: { secret: true }
    phases:
      detect:
        - id: identify
          action: key.identify
          with: { key: "${{ inputs.key }}" }
      contain:
        - id: deactivate
          action: aws.iam.update-access-key
          when: ${{ steps.identify.provider == 'aws' && !inputs.path }}
          approval: required
          retry: { attempts: 3, backoff: 500ms, max-delay: 10s }
          timeout: 30s
          with:
            access-key-id: "${{ steps.identify.key-id }}"
            status: Inactive
      recover:
        - id: create
          action: aws.iam.create-access-key
          continue-on-error: true
          with: { user-name: "${{ format('{0}-x', steps.identify.kind) }}" }
          undo: { action: aws.iam.delete-access-key, with: { access-key-id: "${{ steps.create.access-key-id }}" } }
    report:
      facts:
        Leaked key: ${{ steps.identify.display }}
        Many: ${{ join(toJSON(steps), ', ') }}

    """

  /// Characters that matter to YAML and to runbook expressions.
  static let alphabet = Array(":-[]{}#&*!|>'\"%@`,?\n\t  ${{}}.\\\u{0}\u{FEFF}aZ9é")

  /// Checks one input: it returns, and every diagnostic names the file and a real position.
  func check(_ text: String, file: String = "fuzz.yaml", _ label: @autoclosure () -> String) {
    let (runbook, diagnostics) = RunbookLoader().load(text: text, file: file)
    if runbook == nil { #expect(!diagnostics.isEmpty, "\(label()): rejected without a diagnostic") }
    for d in diagnostics {
      guard d.location.file == file, d.location.line >= 1, d.location.column >= 1, !d.message.isEmpty else {
        Issue.record("\(label()): unlocated diagnostic \(d)")
        return
      }
    }
  }

  /// 30,000 mutations of the compact seed and 300 of the shipped runbook.
  @Test(.timeLimit(.minutes(3))) func mutationsOfRunbooksNeverCrashAndAreLocated() throws {
    try #require(Self.seedText.count > 1000)
    var g = SplitMix64(seed: 0x5EED)
    let started = ContinuousClock.now
    var count = 0
    for i in 0..<30_300 {
      var chars = Array(i < 30_000 ? Self.compact : Self.seedText)
      // Cut to a random prefix (a torn file) one time in four, then 1-8 random edits.
      if g.int(4) == 0 { chars = Array(chars.prefix(g.int(chars.count))) }
      for _ in 0..<(1 + g.int(8)) where !chars.isEmpty {
        let at = g.int(chars.count)
        switch g.int(4) {
        case 0: chars[at] = Self.alphabet[g.int(Self.alphabet.count)]
        case 1: chars.insert(Self.alphabet[g.int(Self.alphabet.count)], at: at)
        case 2: chars.remove(at: at)
        default:  // duplicate a random slice (repeated keys, shifted indentation)
          let end = min(chars.count, at + g.int(200))
          chars.insert(contentsOf: chars[at..<end], at: g.int(chars.count))
        }
      }
      check(String(chars), "mutation \(i)")
      count += 1
    }
    let elapsed = ContinuousClock.now - started
    print("loader-fuzz: \(count) mutated runbooks in \(elapsed)")
  }

  @Test(.timeLimit(.minutes(2))) func deepNestingHugeScalarsAndAliasBombsAreRefusedOrBounded() throws {
    var cases: [(String, String)] = []
    for depth in [10, 100, 1_000, 10_000, 100_000] {
      cases.append(("flow sequence depth \(depth)", "runbook: x\nphases: " + String(repeating: "[", count: depth)))
      cases.append(("flow mapping depth \(depth)", "runbook: x\nphases: " + String(repeating: "{a: ", count: depth)))
      cases.append(
        (
          "closed flow depth \(depth)",
          "runbook: x\nphases: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        ))
      if depth <= 1_000 {
        var block = "runbook: x\nphases:\n"
        for level in 0..<depth { block += String(repeating: " ", count: level + 2) + "k\(level):\n" }
        cases.append(("block mapping depth \(depth)", block))
      }
    }
    let huge = String(repeating: "A", count: 900_000)
    cases.append(("huge scalar", "runbook: x\ndescription: \(huge)\nphases: {}\n"))
    cases.append(("huge key", "runbook: x\n\(huge): 1\n"))
    cases.append(("huge quoted", "runbook: \"\(huge)\"\n"))
    cases.append(("many keys", (0..<20_000).map { "k\($0): \($0)" }.joined(separator: "\n")))
    var bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    for i in 1..<10 {
      bomb +=
        "\(Character(UnicodeScalar(97 + i)!)): &\(Character(UnicodeScalar(97 + i)!)) " + "["
        + Array(repeating: "*\(Character(UnicodeScalar(96 + i)!))", count: 9).joined(separator: ",") + "]\n"
    }
    cases.append(("billion laughs", "runbook: x\n" + bomb))
    cases.append(("merge-key alias", "base: &b {runbook: x}\n<<: *b\n"))
    for (label, text) in cases {
      let started = ContinuousClock.now
      check(text, label)
      let elapsed = ContinuousClock.now - started
      #expect(elapsed < .seconds(10), "\(label) took \(elapsed)")
    }
    // Alias bombs are refused before parsing, at the first anchor.
    let (rb, diags) = RunbookLoader().load(text: "runbook: x\n" + bomb, file: "bomb.yaml")
    #expect(rb == nil)
    #expect(diags.first?.message.contains("anchors and aliases are not allowed") == true)
    #expect(diags.first?.location.line == 2)
  }

  @Test func invalidUTF8AndOversizedFilesAreRefusedWithALocatedDiagnostic() throws {
    let dir = NSTemporaryDirectory() + "loader-fuzz-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var g = SplitMix64(seed: 0xBAD0_0F8)
    let base = Array(Self.seedText.utf8)
    for i in 0..<200 {
      var bytes = base
      for _ in 0..<(1 + g.int(4)) { bytes[g.int(bytes.count)] = [0xFF, 0xC0, 0x80, 0xED, 0xF5][g.int(5)] }
      let path = dir + "/bad-\(i).yaml"
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let (_, diags) = RunbookLoader().load(path: path)
      for d in diags { #expect(d.location.file == path && d.location.line >= 1 && d.location.column >= 1, "\(d)") }
      if String(data: Data(bytes), encoding: .utf8) == nil {
        #expect(diags.contains { $0.message.contains("not valid UTF-8") }, "bad-\(i): \(diags)")
      }
    }
    let big = dir + "/big.yaml"
    try Data(repeating: UInt8(ascii: "a"), count: RunbookLoader.maxFileSize + 1).write(to: URL(fileURLWithPath: big))
    let (rb, diags) = RunbookLoader().load(path: big)
    #expect(rb == nil && diags.first?.message.contains("runbooks are limited to") == true)
  }

  /// Bytes this process has read through read(2) so far (`rchar` of /proc/self/io): the proof
  /// that a file was not read, where timing would be flaky.
  static func bytesReadByProcess() throws -> Int {
    let io = try String(contentsOfFile: "/proc/self/io", encoding: .utf8)
    let line = try #require(io.split(separator: "\n").first { $0.hasPrefix("rchar:") })
    return try #require(Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)))
  }

  /// Issue 12 item 13: a 200 MB runbook was read whole (8 s, 406 MB) before the size limit
  /// refused it. A sparse 200 MB file (no disk used) must be refused from its size, with far less
  /// than the file read; the same holds for action files.
  @Test func oversizedRunbookIsRefusedWithoutReadingIt() throws {
    let dir = NSTemporaryDirectory() + "loader-huge-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let size = 200 << 20
    for name in ["huge.yaml", "actions.yaml"] {
      let created = FileManager.default.createFile(atPath: dir + "/" + name, contents: nil)
      #expect(created)
      let handle = try #require(FileHandle(forWritingAtPath: dir + "/" + name))
      try handle.truncate(atOffset: UInt64(size))
      try handle.close()
    }
    let before = try Self.bytesReadByProcess()
    let (rb, diags) = RunbookLoader().load(path: dir + "/huge.yaml")
    let (defs, actionDiags) = RunbookLoader().loadActions(path: dir + "/actions.yaml")
    let read = try Self.bytesReadByProcess() - before
    #expect(rb == nil && defs.isEmpty)
    #expect(diags.map(\.message) == ["file is \(size) bytes; runbooks are limited to \(RunbookLoader.maxFileSize)"])
    let actionLimit = "file is \(size) bytes; action files are limited to \(RunbookLoader.maxFileSize)"
    #expect(actionDiags.map(\.message) == [actionLimit])
    #expect(read < 16 << 20, "read \(read) bytes of two \(size)-byte files")
  }
}
