#!/usr/bin/env python3
"""Three AWS accounts in one moto server of the test's own, for `respond ... --accounts FILE`.

    accounts_fixture.py serve STATE_FILE
        starts moto (the same server app as `moto_server`) on 127.0.0.1 and a free port, with SigV4
        and IAM policies checked; before checking starts (this server's own unauthenticated
        bootstrap, so no other test can see the window) it makes an administrator in the default
        account 123456789012 and, in accounts 222222222222 and 333333333333, a role
        `respond-access` with an administrator policy. Then, checked: one user per account with
        one access key (made from inside that account, so its id encodes the account). Writes
        {"url", "admin": {"id", "secret"}, "keys": {ACCOUNT: {"user", "id", "secret"}}} to
        STATE_FILE and serves until killed (or 15 minutes).
    accounts_fixture.py keys URL ACCOUNT USER
        USER's access keys in ACCOUNT as [{"id", "status"}], read from inside that account (the
        administrator, or the role assumed into it); admin credentials from ACCOUNTS_ADMIN_ID and
        ACCOUNTS_ADMIN_SECRET.
Moto routes a call to the account of the key that signs it, and gives keys made in an account
ids that encode it, as AWS does.
"""
import json
import os
import sys
import time

HOME = "123456789012"
OTHERS = ["222222222222", "333333333333"]
ROLE = "respond-access"
EXTERNAL_ID = "respond-test-ext"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def client(service, url, creds):
    import boto3
    assert url.startswith("http://127.0.0.1:")
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=creds[0],
        aws_secret_access_key=creds[1], aws_session_token=creds[2] if len(creds) > 2 else None)


def assume(url, admin, account):
    c = client("sts", url, admin).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="fixture", ExternalId=EXTERNAL_ID)["Credentials"]
    return (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def inside(url, admin, account):
    return admin if account == HOME else assume(url, admin, account)


def serve(state_file):
    # Unauthenticated until the bootstrap below switches checking on.
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "inf"
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://127.0.0.1:{port}"

    boot = client("iam", url, ("bootstrap", "bootstrap"))
    boot.create_user(UserName="respond-admin")
    boot.put_user_policy(UserName="respond-admin", PolicyName="admin", PolicyDocument=ADMIN_POLICY)
    k = boot.create_access_key(UserName="respond-admin")["AccessKey"]
    admin = (k["AccessKeyId"], k["SecretAccessKey"])
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]})
    for account in OTHERS:
        iam = client("iam", url, assume(url, admin, account))
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=ROLE, PolicyName="admin", PolicyDocument=ADMIN_POLICY)
    # What moto's /moto-api/reset-auth does, done in this process: every call from now on is checked.
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0

    keys = {}
    for i, account in enumerate([HOME] + OTHERS):
        iam = client("iam", url, inside(url, admin, account))
        user = f"leaky-{i}"
        iam.create_user(UserName=user)
        k = iam.create_access_key(UserName=user)["AccessKey"]
        keys[account] = {"user": user, "id": k["AccessKeyId"], "secret": k["SecretAccessKey"]}
    state = {"url": url, "admin": {"id": admin[0], "secret": admin[1]}, "keys": keys,
             "role": ROLE, "external-id": EXTERNAL_ID}
    with open(state_file + ".tmp", "w") as f:
        json.dump(state, f)
    os.rename(state_file + ".tmp", state_file)
    time.sleep(900)


def keys(url, account, user):
    admin = (os.environ["ACCOUNTS_ADMIN_ID"], os.environ["ACCOUNTS_ADMIN_SECRET"])
    iam = client("iam", url, inside(url, admin, account))
    print(json.dumps([{"id": k["AccessKeyId"], "status": k["Status"]}
                      for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"serve": serve, "keys": keys}[cmd](*args)
