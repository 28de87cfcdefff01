#!/usr/bin/env bash
# Benchmark: the same AWS key-compromised response done (a) by respond, (b) by a bash script of
# aws CLI and curl calls, (c) by one Python process with boto3 — against the same fresh local moto
# (signature checking on) and OpenBao servers. Each round plants a new user, leaked key, Vault
# secret and log group for each contestant. Prints the median wall time of each, the ratios, and
# respond's own overhead: its whole wall time as bash measures it (process start-up and exit
# included) minus the time its requests spent waiting on the servers (RESPOND_TIMING's servers=).
# Usage: bench/key-compromised.sh [ROUNDS]   (default 7)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-7}"
cd "$ROOT"
"$ROOT/scripts/setup.sh" >/dev/null
BIN="$("$ROOT/scripts/build-release.sh")"
export RESPOND_SERVICES_DIR="$ROOT/.build-bench"
trap '"$ROOT/scripts/services.sh" down >/dev/null 2>&1 || true' EXIT
"$ROOT/scripts/services.sh" up 2>/dev/null
set -a; . "$RESPOND_SERVICES_DIR/services.env"; set +a
export AWS_ACCESS_KEY_ID="$RESPOND_TEST_AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$RESPOND_TEST_AWS_SECRET_ACCESS_KEY"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="$RESPOND_TEST_MOTO_URL"
export VAULT_ADDR="$RESPOND_TEST_BAO_ADDR" VAULT_TOKEN="$RESPOND_TEST_BAO_TOKEN"
export AWS_PAGER=""
# moto does not implement CloudTrail LookupEvents (it answers 500, and every client then spends
# seconds retrying). For a fair race all three contestants get the documented empty answer from
# the recording receiver instead.
curl -sf -X POST "$RESPOND_TEST_RECEIVER_URL/_control/script" \
  -d '{"path": "/cloudtrail", "responses": [], "default": {"status": 200, "headers": {"Content-Type": "application/x-amz-json-1.1"}, "body": "{\"Events\": []}"}}' >/dev/null
export AWS_ENDPOINT_URL_CLOUDTRAIL="$RESPOND_TEST_RECEIVER_URL/cloudtrail"
FIX="python3 $ROOT/Tests/Support/moto_fixture.py"
OUT="$(mktemp -d)"

plant() { # name -> prints KEY_ID; plants user, key, Vault secret, log group
  local name="$1" id secret
  read -r id secret < <($FIX user "$RESPOND_TEST_MOTO_URL" "$name")
  $FIX trail "$RESPOND_TEST_MOTO_URL" "$name-trail" "$id" >/dev/null
  bao kv put -mount=secret "bench/$name" access_key_id="$id" secret_access_key="$secret" region=us-east-1 >/dev/null
  echo "$id"
}
# Wall clock from bash itself (a python3 call here would add its own start-up to every timing).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

declare -a T_RESPOND T_CLI T_BOTO OWN
for r in $(seq 1 "$ROUNDS"); do
  a=$(plant "r$r-respond"); b=$(plant "r$r-cli"); c=$(plant "r$r-boto")
  s=$(now_ms)
  RESPOND_TIMING=1 "$BIN" key-compromised --key "$a" --vault-path "secret/bench/r$r-respond" \
    --log-group "r$r-respond-trail" --yes --out "$OUT" >/dev/null 2>"$OUT/err-$r" || { cat "$OUT/err-$r"; exit 1; }
  e=$(now_ms); T_RESPOND+=($((e - s)))
  waiting="$(sed -n 's/.*timing: .* servers=\([0-9.]*\)ms.*/\1/p' "$OUT/err-$r")"
  OWN+=("$(python3 -c 'import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))' "${T_RESPOND[-1]}" "$waiting")")
  s=$(now_ms); bash "$ROOT/bench/aws_cli_response.sh" "$b" "secret/bench/r$r-cli" "r$r-cli-trail" >/dev/null; e=$(now_ms); T_CLI+=($((e - s)))
  s=$(now_ms); python3 "$ROOT/bench/boto3_response.py" "$c" "secret/bench/r$r-boto" "r$r-boto-trail" >/dev/null; e=$(now_ms); T_BOTO+=($((e - s)))
  echo "round $r: respond ${T_RESPOND[-1]} ms (own ${OWN[-1]} ms), aws CLI ${T_CLI[-1]} ms, boto3 ${T_BOTO[-1]} ms" >&2
done
mr=$(median "${T_RESPOND[@]}"); mc=$(median "${T_CLI[@]}"); mb=$(median "${T_BOTO[@]}"); mo=$(median "${OWN[@]}")
python3 - "$mr" "$mc" "$mb" "$mo" "$ROUNDS" <<'PY'
import sys
r, c, b, o, n = map(float, sys.argv[1:])
print(f"key-compromised, {int(n)} rounds, medians (wall, ms):")
print(f"  respond            {r:8.0f}   (own overhead {o:.1f} ms)")
print(f"  aws CLI + curl     {c:8.0f}   respond is {c / r:5.1f}x faster")
print(f"  boto3 (1 process)  {b:8.0f}   respond is {b / r:5.1f}x faster")
PY
