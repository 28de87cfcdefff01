import Foundation
import RespondActions
import RespondTestSupport
import Testing

@testable import RespondCore

/// Issue 12 items 6 and 12: text an attacker controls (a CloudTrail user agent, a provider's
/// error, an input) spliced into a report, a Slack message or a request URL must stay text.
@Suite struct InjectionTests {
  static let image = "![x](https://evil.example/p.png)"
  static let link = "[click](javascript:alert(1))"
  static let html = "<img src=x onerror=alert(1)>"

  // MARK: - report.md

  /// A journal whose provider text is hostile everywhere the report shows provider text.
  static func hostileReport() -> IncidentReport { IncidentReport(state: IncidentState(records: hostileRecords())) }

  static func hostileRecords() -> [JournalRecord] {
    let t0 = Date(timeIntervalSince1970: 1_795_000_000)
    var start = JournalRecord(at: t0, type: .runStarted)
    start.incident = IncidentInfo(id: "i", runbook: "key-compromised", startedAt: t0, mode: .live, directory: "/i")
    start.operator = "oncall"
    var logs = JournalRecord(at: t0.addingTimeInterval(1), type: .stepFinished)
    logs.step = "logs"
    logs.phase = .investigate
    logs.action = "aws.cloudtrail.lookup-events"
    logs.outcome = .succeeded
    logs.outputs = ["user-agent": .string(image), "note": "`code` **bold**"]
    logs.summary = "found x | y"
    logs.evidence = Evidence(
      source: "CloudTrail LookupEvents", endpoint: "https://cloudtrail.us-east-1.amazonaws.com/",
      query: "AccessKeyId=AKIAIOSFODNN7EXAMPLE ``` `", eventCount: 1,
      tallies: ["user agents": [image: 1, "> quoted\n# heading": 1]],
      events: [
        EvidenceEvent(
          time: t0, name: html, sourceIP: link, detail: image, id: "</td>", actor: link, userAgent: image + "\n# h")
      ])
    var failed = JournalRecord(at: t0.addingTimeInterval(2), type: .stepFinished)
    failed.step = "owner"
    failed.phase = .detect
    failed.action = "aws.iam.get-access-key-last-used"
    failed.outcome = .failed
    failed.error = "boom\n\n> injected\n- item"
    failed.wouldSend = ["POST https://x.example/\n\n```\n# not a heading"]
    var fin = JournalRecord(at: t0.addingTimeInterval(3), type: .runFinished)
    fin.status = .failed
    fin.facts = [["Owner", link]]
    return [start, logs, failed, fin]
  }

  /// The postmortem's timeline and impact show the attacker's own text (actor, user agent, event
  /// name, event id): escaped as in the report.
  @Test func providerTextCannotBecomeMarkupInThePostmortem() throws {
    let md = PostmortemMarkdown.render(PostmortemDraft(state: IncidentState(records: Self.hostileRecords())))
    for raw in [Self.image, Self.link, Self.html, "![", "[click", "<img", "</td>"] {
      #expect(!Self.containsUnescaped(md, raw), "raw '\(raw)' in postmortem.md:\n\(md)")
    }
    let lines = md.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(!lines.contains { $0.hasPrefix("# h") }, "a user agent's line break does not start a heading")
    let row = try #require(lines.first { $0.contains("| attacker |") })
    #expect(row.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count == 5, "\(row)")
  }

  @Test func providerTextCannotBecomeLinksImagesHTMLOrBlocksInTheReport() throws {
    let md = MarkdownReport.render(Self.hostileReport())
    for raw in [Self.image, Self.link, Self.html, "![", "[click", "<img"] {
      #expect(!Self.containsUnescaped(md, raw), "raw '\(raw)' in report.md:\n\(md)")
    }
    // `[`, `]` and `<` escaped: no link, image or HTML can form, so `(`, `)`, `!` may stay.
    #expect(md.contains("!\\[x\\](https://evil.example/p.png)"))
    #expect(md.contains("\\[click\\](javascript:alert(1))"))
    #expect(md.contains("\\<img src=x onerror=alert(1)>"))
    // Line breaks are spaces: the `>` and `-` are inside a line, where they mean nothing.
    #expect(md.contains("boom  > injected - item"))
    #expect(md.contains("\\> quoted \\# heading"))
    #expect(md.contains("`code` \\*\\*bold\\*\\*"))
    #expect(md.contains("found x \\| y"))
    // Only the report's own status line is a block quote; no line starts a heading but ours.
    let lines = md.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.filter { $0.hasPrefix(">") }.count == 1)
    #expect(!lines.contains { $0.contains("heading") && $0.hasPrefix("#") })
    // Each evidence row keeps its four cells: an escaped pipe does not split a cell.
    let row = try #require(lines.first { $0.contains("onerror") })
    #expect(row.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count == 5, "\(row)")
    // The code span of the query holds backticks without ending early; the would-send block's
    // fence is longer than the ``` inside it.
    #expect(md.contains("- Query: ```` AccessKeyId=AKIAIOSFODNN7EXAMPLE ``` ` ````"))
    #expect(md.contains("    ````http\n    POST https://x.example/\n    \n    ```\n    # not a heading\n    ````"))
  }

  /// Whether `text` holds `raw` without a backslash right before it (CommonMark's escape).
  static func containsUnescaped(_ text: String, _ raw: String) -> Bool {
    var search = text[...]
    while let r = search.range(of: raw) {
      if r.lowerBound == text.startIndex || text[text.index(before: r.lowerBound)] != "\\" { return true }
      search = text[r.upperBound...]
    }
    return false
  }

  @Test func escapingKeepsIdentifiersReadableAndStartsNoBlock() {
    #expect(MarkdownText.inline("AKIA…WXYZ") == "AKIA…WXYZ")
    #expect(MarkdownText.inline("ghp_…sha256:1a2b3c4d") == "ghp\\_…sha256:1a2b3c4d")
    #expect(MarkdownText.inline("203.0.113.7") == "203.0.113.7")
    #expect(MarkdownText.inline("- item") == "\\- item")
    #expect(MarkdownText.inline("+ item") == "\\+ item")
    #expect(MarkdownText.inline("12. item") == "12\\. item")
    #expect(MarkdownText.inline("---") == "\\---")
    #expect(MarkdownText.inline("a\r\nb") == "a  b")
    #expect(MarkdownText.codeSpan("a`b") == "``a`b``")
    // Backtick pairs are code spans (literal content); an unpaired backtick is escaped.
    #expect(MarkdownText.inline("run `respond resume /i` now") == "run `respond resume /i` now")
    #expect(MarkdownText.inline("a `![x](y)|z` b") == "a `![x](y)\\|z` b")
    #expect(MarkdownText.inline("a ` ![x](y)") == "a \\` !\\[x\\](y)")
    #expect(MarkdownText.inline("SENDGRID_API_KEY _em_ *b*") == "SENDGRID_API_KEY \\_em\\_ \\*b\\*")
    #expect(MarkdownText.inline("> quote") == "\\> quote")
  }

  // MARK: - Slack and URLs through the runner

  /// A runbook that reads hostile provider text (`lookup`) and an input, and splices both into a
  /// Slack message and an http request's URL.
  static let yaml = """
    runbook: injection
    inputs:
      org: { required: true }
    phases:
      investigate:
        - id: lookup
          action: lookup
      notify:
        - id: slack
          action: notify.slack
          with:
            text: "${{ format('*Leaked* key, agent {0} <https://runbook.example|runbook>', steps.lookup.agent) }}"
        - id: slack-plain
          action: notify.slack
          with:
            text: "agent: ${{ steps.lookup.agent }}"
        - id: audit
          action: http
          with:
            url: "https://api.github.example/orgs/${{ inputs.org }}/audit-log?actor=${{ steps.lookup.agent }}"
    """

  static let org = "acme/../../admin?x=1#frag"
  static let agent = "<https://evil.example|click> <!channel> & co"

  func runInjectionRunbook() async throws -> [HTTPRequest] {
    let lookup = ScriptedAction(
      "lookup", outputs: [OutputSpec("agent")], script: [.success(["agent": .string(Self.agent)])])
    let registry = ActionRegistry([lookup, SlackNotifyAction(), HTTPAction()])
    let rb = try runbook(Self.yaml, registry: registry)
    let transport = OKTransport()
    let masker = Masker()
    var options = RunOptions()
    options.assumeYes = true
    let runner = IncidentRunner(
      runbook: rb, registry: registry,
      environment: ["SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T0/B0/x"], transport: transport,
      masker: masker, progress: ProgressLog(masker: masker, colour: false) { _ in },
      approver: nil, options: options)
    let result = try await runner.start(inputs: ["org": Self.org], outDir: temporaryDirectory())
    let outcomes = result.state.stepOrder.map { result.state.steps[$0]?.outcome }
    #expect(outcomes == Array(repeating: .succeeded, count: 4), "\(result.state.steps)")
    return transport.sent
  }

  @Test func slackTextEscapesSplicedValuesButKeepsTheRunbooksOwnMarkup() async throws {
    let sent = try await runInjectionRunbook()
    let bodies = sent.filter { $0.url.contains("hooks.slack") }.map { String(decoding: $0.body, as: UTF8.self) }
    #expect(bodies.count == 2)
    let escaped = "&lt;https://evil.example|click&gt; &lt;!channel&gt; &amp; co"
    let first = "*Leaked* key, agent \(escaped) <https://runbook.example|runbook>"
    #expect(bodies.first?.contains(first) == true, "\(bodies)")
    #expect(bodies.last?.contains("agent: \(escaped)") == true, "\(bodies)")
    #expect(!bodies.contains { $0.contains("<!channel>") || $0.contains("<https://evil") })
  }

  @Test func valuesInARequestURLAreOnePathSegmentOrOneQueryValue() async throws {
    let sent = try await runInjectionRunbook()
    let audit = try #require(sent.first { $0.url.contains("api.github.example") })
    #expect(
      audit.url == "https://api.github.example/orgs/acme%2F..%2F..%2Fadmin%3Fx%3D1%23frag/audit-log"
        + "?actor=%3Chttps%3A%2F%2Fevil.example%7Cclick%3E%20%3C%21channel%3E%20%26%20co")
  }

  /// The YAML-defined GitHub action of the issue: `--org 'acme/../../admin?x=1#frag'` sent
  /// `GET /admin?x=1&...` with the GitHub token.
  @Test func definedGitHubAuditSearchKeepsTheOrgInsideItsSegment() async throws {
    let (registry, diags) = StandardActions.registry(runbooksFolder: TestServices.repositoryRoot() + "/Runbooks")
    #expect(!diags.hasErrors)
    let action = try #require(registry.action(named: "github.audit-log.search"))
    let transport = RecordedTransport()
    transport.on { _ in HTTPResponse(status: 200, body: Data("[]".utf8)) }
    let context = ActionContext(
      stepID: "audit", parameters: ["org": .string(Self.org), "hashed-token": "abc="],
      environment: ["GITHUB_TOKEN": "ghp_" + String(repeating: "Zq9X", count: 9)], transport: transport,
      masker: Masker(),
      incident: IncidentInfo(id: "t", runbook: "t", startedAt: Date(), mode: .live, directory: "/tmp"))
    _ = try await action.run(context)
    let url = try #require(transport.requests.first?.url)
    #expect(url.hasPrefix("https://api.github.com/orgs/acme%2F..%2F..%2Fadmin%3Fx%3D1%23frag/audit-log?"), "\(url)")
    #expect(!url.contains("/admin?"))
  }

  @Test func dotSegmentsAndHostBreakoutsAreRefused() throws {
    let context = EvaluationContext(inputs: ["v": "..", "h": "evil.example/x", "b": "https://gh.example/api"])
    let path = try Template.parse("https://api.example/a/${{ inputs.v }}/b")
    #expect(throws: ExpressionError.self) { try path.evaluate(context, interpolation: .url) }
    let host = try Template.parse("https://${{ inputs.h }}.example/")
    #expect(throws: ExpressionError.self) { try host.evaluate(context, interpolation: .url) }
    // The base at the start is the runbook's endpoint: kept whole, like an env variable's URL.
    let base = try Template.parse("${{ inputs.b }}/x/${{ inputs.h }}")
    #expect(try base.evaluate(context, interpolation: .url) == .string("https://gh.example/api/x/evil.example%2Fx"))
  }
}
