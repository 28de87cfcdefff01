import Foundation
import Yams

/// The step-shaped parts of a runbook: a step with its keys, `on-stop`, `undo` and `retry`.
extension NodeReader {
  /// `on-stop:` is a list of steps like a phase's, limited to what cannot hold a stuck run up
  /// further: notify actions only, no approval gate, nothing to undo or verify.
  mutating func onStop(_ node: YAMLNode) -> [Step] {
    if case .scalar(let s) = node, s.string.isEmpty { return [] }
    let steps = (sequence(node, what: "'on-stop'") ?? []).compactMap { step($0, phase: .notify) }
    for step in steps {
      if !step.action.isEmpty && !step.action.hasPrefix("notify.") {
        error(
          step.actionLocation,
          "on-stop step '\(step.id)' must use a notify action (notify.*), found '\(step.action)'")
      }
      if step.approvalRequired {
        error(step.location, "on-stop step '\(step.id)' cannot require approval: it runs when the run is already stuck")
      }
      if step.undo != nil { error(step.location, "on-stop step '\(step.id)' cannot have 'undo'") }
      if let at = step.verifiesLocation { error(at, "on-stop step '\(step.id)' cannot verify containment") }
    }
    return steps
  }

  mutating func step(_ node: YAMLNode, phase: Phase) -> Step? {
    let allowed = [
      "id", "name", "action", "with", "when", "retry", "timeout", "continue-on-error", "approval", "undo", "verifies",
      "concurrent",
    ]
    guard let pairs = mapping(node, what: "a step", allowed: allowed) else { return nil }
    var step = Step(
      id: "", phase: phase, name: nil, action: "", with: [], when: nil, whenSource: nil, retry: nil, timeout: nil,
      continueOnError: false, approvalRequired: false, undo: nil, location: loc(node), actionLocation: loc(node),
      whenLocation: nil, parameterLocations: [:])
    var sawID = false
    var sawAction = false
    for (key, _, value) in pairs {
      switch key {
      case "id":
        if let s = string(value, what: "'id'") {
          sawID = true
          step.id = s
          step.location = loc(value)
          if !isIdentifier(s) { error(value, "step id '\(s)' must be lower-case letters, digits and '-'") }
        }
      case "name": step.name = string(value, what: "'name'")
      case "action":
        if let s = string(value, what: "'action'") {
          sawAction = true
          step.action = s
          step.actionLocation = loc(value)
        }
      case "with":
        let (params, locations) = parameters(value, what: "'with'")
        step.with = params
        step.parameterLocations = locations
      case "when":
        if let s = string(value, what: "'when'") {
          // `when` is an expression with or without the ${{ }} wrapper, as in GitHub Actions.
          let text = s.contains("${{") ? s : "${{ \(s) }}"
          // Offsets in `text` are 4 characters ahead of the file's when the wrapper was added.
          let base = valueStart(value).advanced(by: s.contains("${{") ? 0 : -4)
          step.whenLocation = base
          step.whenSource = s
          step.when = template(text, at: base, shift: 0)
        }
      case "retry": step.retry = retry(value)
      case "timeout": step.timeout = duration(value, what: "'timeout'")
      case "continue-on-error": step.continueOnError = bool(value, what: "'continue-on-error'") ?? false
      case "concurrent":
        step.concurrent = bool(value, what: "'concurrent'") ?? false
        step.concurrentLocation = loc(value)
      case "approval":
        switch string(value, what: "'approval'") {
        case "required": step.approvalRequired = true
        case "two-person":
          step.approvalRequired = true
          step.twoPersonApproval = true
        case "none": step.approvalRequired = false
        case let other?:
          error(value, "'approval' must be 'required', 'two-person' or 'none', found '\(other)'")
        case nil: break
        }
      case "undo": step.undo = undo(value)
      case "verifies":
        step.verifiesLocation = loc(value)
        if case .scalar = value {
          step.verifies = string(value, what: "'verifies'").map { [$0] } ?? []
        } else {
          step.verifies = (sequence(value, what: "'verifies'") ?? []).compactMap { string($0, what: "a step id") }
        }
      default: break
      }
    }
    if !sawID { error(node, "step is missing required key 'id'") }
    if !sawAction { error(node, "step\(sawID ? " '\(step.id)'" : "") is missing required key 'action'") }
    return sawID ? step : nil
  }

  mutating func undo(_ node: YAMLNode) -> UndoSpec? {
    guard let pairs = mapping(node, what: "'undo'", allowed: ["action", "with"]) else { return nil }
    var spec = UndoSpec(action: "", with: [], location: loc(node))
    for (k, _, v) in pairs {
      if k == "action" {
        spec.action = string(v, what: "'action'") ?? ""
        spec.location = loc(v)
      }
      if k == "with" { spec.with = parameters(v, what: "'with'").0 }
    }
    if spec.action.isEmpty { error(node, "'undo' is missing required key 'action'") }
    return spec
  }

  mutating func retry(_ node: YAMLNode) -> RetryPolicy? {
    var policy = RetryPolicy()
    for (k, _, v) in mapping(node, what: "'retry'", allowed: ["attempts", "backoff", "max-delay", "max-total"]) ?? [] {
      switch k {
      case "attempts":
        if case .scalar(let s) = v, let n = Int(s.string), (1...20).contains(n) {
          policy.attempts = n
        } else {
          error(v, "'attempts' must be a whole number from 1 to 20")
        }
      case "backoff": policy.backoff = duration(v, what: "'backoff'") ?? policy.backoff
      case "max-delay": policy.maxDelay = duration(v, what: "'max-delay'") ?? policy.maxDelay
      case "max-total": policy.maxTotal = duration(v, what: "'max-total'") ?? policy.maxTotal
      default: break
      }
    }
    return policy
  }
}
