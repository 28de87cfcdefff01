#!/usr/bin/env bash
# The same response as `respond key-compromised` (AWS key, Vault path, log group), done the way
# people do it today: a bash script of aws CLI and curl calls. Used by bench/key-compromised.sh.
# Usage: aws_cli_response.sh KEY_ID VAULT_PATH LOG_GROUP   (env: AWS_*, VAULT_ADDR, VAULT_TOKEN)
#        VAULT_PATH or LOG_GROUP "-" leaves that part out (bench/batch.sh: keys from a list have neither).
set -euo pipefail
KEY="$1"; VPATH="$2"; GROUP="$3"
MOUNT="${VPATH%%/*}"; REST="${VPATH#*/}"
USER_NAME=$(aws iam get-access-key-last-used --access-key-id "$KEY" --query UserName --output text)
STATUS=$(aws iam list-access-keys --user-name "$USER_NAME" --query "AccessKeyMetadata[?AccessKeyId=='$KEY'].Status" --output text)
aws iam update-access-key --user-name "$USER_NAME" --access-key-id "$KEY" --status Inactive
aws iam list-access-keys --user-name "$USER_NAME" --query "AccessKeyMetadata[?AccessKeyId=='$KEY'].Status" --output text | grep -q Inactive
aws cloudtrail lookup-events --lookup-attributes "AttributeKey=AccessKeyId,AttributeValue=$KEY" >/dev/null 2>&1 || true
if [ "$GROUP" != "-" ]; then
aws logs filter-log-events --log-group-name "$GROUP" --filter-pattern "{ \$.userIdentity.accessKeyId = \"$KEY\" }" \
  | python3 -c 'import json,sys; ev=[e for e in json.load(sys.stdin)["events"] if sys.argv[1] in e["message"]]; print(len(ev))' "$KEY" >/dev/null
fi
if [ "$STATUS" = "Active" ]; then
  read -r NEW_ID NEW_SECRET < <(aws iam create-access-key --user-name "$USER_NAME" --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
  if [ "$VPATH" != "-" ]; then
  CURRENT=$(curl -sf -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/$MOUNT/data/$REST")
  BODY=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1])["data"]; f=d["data"]; f["access_key_id"]=sys.argv[2]; f["secret_access_key"]=sys.argv[3]; print(json.dumps({"options":{"cas":d["metadata"]["version"]},"data":f}))' "$CURRENT" "$NEW_ID" "$NEW_SECRET")
  curl -sf -H "X-Vault-Token: $VAULT_TOKEN" -X POST -d "$BODY" "$VAULT_ADDR/v1/$MOUNT/data/$REST" >/dev/null
  fi
  AWS_ACCESS_KEY_ID="$NEW_ID" AWS_SECRET_ACCESS_KEY="$NEW_SECRET" aws sts get-caller-identity >/dev/null
fi
aws iam delete-access-key --user-name "$USER_NAME" --access-key-id "$KEY"
! aws iam list-access-keys --user-name "$USER_NAME" --query 'AccessKeyMetadata[].AccessKeyId' --output text | grep -q "$KEY"
