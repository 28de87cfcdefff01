import Foundation
import RespondCore

/// A scripted action for rehearsal tests: returns recorded outputs (or throws recorded errors)
/// in order, and counts its calls.
final class ScriptedAction: Action, @unchecked Sendable {
  let descriptor: ActionDescriptor
  private let lock = NSLock()
  private var script: [Result<[String: Value], ActionError>]
  private(set) var calls: [[String: Value]] = []
  var interruptedDecision: InterruptedDecision?
  /// How long each run takes (to provoke step time limits).
  var delay: Duration?

  init(
    _ name: String, mutates: Bool = false, idempotent: Bool = true, parameters: [ParameterSpec] = [],
    outputs: [OutputSpec] = [], requirements: [Requirement] = [], script: [Result<[String: Value], ActionError>] = []
  ) {
    descriptor = ActionDescriptor(
      name: name, summary: "scripted \(name)", parameters: parameters, outputs: outputs,
      mutates: mutates, idempotent: idempotent, requirements: requirements)
    self.script = script
  }

  var callCount: Int { lock.withLock { calls.count } }

  func run(_ context: ActionContext) async throws -> ActionResult {
    let next: Result<[String: Value], ActionError> = lock.withLock {
      calls.append(context.parameters)
      return script.isEmpty ? .success([:]) : script.removeFirst()
    }
    if let delay { try await Task.sleep(for: delay) }
    // Mutating scripted actions "send" a request, so the dry-run gate has something to stop.
    if descriptor.mutates {
      _ = try await context.transport.send(
        HTTPRequest(
          method: "POST", url: "https://provider.example/\(descriptor.name)",
          body: Data(context.parameters.description.utf8)))
    }
    switch next {
    case .success(let outputs): return ActionResult(outputs: outputs, summary: "did \(descriptor.name)")
    case .failure(let e): throw e
    }
  }

  func reconcileInterrupted(_ context: ActionContext, startedAt: Date) async throws -> InterruptedDecision {
    if let interruptedDecision { return interruptedDecision }
    if descriptor.idempotent { return .safeToRerun(note: "idempotent") }
    return .needsOperator("check \(descriptor.name) by hand")
  }
}

/// A transport that answers every request with 200 and records it.
final class OKTransport: HTTPTransport, @unchecked Sendable {
  private let lock = NSLock()
  private var _sent: [HTTPRequest] = []
  var sent: [HTTPRequest] { lock.withLock { _sent } }
  func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    lock.withLock { _sent.append(request) }
    return HTTPResponse(status: 200, body: Data("{}".utf8))
  }
}

/// Collects progress text.
final class TextSink: @unchecked Sendable {
  private let lock = NSLock()
  private var parts: [String] = []
  var text: String { lock.withLock { parts.joined() } }
  func write(_ s: String) { lock.withLock { parts.append(s) } }
}

/// A fresh temporary folder.
func temporaryDirectory() -> String {
  let dir = NSTemporaryDirectory() + "respond-tests-" + UUID().uuidString
  try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  return dir
}

/// Loads runbook text, failing loudly on diagnostics.
func runbook(_ yaml: String, registry: ActionRegistry) throws -> Runbook {
  let (rb, diags) = RunbookLoader().load(text: yaml, file: "test.yaml")
  let all = diags + (rb.map { RunbookValidator(registry: registry).validate($0) } ?? [])
  guard let rb, !all.hasErrors else { throw RunbookInvalid(diagnostics: all) }
  return rb
}

/// Diagnostics for runbook text as `validate` would print them.
func diagnostics(_ yaml: String, registry: ActionRegistry) -> [String] {
  let (rb, diags) = RunbookLoader().load(text: yaml, file: "rb.yaml")
  let all = diags + (rb.map { RunbookValidator(registry: registry).validate($0) } ?? [])
  return all.sorted().map(\.description)
}
