import Foundation
import RespondCore
import RespondHTTP
import RespondTestSupport
import Testing

/// Drives the recording receiver's control API with the curl command-line tool: an independent
/// client, so scripting and reading recordings never depend on the transport under test.
struct ReceiverControl {
  var base: String

  /// Scripts responses for `path` (served in order; then the default).
  func script(_ path: String, _ responses: [Value], default def: Value? = nil) async throws {
    var spec: [String: Value] = ["path": .string(path), "responses": .array(responses)]
    if let def { spec["default"] = def }
    try await script(json: Value.object(spec).jsonString())
  }

  /// Scripts with raw JSON text (keeps key order, which `Value` sorts).
  func script(json: String) async throws {
    let base = base
    _ = try await offPool {
      try runProgram(
        "/usr/bin/curl",
        [
          "-sS", "--fail", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", json,
          base + "/_control/script",
        ])
    }
  }

  /// What the receiver recorded for `path`.
  func requests(_ path: String) async throws -> [Value] {
    let q = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path
    let url = base + "/_control/requests?path=" + q
    let out = try await offPool { try runProgram("/usr/bin/curl", ["-sS", "--fail", url]) }
    return Value.parseJSON(out)?.arrayValue ?? []
  }
}

/// Runs blocking test plumbing (child processes, polling) on its own thread, so it never holds
/// one of the few cooperative threads that the transport's callers resume on.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { cont in
    Thread { cont.resume(with: Result { try body() }) }.start()
  }
}

/// A receiver started by a test (e.g. with a TLS certificate); stopped by `stop()`.
final class DedicatedReceiver: @unchecked Sendable {
  let process = Process()
  let port: Int
  let directory: URL

  static func start(arguments: [String], repoRoot: String) async throws -> DedicatedReceiver {
    try await offPool { try DedicatedReceiver(arguments: arguments, repoRoot: repoRoot) }
  }

  private init(arguments: [String], repoRoot: String) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respond-rcv-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    directory = dir
    let portFile = dir.appendingPathComponent("port").path
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments =
      ["python3", repoRoot + "/Tests/Support/receiver.py", "--port", "0", "--port-file", portFile]
      + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    var found: Int?
    for _ in 0..<100 {
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let p = Int(text) {
        found = p
        break
      }
      Thread.sleep(forTimeInterval: 0.05)
    }
    guard let found else {
      kill(process.processIdentifier, SIGKILL)
      throw ReceiverDidNotStart()
    }
    port = found
  }

  /// SIGKILL: the test process may block SIGTERM in the mask its children inherit.
  func stop() {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    try? FileManager.default.removeItem(at: directory)
  }
}

/// receiver.py never wrote its port file.
struct ReceiverDidNotStart: Error {}

/// A loopback port nothing listens on (bound, then released).
func freeLoopbackPort() async throws -> Int {
  let out = try await offPool {
    try runProgram(
      "/usr/bin/env",
      [
        "python3", "-c",
        "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1]); s.close()",
      ])
  }
  return Int(out) ?? 1
}

/// A self-signed certificate for 127.0.0.1 (SAN IP:127.0.0.1) in a fresh temp directory.
func selfSignedCertificate() async throws -> (cert: String, key: String) {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("respond-tls-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  let cert = dir.appendingPathComponent("cert.pem").path
  let key = dir.appendingPathComponent("key.pem").path
  _ = try await offPool {
    try runProgram(
      "/usr/bin/openssl",
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      ])
  }
  return (cert, key)
}

/// HTTP(S) through libcurl against the real recording receiver (shared, or dedicated instances).
@Suite("CurlTransport HTTP")
struct CurlTransportHTTPTests {
  let services: TestServices
  let receiver: ReceiverControl
  let transport = CurlTransport()

  init() throws {
    services = try TestServices.load()
    receiver = ReceiverControl(base: services.receiverURL)
  }

  /// A path no other test uses, so tests can share the receiver.
  func uniquePath(_ name: String) -> String { "/curl-\(name)-\(UUID().uuidString.prefix(8))" }

  @Test func getRoundTripsHeadersAndQuery() async throws {
    let path = uniquePath("get")
    try await receiver.script(
      path, [["status": 200, "headers": ["Content-Type": "application/json"], "body": ["ok": true]]])
    let resp = try await transport.send(
      HTTPRequest(
        method: "GET", url: services.receiverURL + path + "?a=1&b=two%20words",
        headers: [("X-Custom", "Value 1"), ("Accept", "application/json")]))
    #expect(resp.status == 200)
    #expect(resp.json?["ok"] == .bool(true))
    let recorded = try await receiver.requests(path)
    try #require(recorded.count == 1)
    #expect(recorded[0]["method"] == "GET")
    #expect(recorded[0]["query"] == "a=1&b=two%20words")
    #expect(recorded[0]["headers"]?["X-Custom"] == "Value 1")
    #expect(recorded[0]["headers"]?["Accept"] == "application/json")
    #expect(recorded[0]["headers"]?["User-Agent"] == "respond")
  }

  @Test func postSendsExactBinaryBodyAndNoAddedHeaders() async throws {
    let path = uniquePath("post")
    let body = Data([0x00, 0x01, 0xFF, 0x0D, 0x0A, 0x7B]) + Data(repeating: 0x41, count: 3000)
    let resp = try await transport.send(
      HTTPRequest(
        method: "POST", url: services.receiverURL + path, headers: [("X-Signature", "t=1,v1=abc")], body: body))
    #expect(resp.status == 200)
    #expect(resp.text == "ok")
    let recorded = try #require(try await receiver.requests(path).first)
    #expect(recorded["method"] == "POST")
    #expect(Data(base64Encoded: recorded["body_b64"]?.stringValue ?? "") == body)
    #expect(recorded["headers"]?["X-Signature"] == "t=1,v1=abc")
    #expect(recorded["headers"]?["Content-Type"] == nil, "libcurl's default form content type must not be added")
    #expect(recorded["headers"]?["Expect"] == nil, "no 100-continue round trip")
  }

  @Test(arguments: ["PUT", "PATCH", "DELETE", "OPTIONS"])
  func sendsExactMethod(_ method: String) async throws {
    let path = uniquePath("method")
    let body = method == "DELETE" || method == "OPTIONS" ? Data() : Data(#"{"a":1}"#.utf8)
    let resp = try await transport.send(
      HTTPRequest(
        method: method, url: services.receiverURL + path, headers: [("Content-Type", "application/json")], body: body))
    #expect(resp.status == 200)
    let recorded = try #require(try await receiver.requests(path).first)
    #expect(recorded["method"]?.stringValue == method)
    #expect(recorded["body"]?.stringValue == String(decoding: body, as: UTF8.self))
    if !body.isEmpty { #expect(recorded["headers"]?["Content-Type"] == "application/json") }
  }

  @Test func headReturnsHeadersWithoutBody() async throws {
    let path = uniquePath("head")
    let resp = try await transport.send(HTTPRequest(method: "HEAD", url: services.receiverURL + path))
    #expect(resp.status == 200)
    #expect(resp.body.isEmpty)
    #expect(resp.header("content-length") == "2")
  }

  @Test func errorStatusIsReturnedWithRetryAfter() async throws {
    let path = uniquePath("429")
    try await receiver.script(
      path,
      [
        ["status": 429, "headers": ["Retry-After": "7"], "body": ["message": "slow down"]],
        ["status": 503, "body": "busy"],
      ])
    let first = try await transport.send(HTTPRequest(method: "POST", url: services.receiverURL + path))
    #expect(first.status == 429)
    #expect(first.retryAfter == .seconds(7))
    #expect(first.json?["message"] == "slow down")
    let second = try await transport.send(HTTPRequest(method: "POST", url: services.receiverURL + path))
    #expect(second.status == 503)
    #expect(second.text == "busy")
    #expect(second.retryAfter == nil)
  }

  @Test func responseHeadersKeepOrderAndCase() async throws {
    let path = uniquePath("headers")
    try await receiver.script(
      json:
        #"{"path": "\#(path)", "responses": [{"status": 201, "headers": {"X-First": "1", "x-second": "two", "X-THIRD": "3 3", "X-Alpha": "a"}}]}"#
    )
    let resp = try await transport.send(HTTPRequest(method: "GET", url: services.receiverURL + path))
    #expect(resp.status == 201)
    let names = resp.headers.map(\.0)
    let ours = names.filter { $0.lowercased().hasPrefix("x-") }
    #expect(ours == ["X-First", "x-second", "X-THIRD", "X-Alpha"])
    #expect(resp.header("x-third") == "3 3")
    #expect(names.last == "Content-Length")
    #expect(!names.contains { $0.hasPrefix("HTTP/") })
  }

  @Test func redirectIsReturnedNotFollowed() async throws {
    let path = uniquePath("redirect")
    let target = path + "-target"
    try await receiver.script(path, [["status": 302, "headers": ["Location": .string(target)]]])
    let resp = try await transport.send(HTTPRequest(method: "GET", url: services.receiverURL + path))
    #expect(resp.status == 302)
    #expect(resp.header("Location") == target)
    #expect(try await receiver.requests(target).isEmpty)
  }

  @Test func slowAnswerTimesOut() async throws {
    let path = uniquePath("slow")
    try await receiver.script(path, [["status": 200, "delay": .number(6.0)]])
    let started = ContinuousClock.now
    do {
      _ = try await transport.send(
        HTTPRequest(
          method: "GET", url: services.receiverURL + path + "?token=s3cr3t", timeout: .milliseconds(400)))
      Issue.record("expected a timeout")
    } catch let error as TransportError {
      guard case .timedOut(let url, let after) = error else {
        Issue.record("expected timedOut, got \(error)")
        return
      }
      #expect(after == .milliseconds(400))
      #expect(url == services.receiverURL + path)
      #expect(!error.description.contains("s3cr3t"))
    }
    #expect(ContinuousClock.now - started < .seconds(4), "gave up at the timeout, not when the server answered")
  }

  @Test func closedPortIsConnectionFailed() async throws {
    let port = try await freeLoopbackPort()
    await #expect {
      _ = try await transport.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/x?key=hunter2"))
    } throws: { error in
      guard case .connectionFailed(let url, _) = error as? TransportError else { return false }
      return url == "http://127.0.0.1:\(port)/x" && !"\(error)".contains("hunter2")
    }
  }

  /// On a fresh connection (a dedicated receiver): libcurl itself resends once when a *reused*
  /// keep-alive connection dies before any answer, as browsers do.
  @Test func droppedConnectionIsConnectionLost() async throws {
    let server = try await DedicatedReceiver.start(arguments: [], repoRoot: services.repoRoot)
    defer { server.stop() }
    let base = "http://127.0.0.1:\(server.port)"
    try await ReceiverControl(base: base).script("/close", [["close": true]])
    await #expect {
      _ = try await transport.send(HTTPRequest(method: "POST", url: base + "/close", body: Data("x".utf8)))
    } throws: { error in
      guard case .connectionLost = error as? TransportError else { return false }
      return true
    }
  }

  @Test(arguments: [
    "http://example.invalid/hook", "http://10.0.0.1/x", "http://127.0.0.1.example.invalid/x",
    "http://127.0.0.1@example.invalid/x", "ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/x",
    "not a url",
  ])
  func policyRefusesBeforeConnecting(_ url: String) async throws {
    let started = ContinuousClock.now
    await #expect {
      _ = try await transport.send(HTTPRequest(method: "GET", url: url))
    } throws: { error in
      guard case .refused = error as? TransportError else { return false }
      return true
    }
    #expect(ContinuousClock.now - started < .seconds(3), "refused by policy, not after a connection attempt")
  }

  @Test func oversizedAnswerFailsInsteadOfFillingMemory() async throws {
    let path = uniquePath("big")
    try await receiver.script(path, [["status": 200, "body": .string(String(repeating: "x", count: 100_000))]])
    let small = CurlTransport(maxResponseBytes: 40_000)
    await #expect {
      _ = try await small.send(HTTPRequest(method: "GET", url: services.receiverURL + path))
    } throws: { error in
      guard case .connectionLost(_, let detail) = error as? TransportError else { return false }
      return detail.contains("larger than")
    }
  }

  @Test func loopbackSpellingsAreAllowed() async throws {
    let port = URL(string: services.receiverURL)?.port ?? 0
    for host in ["localhost", "127.0.0.1", "LOCALHOST"] {
      let resp = try await transport.send(HTTPRequest(method: "GET", url: "http://\(host):\(port)/loopback"))
      #expect(resp.status == 200, "\(host)")
    }
  }

  @Test func hostTreatedAsRemoteIsRefusedOverPlainHTTP() async throws {
    let strict = CurlTransport(treatAsRemoteHosts: ["127.0.0.1"])
    await #expect {
      _ = try await strict.send(HTTPRequest(method: "GET", url: services.receiverURL + "/strict"))
    } throws: { error in
      guard case .refused = error as? TransportError else { return false }
      return true
    }
  }

  @Test func malformedHeaderIsRefused() async throws {
    await #expect {
      _ = try await transport.send(
        HTTPRequest(
          method: "GET", url: services.receiverURL + "/x", headers: [("X-A", "1\r\nX-Injected: yes")]))
    } throws: { error in
      guard case .refused = error as? TransportError else { return false }
      return true
    }
  }

  @Test func selfSignedCertificateIsRefusedUnlessTrusted() async throws {
    let (cert, key) = try await selfSignedCertificate()
    defer { try? FileManager.default.removeItem(atPath: (cert as NSString).deletingLastPathComponent) }
    let server = try await DedicatedReceiver.start(
      arguments: ["--tls-cert", cert, "--tls-key", key], repoRoot: services.repoRoot)
    defer { server.stop() }
    let url = "https://127.0.0.1:\(server.port)/tls"
    await #expect {
      _ = try await transport.send(HTTPRequest(method: "GET", url: url))
    } throws: { error in
      guard case .tls(let u, _) = error as? TransportError else { return false }
      return u == url
    }
    let resp = try await transport.send(HTTPRequest(method: "GET", url: url, caBundle: cert))
    #expect(resp.status == 200)
    #expect(resp.text == "ok")
  }

  @Test func twentyParallelRequestsAllComplete() async throws {
    let path = uniquePath("parallel")
    try await receiver.script(path, [], default: ["status": 200, "body": "ok", "delay": .number(1.0)])
    let started = ContinuousClock.now
    let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
      for i in 0..<20 {
        group.addTask {
          try await transport.send(HTTPRequest(method: "GET", url: services.receiverURL + path + "?i=\(i)")).status
        }
      }
      return try await group.reduce(into: [Int]()) { $0.append($1) }
    }
    #expect(statuses == Array(repeating: 200, count: 20))
    #expect(try await receiver.requests(path).count == 20)
    #expect(ContinuousClock.now - started < .seconds(10), "requests ran concurrently (one by one takes 20 s)")
  }

  /// Sequential requests reuse one keep-alive connection (checked in the kernel's socket table,
  /// so the test does not depend on how busy the machine is).
  @Test func sequentialRequestsReuseOneConnection() async throws {
    let server = try await DedicatedReceiver.start(arguments: [], repoRoot: services.repoRoot)
    defer { server.stop() }
    let url = "http://127.0.0.1:\(server.port)/fast"
    _ = try await transport.send(HTTPRequest(method: "GET", url: url))
    // Sockets left by the first request and by the receiver's readiness probes (more of those
    // when the machine is busy) are the baseline.
    let before = try tcpSockets(port: server.port)
    for _ in 0..<20 {
      let resp = try await transport.send(HTTPRequest(method: "GET", url: url))
      #expect(resp.status == 200)
    }
    // 20 requests over fresh connections would add 20+ sockets (TIME_WAIT included); reuse adds none.
    let after = try tcpSockets(port: server.port)
    #expect(after.count <= before.count + 1, "before: \(before)\nafter: \(after)")
  }

  /// Non-listening IPv4 sockets with `port` at either end (/proc/net/tcp lines, ports in hex).
  func tcpSockets(port: Int) throws -> [String] {
    // Read to EOF: procfs files report size 0, so size-based reads stop after the first page.
    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/tcp"))
    defer { try? handle.close() }
    let table = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
    let hex = String(format: "%04X", port)
    return table.split(separator: "\n").dropFirst().map(String.init).filter { line in
      let f = line.split(separator: " ")
      guard f.count > 3, f[3] != "0A" else { return false }
      return f[1].hasSuffix(":" + hex) || f[2].hasSuffix(":" + hex)
    }
  }

  @Test func cancellationAbortsTheTransfer() async throws {
    let path = uniquePath("cancel")
    try await receiver.script(path, [["status": 200, "delay": .number(8.0)]])
    let started = ContinuousClock.now
    let task = Task { try await transport.send(HTTPRequest(method: "GET", url: services.receiverURL + path)) }
    try await Task.sleep(for: .milliseconds(200))
    task.cancel()
    let result = await task.result
    #expect(throws: CancellationError.self) { try result.get() }
    #expect(ContinuousClock.now - started < .seconds(5), "aborted, not waited for the 8 s answer")
  }
}

/// SMTP through libcurl against aiosmtpd, checked in its maildir.
@Suite("CurlTransport SMTP")
struct CurlTransportSMTPTests {
  let services: TestServices
  let transport = CurlTransport()

  init() throws {
    services = try TestServices.load()
  }

  /// The delivered message whose text contains `marker` (aiosmtpd's Mailbox writes maildir files).
  func delivered(containing marker: String, attempts: Int = 50) async throws -> String? {
    for _ in 0..<attempts {
      for sub in ["new", "cur"] {
        let dir = services.maildir + "/" + sub
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
          if let text = try? String(contentsOfFile: dir + "/" + name, encoding: .utf8), text.contains(marker) {
            return text
          }
        }
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    return nil
  }

  func message(subject: String, body: String) -> Data {
    let lines = [
      "From: respond <alerts@example.test>", "To: oncall@example.test, sec@example.test", "Subject: \(subject)",
      "Date: Mon, 23 Nov 2026 10:00:00 +0000", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "",
      body, "",
    ]
    return Data(lines.joined(separator: "\r\n").utf8)
  }

  @Test func mailArrivesWithHeadersAndBody() async throws {
    let marker = "incident-\(UUID().uuidString.prefix(8))"
    let body = "Key AKIA…WXYZ was deactivated.\r\n.leading dot line stays\r\nEnd."
    try await transport.sendMail(
      MailRequest(
        url: services.smtpURL, from: "alerts@example.test", recipients: ["oncall@example.test", "<sec@example.test>"],
        message: message(subject: "respond \(marker)", body: body)))
    let text = try #require(try await delivered(containing: marker))
    #expect(text.contains("From: respond <alerts@example.test>"))
    #expect(text.contains("To: oncall@example.test, sec@example.test"))
    #expect(text.contains("Subject: respond \(marker)"))
    #expect(text.contains("Key AKIA…WXYZ was deactivated."))
    #expect(text.contains("\n.leading dot line stays"), "dot-stuffing is undone by the server")
    #expect(
      text.contains("X-RcptTo: oncall@example.test, sec@example.test")
        || text.contains("X-RcptTo: oncall@example.test,sec@example.test"))
    #expect(text.contains("X-MailFrom: alerts@example.test"))
  }

  @Test func remoteHostWithoutStartTLSFailsAsTLS() async throws {
    let marker = "plain-\(UUID().uuidString.prefix(8))"
    let strict = CurlTransport(treatAsRemoteHosts: ["127.0.0.1"])
    await #expect {
      try await strict.sendMail(
        MailRequest(
          url: services.smtpURL, from: "alerts@example.test", recipients: ["oncall@example.test"],
          message: message(subject: marker, body: "must not be sent in clear"), username: "user",
          password: "hunter2-password"))
    } throws: { error in
      guard case .tls(let url, _) = error as? TransportError else { return false }
      return url.hasPrefix(services.smtpURL) && !"\(error)".contains("hunter2")
    }
    #expect(try await delivered(containing: marker, attempts: 3) == nil)
  }

  @Test(arguments: ["http://127.0.0.1:1/", "ftp://127.0.0.1/x"])
  func nonMailSchemesAreRefused(_ url: String) async throws {
    await #expect {
      try await transport.sendMail(
        MailRequest(
          url: url, from: "a@example.test", recipients: ["b@example.test"],
          message: Data("x".utf8)))
    } throws: { error in
      guard case .refused = error as? TransportError else { return false }
      return true
    }
  }

  @Test func addressWithLineBreakIsRefused() async throws {
    await #expect {
      try await transport.sendMail(
        MailRequest(
          url: services.smtpURL, from: "a@example.test", recipients: ["b@example.test>\r\nRCPT TO:<evil@example.test"],
          message: Data("x".utf8)))
    } throws: { error in
      guard case .refused = error as? TransportError else { return false }
      return true
    }
  }
}

/// Issue 12 item 4: `localhost.` counted as loopback for the plain-http rule, but libcurl
/// resolves it through DNS, and with a resolver answering another address respond sent a Vault
/// token over plain http. Plain http goes only to loopback addresses, checked on the address
/// libcurl connects to. A listener on a non-loopback address of this machine stands in for the
/// other host; CURLOPT_RESOLVE stands in for the hostile resolver. No test servers needed.
@Suite("CurlTransport loopback rule")
struct CurlLoopbackRuleTests {
  /// A TCP listener on every address of this machine, for seeing whether anything connected.
  final class Listener {
    let fd: Int32
    let port: Int

    init() throws {
      let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var addr = sockaddr_in()
      addr.sin_family = sa_family_t(AF_INET)
      addr.sin_addr.s_addr = INADDR_ANY
      let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      var len = socklen_t(MemoryLayout<sockaddr_in>.size)
      _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
      }
      _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
      fd = s
      port = Int(UInt16(bigEndian: addr.sin_port))
      try #require(s >= 0 && bound == 0 && listen(s, 8) == 0)
    }

    deinit { close(fd) }

    /// What connected clients sent (connections the kernel completed while nobody accepted).
    func received() -> [String] {
      var out: [String] = []
      while true {
        let client = accept(fd, nil, nil)
        guard client >= 0 else { return out }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(client, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        out.append(n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : "")
        close(client)
      }
    }
  }

  /// An IPv4 address of this machine outside 127.0.0.0/8.
  static func nonLoopbackAddress() throws -> String {
    var list: UnsafeMutablePointer<ifaddrs>?
    try #require(getifaddrs(&list) == 0)
    defer { freeifaddrs(list) }
    var next = list
    while let entry = next {
      defer { next = entry.pointee.ifa_next }
      guard let a = entry.pointee.ifa_addr, a.pointee.sa_family == sa_family_t(AF_INET) else { continue }
      var ip = a.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
      guard UInt32(bigEndian: ip.s_addr) >> 24 != 127 else { continue }
      var text = [CChar](repeating: 0, count: 64)
      inet_ntop(AF_INET, &ip, &text, 64)
      return String(cString: text)
    }
    throw TransportError.refused(url: "", reason: "this machine has no non-loopback IPv4 address for the test")
  }

  /// Sends a request carrying a token and expects it refused with nothing reaching the listener.
  func expectRefusedAndNothingSent(_ transport: CurlTransport, _ url: String, _ listener: Listener) async throws {
    let token = "hvs.CAESIJtestTOKENnotSENTanywhere0123456789"
    await #expect {
      _ = try await transport.send(
        HTTPRequest(method: "GET", url: url, headers: [("X-Vault-Token", token)], timeout: .seconds(2)))
    } throws: { error in
      guard case .refused(_, let reason) = error as? TransportError else { return false }
      return reason.contains("loopback")
    }
    let sent = listener.received()
    #expect(sent.isEmpty, "the request reached the other host: \(sent)")
  }

  @Test func loopbackNameResolvedElsewhereIsRefusedAtConnect() async throws {
    let listener = try Listener()
    let elsewhere = try Self.nonLoopbackAddress()
    // `localhost` passes the name check; the (hostile) resolver answers another address.
    let transport = CurlTransport(resolve: ["localhost:\(listener.port):\(elsewhere)"])
    let url = "http://localhost:\(listener.port)/v1/auth/token/lookup-self"
    try await expectRefusedAndNothingSent(transport, url, listener)
  }

  @Test func trailingDotLocalhostIsRefused() async throws {
    let listener = try Listener()
    let elsewhere = try Self.nonLoopbackAddress()
    let transport = CurlTransport(resolve: ["localhost.:\(listener.port):\(elsewhere)"])
    try await expectRefusedAndNothingSent(transport, "http://localhost.:\(listener.port)/v1/sys/health", listener)
  }

  @Test func unencryptedSMTPToALoopbackNameResolvedElsewhereIsRefused() async throws {
    // smtp:// without STARTTLS is allowed for loopback only, and would send AUTH in clear.
    let listener = try Listener()
    let elsewhere = try Self.nonLoopbackAddress()
    let transport = CurlTransport(resolve: ["localhost:\(listener.port):\(elsewhere)"])
    await #expect {
      try await transport.sendMail(
        MailRequest(
          url: "smtp://localhost:\(listener.port)", from: "respond@example.test", recipients: ["oncall@example.test"],
          message: Data("Subject: x\r\n\r\nbody\r\n".utf8), username: "respond", password: "smtp-password-123",
          timeout: .seconds(2)))
    } throws: { error in
      guard case .refused(_, let reason) = error as? TransportError else { return false }
      return reason.contains("unencrypted SMTP is only allowed to loopback addresses")
    }
    #expect(listener.received().isEmpty)
  }

  @Test func literalLoopbackStillConnects() async throws {
    let listener = try Listener()
    // Nobody answers: the request is sent, then times out. What counts is that it connected.
    _ = try? await CurlTransport().send(
      HTTPRequest(method: "GET", url: "http://127.0.0.1:\(listener.port)/ok", timeout: .milliseconds(500)))
    #expect(listener.received().first?.hasPrefix("GET /ok HTTP/1.1") == true)
  }
}
