import ArgumentParser
import Foundation
import RespondActions
import RespondCore

/// `respond identify --key X`: offline format detection, through the `key.identify` action.
struct Identify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "identify",
    abstract: "Recognise a leaked credential's provider and kind from its format (offline, nothing is sent).")

  @Option(help: "The leaked key or token. It is never printed in clear.")
  var key: String

  /// As `key-compromised --provider`: a format that cannot name its provider (Datadog's bare
  /// hex keys) is recognised only when named, so identify answers what the run will read.
  @Option(help: "The provider, for a format that does not name it (e.g. datadog for its 32-hex-digit keys).")
  var provider: String?

  @Flag(help: "Print JSON.")
  var json = false

  @Option(help: "The runbooks folder whose providers/ folders declare more formats (default: as for runbooks).")
  var runbooks: String?

  func run() async throws {
    let (registry, problems) = StandardActions.registry(runbooksFolder: Frontend.runbooksFolder(runbooks))
    // The catalogue a run from the same folder masks with: a provider folder's public id is
    // shown as the run shows it.
    let masker = Masker(formats: KeyCatalogue(registry))
    masker.register(key)
    // A bad provider file is left out and said so; the formats of the others still count.
    for problem in problems.sorted() { FileHandle.standardError.write(Data((problem.description + "\n").utf8)) }
    guard let action = registry.action(named: "key.identify") else {
      Frontend.error("key.identify is not available in this build")
      throw ExitCode(1)
    }
    let context = ActionContext(
      stepID: "identify", parameters: ["key": .string(key), "provider": provider.map(Value.string) ?? .null],
      environment: [:], transport: OfflineTransport(),
      masker: masker,
      incident: IncidentInfo(id: "identify", runbook: "identify", startedAt: Date(), mode: .dryRun, directory: ""))
    do {
      let result = try await action.run(context)
      let outputs = masker.mask(Value.object(result.outputs))
      if json {
        print(outputs.jsonString(pretty: true))
      } else {
        for (k, v) in (outputs.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) where !v.isNull {
          print("\(k.padding(16))\(v.description)")
        }
      }
    } catch {
      Frontend.error(masker.mask(ActionFailure(error).message))
      throw ExitCode(2)
    }
  }
}

/// A transport that sends nothing: `identify` is offline by promise.
struct OfflineTransport: HTTPTransport {
  func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    throw TransportError.refused(url: request.url, reason: "identify is offline")
  }
}
