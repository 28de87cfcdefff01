import CCurl
import RespondCore

/// libcurl is loaded at run time, not linked (see `Sources/CCurl/include/shim.h`): its ~30
/// dependent libraries cost about 8 ms to load, which the command line does alongside reading
/// the runbook, and which commands that never touch the network never pay.
package enum CurlLibrary {
  /// Waits until libcurl is loaded (loading it now if nobody started); nil when ready,
  /// otherwise why it cannot be used.
  package static func load() -> String? {
    respond_curl_load().map { String(cString: $0) }
  }

  /// Throws `.refused` for `url` (nothing was sent) when libcurl cannot be loaded.
  static func require(for url: String) throws {
    if let why = load() {
      throw TransportError.refused(url: CurlTarget.redact(url), reason: why)
    }
  }
}
