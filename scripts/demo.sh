#!/usr/bin/env bash
# The whole product in one command. On a fresh machine it installs what is missing, builds
# respond, starts moto (AWS, signature checking on) and an OpenBao dev server on loopback, plants
# a "leaked" AWS key (its user, a Vault secret and a Secrets Manager secret holding it, CloudTrail
# events in CloudWatch Logs), then runs the live response:
#
#   respond key-compromised --key <leaked key id> --vault-path secret/ci/aws --secret-id ci/aws \
#     --log-group demo-cloudtrail --yes
#
# and prints the report's path last. The servers stop when it ends.
#   scripts/demo.sh           live response against the local servers
#   scripts/demo.sh --drill   a drill with no credentials at all (no servers needed)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${RESPOND_DEMO_OUT:-$ROOT/incidents}"

if [ "${1:-}" = "--drill" ]; then
  "$ROOT/scripts/setup.sh" >/dev/null
  "$ROOT/scripts/build-release.sh" >/dev/null
  # No credentials, no endpoints: the drill says what each step would need.
  exec env -i PATH="$PATH" HOME="$(mktemp -d)" "$ROOT/.build/release/respond" drill key-compromised \
    --key AKIAIOSFODNN7EXAMPLE --vault-path secret/ci/aws --out "$OUT"
fi

"$ROOT/scripts/setup.sh"
echo "demo: building respond (release)" >&2
"$ROOT/scripts/build-release.sh" >/dev/null

export RESPOND_SERVICES_DIR="$ROOT/.build-demo"
trap '"$ROOT/scripts/services.sh" down >/dev/null 2>&1 || true' EXIT
"$ROOT/scripts/services.sh" up
set -a; . "$RESPOND_SERVICES_DIR/services.env"; set +a

FIX="python3 $ROOT/Tests/Support/moto_fixture.py"
read -r LEAKED_ID LEAKED_SECRET < <($FIX user "$RESPOND_TEST_MOTO_URL" ci-deployer)
read -r DECOY_ID _ < <($FIX user "$RESPOND_TEST_MOTO_URL" someone-else)
$FIX trail "$RESPOND_TEST_MOTO_URL" demo-cloudtrail "$LEAKED_ID" "$DECOY_ID"
$FIX secret "$RESPOND_TEST_MOTO_URL" ci/aws "{\"access_key_id\":\"$LEAKED_ID\",\"secret_access_key\":\"$LEAKED_SECRET\"}"
VAULT_ADDR="$RESPOND_TEST_BAO_ADDR" VAULT_TOKEN="$RESPOND_TEST_BAO_TOKEN" bao kv put -mount=secret ci/aws \
  access_key_id="$LEAKED_ID" secret_access_key="$LEAKED_SECRET" region=us-east-1 >/dev/null
echo "demo: planted leaked key $LEAKED_ID (user ci-deployer) in Vault secret/ci/aws and Secrets Manager ci/aws" >&2

# moto has no CloudTrail LookupEvents: the test suite's emulator answers it in front of moto (its
# requests and answers checked against botocore's CloudTrail model), holding the same records as
# the log group, so the demo's every-region CloudTrail search finds the attacker's calls.
CT_PORT_FILE="$RESPOND_SERVICES_DIR/cloudtrail.port"
rm -f "$CT_PORT_FILE"
python3 "$ROOT/Tests/Support/cloudtrail_emulator.py" --upstream "$RESPOND_TEST_MOTO_URL" --port-file "$CT_PORT_FILE" \
  >"$RESPOND_SERVICES_DIR/cloudtrail.log" 2>&1 &
CT_PID=$!
trap 'kill $CT_PID 2>/dev/null || true; "$ROOT/scripts/services.sh" down >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do [ -s "$CT_PORT_FILE" ] && break; sleep 0.1; done
CLOUDTRAIL_URL="http://127.0.0.1:$(cat "$CT_PORT_FILE")"
$FIX trail-records "$RESPOND_TEST_MOTO_URL" demo-cloudtrail \
  | python3 -c 'import json,sys; print(json.dumps({"region": "us-east-1", "records": json.load(sys.stdin)}))' \
  | curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- "$CLOUDTRAIL_URL/_ct/events" >/dev/null

AWS_ACCESS_KEY_ID="$RESPOND_TEST_AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$RESPOND_TEST_AWS_SECRET_ACCESS_KEY" \
AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$RESPOND_TEST_MOTO_URL" AWS_ENDPOINT_URL_CLOUDTRAIL="$CLOUDTRAIL_URL" \
VAULT_ADDR="$RESPOND_TEST_BAO_ADDR" VAULT_TOKEN="$RESPOND_TEST_BAO_TOKEN" \
  "$ROOT/.build/release/respond" key-compromised --key "$LEAKED_ID" --vault-path secret/ci/aws --secret-id ci/aws \
    --log-group demo-cloudtrail --yes --out "$OUT"
