#!/usr/bin/env bash
# Starts (up) or stops (down) the real local servers respond's tests talk to, all on 127.0.0.1:
#   moto server (AWS IAM/STS/Secrets Manager/SSM/Logs/S3), with SigV4 checking on
#   OpenBao dev server (KV v2, tokens) with a file audit device
#   aiosmtpd (SMTP), delivering into a maildir
#   Tests/Support/receiver.py (recording HTTP receiver for webhooks and recorded providers)
# Ports are picked free. `up` writes their coordinates as shell exports to $STATE/services.env
# (STATE defaults to ./.build-services); tests read RESPOND_TEST_* from the environment or that file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${RESPOND_SERVICES_DIR:-$ROOT/.build-services}"
ENV_FILE="$STATE/services.env"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for() { # url seconds
  local url="$1" secs="$2" i=0
  until curl -s -o /dev/null "$url"; do
    i=$((i+1)); if [ "$i" -gt $((secs*10)) ]; then echo "services: $url did not come up in ${secs}s" >&2; return 1; fi
    sleep 0.1
  done
}

down() {
  if [ -d "$STATE/pids" ]; then
    for f in "$STATE"/pids/*; do
      [ -e "$f" ] || continue
      pid=$(cat "$f"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$f"
    done
  fi
  rm -f "$ENV_FILE"
}

up() {
  down
  mkdir -p "$STATE/pids" "$STATE/logs"
  chmod 700 "$STATE"

  # --- moto (SigV4 checked after the first three unauthenticated bootstrap calls) ---
  MOTO_PORT=$(free_port)
  INITIAL_NO_AUTH_ACTION_COUNT=3 nohup moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE/logs/moto.log" 2>&1 &
  echo $! >"$STATE/pids/moto"

  # --- OpenBao dev server with a file audit device (2.x only enables audit devices from config) ---
  BAO_PORT=$(free_port)
  BAO_TOKEN="root-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
  AUDIT_LOG="$STATE/bao-audit.log"
  rm -f "$AUDIT_LOG"
  cat >"$STATE/bao.hcl" <<HCL
audit "file" "file" {
  options {
    file_path = "$AUDIT_LOG"
  }
}
HCL
  nohup bao server -dev -dev-root-token-id="$BAO_TOKEN" -dev-listen-address="127.0.0.1:$BAO_PORT" \
    -config="$STATE/bao.hcl" >"$STATE/logs/bao.log" 2>&1 &
  echo $! >"$STATE/pids/bao"

  # --- aiosmtpd into a maildir ---
  SMTP_PORT=$(free_port)
  MAILDIR="$STATE/maildir"
  rm -rf "$MAILDIR"; mkdir -p "$MAILDIR/tmp" "$MAILDIR/new" "$MAILDIR/cur"  # a Maildir: aiosmtpd does not create the subfolders
  nohup python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$MAILDIR" \
    >"$STATE/logs/smtp.log" 2>&1 &
  echo $! >"$STATE/pids/smtp"

  # --- recording receiver ---
  RECEIVER_PORT=$(free_port)
  # Every request respond sent it is kept (receiver-requests.jsonl) for the end-of-run secrets scan.
  rm -f "$STATE/receiver-requests.jsonl"
  nohup python3 "$ROOT/Tests/Support/receiver.py" --port "$RECEIVER_PORT" --record "$STATE/receiver-requests.jsonl" \
    >"$STATE/logs/receiver.log" 2>&1 &
  echo $! >"$STATE/pids/receiver"

  wait_for "http://127.0.0.1:$MOTO_PORT/moto-api/" 60
  wait_for "http://127.0.0.1:$BAO_PORT/v1/sys/health" 60
  wait_for "http://127.0.0.1:$RECEIVER_PORT/_control/requests" 30
  for _ in $(seq 1 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$SMTP_PORT),1)" 2>/dev/null && break; sleep 0.1; done

  # Bootstrap moto's admin: these three calls are the unauthenticated ones.
  read -r ADMIN_ID ADMIN_SECRET < <(python3 "$ROOT/Tests/Support/moto_fixture.py" bootstrap "http://127.0.0.1:$MOTO_PORT")

  cat >"$ENV_FILE" <<ENV
export RESPOND_TEST_MOTO_URL=http://127.0.0.1:$MOTO_PORT
export RESPOND_TEST_AWS_ACCESS_KEY_ID=$ADMIN_ID
export RESPOND_TEST_AWS_SECRET_ACCESS_KEY=$ADMIN_SECRET
export RESPOND_TEST_BAO_ADDR=http://127.0.0.1:$BAO_PORT
export RESPOND_TEST_BAO_TOKEN=$BAO_TOKEN
export RESPOND_TEST_AUDIT_LOG=$AUDIT_LOG
export RESPOND_TEST_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
export RESPOND_TEST_MAILDIR=$MAILDIR
export RESPOND_TEST_RECEIVER_URL=http://127.0.0.1:$RECEIVER_PORT
export RESPOND_TEST_RECEIVER_RECORD=$STATE/receiver-requests.jsonl
export RESPOND_TEST_REPO_ROOT=$ROOT
ENV
  chmod 600 "$ENV_FILE"
  echo "services: up (moto :$MOTO_PORT, openbao :$BAO_PORT, smtp :$SMTP_PORT, receiver :$RECEIVER_PORT); env in $ENV_FILE" >&2
}

case "${1:-}" in
  up) up ;;
  down) down; echo "services: down" >&2 ;;
  env) cat "$ENV_FILE" ;;
  *) echo "usage: scripts/services.sh up|down|env" >&2; exit 2 ;;
esac
