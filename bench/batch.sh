#!/usr/bin/env bash
# Benchmark: a batch of leaked AWS keys (default 200, one per IAM user) answered (a) by
# `respond key-compromised --from LIST --parallel N`, (b) by a sequential loop of the aws CLI
# script (bench/aws_cli_response.sh, one key after another), (c) by one Python process looping
# with boto3 (bench/boto3_batch.py) — against the same fresh local moto (SigV4 checked). Each
# contestant gets its own fresh keys. No vault path or log group (a batch shares its inputs).
# CloudTrail LookupEvents goes to the recording receiver's empty answer, as in key-compromised.sh
# (moto answers it with HTTP 500).
#
# respond runs twice: with the documented AWS rate limits it enforces by default (IAM 10/s per
# account, CloudTrail LookupEvents 2/s per account and region: the batch is bounded by them) and
# with them raised for the local emulator through RESPOND_AWS_RATE_LIMITS (RAISED below).
# Prints keys per second, the ratios, and the moto server's CPU share of each contestant's time.
#
# With LATENCY_MS=N every AWS call of every contestant goes through Tests/Support/faultproxy.py,
# which holds it N ms first: the round trip to a real provider, where a sequential client waits
# and a parallel one does not (on 2 cores the local emulator's CPU, not latency, bounds the
# default run).
#
# Usage: bench/batch.sh [KEYS]   (default 200)
#   env: PARALLEL (default 16), CLI_KEYS (keys for the aws CLI loop, default 20: ~6 s a key),
#        RAISED (default "iam=1000,sts=1000,cloudtrail=1000"), LATENCY_MS (default 0)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYS="${1:-200}"
PARALLEL="${PARALLEL:-16}"
LATENCY_MS="${LATENCY_MS:-0}"
CLI_KEYS="${CLI_KEYS:-20}"
RAISED="${RAISED:-iam=1000,sts=1000,cloudtrail=1000}"
cd "$ROOT"
"$ROOT/scripts/setup.sh" >/dev/null
BIN="$("$ROOT/scripts/build-release.sh")"
export RESPOND_SERVICES_DIR="$ROOT/.build-bench-batch"
trap '"$ROOT/scripts/services.sh" down >/dev/null 2>&1 || true' EXIT
"$ROOT/scripts/services.sh" up 2>/dev/null
set -a; . "$RESPOND_SERVICES_DIR/services.env"; set +a
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_ACCESS_KEY_ID="$RESPOND_TEST_AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$RESPOND_TEST_AWS_SECRET_ACCESS_KEY"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="$RESPOND_TEST_MOTO_URL"
if [ "$LATENCY_MS" != "0" ]; then  # fixtures still plant straight into moto
  python3 "$ROOT/Tests/Support/faultproxy.py" --target "$RESPOND_TEST_MOTO_URL" --latency-ms "$LATENCY_MS" \
    --port-file "$RESPOND_SERVICES_DIR/latency.port" >/dev/null 2>&1 &
  PROXY_PID=$!
  trap 'kill $PROXY_PID 2>/dev/null; "$ROOT/scripts/services.sh" down >/dev/null 2>&1 || true' EXIT
  for _ in $(seq 1 50); do [ -s "$RESPOND_SERVICES_DIR/latency.port" ] && break; sleep 0.1; done
  export AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$RESPOND_SERVICES_DIR/latency.port")"
fi
export AWS_PAGER=""
curl -sf -X POST "$RESPOND_TEST_RECEIVER_URL/_control/script" \
  -d '{"path": "/cloudtrail", "responses": [], "default": {"status": 200, "headers": {"Content-Type": "application/x-amz-json-1.1"}, "body": "{\"Events\": []}"}}' >/dev/null
export AWS_ENDPOINT_URL_CLOUDTRAIL="$RESPOND_TEST_RECEIVER_URL/cloudtrail"
export RESPOND_TEST_AWS_ACCESS_KEY_ID RESPOND_TEST_AWS_SECRET_ACCESS_KEY
OUT="$(mktemp -d)"
MOTO_PID="$(cat "$RESPOND_SERVICES_DIR/pids/moto")"

plant() { # name count -> writes $OUT/name.txt with one leaked key id a line (one user each)
  local name="$1" n="$2"
  python3 "$ROOT/Tests/Support/batch_fixture.py" plant "$RESPOND_TEST_MOTO_URL" "bench-$name" \
    "$(python3 -c "import json,sys; print(json.dumps([{'live': 1}] * int(sys.argv[1])))" "$n")" \
    | python3 -c 'import json,sys; print("\n".join(u["live"][0]["id"] for u in json.load(sys.stdin)))' >"$OUT/$name.txt"
}
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# moto's CPU time so far (user + system), in ms.
moto_cpu_ms() { python3 -c "import os,sys; f=open('/proc/%s/stat'%sys.argv[1]).read().rsplit(')',1)[1].split(); print(int((int(f[11])+int(f[12]))*1000/os.sysconf('SC_CLK_TCK')))" "$MOTO_PID"; }

declare -A WALL CPU N
race() { # label keys command... ; runs the command, records wall ms and moto CPU ms
  local label="$1" n="$2"; shift 2
  local c0 s e c1
  c0=$(moto_cpu_ms); s=$(now_ms)
  "$@"
  e=$(now_ms); c1=$(moto_cpu_ms)
  WALL[$label]=$((e - s)); CPU[$label]=$((c1 - c0)); N[$label]=$n
  echo "$label: $n keys in ${WALL[$label]} ms (moto CPU ${CPU[$label]} ms)" >&2
}
respond_batch() { # list out [rate limits]
  RESPOND_AWS_RATE_LIMITS="${3:-}" "$BIN" key-compromised --from "$1" --parallel "$PARALLEL" --yes --out "$2" \
    >"$2.stdout" 2>"$2.stderr" || { tail -20 "$2.stderr"; exit 1; }
  grep -q "batch of $(grep -c . "$1") key(s): $(grep -c . "$1") completed" "$2.stderr" || { tail -20 "$2.stderr"; exit 1; }
}
cli_loop() { while read -r k; do bash "$ROOT/bench/aws_cli_response.sh" "$k" - - >/dev/null; done <"$1"; }

plant respond-documented "$KEYS"; plant respond-raised "$KEYS"; plant boto3 "$KEYS"; plant cli "$CLI_KEYS"
race "respond (documented limits)" "$KEYS" respond_batch "$OUT/respond-documented.txt" "$OUT/documented"
race "respond (raised limits)" "$KEYS" respond_batch "$OUT/respond-raised.txt" "$OUT/raised" "$RAISED"
race "boto3 loop" "$KEYS" python3 "$ROOT/bench/boto3_batch.py" "$OUT/boto3.txt"
race "aws CLI loop" "$CLI_KEYS" cli_loop "$OUT/cli.txt"

python3 - "$PARALLEL" "$RAISED" "$LATENCY_MS" \
  "${N[respond (documented limits)]}" "${WALL[respond (documented limits)]}" "${CPU[respond (documented limits)]}" \
  "${N[respond (raised limits)]}" "${WALL[respond (raised limits)]}" "${CPU[respond (raised limits)]}" \
  "${N[boto3 loop]}" "${WALL[boto3 loop]}" "${CPU[boto3 loop]}" \
  "${N[aws CLI loop]}" "${WALL[aws CLI loop]}" "${CPU[aws CLI loop]}" <<'PY'
import sys
parallel, raised, latency = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [("respond --parallel %s, documented limits" % parallel,) + tuple(map(float, sys.argv[4:7])),
        ("respond --parallel %s, limits %s" % (parallel, raised),) + tuple(map(float, sys.argv[7:10])),
        ("boto3, one process, sequential",) + tuple(map(float, sys.argv[10:13])),
        ("aws CLI script, sequential",) + tuple(map(float, sys.argv[13:16]))]
boto = rows[2][1] / (rows[2][2] / 1000)
print(f"batch of leaked keys against moto, {latency} ms added to every AWS call "
      f"(keys/s = keys / wall time; moto CPU = share of the wall time moto was busy)")
print(f"  {'contestant':58} {'keys':>5} {'wall s':>8} {'keys/s':>8} {'x boto3':>8} {'moto CPU':>9}")
for name, n, wall, cpu in rows:
    rate = n / (wall / 1000)
    print(f"  {name:58} {int(n):5d} {wall / 1000:8.1f} {rate:8.2f} {rate / boto:8.2f} {100 * cpu / wall:8.0f}%")
PY
