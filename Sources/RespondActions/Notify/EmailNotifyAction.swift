import Foundation
import RespondCore

/// `notify.email`: sends a plain-text e-mail through SMTP (`SMTP_URL`, `SMTP_TO`, optional
/// `SMTP_FROM` (default: the user at this host), `SMTP_USER`/`SMTP_PASSWORD`). The subject and body are masked before the message is
/// built; the message is RFC 5322 with CRLF line ends and a quoted-printable body, which keeps lines
/// short and never starts one with a dot (so no SMTP server can mistake it for the end of data).
package struct EmailNotifyAction: Action {
  package init() {}

  package var descriptor: ActionDescriptor {
    ActionDescriptor(
      name: "notify.email", summary: "Send a plain-text e-mail over SMTP",
      parameters: [
        ParameterSpec("subject", required: true, "the subject line"),
        ParameterSpec("body", required: true, "the text (e.g. the incident report)"),
        ParameterSpec("to", .any, "recipients, a list or comma-separated (default: SMTP_TO)"),
        ParameterSpec("from", .string, "sender address (default: SMTP_FROM)"),
      ],
      outputs: [
        OutputSpec("recipients", "the envelope recipients the server accepted"),
        OutputSpec("message-id", "the Message-ID header sent"),
      ],
      mutates: true, idempotent: false,
      requirements: [Requirement("SMTP", all: ["SMTP_URL", "SMTP_TO"], defaults: ["SMTP_FROM": .userAtHost])])
  }

  package func run(_ context: ActionContext) async throws -> ActionResult {
    let env = context.environment
    func envValue(_ name: String) -> String? {
      guard let v = env[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
      return v
    }
    if let password = envValue("SMTP_PASSWORD") { context.masker.register(password) }
    guard let rawURL = envValue("SMTP_URL") else {
      throw ActionError.notConfigured("SMTP is not configured: set SMTP_URL (smtps://host:465 or smtp://host:587)")
    }
    var (url, urlUser, urlPassword) = Self.splitCredentials(rawURL)
    if let urlPassword { context.masker.register(urlPassword) }
    guard let scheme = URL(string: url)?.scheme?.lowercased(), ["smtp", "smtps"].contains(scheme) else {
      throw ActionError.notConfigured("SMTP_URL must be smtps://host:port or smtp://host:port")
    }
    while url.hasSuffix("/") { url.removeLast() }

    // Without SMTP_FROM the mail comes from the responder at this host, as the preflight said.
    let from =
      context.optionalString("from") ?? envValue("SMTP_FROM")
      ?? ConfigurationDefault.userAtHost.value(environment: env, host: ProcessInfo.processInfo.hostName)
    let toValue: Value =
      context.parameters["to"].flatMap { $0.isNull ? nil : $0 } ?? envValue("SMTP_TO").map(Value.string)
      ?? .null
    let to = try Self.addressList(toValue)
    guard !to.isEmpty else {
      throw ActionError.notConfigured("SMTP is not configured: set SMTP_TO (or pass to)")
    }
    let fromAddress = try Self.envelopeAddress(from, parameter: "from")
    let recipients = try to.map { try Self.envelopeAddress($0, parameter: "to") }

    let subject = context.masker.mask(try context.string("subject"))
    let body = context.masker.mask(context.parameters["body"]?.stringValue ?? "")
    guard !body.isEmpty else { throw ActionError.badParameter(name: "body", reason: "is required") }
    let domain = fromAddress.split(separator: "@").last.map(String.init) ?? "respond.invalid"
    let messageID = "<\(UUID().uuidString.lowercased())@\(domain)>"
    let message = Self.message(
      from: from, to: to, subject: subject, body: body, date: Date(), messageID: messageID,
      incident: context.incident.id)
    let masked = Data(context.masker.mask(message).utf8)

    let mail = MailRequest(
      url: url, from: fromAddress, recipients: recipients, message: masked,
      username: envValue("SMTP_USER") ?? urlUser, password: envValue("SMTP_PASSWORD") ?? urlPassword)
    do {
      try await context.transport.sendMail(mail)
    } catch let error as TransportError {
      throw ActionError.transport(error)
    }
    return ActionResult(
      outputs: ["recipients": .array(recipients.map(Value.string)), "message-id": .string(messageID)],
      summary: "mailed \(recipients.count) recipient(s): \(recipients.joined(separator: ", "))")
  }

  // MARK: - Building the message

  /// The whole RFC 5322 message with CRLF line ends.
  package static func message(
    from: String, to: [String], subject: String, body: String, date: Date, messageID: String, incident: String
  ) -> String {
    var headers = [
      "Date: \(rfc5322Date(date))",
      "From: \(from)",
      "To: \(to.joined(separator: ", "))",
      "Subject: \(encodeHeader(subject))",
      "Message-ID: \(messageID)",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "Auto-Submitted: auto-generated",
    ]
    let cleanIncident = incident.filter { !$0.isNewline }
    if !cleanIncident.isEmpty { headers.append("X-Respond-Incident: \(cleanIncident)") }
    var text = quotedPrintable(body)
    if !text.hasSuffix("\r\n") { text += "\r\n" }
    return headers.joined(separator: "\r\n") + "\r\n\r\n" + text
  }

  /// `Mon, 23 Nov 2026 13:09:39 +0000`.
  package static func rfc5322Date(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
    return f.string(from: date)
  }

  /// A header value: line breaks removed (no header injection); non-ASCII text as RFC 2047
  /// encoded words of at most 75 characters, folded onto continuation lines.
  package static func encodeHeader(_ text: String) -> String {
    let flat = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    if flat.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }), flat.utf8.count <= 900 {
      return flat
    }
    var words: [String] = []
    var chunk = Data()
    for ch in flat {
      let bytes = Data(String(ch).utf8)
      if chunk.count + bytes.count > 45 {
        words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=")
        chunk = Data()
      }
      chunk.append(bytes)
    }
    if !chunk.isEmpty { words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=") }
    return words.joined(separator: "\r\n ")
  }

  /// Quoted-printable (RFC 2045) with CRLF line ends and soft breaks at 76 characters. A line never
  /// starts with `.` (encoded `=2E`) or `From ` (so neither SMTP nor mbox storage alters it).
  package static func quotedPrintable(_ text: String) -> String {
    let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    var out: [String] = []
    for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
      let bytes = Array(line.utf8)
      var tokens: [String] = []
      for (i, b) in bytes.enumerated() {
        let last = i == bytes.count - 1
        let literal: Bool
        switch b {
        case 0x2E where i == 0: literal = false  // leading dot
        case 0x46 where i == 0 && line.hasPrefix("From "): literal = false
        case 0x20, 0x09: literal = !last
        case 0x3D: literal = false
        case 33...126: literal = true
        default: literal = false
        }
        tokens.append(literal ? String(UnicodeScalar(b)) : String(format: "=%02X", b))
      }
      var current = ""
      for token in tokens {
        if current.count + token.count > 75 {
          out.append(current + "=")
          current = ""
        }
        // A soft break must not leave a continuation line starting with a dot.
        if current.isEmpty, token == ".", !out.isEmpty {
          current = "=2E"
          continue
        }
        current += token
      }
      out.append(current)
    }
    return out.joined(separator: "\r\n")
  }

  // MARK: - Addresses

  /// Recipients from a list or a comma-separated string.
  static func addressList(_ value: Value) throws -> [String] {
    switch value {
    case .null: return []
    case .string(let s):
      return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    case .array(let items):
      return try items.flatMap { item -> [String] in
        guard case .string = item else {
          throw ActionError.badParameter(name: "to", reason: "must be addresses, got a \(item.typeName)")
        }
        return try addressList(item)
      }
    default:
      throw ActionError.badParameter(name: "to", reason: "must be a list or a comma-separated string of addresses")
    }
  }

  /// The bare address of `Name <a@b>` or `a@b`, checked (one `@`, no spaces, no line breaks).
  static func envelopeAddress(_ text: String, parameter: String) throws -> String {
    var address = text.trimmingCharacters(in: .whitespaces)
    if let open = address.lastIndex(of: "<"), let close = address.lastIndex(of: ">"), open < close {
      address = String(address[address.index(after: open)..<close])
    }
    let ok =
      address.split(separator: "@", omittingEmptySubsequences: false).count == 2
      && !address.hasPrefix("@") && !address.hasSuffix("@")
      && !address.contains(where: { $0.isWhitespace || $0.isNewline || $0 == "<" || $0 == ">" || $0 == "," })
      && !text.contains(where: \.isNewline)
    guard ok else { throw ActionError.badParameter(name: parameter, reason: "is not an e-mail address: \(text)") }
    return address
  }

  /// `smtp://user:pass@host:587` → the URL without credentials, and the credentials (decoded).
  static func splitCredentials(_ raw: String) -> (String, String?, String?) {
    guard var parts = URLComponents(string: raw), parts.user != nil || parts.password != nil else {
      return (raw, nil, nil)
    }
    let user = parts.user
    let password = parts.password
    parts.user = nil
    parts.password = nil
    return (parts.string ?? raw, user, password)
  }
}
