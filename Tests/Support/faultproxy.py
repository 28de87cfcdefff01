#!/usr/bin/env python3
"""A fault-injecting HTTP proxy on 127.0.0.1, for respond's fault tests.

    faultproxy.py --target http://127.0.0.1:PORT [--port 0] [--port-file FILE] [--latency-ms N]

Forwards every request (method, path, headers including Host, body) to the target base URL and
returns its answer unchanged, so SigV4-signed requests still verify at moto. A script injects
faults into the next N requests that match an operation:

    POST /_fault/script   [{"match": "ListAccessKeys", "kind": "status", "status": 503, "count": 2}, ...]
    GET  /_fault/stats    {"injected": {"status": 2, ...}, "forwarded": 17, "log": [[op, kind|null], ...],
                           "times": [[op, arrived, answered], ...]}   (epoch seconds, forwarded only)
    POST /_fault/reset    clears the script and the counters

`match` is compared with the request's operation: the Query `Action=` (form body or query
string), the X-Amz-Target suffix after the dot, or else a substring of the path. `count` -1
means for ever; an optional `method` (e.g. "POST") limits a rule to that HTTP method, an optional
`body` to requests whose body contains that text (one message among several to one webhook). Kinds:
    status     answer `status` (500, 503, ...) with an AWS-shaped XML (or JSON) error body
    throttle   answer 429 with `Retry-After: retry_after` (seconds) and a Throttling error
    reset      read the request, then close the connection with a TCP RST, answering nothing
    hang       read the request, then answer nothing for `seconds` (longer than the client waits)
    malformed  answer 200 with a body that is neither XML nor JSON
    truncated  answer 200 with a Content-Length larger than the body, then close
`--latency-ms N` holds every forwarded request N ms first, like the round trip to a distant
provider (bench/batch.sh uses it to compare clients where latency, not the emulator, dominates).
Only 127.0.0.1 is ever listened on or forwarded to.
"""
import argparse
import http.client
import json
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SCRIPT = []  # list of dicts with a remaining "count"
STATS = {"injected": {}, "forwarded": 0, "log": [], "times": []}
TARGET = None
LATENCY = 0.0  # seconds added before every forwarded request


def operation(handler, body):
    target = handler.headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    for source in (body.decode("utf-8", "replace"), urllib.parse.urlsplit(handler.path).query):
        action = urllib.parse.parse_qs(source).get("Action")
        if action:
            return action[0]
    return urllib.parse.urlsplit(handler.path).path


def take_fault(op, path, method, body=b""):
    with LOCK:
        for rule in SCRIPT:
            m = rule.get("match", "")
            if rule.get("method") and rule["method"] != method:
                continue
            if rule.get("body") and rule["body"] not in body.decode("utf-8", "replace"):
                continue
            if rule.get("count", 1) != 0 and (m == op or (m.startswith("/") and m in path)):
                if rule.get("count", 1) > 0:
                    rule["count"] -= 1
                STATS["injected"][rule["kind"]] = STATS["injected"].get(rule["kind"], 0) + 1
                STATS["log"].append([op, rule["kind"]])
                return dict(rule)
        STATS["forwarded"] += 1
        STATS["log"].append([op, None])
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY every keep-alive answer
    # waits for the client's delayed ACK (about 40 ms), which benchmarks would count as the
    # client's own time (bench/containment.sh).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, headers=(), length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def control(self, body):
        global SCRIPT
        if self.path == "/_fault/script" and self.command == "POST":
            with LOCK:
                SCRIPT = json.loads(body or b"[]")
            return self.reply(200, b"{}")
        if self.path == "/_fault/reset" and self.command == "POST":
            with LOCK:
                SCRIPT = []
                STATS["injected"] = {}
                STATS["forwarded"] = 0
                STATS["log"] = []
                STATS["times"] = []
            return self.reply(200, b"{}")
        if self.path == "/_fault/stats":
            with LOCK:
                data = json.dumps(STATS).encode()
            return self.reply(200, data, [("Content-Type", "application/json")])
        self.reply(404, b"no such control")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        arrived = time.time()
        if self.path.startswith("/_fault/"):
            return self.control(body)
        op = operation(self, body)
        fault = take_fault(op, self.path, self.command, body)
        json_api = bool(self.headers.get("X-Amz-Target")) or self.path.startswith("/v1/")
        if fault is None:
            if LATENCY:
                time.sleep(LATENCY)
            self.forward(body)
            # When each request was at the server, for benchmarks that tell a client's own time
            # (the gaps between requests) from the time it waited (bench/containment.sh).
            with LOCK:
                STATS["times"].append([op, arrived, time.time()])
            return
        kind = fault["kind"]
        if kind in ("status", "throttle"):
            status = 429 if kind == "throttle" else int(fault.get("status", 503))
            code = "Throttling" if kind == "throttle" else ("ServiceUnavailable" if status == 503 else "InternalFailure")
            message = f"injected {status} for {op}"
            if json_api:
                data = json.dumps({"__type": code, "message": message, "errors": [message]}).encode()
                ctype = "application/x-amz-json-1.1"
            else:
                data = (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>{message}"
                        f"</Message></Error><RequestId>fault</RequestId></ErrorResponse>").encode()
                ctype = "text/xml"
            headers = [("Content-Type", ctype)]
            if kind == "throttle":
                headers.append(("Retry-After", str(fault.get("retry_after", 1))))
            return self.reply(status, data, headers)
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if kind == "hang":
            time.sleep(float(fault.get("seconds", 5)))
            self.close_connection = True
            return
        if kind == "malformed":
            return self.reply(200, b"<<<this is not XML {nor JSON", [("Content-Type", "text/xml")])
        if kind == "truncated":
            self.reply(200, b"<ListAccessKeysResponse><ListAccessKeysRes", [("Content-Type", "text/xml")], length=4096)
            self.close_connection = True
            return
        self.reply(500, f"unknown fault kind {kind}".encode())

    def forward(self, body):
        conn = http.client.HTTPConnection(TARGET.hostname, TARGET.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "proxy-connection")}
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        skip = ("transfer-encoding", "connection", "content-length")
        self.reply(resp.status, data, [(k, v) for k, v in resp.getheaders() if k.lower() not in skip])

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # simultaneous first connections (a concurrent group), not Python's 5


def main():
    global TARGET, LATENCY
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--latency-ms", type=float, default=0)
    a = ap.parse_args()
    TARGET = urllib.parse.urlsplit(a.target)
    LATENCY = a.latency_ms / 1000
    if TARGET.hostname != "127.0.0.1":
        sys.exit("faultproxy: the target must be on 127.0.0.1")
    server = Server(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    print(port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
