#!/usr/bin/env python3
"""The batch response done as one Python process with boto3: for every key id in the file, the
same AWS steps as `respond key-compromised` without a vault path or log group (owner, status,
deactivate and check, CloudTrail lookup, replacement and its check, delete and check), one key
after another, reusing the clients. Used by bench/batch.sh.
Usage: boto3_batch.py KEYS_FILE   (env: AWS_*)"""
import sys
import boto3

iam, ct = boto3.client("iam"), boto3.client("cloudtrail")
done = 0
for key in [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]:
    user = iam.get_access_key_last_used(AccessKeyId=key)["UserName"]
    status = next(k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"] if k["AccessKeyId"] == key)
    iam.update_access_key(UserName=user, AccessKeyId=key, Status="Inactive")
    assert next(k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"] if k["AccessKeyId"] == key) == "Inactive"
    try:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": key}])
    except Exception:
        pass
    if status == "Active":
        new = iam.create_access_key(UserName=user)["AccessKey"]
        boto3.client("sts", aws_access_key_id=new["AccessKeyId"], aws_secret_access_key=new["SecretAccessKey"]).get_caller_identity()
    iam.delete_access_key(UserName=user, AccessKeyId=key)
    assert key not in [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]
    done += 1
print(done)
