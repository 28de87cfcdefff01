/// The command line of `respond <runbook> ...`, `respond drill <runbook> ...` and
/// `respond resume DIR ...`: the runbook's inputs become flags of the same names, next to
/// respond's own flags. Pure, so every odd spelling is tested without a process.
package struct RunbookInvocation: Equatable, Sendable {
  package var inputs: [String: String] = [:]
  package var dryRun = false
  package var yes = false
  package var out: String?
  package var runbooks: String?
  /// `--approver NAME`: who gives this run's approvals (journaled with each; else user@host).
  package var approver: String?
  package var help = false
  package var rerunInterrupted = false
  /// `--all`: progress shows the steps of branches that do not apply too.
  package var all = false
  /// Secret inputs to be read from elsewhere than the command line, where `ps` and the shell's
  /// history would see them: `--key -` (standard input) and `--key-file FILE`.
  package var sources: [String: SecretSource] = [:]

  /// Where a secret input's value is read from.
  package enum SecretSource: Equatable, Sendable {
    case standardInput
    case file(String)
  }

  package init() {}

  /// respond's own flags that take no value, and those that take one.
  static let switches = ["dry-run", "yes", "help", "rerun-interrupted", "all"]
  static let options = ["out", "runbooks", "approver"]

  /// Parses `--name value`, `--name=value` and the switches. `inputs` are the names the runbook
  /// declares (nil: accept any, for resume before the runbook is known).
  package static func parse(_ args: [String], inputs declared: [InputSpec]?) throws -> RunbookInvocation {
    var inv = RunbookInvocation()
    var i = 0
    while i < args.count {
      let arg = args[i]
      if arg == "-h" {
        inv.help = true
        i += 1
        continue
      }
      guard arg.hasPrefix("--"), arg.count > 2 else {
        throw UsageError("unexpected argument '\(arg)': inputs are given as --name value")
      }
      var name = String(arg.dropFirst(2))
      var value: String?
      if let eq = name.firstIndex(of: "=") {
        value = String(name[name.index(after: eq)...])
        name = String(name[..<eq])
      }
      if switches.contains(name) {
        if value != nil { throw UsageError("--\(name) takes no value") }
        switch name {
        case "dry-run": inv.dryRun = true
        case "yes": inv.yes = true
        case "help": inv.help = true
        case "all": inv.all = true
        default: inv.rerunInterrupted = true
        }
        i += 1
        continue
      }
      if value == nil {
        guard i + 1 < args.count else { throw UsageError("--\(name) needs a value") }
        value = args[i + 1]
        i += 2
      } else {
        i += 1
      }
      if options.contains(name) {
        switch name {
        case "out": inv.out = value
        case "approver": inv.approver = value
        default: inv.runbooks = value
        }
        continue
      }
      if let (input, source) = secretSource(name: name, value: value ?? "", declared: declared) {
        if inv.inputs[input] != nil || inv.sources[input] != nil { throw UsageError("--\(input) given twice") }
        inv.sources[input] = source
        continue
      }
      if let declared, !declared.contains(where: { $0.name == name }) {
        var msg = "unknown option --\(name)"
        if let near = closest(name, among: declared.map(\.name)) { msg += "; did you mean --\(near)?" }
        throw UsageError(msg)
      }
      if inv.inputs[name] != nil { throw UsageError("--\(name) given twice") }
      inv.inputs[name] = value
    }
    return inv
  }

  /// `--NAME-file FILE` or `--NAME -` for a secret input NAME (any input when the runbook is not
  /// known yet, as for resume); nil when the flag is an ordinary `--NAME VALUE`.
  static func secretSource(name: String, value: String, declared: [InputSpec]?) -> (String, SecretSource)? {
    func isSecret(_ n: String) -> Bool { declared.map { $0.contains { $0.name == n && $0.secret } } ?? true }
    let declaresName = declared?.contains { $0.name == name } ?? false
    if name.hasSuffix("-file"), !declaresName {
      let input = String(name.dropLast(5))
      if !input.isEmpty && isSecret(input) { return (input, .file(value)) }
    }
    if value == "-" && isSecret(name) { return (name, .standardInput) }
    return nil
  }

  /// Reads every secret input given as `-` or `--NAME-file` through the given readers (the
  /// command line passes the terminal and the file system; tests pass closures). At most one
  /// input can come from standard input. Surrounding whitespace and the final newline a file or
  /// a pasted line carries are dropped: no credential format has them.
  package mutating func readSecretSources(
    standardInput: (String) throws -> String, file: (String) throws -> String
  ) throws {
    let fromInput = sources.filter { $0.value == .standardInput }.map(\.key).sorted()
    if fromInput.count > 1 {
      throw UsageError(
        "only one input can be read from standard input; got \(fromInput.map { "--\($0) -" }.joined(separator: ", "))")
    }
    for (name, source) in sources.sorted(by: { $0.key < $1.key }) {
      let raw: String
      switch source {
      case .standardInput: raw = try standardInput(name)
      case .file(let path): raw = try file(path)
      }
      let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      if value.isEmpty {
        let from: String
        if case .file(let path) = source { from = "file \(path)" } else { from = "standard input" }
        throw UsageError("--\(name): \(from) is empty")
      }
      inputs[name] = Self.oneLine(value)
    }
    sources = [:]
  }

  /// A JSON object read from a file or standard input (a Google Cloud service-account key as
  /// downloaded, pretty-printed) in its compact form: its line breaks are insignificant, and a
  /// secret input must be one line. Any other text is returned unchanged. Pure.
  package static func oneLine(_ value: String) -> String {
    guard value.hasPrefix("{"), value.contains(where: \.isNewline), let object = Value.parseJSON(value),
      object.objectValue != nil
    else { return value }
    return object.json()
  }

  /// Secret inputs given as plain values on the command line (call before `readSecretSources`):
  /// visible to every user of the machine (`ps`) and kept in shell history. Accepted, with a
  /// warning that names the way out. A value `formats` declares public (an access key id alone)
  /// is no secret.
  package func secretsGivenInline(_ declared: [InputSpec], formats: any CredentialCatalogue) -> [String] {
    declared.filter { spec in
      guard spec.secret, let value = inputs[spec.name] else { return false }
      return !formats.shown(value).isPublic
    }.map(\.name)
  }

  /// Checks required inputs and patterns; values with control characters are refused (they
  /// would end up in URLs, headers and file names).
  package func checkInputs(_ declared: [InputSpec]) throws {
    for spec in declared {
      let value = inputs[spec.name] ?? spec.defaultValue
      if spec.required && (value ?? "").isEmpty {
        throw UsageError(
          "missing required input --\(spec.name)\(spec.description.isEmpty ? "" : " (\(spec.description))")")
      }
      guard let value else { continue }
      if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
        throw UsageError("--\(spec.name) contains a control character (newline, tab...): refused")
      }
      if let p = spec.pattern, !InputSpec.matches(value, pattern: p) {
        throw UsageError("--\(spec.name) does not have the expected form (pattern \(p))")
      }
    }
  }

  /// Usage text for one runbook: its inputs as flags.
  /// Every environment variable the runbook's actions read (credentials, and the endpoint
  /// variables that send a credential elsewhere than its provider's default), from the actions'
  /// own requirements: what `--help` lists besides the runbook's `env:`, so a responder sees
  /// SENDGRID_API_KEY or SMTP_TO before the preflight has to ask for it.
  package static func actionVariables(of rb: Runbook, registry: ActionRegistry) -> [String] {
    let steps = rb.steps + rb.onStop
    let names = steps.map(\.action) + steps.compactMap { $0.undo?.action }
    var out: [String] = []
    func add(_ v: String) { if !out.contains(v) && !rb.env.contains(where: { $0.name == v }) { out.append(v) } }
    for name in names {
      for requirement in registry.action(named: name)?.descriptor.requirements ?? [] {
        for variable in requirement.alternatives.flatMap({ $0 }) {
          add(variable)
          CredentialEndpoints.provider(of: variable)?.endpointVariables.forEach(add)
        }
        requirement.defaults.keys.sorted().forEach(add)
      }
    }
    return out.sorted()
  }

  package static func usage(for rb: Runbook, command: String, actionVariables: [String] = []) -> String {
    var lines = ["usage: respond \(command) [--<input> VALUE]... [--dry-run] [--yes] [--out DIR]", ""]
    if !rb.description.isEmpty { lines += [rb.description, ""] }
    lines.append("inputs:")
    for i in rb.inputs {
      var l = "  --\(i.name) VALUE".padding(30) + (i.description.isEmpty ? "" : i.description)
      if i.secret {
        lines.append(l)
        l =
          "  --\(i.name) - | --\(i.name)-file FILE".padding(30)
          + "the same, read from standard input (not echoed) or a file: kept out of ps and shell history"
      }
      var notes: [String] = []
      if i.required { notes.append("required") }
      if let d = i.defaultValue { notes.append("default: \(d)") }
      if i.secret { notes.append("secret: never written in clear") }
      if !notes.isEmpty { l += " (\(notes.joined(separator: "; ")))" }
      lines.append(l)
    }
    if !rb.env.isEmpty {
      lines += [
        "", "environment this runbook reads:",
      ]
      for e in rb.env {
        lines.append("  \(e.name)".padding(30) + e.description + (e.secret ? " (secret: masked everywhere)" : ""))
      }
    }
    if !actionVariables.isEmpty {
      lines += ["", "environment its actions read (credentials and endpoints; the preflight checks them):"]
      lines += wrapped(actionVariables.joined(separator: " "), indent: "  ", width: 100)
    }
    lines += [
      "",
      "options:",
      "  --dry-run".padding(30) + "run read-only steps; show every change as it would be sent, send none",
      "  --yes".padding(30) + "answer yes at every approval gate (needed without a terminal)",
      "  --approver NAME".padding(30) + "the name your approvals are recorded under (default: user@host)",
      "  --all".padding(30) + "also show the steps of branches that do not apply (condition false)",
      "  --out DIR".padding(30) + "where incident folders go (default ./incidents)",
      "  --runbooks DIR".padding(30) + "where runbooks are found (default ./Runbooks)",
      "",
      "preflight: before a live run changes anything, respond decides which steps will run for these inputs",
      "and checks each one's configuration, credentials and (AWS) permission for each API call. A problem for",
      "containment stops the run there (exit 2, nothing changed); a half-configured notification is skipped",
      "at its turn and listed as a follow-up. Shown with --yes too. `respond policy \(rb.name)` prints the",
      "IAM and Vault/OpenBao policies the steps need.",
    ]
    if rb.inputs.contains(where: { $0.name == "key" }) {
      lines += [
        "",
        "many keys at once (instead of --key):",
        "  --from FILE".padding(30)
          + "every distinct key in a gitleaks JSON or trufflehog JSON-lines report, or a plain list (one a line)",
        "  --parallel N".padding(30)
          + "keys handled at once (default 4, at most 64); each provider's rate limits are shared by all",
        "".padding(30) + "Writes <out>/batch-<time>.md and .json; progress and a done/failed/remaining line on stderr.",
        "".padding(30) + "Ctrl-C: no new key starts, running steps finish or are journaled as interrupted, the summary",
        "".padding(30) + "is written; continue with `respond resume <out>/batch-<time>.json --from FILE`.",
        "  --accounts FILE".padding(30)
          + "AWS keys of several accounts: which credentials each account's keys use (or RESPOND_ACCOUNTS)",
        "".padding(30) + "YAML/JSON, account id → { profile: NAME } (shared config; a role_arn profile is assumed),",
        "".padding(30) + "{ role-arn: ARN, external-id: ID [, session-name, source-profile] } (STS AssumeRole), or",
        "".padding(30) + "{ environment: true }; `default:` for other accounts (\"arn:aws:iam::{account}:role/NAME\").",
        "".padding(30) + "The account comes from each key id, offline; a key of an account with no (working)",
        "".padding(30) + "credentials is its own no-credentials line (NOT CONTAINED, exit 4), the others run.",
      ]
    }
    return lines.joined(separator: "\n")
  }
}

extension RunbookInvocation {
  /// Words laid out in lines of at most `width` characters, each starting with `indent`.
  static func wrapped(_ text: String, indent: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = indent
    for word in text.split(separator: " ") {
      if line.count > indent.count && line.count + 1 + word.count > width {
        lines.append(line)
        line = indent
      }
      line += (line.count > indent.count ? " " : "") + word
    }
    if line.count > indent.count { lines.append(line) }
    return lines
  }
}
