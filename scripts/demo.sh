#!/usr/bin/env bash
# The whole product in one command. On a fresh machine it installs what is missing, builds
# respond, starts moto (AWS, signature checking on) and an OpenBao dev server on loopback, plants
# a "leaked" AWS key (its user, a Vault secret and a Secrets Manager secret holding it) and an
# attacker who used it (a backdoor user with its own key, an administrator policy and a console
# password, a role assumed; the CloudTrail records in CloudWatch Logs), then runs the live response:
#
#   respond key-compromised --key <leaked key id> --vault-path secret/ci/aws --secret-id ci/aws \
#     --log-group demo-cloudtrail --yes
#
# checks with boto3 what AWS now says (leaked key gone, backdoor disarmed, sessions denied), and
# prints the report's path last. The servers stop when it ends.
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
# The attacker, signing with the leaked key, makes a backdoor user with its own key, an attached
# administrator policy and a console password, and assumes a role; the CloudTrail records of all
# of it go to the log group. Its answer (the backdoor's names; its secrets stay in this file,
# never printed) is what the independent check below reads.
ATTACK="$RESPOND_SERVICES_DIR/demo-attack.json"
$FIX attack "$RESPOND_TEST_MOTO_URL" demo-cloudtrail ci-deployer "$LEAKED_ID" "$LEAKED_SECRET" >"$ATTACK"
chmod 600 "$ATTACK"
$FIX secret "$RESPOND_TEST_MOTO_URL" ci/aws "{\"access_key_id\":\"$LEAKED_ID\",\"secret_access_key\":\"$LEAKED_SECRET\"}"
VAULT_ADDR="$RESPOND_TEST_BAO_ADDR" VAULT_TOKEN="$RESPOND_TEST_BAO_TOKEN" bao kv put -mount=secret ci/aws \
  access_key_id="$LEAKED_ID" secret_access_key="$LEAKED_SECRET" region=us-east-1 >/dev/null
echo "demo: planted leaked key $LEAKED_ID (user ci-deployer, an administrator) in Vault secret/ci/aws and Secrets Manager ci/aws" >&2
attack_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$ATTACK" "$1"; }
BACKDOOR_USER="$(attack_field backdoor_user)"
ATTACK_ROLE="$(attack_field role)"
echo "demo: the attacker, signing with it, created user $BACKDOOR_USER (own key, admin policy, console password) and assumed role $ATTACK_ROLE" >&2

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
    --log-group demo-cloudtrail --yes --out "$OUT" && STATUS=0 || STATUS=$?

# What AWS itself now says, read with boto3 rather than taken from respond's report (stderr, so
# the report's path stays the last line on stdout).
python3 - "$RESPOND_TEST_MOTO_URL" "$LEAKED_ID" "$BACKDOOR_USER" "$ATTACK_ROLE" "$ATTACK" >&2 <<'PY'
import json, subprocess, sys
url, leaked, backdoor, role, attack = sys.argv[1:6]
fix = [sys.executable, "Tests/Support/moto_fixture.py", "iam-state", url]
victim = json.loads(subprocess.check_output(fix + ["ci-deployer", role]))
door = json.loads(subprocess.check_output(fix + [backdoor]))
planted = json.load(open(attack))
def said(ok, text): print(("demo: check ok:     " if ok else "demo: check FAILED: ") + text)
said(leaked not in victim["keys"], f"ci-deployer: leaked key {leaked} gone; keys now {victim['keys']}")
said("AWSRevokeOlderSessions" in victim["inline"], f"ci-deployer: older sessions denied (inline {victim['inline']})")
said(door["keys"].get(planted["backdoor_key"]) == "Inactive", f"{backdoor}: the attacker's key {door['keys']}")
said(planted["policy_arn"] not in door["attached"], f"{backdoor}: attached policies {door['attached'] or 'none'}")
said(not door["login_profile"], f"{backdoor}: console password {'still there' if door['login_profile'] else 'gone'}")
said("AWSRevokeOlderSessions" in victim.get("role_inline", []), f"role {role}: inline {victim.get('role_inline')}")
PY
exit "$STATUS"
