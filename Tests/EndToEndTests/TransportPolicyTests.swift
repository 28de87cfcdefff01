import Foundation
import RespondCore
import RespondTestSupport
import Testing

/// The transport policy as a user meets it, through the built `respond` and a real runbook
/// (vault-token-compromised against the OpenBao dev server): plain http to a host that is not
/// loopback is refused before any connection; a server whose certificate is not trusted is
/// refused; the proxy variables are honoured (HTTPS_PROXY, https_proxy, NO_PROXY) and loopback
/// targets are never proxied.
///
/// The proxy is `Tests/Support/recordingproxy.py`: it records every CONNECT and request, and
/// terminates the tunnelled TLS with a test certificate for `vault.localhost` (which respond is
/// told to trust through VAULT_CACERT), forwarding to OpenBao. `*.localhost` names are resolved
/// to loopback by libcurl itself (no DNS), yet are not "loopback" to respond's policy (only
/// `localhost`, 127/8 and ::1 are), so they exercise the path a remote host takes while nothing
/// leaves 127.0.0.1. The proxy also serves as a witness: a refused request must not reach it.
@Suite(.serialized) final class TransportPolicyTests {
  let services: TestServices
  let dir = NSTemporaryDirectory() + "respond-policy-" + UUID().uuidString
  let out: String
  var children: [Process] = []
  let cert: String
  let key: String

  init() throws {
    services = try TestServices.load()
    out = dir + "/incidents"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    cert = dir + "/cert.pem"
    key = dir + "/key.pem"
    _ = try runProgram(
      "/usr/bin/openssl",
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
        "-subj", "/CN=vault.localhost", "-addext", "subjectAltName=DNS:vault.localhost,IP:127.0.0.1",
      ])
  }

  deinit {
    for p in children {
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
    }
    removeTestOutput(dir)
  }

  /// Starts a python helper that writes its port to a file; returns the port.
  func start(_ script: String, _ args: [String]) throws -> Int {
    let portFile = dir + "/\(UUID().uuidString).port"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments =
      ["python3", services.repoRoot + "/Tests/Support/" + script, "--port", "0", "--port-file", portFile] + args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    children.append(p)
    for _ in 0..<150 {
      if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) { return port }
      usleep(100_000)
    }
    throw TestFailure("\(script) did not start within 15 s")
  }

  func startProxy() throws -> Int {
    try start("recordingproxy.py", ["--upstream", services.baoAddr, "--cert", cert, "--key", key])
  }

  func proxyLog(_ port: Int) throws -> [Value] {
    Value.parseJSON(
      try runProgram("/usr/bin/curl", ["-sS", "--fail", "--noproxy", "*", "http://127.0.0.1:\(port)/_proxy/log"]))?
      .arrayValue ?? []
  }

  func receiverRequests(_ port: Int, https: Bool) throws -> [Value] {
    let url = "\(https ? "https" : "http")://127.0.0.1:\(port)/_control/requests"
    return Value.parseJSON(try runProgram("/usr/bin/curl", ["-sS", "--fail", "-k", "--noproxy", "*", url]))?.arrayValue
      ?? []
  }

  /// A fresh child token of the root token: the "leaked" token.
  func leakedToken() throws -> String {
    let json = try runProgram(
      "/usr/bin/env", ["bao", "token", "create", "-format=json", "-policy=default", "-ttl=1h"],
      environment: services.vaultEnvironment)
    let token = try #require(Value.parseJSON(json)?.pointer("/auth/client_token")?.stringValue)
    recordTestSecret(token)
    return token
  }

  func vaultKnows(_ token: String) -> Bool {
    (try? runProgram("/usr/bin/env", ["bao", "token", "lookup", token], environment: services.vaultEnvironment)) != nil
  }

  /// `respond vault-token-compromised --token T --yes` with exactly `env`.
  func revoke(_ token: String, _ env: [String: String]) throws -> ProcessOutcome {
    var env = env
    env["HOME"] = dir
    return try runRespond(
      [
        "vault-token-compromised", "--token", token, "--yes", "--out", out,
        "--runbooks", services.repoRoot + "/Runbooks",
      ], environment: env, timeout: 120)
  }

  // MARK: - Plain http and untrusted certificates

  @Test func plainHTTPToARemoteHostIsRefusedBeforeAnyConnection() throws {
    let proxy = try startProxy()
    let token = try leakedToken()
    let proxyURL = "http://127.0.0.1:\(proxy)"
    // Had respond tried to connect, libcurl would have gone through the proxy (the host is remote).
    let o = try revoke(
      token,
      [
        "VAULT_ADDR": "http://vault.localhost:8200", "VAULT_TOKEN": services.baoToken,
        "http_proxy": proxyURL, "HTTPS_PROXY": proxyURL, "ALL_PROXY": proxyURL,
      ])
    #expect(o.status == 1, "\(o.stderr.suffix(1200))")
    #expect(o.stderr.contains("step 'lookup' failed"), "\(o.stderr.suffix(1200))")
    #expect(o.stderr.contains("plain http is only allowed to loopback hosts"), "\(o.stderr.suffix(1200))")
    let seen = try proxyLog(proxy)
    #expect(seen.isEmpty, "a refused request reached the network: \(seen)")
    #expect(vaultKnows(token))
    #expect(!o.stderr.contains(token) && !o.stderr.contains(services.baoToken))
  }

  @Test func aServerWithAnUntrustedCertificateIsRefused() throws {
    let tlsReceiver = try start("receiver.py", ["--tls-cert", cert, "--tls-key", key])
    let token = try leakedToken()
    let o = try revoke(token, ["VAULT_ADDR": "https://127.0.0.1:\(tlsReceiver)", "VAULT_TOKEN": services.baoToken])
    #expect(o.status == 1, "\(o.stderr.suffix(1200))")
    #expect(o.stderr.contains("step 'lookup' failed"), "\(o.stderr.suffix(1200))")
    #expect(
      o.stderr.lowercased().contains("tls") || o.stderr.lowercased().contains("certificate"), "\(o.stderr.suffix(1200))"
    )
    #expect(try receiverRequests(tlsReceiver, https: true).isEmpty, "no request may cross an unverified connection")
    #expect(!o.stderr.contains(token) && !o.stderr.contains(services.baoToken))
    // The same server, trusted explicitly, is talked to: the refusal was about trust, not reachability.
    let trusted = try revoke(
      token,
      [
        "VAULT_ADDR": "https://127.0.0.1:\(tlsReceiver)", "VAULT_TOKEN": services.baoToken,
        "VAULT_CACERT": cert,
      ])
    #expect(
      try receiverRequests(tlsReceiver, https: true).contains { $0["path"] == "/v1/auth/token/lookup" },
      "with VAULT_CACERT the request is sent: \(trusted.stderr.suffix(600))")
  }

  // MARK: - Proxies

  @Test(arguments: ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
  func theProxyVariablesAreHonoured(_ variable: String) throws {
    let proxy = try startProxy()
    let token = try leakedToken()
    let o = try revoke(
      token,
      [
        "VAULT_ADDR": "https://vault.localhost:8200", "VAULT_TOKEN": services.baoToken,
        "VAULT_CACERT": cert, variable: "http://127.0.0.1:\(proxy)",
      ])
    #expect(o.status == 0, "\(variable): \(o.stderr.suffix(1500))")
    #expect(!vaultKnows(token), "\(variable): the token was revoked through the proxy")
    let log = try proxyLog(proxy)
    #expect(log.first?["kind"] == "connect" && log.first?["target"] == "vault.localhost:8200", "\(variable): \(log)")
    let paths = log.filter { $0["kind"] == "tunnelled" }.compactMap { $0["path"]?.stringValue }
    #expect(paths.contains("/v1/auth/token/lookup") && paths.contains("/v1/auth/token/revoke"), "\(variable): \(paths)")
  }

  @Test func noProxyIsHonoured() throws {
    let proxy = try startProxy()
    let direct = try start("receiver.py", ["--tls-cert", cert, "--tls-key", key])
    let token = try leakedToken()
    let o = try revoke(
      token,
      [
        "VAULT_ADDR": "https://vault.localhost:\(direct)", "VAULT_TOKEN": services.baoToken,
        "VAULT_CACERT": cert, "HTTPS_PROXY": "http://127.0.0.1:\(proxy)",
        "NO_PROXY": "example.test,vault.localhost",
      ])
    let seen = try proxyLog(proxy)
    #expect(seen.isEmpty, "NO_PROXY names the host, yet the proxy saw: \(seen)")
    #expect(
      try receiverRequests(direct, https: true).contains { $0["path"] == "/v1/auth/token/lookup" },
      "the request went straight to the server: \(o.stderr.suffix(800))")
  }

  @Test func loopbackTargetsAreNeverProxied() throws {
    let proxy = try startProxy()
    let token = try leakedToken()
    let proxyURL = "http://127.0.0.1:\(proxy)"
    var env = services.vaultEnvironment
    for v in ["HTTPS_PROXY", "https_proxy", "http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"] { env[v] = proxyURL }
    let o = try revoke(token, env)
    #expect(o.status == 0, "\(o.stderr.suffix(1500))")
    #expect(!vaultKnows(token))
    let seen = try proxyLog(proxy)
    #expect(seen.isEmpty, "a loopback target went through the proxy: \(seen)")
  }
}
