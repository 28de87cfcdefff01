#!/usr/bin/env bash
# Benchmark: one key's CloudTrail event history in 17 regions, by
#   (a) respond's aws.cloudtrail.lookup-events (through bench/cloudtrail-regions.yaml): every
#       region at once, each paced at CloudTrail's 2 requests per second;
#   (b) bench/boto3_cloudtrail_regions.py: boto3, one region after another, equally paced;
# and respond over one region, for the issue's target (17 regions in under twice the time of one).
# All against Tests/Support/cloudtrail_emulator.py with 80 ms added to every answer (the distance
# to AWS), PAGES pages of 50 events per region, the emulator throttling any region above 2/s.
# Prints the median wall time of ROUNDS runs each and the ratios.
# Usage: bench/cloudtrail-regions.sh [ROUNDS] [PAGES]   (default 3, 3)
#        RESPOND_BIN=path skips the release build (scripts/build-release.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-3}"
PAGES="${2:-3}"
cd "$ROOT"
BIN="${RESPOND_BIN:-$("$ROOT/scripts/build-release.sh")}"
REGIONS="us-east-1,us-east-2,us-west-1,us-west-2,ca-central-1,eu-west-1,eu-west-2,eu-west-3,eu-central-1,eu-north-1,ap-south-1,ap-northeast-1,ap-northeast-2,ap-northeast-3,ap-southeast-1,ap-southeast-2,sa-east-1"
KEY="AKIABENCHREGIONS0001"
OUT="$(mktemp -d)"
# No moto needed: LookupEvents is all that is asked, and nothing is forwarded (the upstream is a
# closed loopback port).
python3 "$ROOT/Tests/Support/cloudtrail_emulator.py" --upstream http://127.0.0.1:9 --latency-ms 80 \
  --port-file "$OUT/port" &
EMU=$!
trap 'kill $EMU 2>/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$OUT/port")"
python3 - "$URL" "$KEY" "$REGIONS" "$PAGES" <<'PY'
import json, sys, time, urllib.request
url, key, regions, pages = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
now = time.time()
for region in regions:
    records = [{"eventID": f"{region}-{i}", "eventName": "ListBuckets", "eventSource": "s3.amazonaws.com",
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60 * (i + 1))),
                "awsRegion": region, "sourceIPAddress": "203.0.113.7",
                "userIdentity": {"type": "IAMUser", "accessKeyId": key}} for i in range(50 * pages)]
    body = json.dumps({"region": region, "records": records}).encode()
    urllib.request.urlopen(urllib.request.Request(url + "/_ct/events", data=body, method="POST"))
PY
export AWS_ENDPOINT_URL_CLOUDTRAIL="$URL" AWS_ACCESS_KEY_ID=AKIABENCHRESPONDER01 AWS_SECRET_ACCESS_KEY=bench-secret
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 HOME="$OUT"
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
expect=$((50 * PAGES * 17))
throttled() { curl -sf "$URL/_ct/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["error"]=="ThrottlingException"))'; }
THR_RESPOND=0 THR_BOTO=0

declare -a T_ONE T_ALL T_BOTO
for r in $(seq 1 "$ROUNDS"); do
  before=$(throttled)
  sleep 1.1  # the emulator's per-region window from the round before is over
  s=$(now_ms)
  "$BIN" cloudtrail-regions --runbooks "$ROOT/bench" --key "$KEY" --regions us-east-1 --out "$OUT/i" >/dev/null 2>"$OUT/err"
  e=$(now_ms); T_ONE+=($((e - s)))
  sleep 1.1
  s=$(now_ms)
  "$BIN" cloudtrail-regions --runbooks "$ROOT/bench" --key "$KEY" --regions "$REGIONS" --out "$OUT/i" >"$OUT/report" 2>"$OUT/err" \
    || { cat "$OUT/err"; exit 1; }
  e=$(now_ms); T_ALL+=($((e - s)))
  found=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print([s for s in r["steps"] if s["id"]=="cloudtrail"][0]["outputs"]["event-count"])' \
    "$(dirname "$(tail -1 "$OUT/report")")/report.json")
  [ "$found" = "$expect" ] || { echo "respond found $found events, not $expect" >&2; exit 1; }
  mid=$(throttled); THR_RESPOND=$((THR_RESPOND + mid - before))
  sleep 1.1
  s=$(now_ms)
  n=$(python3 "$ROOT/bench/boto3_cloudtrail_regions.py" "$KEY" "$REGIONS")
  e=$(now_ms); T_BOTO+=($((e - s)))
  [ "$n" = "$expect" ] || { echo "boto3 found $n events, not $expect" >&2; exit 1; }
  THR_BOTO=$((THR_BOTO + $(throttled) - mid))
  echo "round $r: respond 1 region ${T_ONE[-1]} ms, respond 17 regions ${T_ALL[-1]} ms, boto3 17 regions ${T_BOTO[-1]} ms" >&2
done
python3 - "$(median "${T_ONE[@]}")" "$(median "${T_ALL[@]}")" "$(median "${T_BOTO[@]}")" "$ROUNDS" "$PAGES" "$THR_RESPOND" "$THR_BOTO" <<'PY'
import sys
one, all17, boto, n, pages, thr_respond, thr_boto = map(float, sys.argv[1:])
print(f"CloudTrail LookupEvents, 17 regions x {int(pages)} pages, 80 ms per request, median of {int(n)} (wall, ms):")
print(f"  respond, 1 region         {one:8.0f}")
print(f"  respond, 17 regions       {all17:8.0f}   {all17 / one:.2f}x the time of one region (target < 2)")
print(f"  boto3, 17 regions in turn {boto:8.0f}   respond is {boto / all17:.1f}x faster")
print(f"  requests the emulator throttled (2/s per region): respond {int(thr_respond)}, boto3 {int(thr_boto)}")
PY
