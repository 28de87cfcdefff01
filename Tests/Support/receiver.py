#!/usr/bin/env python3
"""A tiny recording HTTP(S) receiver for respond's tests: Slack, PagerDuty and webhook endpoints,
and recorded provider responses (GitHub, GitLab, ...).

Every request is recorded. Responses are scripted per path through a control API:

  POST /_control/script   {"path": "/hook", "responses": [{"status": 503, "headers": {"Retry-After": "1"},
                           "body": "busy", "delay": 0.0}, ...], "default": {"status": 200, "body": "ok"}}
                           Responses are served in order for that exact path (any method); when the queue
                           is empty the path's default (or 200 "ok") answers. "delay" sleeps before answering
                           (to provoke client timeouts); "close": true drops the connection without an answer.
  GET  /_control/requests[?path=/hook]   recorded requests as JSON: method, path, query, headers, body (text),
                           body_b64, time
  POST /_control/reset    forget scripts, recordings and contracts
  POST /_control/contract {"prefix": "/github", "spec": "github.json"}   every request whose path starts with
                           prefix is checked (prefix cut off) against that provider's own OpenAPI description
                           in Tests/Support/openapi/ (check_request.py, openapi-core): a request the provider
                           would reject is answered 400 with the checker's reason (and recorded with
                           "contract": reason); the scripted answer, when its status is one the description
                           lists, is checked against the response schema and replaced by a 500 saying why.
                           Optional "security": false skips the auth check.

--record FILE also appends every recorded request to FILE as one JSON line (kept after a reset):
what respond sent (notifications among it) is one of its outputs, which the end-of-run secrets
scan (scripts/secrets-scan.py) reads.

Listens on 127.0.0.1 only. --port 0 picks a free port; --port-file writes the chosen port.
--tls-cert/--tls-key serve HTTPS (tests use a self-signed certificate to prove respond refuses it).
"""
import argparse, base64, json, os, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

LOCK = threading.Lock()
SCRIPTS = {}    # path -> list of responses
DEFAULTS = {}   # path -> response
RECORDS = []
RECORD_FILE = None  # --record: every request, one JSON line each, never forgotten
CONTRACTS = {}  # path prefix -> {"spec": file in Tests/Support/openapi, "security": bool}
OPENAPI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi")


def contract_for(path):
    """The contract covering path (longest prefix first), with the provider path under it."""
    with LOCK:
        for prefix in sorted(CONTRACTS, key=len, reverse=True):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return CONTRACTS[prefix], path[len(prefix.rstrip("/")):] or "/"
    return None, None


def check_contract(contract, method, provider_path, query, headers, body, answer=None):
    """The checker's reason when the request (or the canned answer) breaks the description, else None.
    Imported lazily: only contract tests need openapi-core."""
    if OPENAPI not in sys.path:
        sys.path.insert(0, OPENAPI)
    try:
        import check_request
    except ImportError as e:  # openapi-core missing: every checked request fails, saying why
        return f"CHECKER ERROR: {e} (scripts/setup.sh installs openapi-core)"
    url = "http://127.0.0.1" + provider_path + ("?" + query if query else "")
    kwargs = {}
    if answer is not None:
        out = answer.get("body", "")
        out = json.dumps(out) if isinstance(out, (dict, list)) else out
        kwargs = dict(response_status=int(answer.get("status", 200)),
                      response_body=out.encode() if isinstance(out, str) else out,
                      response_content_type=(answer.get("headers") or {}).get("Content-Type", "application/json"),
                      skip_undescribed_response=True)
    try:
        return check_request.check(os.path.join(OPENAPI, contract["spec"]), method, url,
                                   {k: v for k, v in headers.items()}, body or None,
                                   headers.get("Content-Type"), not contract.get("security", True), **kwargs)
    except Exception as e:  # noqa: BLE001 - a checker crash must fail the test, not pass it
        return f"CHECKER ERROR: {type(e).__name__}: {e}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY every keep-alive answer
    # waits ~40 ms for the client's delayed ACK (Nagle), which would hide respond's own latency.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, headers, body):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        parts = urlsplit(self.path)
        body = self._body()
        if parts.path.startswith("/_control/"):
            return self._control(parts, body)
        record = {
            "method": self.command, "path": parts.path, "query": parts.query,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"), "body_b64": base64.b64encode(body).decode(),
            "time": time.time(),
        }
        with LOCK:
            RECORDS.append(record)
            if RECORD_FILE:
                with open(RECORD_FILE, "a") as f:
                    f.write(json.dumps(record) + "\n")
            queue = SCRIPTS.get(parts.path) or []
            resp = queue.pop(0) if queue else DEFAULTS.get(parts.path, {"status": 200, "body": "ok"})
        contract, provider_path = contract_for(parts.path)
        if contract is not None:
            problem = check_contract(contract, self.command, provider_path, parts.query, self.headers, body)
            if problem is None and not resp.get("close"):
                answer_problem = check_contract(contract, self.command, provider_path, parts.query, self.headers,
                                                body, resp)
                if answer_problem:
                    resp = {"status": 500, "body": {"message": "canned answer breaks the description: "
                                                    + answer_problem}}
            if problem:
                record["contract"] = problem
                resp = {"status": 400, "headers": {"Content-Type": "application/json"},
                        "body": {"message": problem}}
        if resp.get("delay"):
            time.sleep(float(resp["delay"]))
        if resp.get("close"):
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        body_out = resp.get("body", "")
        if isinstance(body_out, (dict, list)):
            body_out = json.dumps(body_out)
        self._send(int(resp.get("status", 200)), resp.get("headers"), body_out)

    def _control(self, parts, body):
        global RECORDS
        if parts.path == "/_control/script":
            spec = json.loads(body or b"{}")
            with LOCK:
                SCRIPTS[spec["path"]] = list(spec.get("responses", []))
                if "default" in spec:
                    DEFAULTS[spec["path"]] = spec["default"]
            return self._send(200, {"Content-Type": "application/json"}, "{}")
        if parts.path == "/_control/contract":
            spec = json.loads(body or b"{}")
            if not os.path.isfile(os.path.join(OPENAPI, os.path.basename(spec.get("spec", "")))):
                return self._send(400, {}, "unknown spec: " + str(spec.get("spec")))
            with LOCK:
                CONTRACTS[spec["prefix"]] = {"spec": os.path.basename(spec["spec"]),
                                             "security": spec.get("security", True)}
            return self._send(200, {"Content-Type": "application/json"}, "{}")
        if parts.path == "/_control/requests":
            want = parse_qs(parts.query).get("path", [None])[0]
            with LOCK:
                out = [r for r in RECORDS if want is None or r["path"] == want]
            return self._send(200, {"Content-Type": "application/json"}, json.dumps(out))
        if parts.path == "/_control/reset":
            with LOCK:
                SCRIPTS.clear(); DEFAULTS.clear(); CONTRACTS.clear(); RECORDS = []
            return self._send(200, {"Content-Type": "application/json"}, "{}")
        return self._send(404, {}, "unknown control path")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--record")
    a = ap.parse_args()
    global RECORD_FILE
    RECORD_FILE = a.record
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        import os
        os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
