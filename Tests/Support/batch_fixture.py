#!/usr/bin/env python3
"""Many fixtures in one process, for tests that run dozens of trials (CrashResumeTests): boto3
against moto and Vault's KV v2 HTTP API, both independent of respond. Only 127.0.0.1.

    batch_fixture.py setup MOTO_URL VAULT_ADDR PREFIX N
        creates N IAM users PREFIX-<i>, each with one access key, and stores each key at
        secret/PREFIX-<i> (fields access_key_id, secret_access_key, team=ci); prints
        [{"user", "id", "secret", "path"}] as JSON
    batch_fixture.py check MOTO_URL VAULT_ADDR JSON_FILE
        for each {"user", "path"} in the file: the user's keys, the Vault fields, and whether the
        stored key authenticates (STS GetCallerIdentity); prints a JSON list in the same order
    batch_fixture.py plant MOTO_URL PREFIX PLAN_JSON
        for each {"dead": D, "live": L} in PLAN_JSON (a list, one entry per user) creates IAM user
        PREFIX-<i>, creates and deletes D access keys (dead keys: they existed, now IAM does not
        know them), then leaves L (0..2) active keys; prints
        [{"user", "dead": [ids], "live": [{"id", "secret"}]}] as JSON
    batch_fixture.py keys MOTO_URL USERS_JSON
        the access keys of each user name in USERS_JSON (a list): [[{"id", "status"}]] in order
Admin credentials come from RESPOND_TEST_AWS_ACCESS_KEY_ID/SECRET; the Vault token from VAULT_TOKEN.
"""
import json
import os
import sys
import urllib.request

import boto3
import botocore.exceptions


def client(service, url, key=None, secret=None):
    assert url.startswith("http://127.0.0.1:")
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=key or os.environ["RESPOND_TEST_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or os.environ["RESPOND_TEST_AWS_SECRET_ACCESS_KEY"])


def vault(addr, method, path, body=None):
    assert addr.startswith("http://127.0.0.1:")
    req = urllib.request.Request(
        f"{addr}/v1/secret/data/{path}", method=method, data=json.dumps(body).encode() if body else None,
        headers={"X-Vault-Token": os.environ["VAULT_TOKEN"], "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def setup(moto, addr, prefix, n):
    iam = client("iam", moto)
    out = []
    for i in range(int(n)):
        user = f"{prefix}-{i}"
        iam.create_user(UserName=user)
        k = iam.create_access_key(UserName=user)["AccessKey"]
        path = user
        vault(addr, "POST", path, {"data": {"access_key_id": k["AccessKeyId"],
                                            "secret_access_key": k["SecretAccessKey"], "team": "ci"}})
        out.append({"user": user, "id": k["AccessKeyId"], "secret": k["SecretAccessKey"], "path": path})
    print(json.dumps(out))


def check(moto, addr, file):
    iam = client("iam", moto)
    out = []
    for t in json.load(open(file)):
        keys = [{"id": k["AccessKeyId"], "status": k["Status"]}
                for k in iam.list_access_keys(UserName=t["user"])["AccessKeyMetadata"]]
        fields = vault(addr, "GET", t["path"]).get("data", {}).get("data", {})
        auth = False
        if fields.get("access_key_id") and fields.get("secret_access_key"):
            try:
                client("sts", moto, fields["access_key_id"], fields["secret_access_key"]).get_caller_identity()
                auth = True
            except botocore.exceptions.ClientError:
                auth = False
        tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=t["user"])["Tags"]}
        out.append({"keys": keys, "vault": fields, "authenticates": auth, "tags": tags})
    print(json.dumps(out))


def plant(moto, prefix, plan):
    iam = client("iam", moto)
    out = []
    for i, p in enumerate(json.loads(plan)):
        user = f"{prefix}-{i}"
        iam.create_user(UserName=user)
        dead = []
        for _ in range(int(p.get("dead", 0))):
            k = iam.create_access_key(UserName=user)["AccessKey"]
            iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
            dead.append(k["AccessKeyId"])
        live = []
        for _ in range(int(p.get("live", 0))):
            k = iam.create_access_key(UserName=user)["AccessKey"]
            live.append({"id": k["AccessKeyId"], "secret": k["SecretAccessKey"]})
        out.append({"user": user, "dead": dead, "live": live})
    print(json.dumps(out))


def keys(moto, users):
    iam = client("iam", moto)
    out = []
    for user in json.loads(users):
        out.append([{"id": k["AccessKeyId"], "status": k["Status"]}
                    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]])
    print(json.dumps(out))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"setup": setup, "check": check, "plant": plant, "keys": keys}[cmd](*args)
