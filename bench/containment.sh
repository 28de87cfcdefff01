#!/usr/bin/env bash
# Benchmark: time to containment of a leaked AWS key with 80 ms added to every call, by
#   (a) `respond key-compromised --key K --yes` (release build), times from its report.json;
#   (b) bench/boto3_containment.py, the same calls in the same order (the same ones together) in one
#       boto3 process.
# Containment is the issue's (16): the key verified Inactive, and the owner's sessions issued
# before now denied and the deny read back. Every AWS call goes through Tests/Support/faultproxy.py
# --latency-ms 80 to moto (SigV4 checking on), which records when each request was at the server;
# respond's own time is the part of its containment window when no request of its was there.
# Two set-ups: "bare" (no notification configured) and "paged" (PagerDuty and Slack, both at the
# recording receiver behind another 80 ms proxy: the runbook pages before the first change).
# CloudTrail (after containment) is answered by Tests/Support/cloudtrail_emulator.py, empty.
# The 17-region target is measured by bench/cloudtrail-regions.sh, not here.
# Usage: bench/containment.sh [ROUNDS]   (default 5)
#        RESPOND_BIN=path skips the release build (scripts/build-release.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-5}"
cd "$ROOT"
"$ROOT/scripts/setup.sh" >/dev/null
BIN="${RESPOND_BIN:-$("$ROOT/scripts/build-release.sh")}"
export RESPOND_SERVICES_DIR="$ROOT/.build-bench"
OUT="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  "$ROOT/scripts/services.sh" down >/dev/null 2>&1 || true
  rm -rf "$OUT"
}
trap cleanup EXIT
"$ROOT/scripts/services.sh" up 2>/dev/null
set -a; . "$RESPOND_SERVICES_DIR/services.env"; set +a

start_server() { # name, command... -> waits for its port file, prints the URL
  local name="$1"; shift
  "$@" --port-file "$OUT/$name.port" >/dev/null 2>"$OUT/$name.err" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$OUT/$name.port" ] && break; sleep 0.1; done
  echo "http://127.0.0.1:$(cat "$OUT/$name.port")"
}
AWS_PROXY=$(start_server aws python3 "$ROOT/Tests/Support/faultproxy.py" --target "$RESPOND_TEST_MOTO_URL" --latency-ms 80)
NOTIFY_PROXY=$(start_server notify python3 "$ROOT/Tests/Support/faultproxy.py" --target "$RESPOND_TEST_RECEIVER_URL" --latency-ms 80)
TRAIL=$(start_server trail python3 "$ROOT/Tests/Support/cloudtrail_emulator.py" --upstream "$RESPOND_TEST_MOTO_URL" --latency-ms 80)

export AWS_ACCESS_KEY_ID="$RESPOND_TEST_AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$RESPOND_TEST_AWS_SECRET_ACCESS_KEY"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="$AWS_PROXY"
export AWS_ENDPOINT_URL_CLOUDTRAIL="$TRAIL"
FIX="python3 $ROOT/Tests/Support/moto_fixture.py"
plant() { $FIX user "$RESPOND_TEST_MOTO_URL" "$1" | awk '{print $1}'; }  # straight to moto: no latency
reset() { curl -sf -X POST "$AWS_PROXY/_fault/reset" >/dev/null; curl -sf -X POST "$NOTIFY_PROXY/_fault/reset" >/dev/null; }
times() { # the requests both proxies saw since the last reset, as one JSON list
  python3 -c 'import json,sys,urllib.request
print(json.dumps([t for u in sys.argv[1:] for t in json.load(urllib.request.urlopen(u + "/_fault/stats"))["times"]]))' \
    "$AWS_PROXY" "$NOTIFY_PROXY"
}
paged_env() {
  env PAGERDUTY_ROUTING_KEY="R0UT1NGKEY$(printf '%032d' "$RANDOM")" PAGERDUTY_EVENTS_URL="$NOTIFY_PROXY/bench/pagerduty" \
    SLACK_WEBHOOK_URL="$NOTIFY_PROXY/bench/slack" "$@"
}
now() { local t=${EPOCHREALTIME/./}; echo "${t:0:-6}.${t: -6}"; }

# One line of JSON per run: contestant, set-up, launch time, window (start, inactive, denied), requests.
RESULTS="$OUT/results.jsonl"
for r in $(seq 1 "$ROUNDS"); do
  for setup in bare paged; do
    wrap=(); [ "$setup" = paged ] && wrap=(paged_env)
    a=$(plant "c$r-$setup-respond-$$"); b=$(plant "c$r-$setup-boto-$$")
    reset; launched=$(now)
    "${wrap[@]}" "$BIN" key-compromised --key "$a" --yes --out "$OUT/i" >"$OUT/stdout" 2>"$OUT/err" || { cat "$OUT/err"; exit 1; }
    report="$(dirname "$(tail -1 "$OUT/stdout")")/report.json"
    python3 - "$report" "$setup" "$launched" "$(times)" >>"$RESULTS" <<'PY'
import datetime, json, sys
report, setup, launched, reqs = json.load(open(sys.argv[1])), sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])
at = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
done = {s["id"]: at(s["finished-at"]) for s in report["steps"] if s.get("finished-at")}
assert report["verdict"] == "CONTAINED", report["verdict"]
print(json.dumps({"who": "respond", "setup": setup, "launched": launched, "start": at(report["started-at"]),
                  "inactive": done["check-inactive"], "denied": done["check-user-sessions-denied"], "requests": reqs}))
PY
    reset; launched=$(now)
    "${wrap[@]}" python3 "$ROOT/bench/boto3_containment.py" "$b" >"$OUT/boto" || exit 1
    python3 - "$OUT/boto" "$setup" "$launched" "$(times)" >>"$RESULTS" <<'PY'
import json, sys
b, setup, launched, reqs = json.load(open(sys.argv[1])), sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])
print(json.dumps({"who": "boto3", "setup": setup, "launched": launched, "start": b["start"],
                  "inactive": b["inactive"], "denied": b["denied"], "requests": reqs}))
PY
  done
  echo "round $r done" >&2
done

python3 - "$RESULTS" "$ROUNDS" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median

def busy(reqs, lo, hi):
    """Union of the intervals some request was at a server, clipped to [lo, hi]; and the number of
    separate stretches (sequential round trips: overlapping requests make one)."""
    spans = sorted((max(a, lo), min(b, hi)) for _, a, b in reqs if b > lo and a < hi)
    total, count, end = 0.0, 0, lo
    for a, b in spans:
        if a >= end:
            count += 1
            total += b - a
        elif b > end:
            total += b - end
        end = max(end, b)
    return total, count

rtt = med(b - a for r in runs for _, a, b in r["requests"]) * 1000
print(f"Time to containment, 80 ms added to every call, median of {sys.argv[2]} rounds (ms);")
print(f"one round trip (80 ms + the server, median over all requests): {rtt:.0f} ms")
print(f"target: 3 round trips + 20 ms of respond's own time = {3 * rtt + 20:.0f} ms")
for setup in ("bare", "paged"):
    print(f"\n{setup}:")
    print(f"  {'':8} {'Inactive':>9} {'+denied':>9} {'trips':>6} {'own':>7} {'trips':>6} {'own':>7} {'start-up':>9}"
          f" {'launch to':>10} {'trips':>6}")
    print(f"  {'':8} {'verified':>9} {'read back':>9} {'to Inact.':>13} {'to denied':>14} {'':>9} {'denied':>10}")
    for who in ("respond", "boto3"):
        rs = [r for r in runs if r["who"] == who and r["setup"] == setup]
        row = {"inactive": [], "denied": [], "ti": [], "oi": [], "td": [], "od": [], "up": [], "wall": [], "tw": []}
        for r in rs:
            for end, t, o in (("inactive", "ti", "oi"), ("denied", "td", "od")):
                window = r[end] - r["start"]
                waited, trips = busy(r["requests"], r["start"], r[end])
                row[end].append(window * 1000)
                row[t].append(trips)
                row[o].append((window - waited) * 1000)
            row["up"].append((r["start"] - r["launched"]) * 1000)
            row["wall"].append((r["denied"] - r["launched"]) * 1000)
            row["tw"].append(busy(r["requests"], r["launched"], r["denied"])[1])
        m = {k: med(v) for k, v in row.items()}
        print(f"  {who:8} {m['inactive']:9.0f} {m['denied']:9.0f} {m['ti']:6.0f} {m['oi']:7.1f} {m['td']:6.0f}"
              f" {m['od']:7.1f} {m['up']:9.0f} {m['wall']:10.0f} {m['tw']:6.0f}")
print("\ntrips: separate stretches with a request at a server (requests in flight together count once);")
print("own: the window minus those stretches; start-up: launch to the first clock (respond: the report's")
print("started-at, after its preflight calls; boto3: after its imports and clients), not in the window;")
print("launch to denied: the whole wall time from the process launch, start-up and preflight included.")
PY
