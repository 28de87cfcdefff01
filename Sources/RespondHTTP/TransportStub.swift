// TEMPORARY until branch `transport` lands.
import Foundation
import RespondCore

package final class CurlTransport: HTTPTransport {
  package init() {}
  package static func globalInit() {}
  package func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    throw TransportError.unsupported("no transport yet")
  }
}
