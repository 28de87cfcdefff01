import Foundation
import RespondCore

/// A transport that answers from a script and records what was sent: for unit tests of actions
/// and of the executor, where the interesting part is what respond sends and how it reads the
/// answer. Answers are matched in order by a predicate; an unmatched request is an error, so a
/// test cannot pass by sending something nobody expected.
package final class RecordedTransport: HTTPTransport, @unchecked Sendable {
  package typealias Responder = @Sendable (HTTPRequest) throws -> HTTPResponse?

  private let lock = NSLock()
  private var responders: [Responder] = []
  private var _requests: [HTTPRequest] = []
  private var _mails: [MailRequest] = []

  package init() {}

  /// Adds a responder; the first one returning a response answers.
  package func on(_ responder: @escaping Responder) {
    lock.lock()
    responders.append(responder)
    lock.unlock()
  }

  /// Answers requests whose URL contains `fragment` (and, if given, whose body contains `body`).
  package func on(
    urlContaining fragment: String, bodyContaining body: String? = nil, status: Int = 200,
    headers: [(String, String)] = [], reply: String
  ) {
    on { req in
      guard req.url.contains(fragment) else { return nil }
      if let body, !String(decoding: req.body, as: UTF8.self).contains(body) { return nil }
      return HTTPResponse(status: status, headers: headers, body: Data(reply.utf8))
    }
  }

  package var requests: [HTTPRequest] {
    lock.lock()
    defer { lock.unlock() }
    return _requests
  }

  package var mails: [MailRequest] {
    lock.lock()
    defer { lock.unlock() }
    return _mails
  }

  package func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    let list = lock.withLock {
      _requests.append(request)
      return responders
    }
    for r in list {
      if let resp = try r(request) { return resp }
    }
    throw TransportError.connectionFailed(
      url: request.url, detail: "no recorded answer for \(request.method) \(request.url)")
  }

  package func sendMail(_ mail: MailRequest) async throws {
    lock.withLock { _mails.append(mail) }
  }
}
