/// One problem found in a runbook, located in its file. Recoverable problems are collected, not
/// thrown, so `validate` reports every one of them at once, sorted by place.
package struct Diagnostic: Sendable, Equatable, Hashable, Comparable, CustomStringConvertible {
  package enum Severity: String, Sendable, Hashable { case error, warning }

  package var location: SourceLocation
  package var severity: Severity
  package var message: String

  package init(_ location: SourceLocation, _ message: String, severity: Severity = .error) {
    self.location = location
    self.severity = severity
    self.message = message
  }

  /// `path:line:column: error: message`, the form editors and CI annotate from.
  package var description: String { "\(location): \(severity.rawValue): \(message)" }

  package static func < (a: Diagnostic, b: Diagnostic) -> Bool {
    (a.location, a.message) < (b.location, b.message)
  }
}

extension Array where Element == Diagnostic {
  package var hasErrors: Bool { contains { $0.severity == .error } }
}

/// Thrown when a runbook cannot be used; carries every diagnostic.
package struct RunbookInvalid: Error, CustomStringConvertible {
  package var diagnostics: [Diagnostic]
  package init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
  package var description: String { diagnostics.sorted().map(\.description).joined(separator: "\n") }
}
