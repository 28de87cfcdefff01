#!/usr/bin/env python3
"""A recording HTTPS proxy on 127.0.0.1, for respond's proxy tests.

    recordingproxy.py --upstream http://127.0.0.1:PORT --cert CERT --key KEY [--port 0] [--port-file FILE]

It accepts `CONNECT host:port` (what a client sends through HTTPS_PROXY for an https:// URL),
records it, answers 200, then terminates TLS itself with CERT/KEY (a test certificate for the
requested name, which the client must be told to trust) and forwards every request inside the
tunnel to the upstream (always a loopback server, e.g. the OpenBao dev server over plain http).
Plain forward-proxy requests (`GET http://host/path`, what HTTP_PROXY gets) are recorded and
forwarded the same way. Whatever name the client asked for, nothing leaves 127.0.0.1.

    GET /_proxy/log     [{"kind": "connect", "target": "host:443"},
                         {"kind": "tunnelled", "target": "host:443", "method": "POST", "path": "/v1/..."},
                         {"kind": "forward", "method": "GET", "url": "http://host/x"}, ...]
    POST /_proxy/reset  forgets the log
"""
import argparse
import json
import os
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loopback

LOCK = threading.Lock()
LOG = []
UPSTREAM = None
TLS = None


def record(entry):
    with LOCK:
        LOG.append(entry)


def forward(handler, path):
    """Sends the handler's request to the upstream and copies the answer back."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    loopback.relay(handler, UPSTREAM, path, body, drop=("connection", "proxy-connection", "proxy-authorization"))
    handler.wfile.flush()


class Tunnelled(BaseHTTPRequestHandler):
    """Requests inside a CONNECT tunnel, after TLS was terminated here."""
    protocol_version = "HTTP/1.1"
    target = "?"

    def log_message(self, *args):
        pass

    def handle_any(self):
        record({"kind": "tunnelled", "target": self.target, "method": self.command, "path": self.path})
        forward(self, self.path)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_CONNECT(self):
        target = self.path
        record({"kind": "connect", "target": target})
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            tls = TLS.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError) as e:
            record({"kind": "tls-failed", "target": target, "error": str(e)})
            self.close_connection = True
            return
        handler = type("T", (Tunnelled,), {"target": target})
        try:
            handler(tls, self.client_address, self.server)
        except (ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def handle_any(self):
        if self.path.startswith("/_proxy/"):
            global LOG
            if self.path == "/_proxy/log":
                with LOCK:
                    data = json.dumps(LOG).encode()
                return self.reply(200, data)
            if self.path == "/_proxy/reset":
                with LOCK:
                    LOG = []
                return self.reply(200, b"{}")
            return self.reply(404, b"{}")
        # Absolute-form: a plain forward-proxy request.
        record({"kind": "forward", "method": self.command, "url": self.path})
        parts = urllib.parse.urlsplit(self.path)
        forward(self, (parts.path or "/") + ("?" + parts.query if parts.query else ""))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def main():
    global UPSTREAM, TLS
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    UPSTREAM = urllib.parse.urlsplit(a.upstream)
    if UPSTREAM.hostname != "127.0.0.1":
        sys.exit("recordingproxy: the upstream must be on 127.0.0.1")
    TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    TLS.load_cert_chain(a.cert, a.key)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Proxy)
    server.daemon_threads = True
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
