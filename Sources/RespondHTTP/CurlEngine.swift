import CCurl
import Foundation

/// One transfer in flight: the easy handle, what it uploads, and what came back. Owned by the
/// caller while it is configured, then by the engine thread until `onDone` runs; never touched by
/// two threads at once, hence `@unchecked Sendable`.
final class CurlTransfer: @unchecked Sendable {
  let easy: UnsafeMutableRawPointer
  /// The parsed URL the transfer uses (CURLOPT_CURLU): must outlive the transfer.
  let target: CurlTarget
  var responseBody = Data()
  /// Header lines of the latest response block (a new status line starts over, so interim
  /// 100-continue and proxy CONNECT answers are dropped).
  var responseHeaders: [(String, String)] = []
  var upload: Data
  var uploadOffset = 0
  /// CURLOPT_ERRORBUFFER: libcurl writes a readable message here on failure.
  let errorBuffer: UnsafeMutablePointer<CChar>
  /// Lists handed to libcurl (headers, recipients): libcurl does not copy them.
  var slists: [UnsafeMutablePointer<curl_slist>] = []
  /// Runs on the engine thread after the handle left the multi handle, before it is reset.
  var onDone: ((CURLcode) -> Void)?
  /// Engine-thread state: whether `onDone` already ran.
  var finished = false
  /// Set under the engine's lock when the caller's task is cancelled.
  var cancelRequested = false
  /// Engine-thread copy of `cancelRequested`, taken when the transfer finishes.
  var wasCancelled = false
  /// The most response body kept; a larger answer aborts the transfer (`overflowed`).
  var maxResponseBytes = Int.max
  var overflowed = false
  /// Written by the loopback-only open-socket callback (plain http): whether, and which, address
  /// it refused to connect to.
  let loopbackGuard: UnsafeMutablePointer<respond_loopback_guard>

  init(easy: UnsafeMutableRawPointer, target: CurlTarget, upload: Data = Data()) {
    self.easy = easy
    self.target = target
    self.upload = upload
    let size = Int(respond_error_size()) + 1
    errorBuffer = .allocate(capacity: size)
    errorBuffer.initialize(repeating: 0, count: size)
    loopbackGuard = .allocate(capacity: 1)
    loopbackGuard.initialize(to: respond_loopback_guard())
  }

  deinit {
    for list in slists { respond_curl_slist_free_all(list) }
    errorBuffer.deallocate()
    loopbackGuard.deallocate()
  }

  /// The address the loopback-only rule refused, if it refused one.
  var refusedAddress: String? {
    guard loopbackGuard.pointee.refused != 0 else { return nil }
    return withUnsafeBytes(of: loopbackGuard.pointee.address) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
  }

  /// Builds a curl_slist from `items` and keeps it alive with the transfer.
  func makeList(_ items: [String]) -> UnsafeMutablePointer<curl_slist>? {
    var list: UnsafeMutablePointer<curl_slist>?
    for item in items {
      guard let next = respond_curl_slist_append(list, item) else { continue }
      list = next
    }
    if let list { slists.append(list) }
    return list
  }

  /// The text libcurl left in the error buffer, if any.
  var errorText: String {
    let s = String(cString: errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
    return s
  }

  var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

  static func from(_ p: UnsafeMutableRawPointer?) -> CurlTransfer? {
    guard let p else { return nil }
    return Unmanaged<CurlTransfer>.fromOpaque(p).takeUnretainedValue()
  }

  // MARK: - C callbacks (no captures: context comes through the *DATA pointer)

  static let writeCallback: respond_data_cb = { ptr, size, count, userdata in
    let n = size * count
    guard let t = CurlTransfer.from(userdata) else { return 0 }
    if t.responseBody.count + n > t.maxResponseBytes {
      t.overflowed = true
      return 0  // CURLE_WRITE_ERROR
    }
    if let ptr, n > 0 { t.responseBody.append(UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: n) }
    return n
  }

  static let headerCallback: respond_data_cb = { ptr, size, count, userdata in
    let n = size * count
    guard let t = CurlTransfer.from(userdata), let ptr else { return n }
    let bytes = UnsafeRawBufferPointer(start: ptr, count: n)
    t.headerLine(bytes)
    return n
  }

  static let readCallback: respond_data_cb = { ptr, size, count, userdata in
    guard let t = CurlTransfer.from(userdata), let ptr else { return respond_readfunc_abort() }
    let room = size * count
    let left = t.upload.count - t.uploadOffset
    let n = min(room, left)
    if n > 0 {
      t.upload.withUnsafeBytes { raw in
        let src = raw.baseAddress!.advanced(by: t.uploadOffset)
        UnsafeMutableRawPointer(ptr).copyMemory(from: src, byteCount: n)
      }
      t.uploadOffset += n
    }
    return n
  }

  /// One raw header line from libcurl (CRLF included).
  /// One header line as libcurl delivers it (with its CRLF). Parsed on the bytes: this runs for
  /// every header of every response.
  private func headerLine(_ raw: UnsafeRawBufferPointer) {
    func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 || b == 10 }
    var start = 0
    var end = raw.count
    while end > start, raw[end - 1] == 13 || raw[end - 1] == 10 { end -= 1 }
    if end == start { return }
    if end - start >= 5, raw[0] == UInt8(ascii: "H"), raw[1] == UInt8(ascii: "T"), raw[2] == UInt8(ascii: "T"),
      raw[3] == UInt8(ascii: "P"), raw[4] == UInt8(ascii: "/")
    {
      responseHeaders = []  // a new response (after a 100 Continue or an interim answer)
      return
    }
    if raw[0] == 32 || raw[0] == 9 {
      // obsolete line folding: continues the previous header's value
      guard !responseHeaders.isEmpty else { return }
      while start < end, isSpace(raw[start]) { start += 1 }
      while end > start, isSpace(raw[end - 1]) { end -= 1 }
      responseHeaders[responseHeaders.count - 1].1 += " " + String(decoding: raw[start..<end], as: UTF8.self)
      return
    }
    guard let colon = raw[start..<end].firstIndex(of: UInt8(ascii: ":")) else { return }
    var nameEnd = colon
    while nameEnd > start, isSpace(raw[nameEnd - 1]) { nameEnd -= 1 }
    var valueStart = colon + 1
    while valueStart < end, isSpace(raw[valueStart]) { valueStart += 1 }
    while end > valueStart, isSpace(raw[end - 1]) { end -= 1 }
    responseHeaders.append(
      (String(decoding: raw[start..<nameEnd], as: UTF8.self), String(decoding: raw[valueStart..<end], as: UTF8.self)))
  }
}

/// The process-wide libcurl driver: one thread owns one multi handle (so the connection and DNS
/// caches are shared by every request: keep-alive across the whole run) and a pool of easy
/// handles. Callers configure a handle, enqueue it and wait on a continuation; the thread adds it
/// to the multi handle, drives all transfers with `curl_multi_poll`, and completes each when done.
/// Blocking network work therefore never runs on Swift's cooperative pool.
final class CurlEngine: @unchecked Sendable {
  static let shared = CurlEngine()

  private let multi: UnsafeMutableRawPointer
  private let lock = NSLock()
  private var pending: [CurlTransfer] = []
  private var cancelled: [CurlTransfer] = []
  private var idleHandles: [UnsafeMutableRawPointer] = []
  private let maxIdleHandles = 32
  /// Engine-thread only: transfers currently added to the multi handle.
  private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

  private init() {
    guard let m = respond_curl_multi_init() else { fatalError("curl_multi_init failed") }
    multi = m
    let thread = Thread { [unowned self] in self.loop() }
    thread.name = "respond.curl"
    thread.start()
  }

  /// A clean easy handle (reused when one is idle, so allocations and TLS session data carry over).
  func checkoutHandle() -> UnsafeMutableRawPointer {
    let reused: UnsafeMutableRawPointer? = lock.withLock { idleHandles.popLast() }
    if let reused { return reused }
    guard let h = respond_curl_easy_init() else { fatalError("curl_easy_init failed") }
    return h
  }

  /// Gives back a handle that was never started (configuration failed).
  func returnHandle(_ h: UnsafeMutableRawPointer) {
    respond_curl_easy_reset(h)
    let keep = lock.withLock { () -> Bool in
      guard idleHandles.count < maxIdleHandles else { return false }
      idleHandles.append(h)
      return true
    }
    if !keep { respond_curl_easy_cleanup(h) }
  }

  /// Hands a configured transfer to the engine thread.
  func start(_ t: CurlTransfer) {
    lock.withLock { pending.append(t) }
    respond_curl_multi_wakeup(multi)
  }

  /// Asks the engine to abort a transfer (task cancellation); it completes with
  /// CURLE_ABORTED_BY_CALLBACK if it has not finished yet.
  func cancel(_ t: CurlTransfer) {
    lock.withLock {
      t.cancelRequested = true
      cancelled.append(t)
    }
    respond_curl_multi_wakeup(multi)
  }

  private func loop() {
    while true {
      let (new, aborts) = lock.withLock { () -> ([CurlTransfer], [CurlTransfer]) in
        defer {
          pending = []
          cancelled = []
        }
        return (pending, cancelled)
      }
      for t in new {
        if lock.withLock({ t.cancelRequested }) {
          finish(t, CURLE_ABORTED_BY_CALLBACK)
          continue
        }
        active[t.easy] = t
        let rc = respond_curl_multi_add_handle(multi, t.easy)
        if rc != CURLM_OK {
          active[t.easy] = nil
          finish(t, CURLE_FAILED_INIT)
        }
      }
      for t in aborts where !t.finished {
        if active[t.easy] === t {
          active[t.easy] = nil
          respond_curl_multi_remove_handle(multi, t.easy)
          finish(t, CURLE_ABORTED_BY_CALLBACK)
        }
      }
      var running: Int32 = 0
      respond_curl_multi_perform(multi, &running)
      var left: Int32 = 0
      while let msg = respond_curl_multi_info_read(multi, &left) {
        guard respond_msg_is_done(msg) != 0, let easy = respond_msg_easy(msg) else { continue }
        let code = respond_msg_result(msg)
        guard let t = active.removeValue(forKey: easy) else { continue }
        respond_curl_multi_remove_handle(multi, easy)
        finish(t, code)
      }
      var fds: Int32 = 0
      respond_curl_multi_poll(multi, nil, 0, 1000, &fds)
    }
  }

  /// Completes a transfer once and recycles its handle.
  private func finish(_ t: CurlTransfer, _ code: CURLcode) {
    guard !t.finished else { return }
    t.finished = true
    t.wasCancelled = lock.withLock { t.cancelRequested }
    t.onDone?(code)
    t.onDone = nil
    returnHandle(t.easy)
  }
}
