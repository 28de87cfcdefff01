import Foundation

/// The dry-run sandbox, enforced at the network boundary: every request that says it mutates is
/// recorded (masked) and refused, so nothing that changes state leaves the process, whatever the
/// action's code does. Read-only requests pass through. Used for every step of a dry run or drill.
package final class DryRunGate: HTTPTransport, @unchecked Sendable {
  private let base: any HTTPTransport
  private let masker: Masker
  private let lock = NSLock()
  private var _intercepted: [String] = []

  /// Thrown to the action in place of a response; the executor turns it into "skipped (dry-run)".
  package struct Intercepted: Error, CustomStringConvertible {
    package var description: String { "not sent: dry run" }
  }

  package init(base: any HTTPTransport, masker: Masker) {
    self.base = base
    self.masker = masker
  }

  /// What was refused, as shown in the journal and report.
  package var intercepted: [String] { lock.withLock { _intercepted } }

  package func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    if request.mutates {
      let text = DryRunGate.describe(request, masker: masker)
      lock.withLock { _intercepted.append(text) }
      throw Intercepted()
    }
    return try await base.send(request)
  }

  package func sendMail(_ mail: MailRequest) async throws {
    // The subject is looked for in the whole header: a header cut at a fixed length could end
    // inside the subject, in the middle of a secret.
    let message = String(decoding: mail.message, as: UTF8.self)
    let header = message.range(of: "\r\n\r\n").map { message[..<$0.lowerBound] } ?? message[...]
    let subject = header.split(separator: "\r\n").first { $0.lowercased().hasPrefix("subject:") } ?? ""
    let text = masker.excerpt(
      "SMTP \(DryRunGate.stripQuery(mail.url)) from <\(mail.from)> to "
        + mail.recipients.map { "<\($0)>" }.joined(separator: ", ") + " \(subject) (\(mail.message.count) bytes)",
      limit: 4096)
    lock.withLock { _intercepted.append(text) }
    throw Intercepted()
  }

  /// A body whose every value is secret, as its keys with each string value's fingerprint
  /// (numbers and booleans, such as a check-and-set version, kept): what a reviewer needs to see
  /// of a Vault write, with nothing of the values.
  static func secretBodyShape(_ body: Data) -> String {
    func shape(_ v: Value) -> Value {
      switch v {
      case .string(let s): return .string(Masker.fingerprint(s))
      case .array(let items): return .array(items.map(shape))
      case .object(let fields): return .object(fields.mapValues(shape))
      default: return v
      }
    }
    guard let parsed = JSONParser.parse(body) else { return "<\(body.count) bytes, every value secret: not shown>" }
    return shape(parsed).json()
  }

  /// `POST https://host/path` + headers (authorisation redacted, everything masked) + body.
  package static func describe(_ request: HTTPRequest, masker: Masker) -> String {
    var lines = ["\(request.method) \(request.url)"]
    for (name, value) in request.headers {
      let lower = name.lowercased()
      let shown =
        ["authorization", "x-vault-token", "private-token", "cookie", "x-amz-security-token"].contains(lower)
        ? "<redacted>" : value
      lines.append("\(name): \(shown)")
    }
    if !request.body.isEmpty && request.bodyIsSecret {
      lines.append("")
      lines.append(secretBodyShape(request.body))
    } else if !request.body.isEmpty {
      // Masked whole before it is cut: a secret straddling the cut would keep its first half.
      var body = masker.excerpt(String(decoding: request.body, as: UTF8.self), limit: 4096)
      if request.body.count > 4096 { body += " (\(request.body.count) bytes)" }
      lines.append("")
      lines.append(body)
    }
    return masker.mask(lines.joined(separator: "\n"))
  }

  /// The URL without its query string (which may carry secrets) or user-info.
  package static func stripQuery(_ url: String) -> String { redactedURL(url) }
}
