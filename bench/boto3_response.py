#!/usr/bin/env python3
"""The same response as `respond key-compromised` (AWS key, Vault path, log group) in one Python
process with boto3 and requests. Used by bench/key-compromised.sh.
Usage: boto3_response.py KEY_ID VAULT_PATH LOG_GROUP   (env: AWS_*, VAULT_ADDR, VAULT_TOKEN)"""
import json, os, sys
import boto3, requests

key, vpath, group = sys.argv[1:4]
mount, rest = vpath.split("/", 1)
iam, logs, ct = boto3.client("iam"), boto3.client("logs"), boto3.client("cloudtrail")
user = iam.get_access_key_last_used(AccessKeyId=key)["UserName"]
status = next(k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"] if k["AccessKeyId"] == key)
iam.update_access_key(UserName=user, AccessKeyId=key, Status="Inactive")
assert next(k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"] if k["AccessKeyId"] == key) == "Inactive"
try:
    ct.lookup_events(LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": key}])
except Exception:
    pass
events = [e for e in logs.filter_log_events(logGroupName=group, filterPattern='{ $.userIdentity.accessKeyId = "%s" }' % key)["events"] if key in e["message"]]
if status == "Active":
    new = iam.create_access_key(UserName=user)["AccessKey"]
    h = {"X-Vault-Token": os.environ["VAULT_TOKEN"]}
    url = f"{os.environ['VAULT_ADDR']}/v1/{mount}/data/{rest}"
    cur = requests.get(url, headers=h).json()["data"]
    fields = dict(cur["data"], access_key_id=new["AccessKeyId"], secret_access_key=new["SecretAccessKey"])
    requests.post(url, headers=h, json={"options": {"cas": cur["metadata"]["version"]}, "data": fields}).raise_for_status()
    boto3.client("sts", aws_access_key_id=new["AccessKeyId"], aws_secret_access_key=new["SecretAccessKey"]).get_caller_identity()
iam.delete_access_key(UserName=user, AccessKeyId=key)
assert key not in [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]
