import Foundation

/// ProgressLog lines for the operator (stderr in the CLI). All text passes through the masker
/// here, so no caller can forget. Colour only when the writer is a terminal.
package final class ProgressLog: @unchecked Sendable {
  private let write: @Sendable (String) -> Void
  private let masker: Masker
  private let colour: Bool
  /// Whether steps skipped by their condition get a line (a batch leaves them out: with many
  /// keys at once they are most of the output and say nothing about the key).
  private let showSkipped: Bool

  package init(masker: Masker, colour: Bool, showSkipped: Bool = true, write: @escaping @Sendable (String) -> Void) {
    self.masker = masker
    self.colour = colour
    self.showSkipped = showSkipped
    self.write = write
  }

  /// A free-form line.
  package func line(_ text: String) {
    write(masker.mask(text) + "\n")
  }

  /// `  ok      detect   identify          key.identify          3ms  aws access-key`
  package func step(
    _ outcome: StepOutcome, phase: Phase, id: String, action: String, duration: Duration?,
    detail: String?
  ) {
    if outcome == .skippedCondition && !showSkipped { return }
    let word: String
    switch outcome {
    case .succeeded: word = paint("ok", "32")
    case .failed: word = paint("FAILED", "31;1")
    case .skippedCondition: word = paint("skip", "2")
    case .skippedDryRun: word = paint("dry-run", "36")
    case .stoppedAtApproval: word = paint("STOPPED", "33;1")
    }
    let pad = String(repeating: " ", count: max(0, 8 - visibleWidth(outcome)))
    let d = duration.map { $0.shortDescription } ?? ""
    var text = "  \(word)\(pad)\(phase.rawValue.padding(11))\(id.padding(28))\(action.padding(34))\(d.leftPadding(7))"
    if let detail, !detail.isEmpty { text += "  " + detail }
    line(text)
  }

  private func visibleWidth(_ o: StepOutcome) -> Int {
    switch o {
    case .succeeded: return 2
    case .failed: return 6
    case .skippedCondition: return 4
    case .skippedDryRun: return 7
    case .stoppedAtApproval: return 7
    }
  }

  package func paint(_ text: String, _ code: String) -> String {
    colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
  }
}

extension String {
  /// Right-pads to `width` (at least one space after).
  package func padding(_ width: Int) -> String {
    count >= width ? self + " " : self + String(repeating: " ", count: width - count)
  }

  package func leftPadding(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
