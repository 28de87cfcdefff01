#!/usr/bin/env python3
"""CloudTrail's LookupEvents in front of moto, which lacks it (moto answers HTTP 500).

    cloudtrail_emulator.py --upstream http://127.0.0.1:MOTO [--latency-ms 80] [--rate 2]
                           [--port 0] [--port-file FILE]

A JSON-protocol request with X-Amz-Target com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents
is answered here from the events loaded for the request's region (the region of the SigV4
credential scope in its Authorization header), newest first, filtered by LookupAttributes,
StartTime and EndTime, MaxResults per page (default 50) with an opaque NextToken.
Every request body is checked against botocore's CloudTrail model (LookupEventsRequest) and
every answer against LookupEventsResponse, with botocore_model.py (the shapes are botocore's,
never written here): a request that does not conform is answered 400 ValidationException, an
answer that does not conform 500; both are recorded with the problems found.
Like CloudTrail, each region takes --rate requests per second (default 2): one more within a
second of the last two accepted answers 400 ThrottlingException. Everything else (IAM, STS,
Logs...) is forwarded to moto unchanged. --latency-ms adds that much time to every answer
(LookupEvents and forwarded), standing in for the distance to AWS in benchmarks.

    POST /_ct/events    {"region": "us-east-1", "records": [<CloudTrail record>, ...]}
                        adds events (records as CloudTrail writes them: eventID, eventTime, ...)
    POST /_ct/throttle  {"region": "eu-west-1", "count": 1}  the next COUNT requests of the
                        region answer ThrottlingException whatever the rate
    GET  /_ct/requests  [{"region", "start", "end", "status", "params", "problems", "error",
                          "events"}] every LookupEvents asked (times: arrival and answer, epoch s)
    POST /_ct/reset     forget events, requests and throttles
Listens on 127.0.0.1 only; the upstream must be on 127.0.0.1 too.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import botocore_model  # noqa: E402
import loopback  # noqa: E402

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
LOCK = threading.Lock()
EVENTS = {}       # region -> [Event] (records converted once, when loaded)
REQUESTS = []
THROTTLE = {}     # region -> forced throttles left
ACCEPTED = {}     # region -> arrival times of requests that were not throttled
UPSTREAM = None
LATENCY = 0.0
RATE = 2
# An arrival is early by this much at most from the client's pacing being measured on another
# clock (the same allowance the rate tests give).
ALLOWANCE = 0.05
CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def as_event(record):
    """A CloudTrail record as LookupEvents lists it (botocore's Event shape)."""
    identity = record.get("userIdentity") or {}
    event = {
        "EventId": record["eventID"], "EventName": record.get("eventName", ""),
        "ReadOnly": "true" if record.get("readOnly") else "false",
        "EventTime": parse_time(record["eventTime"]), "EventSource": record.get("eventSource", ""),
        "Resources": [{"ResourceType": r.get("type", ""), "ResourceName": r.get("ARN", "")}
                      for r in record.get("resources") or []],
        "CloudTrailEvent": json.dumps(record),
    }
    if identity.get("accessKeyId"):
        event["AccessKeyId"] = identity["accessKeyId"]
    if identity.get("userName"):
        event["Username"] = identity["userName"]
    return event


def matches(event, attributes, start, end):
    fields = {"EventId": event["EventId"], "EventName": event["EventName"], "ReadOnly": event["ReadOnly"],
              "Username": event.get("Username"), "EventSource": event["EventSource"],
              "AccessKeyId": event.get("AccessKeyId")}
    for a in attributes:
        key, value = a["AttributeKey"], a["AttributeValue"]
        if key in ("ResourceType", "ResourceName"):
            field = "ResourceType" if key == "ResourceType" else "ResourceName"
            if not any(r[field] == value for r in event["Resources"]):
                return False
        elif fields.get(key) != value:
            return False
    return (start is None or event["EventTime"] >= start) and (end is None or event["EventTime"] <= end)


def stamp(value):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def lookup(region, params):
    """(status, body) for a LookupEvents request that conformed to the model."""
    attributes = params.get("LookupAttributes", [])
    if len(attributes) > 1:
        return 400, {"__type": "InvalidLookupAttributesException",
                     "message": "You cannot specify more than one lookup attribute."}
    start, end = stamp(params.get("StartTime")), stamp(params.get("EndTime"))
    query = hashlib.sha256(json.dumps([region, attributes, start, end], sort_keys=True).encode()).hexdigest()[:16]
    offset = 0
    if params.get("NextToken"):
        try:
            token = json.loads(base64.urlsafe_b64decode(params["NextToken"].encode()))
            assert token["q"] == query
            offset = int(token["o"])
        except Exception:
            return 400, {"__type": "InvalidNextTokenException", "message": "Invalid NextToken."}
    with LOCK:
        events = list(EVENTS.get(region, []))
    events = sorted((e for e in events if matches(e, attributes, start, end)), key=lambda e: -e["EventTime"])
    size = params.get("MaxResults", 50)
    body = {"Events": events[offset:offset + size]}
    if offset + size < len(events):
        body["NextToken"] = base64.urlsafe_b64encode(json.dumps({"q": query, "o": offset + size}).encode()).decode()
    return 200, body


def admitted(region, now):
    """Whether the region's rate allows a request arriving now (and counts it if so)."""
    with LOCK:
        if THROTTLE.get(region, 0) > 0:
            THROTTLE[region] -= 1
            return False
        recent = [t for t in ACCEPTED.get(region, []) if t > now - 1.0 + ALLOWANCE]
        if len(recent) >= RATE:
            return False
        ACCEPTED[region] = recent + [now]
        return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, content_type, data):
        data = data.encode() if isinstance(data, str) else data
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if status >= 400 and content_type.startswith("application/x-amz-json"):
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/_ct/"):
            return self.control(body)
        # Arrival is when the request was read, before the added latency and before the work of
        # answering (the model checks): under many concurrent requests that work queues, and
        # stamping after it would bunch up arrivals the client had spaced out.
        arrival = time.time()
        if LATENCY:
            time.sleep(LATENCY)
        if self.headers.get("X-Amz-Target") == TARGET:
            return self.lookup_events(body, arrival)
        self.forward(body)

    def control(self, body):
        global REQUESTS
        spec = json.loads(body or b"{}")
        with LOCK:
            if self.path == "/_ct/events":
                EVENTS.setdefault(spec["region"], []).extend(as_event(r) for r in spec["records"])
            elif self.path == "/_ct/throttle":
                THROTTLE[spec["region"]] = THROTTLE.get(spec["region"], 0) + int(spec.get("count", 1))
            elif self.path == "/_ct/reset":
                EVENTS.clear(), THROTTLE.clear(), ACCEPTED.clear()
                REQUESTS = []
            elif self.path == "/_ct/requests":
                return self.reply(200, "application/json", json.dumps(REQUESTS))
            else:
                return self.reply(404, "text/plain", "no such control path")
        self.reply(200, "application/json", "{}")

    def lookup_events(self, body, arrival):
        found = CREDENTIAL.search(self.headers.get("Authorization") or "")
        entry = {"region": found.group(1) if found else None, "start": arrival, "problems": [], "error": None}
        status, answer = self.answer(entry, body, arrival)
        if status == 200:
            problems = botocore_model.check_json_body("cloudtrail", "LookupEvents", answer, "output")
            if problems:
                entry["problems"] += ["answer: " + p for p in problems]
                status, answer = 500, {"__type": "InternalFailure", "message": "the emulator's answer does not conform"}
            entry["events"] = len(answer.get("Events", []))
        entry["status"], entry["error"] = status, answer.get("__type")
        entry["end"] = time.time()
        with LOCK:
            REQUESTS.append(entry)
        self.reply(status, "application/x-amz-json-1.1", json.dumps(answer))

    def answer(self, entry, body, arrival):
        """(status, body) before the answer's own check."""
        if not entry["region"] or CREDENTIAL.search(self.headers.get("Authorization", "")).group(2) != "cloudtrail":
            entry["problems"].append("no SigV4 credential scope for cloudtrail in Authorization")
            return 400, {"__type": "MissingAuthenticationTokenException", "message": "Missing or invalid signature"}
        if not (self.headers.get("Content-Type") or "").startswith("application/x-amz-json-1.1"):
            entry["problems"].append(f"Content-Type {self.headers.get('Content-Type')!r}")
            return 400, {"__type": "SerializationException", "message": "expected application/x-amz-json-1.1"}
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            entry["problems"].append("the body is not JSON")
            return 400, {"__type": "SerializationException", "message": "the body is not JSON"}
        entry["params"] = params
        problems = botocore_model.check_json_body("cloudtrail", "LookupEvents", params, "input")
        if problems:
            entry["problems"] += problems
            return 400, {"__type": "ValidationException", "message": "; ".join(problems)}
        if not admitted(entry["region"], arrival):
            return 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
        return lookup(entry["region"], params)

    def forward(self, body):
        loopback.relay(self, UPSTREAM, self.path, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    # Every region's first request comes at once: with the default backlog of 5 connections the
    # kernel drops the rest, their clients resend a second later, and that second bunches each
    # region's later pages together (then throttled). AWS accepts them all.
    request_queue_size = 128


def main():
    global UPSTREAM, LATENCY, RATE
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--latency-ms", type=float, default=0)
    ap.add_argument("--rate", type=int, default=2)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    UPSTREAM = urllib.parse.urlsplit(a.upstream)
    if UPSTREAM.hostname != "127.0.0.1":
        raise SystemExit("cloudtrail_emulator: the upstream must be on 127.0.0.1")
    LATENCY, RATE = a.latency_ms / 1000, a.rate
    botocore_model.model("cloudtrail")  # fail at start, not on the first request, without botocore
    server = Server(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
