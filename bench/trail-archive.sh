#!/usr/bin/env bash
# Benchmark: scanning a CloudTrail log archive (>= 1 GB of uncompressed JSON in .json.gz files, as
# CloudTrail delivers it) for two leaked keys, by
#   (a) respond's aws.cloudtrail.scan-archive (through bench/trail-scan.yaml),
#   (b) zcat FILES | grep -F -e KEY1 -e KEY2 | wc -l   (finds lines, not events: a floor for speed),
#   (c) zcat FILES | jq -c '.Records[] | select(.userIdentity.accessKeyId == ...)' | wc -l
# Prints the median wall time of ROUNDS runs each, throughput in uncompressed MB/s, the ratios,
# and peak memory (maximum resident set size, /usr/bin/time -v). The archive is generated once by
# Tests/Support/trail_archive.py and cached in .build-bench-archive/ (delete it to regenerate).
# Usage: bench/trail-archive.sh [ROUNDS]   (default 3)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-3}"
cd "$ROOT"
KEYS="AKIA2TARGETKEY7QWERT,AKIA2TARGETKEY7ZXCVB"
K1="${KEYS%,*}" K2="${KEYS#*,}"
DATA="$ROOT/.build-bench-archive/data"

need=()
command -v jq >/dev/null || need+=(jq)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -f "$DATA/manifest.json" ]; then
  echo "generating the archive (400 files, ~1.1 GB uncompressed; a few minutes, once)..." >&2
  rm -rf "$DATA"
  python3 Tests/Support/trail_archive.py "$DATA" --keys "$KEYS" --files 400 --records 2700 --planted 40 \
    --mentions 5 --workers 2 --seed 11
fi
BIN="$("$ROOT/scripts/build-release.sh")"

mapfile -t FILES < <(find "$DATA" -name '*.json.gz' | sort)
BYTES_FILE="$ROOT/.build-bench-archive/uncompressed-bytes"
[ -f "$BYTES_FILE" ] || zcat "${FILES[@]}" | wc -c >"$BYTES_FILE"
BYTES=$(cat "$BYTES_FILE")
COMPRESSED=$(du -cb "${FILES[@]}" | tail -1 | cut -f1)
PLANTED=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['planted']))" "$DATA/manifest.json")
echo "archive: ${#FILES[@]} files, $((COMPRESSED / 1048576)) MB compressed, $((BYTES / 1048576)) MB uncompressed; $PLANTED planted events" >&2
cat "${FILES[@]}" >/dev/null  # warm the page cache for every contestant alike

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
JQ_FILTER=".Records[] | select(.userIdentity.accessKeyId == \"$K1\" or .userIdentity.accessKeyId == \"$K2\") | .eventID"

# run NAME COMMAND...: one timed run; appends ms to $OUT/NAME.ms, peak KB to $OUT/NAME.kb, result to $OUT/NAME.out
run() {
  local name="$1"; shift
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000)) >>"$OUT/$name.ms"
  awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/$name.time" >>"$OUT/$name.kb"
  awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$OUT/$name.time" >>"$OUT/$name.cpu"
}

for r in $(seq 1 "$ROUNDS"); do
  rm -rf "$OUT/incidents"
  run respond "$BIN" trail-scan --runbooks "$ROOT/bench" --path "$DATA" --keys "$KEYS" --out "$OUT/incidents"
  REPORT_JSON="$(dirname "$(tail -1 "$OUT/respond.out")")/report.json"
  FOUND=$(python3 -c "
import json,sys
r=json.load(open(sys.argv[1]))
def walk(v):
    if isinstance(v,dict):
        if 'eventCount' in v and v.get('source')=='CloudTrail archive': return v['eventCount']
        for x in v.values():
            f=walk(x)
            if f is not None: return f
    if isinstance(v,list):
        for x in v:
            f=walk(x)
            if f is not None: return f
print(walk(r))" "$REPORT_JSON")
  run grep sh -c "zcat \"\$@\" | grep -F -e $K1 -e $K2 | wc -l" sh "${FILES[@]}"
  run jq sh -c "zcat \"\$@\" | jq -c '$JQ_FILTER' | wc -l" sh "${FILES[@]}"
  echo "round $r: respond $(tail -1 "$OUT/respond.ms") ms ($FOUND events), zcat|grep $(tail -1 "$OUT/grep.ms") ms ($(cat "$OUT/grep.out") lines), zcat|jq $(tail -1 "$OUT/jq.ms") ms ($(cat "$OUT/jq.out") events)" >&2
done

run baseline "$BIN" list
python3 - "$OUT" "$BYTES" "$ROUNDS" "$PLANTED" "$FOUND" <<'EOF'
import statistics, sys
out, nbytes, rounds, planted, found = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def med(name, ext):
    return statistics.median(float(x) for x in open(f"{out}/{name}.{ext}").read().split())
mb = nbytes / 1048576
rows = {n: (med(n, "ms"), max(float(x) for x in open(f"{out}/{n}.kb").read().split()) / 1024, med(n, "cpu"))
        for n in ("respond", "grep", "jq")}
r, rc = rows["respond"][0], rows["respond"][2]
print(f"CloudTrail archive scan: {mb:.0f} MB uncompressed, median of {rounds} (planted {planted}, respond found {found})")
print(f"  {'contestant':<24}{'wall ms':>9}{'MB/s':>7}{'CPU s':>8}{'MB/CPU-s':>10}{'peak RSS MB':>13}   respond is")
for name, label in (("respond", "respond scan-archive"), ("grep", "zcat | grep -F | wc -l"), ("jq", "zcat | jq select")):
    ms, rss, cpu = rows[name]
    ratio = "" if name == "respond" else f"{ms / r:.1f}x faster (wall), {cpu / rc:.1f}x less CPU"
    print(f"  {label:<24}{ms:>9.0f}{mb / (ms / 1000):>7.0f}{cpu:>8.2f}{mb / cpu:>10.0f}{rss:>13.1f}   {ratio}")
baseline = float(open(f"{out}/baseline.kb").read().split()[0]) / 1024
print(f"  (respond's resident size doing nothing but `respond list`: {baseline:.1f} MB; load average {open('/proc/loadavg').read().split()[0]})")
EOF
