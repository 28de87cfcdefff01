#!/usr/bin/env python3
"""IAM's SimulatePrincipalPolicy in front of moto, which lacks it (moto answers HTTP 500).

    iam_simulator.py --upstream http://127.0.0.1:MOTO [--deny iam:UpdateAccessKey]... [--refuse]
                     [--port 0] [--port-file FILE]

A query-protocol request with Action=SimulatePrincipalPolicy is answered here: every action named
in ActionNames.member.N is "allowed" unless given with --deny ("implicitDeny"), on the resource
of ResourceArns.member.1 (or *); with --refuse the
simulation itself is refused with IAM's AccessDenied error (a responder not allowed to simulate).
Everything else is forwarded to moto unchanged, so the rest of IAM behaves as moto does.
The answer's shape is botocore's (iam service-2.json, SimulatePolicyResponse); tests check both
the request's parameters and the answer against that model with botocore_model.py.

    GET  /_sim/requests   [{"params": {...}, "answer": "<xml>"}, ...]  every simulation asked
Listens on 127.0.0.1 only.
"""
import argparse
import json
import os
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import loopback

LOCK = threading.Lock()
SIMULATIONS = []
UPSTREAM = None
DENY = set()
REFUSE = False
NS = "https://iam.amazonaws.com/doc/2010-05-08/"


def simulation_answer(params):
    """The SimulatePrincipalPolicy answer for these parameters, as IAM writes it."""
    names = [v for k, v in sorted(params.items(), key=lambda kv: kv[0]) if k.startswith("ActionNames.member.")]
    names.sort(key=lambda n: n)
    resource = escape(params.get("ResourceArns.member.1", "*"))
    members = []
    for name in names:
        decision = "implicitDeny" if name.lower() in DENY else "allowed"
        members.append(
            "      <member>\n"
            f"        <EvalActionName>{escape(name)}</EvalActionName>\n"
            f"        <EvalResourceName>{resource}</EvalResourceName>\n"
            f"        <EvalDecision>{decision}</EvalDecision>\n"
            "        <MatchedStatements/>\n"
            "        <MissingContextValues/>\n"
            "      </member>\n")
    return (
        f'<SimulatePrincipalPolicyResponse xmlns="{NS}">\n'
        "  <SimulatePrincipalPolicyResult>\n"
        "    <IsTruncated>false</IsTruncated>\n"
        "    <EvaluationResults>\n" + "".join(members) + "    </EvaluationResults>\n"
        "  </SimulatePrincipalPolicyResult>\n"
        f"  <ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>\n"
        "</SimulatePrincipalPolicyResponse>\n")


def refusal(params):
    source = escape(params.get("PolicySourceArn", "?"))
    return (
        f'<ErrorResponse xmlns="{NS}">\n'
        "  <Error><Type>Sender</Type><Code>AccessDenied</Code>\n"
        f"    <Message>User: {source} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: {source}</Message>\n"
        "  </Error>\n"
        f"  <RequestId>{uuid.uuid4()}</RequestId>\n"
        "</ErrorResponse>\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, content_type, data):
        data = data.encode() if isinstance(data, str) else data
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/_sim/requests":
            with LOCK:
                return self.reply(200, "application/json", json.dumps(SIMULATIONS))
        params = {}
        if self.command == "POST" and "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if params.get("Action") == "SimulatePrincipalPolicy":
            status, answer = (403, refusal(params)) if REFUSE else (200, simulation_answer(params))
            with LOCK:
                SIMULATIONS.append({"params": params, "answer": answer, "status": status})
            return self.reply(status, "text/xml", answer)
        self.forward(body)

    def forward(self, body):
        loopback.relay(self, UPSTREAM, self.path, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    global UPSTREAM, DENY, REFUSE
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--deny", action="append", default=[])
    ap.add_argument("--refuse", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    UPSTREAM = urllib.parse.urlsplit(a.upstream)
    if UPSTREAM.hostname != "127.0.0.1":
        raise SystemExit("iam_simulator: the upstream must be on 127.0.0.1")
    DENY = {d.lower() for d in a.deny}
    REFUSE = a.refuse
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
