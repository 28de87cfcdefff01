#!/usr/bin/env python3
"""Independent fixtures and checks against moto, through boto3 (not through respond's own client,
so tests verify respond with a second implementation of the AWS protocols).

  moto_fixture.py bootstrap URL                  -> prints "ADMIN_KEY_ID ADMIN_SECRET" (uses moto's 3 unauthenticated calls)
  moto_fixture.py user URL NAME                  -> creates user NAME with one key; prints "KEY_ID SECRET"
  moto_fixture.py create-key URL NAME            -> one more key for user NAME; prints "KEY_ID SECRET"
  moto_fixture.py keys URL NAME                  -> prints JSON [{"id":..., "status":...}] of NAME's keys
  moto_fixture.py auth URL KEY_ID SECRET         -> prints the caller ARN if the key authenticates, exits 1 otherwise
  moto_fixture.py trail URL GROUP KEY [DECOY...] -> a CloudWatch Logs group holding CloudTrail-shaped events:
                                                    3 for KEY (2 source IPs) and 2 for each decoy key
  moto_fixture.py secret URL NAME JSON           -> creates a Secrets Manager secret
  moto_fixture.py get-secret URL NAME            -> prints the secret's current SecretString
  moto_fixture.py kms-key URL                    -> creates a KMS key; prints its id
  moto_fixture.py ssm-put URL NAME VALUE [KEY]   -> puts a SecureString parameter (under KMS key KEY if given)
  moto_fixture.py ssm-get URL NAME               -> prints JSON {"value", "type", "key-id", "version"} (decrypted)
  moto_fixture.py role URL NAME                  -> creates an IAM role
  moto_fixture.py role-policy URL ROLE POLICY    -> prints the role's inline policy document as JSON
  moto_fixture.py attack URL GROUP USER KEY SECRET -> an attacker signing with USER's leaked key (USER is made
                                                    administrator first) creates a backdoor user with its own
                                                    key, an attached policy and a console password, and assumes
                                                    a role; the CloudTrail records of it all go to log group
                                                    GROUP. Prints JSON naming every artefact and event id.
  moto_fixture.py steal URL GROUP USER KEY SECRET -> an attacker signing with USER's leaked key (USER is made
                                                    administrator first) reads a Secrets Manager secret whose
                                                    rotation is configured, one whose rotation is not, and an SSM
                                                    SecureString with decryption; the CloudTrail records go to log
                                                    group GROUP. Prints JSON naming each, its value and event id.
  moto_fixture.py secret-state URL NAME          -> prints JSON: the secret's RotationEnabled, LastRotatedDate (epoch
                                                    seconds) and VersionIdsToStages, from DescribeSecret
  moto_fixture.py trail-records URL GROUP        -> prints the CloudTrail records in log group GROUP as one JSON
                                                    list (what `trail` and `attack` wrote), for the CloudTrail
                                                    emulator to serve the same events
  moto_fixture.py iam-state URL USER [ROLE]      -> prints JSON: USER's keys, attached and inline policies,
                                                    login profile; ROLE's inline policies
  moto_fixture.py bucket URL NAME [lock]         -> creates an S3 bucket (with Object Lock enabled when "lock")
  moto_fixture.py s3-keys URL BUCKET PREFIX      -> prints JSON: every object key under PREFIX, sorted
  moto_fixture.py s3-get URL BUCKET PREFIX DIR   -> downloads every object under PREFIX into DIR/<key minus PREFIX>
  moto_fixture.py s3-retention URL BUCKET KEY    -> prints JSON {"mode", "until"} of the object's Object Lock retention
Admin credentials for everything but bootstrap come from RESPOND_TEST_AWS_ACCESS_KEY_ID/SECRET.
"""
import json, os, sys
import boto3
from botocore.config import Config

def client(svc, url, key=None, secret=None):
    return boto3.client(svc, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key or os.environ.get("RESPOND_TEST_AWS_ACCESS_KEY_ID", "bootstrap"),
                        aws_secret_access_key=secret or os.environ.get("RESPOND_TEST_AWS_SECRET_ACCESS_KEY", "bootstrap"),
                        config=Config(retries={"max_attempts": 2}))

def trail_record(stamp, name, source, request, response, key, user, event_id):
    """One CloudTrail record made with the leaked key by its user, as CloudWatch Logs holds it."""
    import time
    account = "123456789012"
    return {"timestamp": stamp, "message": json.dumps({
        "eventVersion": "1.08", "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp / 1000)),
        "eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.15.0", "eventID": event_id, "eventType": "AwsApiCall",
        "requestParameters": request, "responseElements": response,
        "userIdentity": {"type": "IAMUser", "accessKeyId": key, "userName": user,
                         "arn": f"arn:aws:iam::{account}:user/{user}", "accountId": account}})}

def write_trail(url, group, events):
    """The records in a new log group's `cloudtrail` stream, as a trail delivering to CloudWatch does."""
    logs = client("logs", url)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="cloudtrail")
    logs.put_log_events(logGroupName=group, logStreamName="cloudtrail", logEvents=events)

def attack(url, group, user, key, secret):
    import time, uuid
    admin = client("iam", url)
    account = "123456789012"
    admin.put_user_policy(UserName=user, PolicyName="ci-admin", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    # The victim signs in to the console too (without MFA): P1 proposes deleting that password.
    admin.create_login_profile(UserName=user, Password="Pw-" + uuid.uuid4().hex + "!A1")
    suffix = uuid.uuid4().hex[:8]
    role = "deploy-" + suffix
    admin.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{account}:user/{user}"}}]}))
    # Everything below is signed with the leaked key.
    iam = client("iam", url, key, secret)
    backdoor = "backdoor-" + suffix
    created = iam.create_user(UserName=backdoor)["User"]
    bkey = iam.create_access_key(UserName=backdoor)["AccessKey"]
    policy = iam.create_policy(PolicyName="backdoor-admin-" + suffix, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))["Policy"]
    iam.attach_user_policy(UserName=backdoor, PolicyArn=policy["Arn"])
    password = "Pw-" + uuid.uuid4().hex + "!A1"
    iam.create_login_profile(UserName=backdoor, Password=password, PasswordResetRequired=False)
    role_arn = f"arn:aws:iam::{account}:role/{role}"
    creds = client("sts", url, key, secret).assume_role(RoleArn=role_arn, RoleSessionName="attacker-session")["Credentials"]
    now = int(time.time() * 1000)
    ids = {}
    def record(name, source, request, response, ago_min):
        ids[name] = str(uuid.uuid4())
        return trail_record(now - ago_min * 60000, name, source, request, response, key, user, ids[name])
    iso = lambda d: d.strftime("%b %d, %Y %I:%M:%S %p") if hasattr(d, "strftime") else str(d)
    events = [
        record("CreateUser", "iam.amazonaws.com", {"userName": backdoor},
               {"user": {"userName": backdoor, "arn": created["Arn"], "userId": created["UserId"], "path": "/"}}, 50),
        record("CreateAccessKey", "iam.amazonaws.com", {"userName": backdoor},
               {"accessKey": {"accessKeyId": bkey["AccessKeyId"], "status": "Active", "userName": backdoor,
                              "createDate": iso(bkey["CreateDate"])}}, 49),
        record("CreatePolicy", "iam.amazonaws.com", {"policyName": policy["PolicyName"]},
               {"policy": {"arn": policy["Arn"], "policyName": policy["PolicyName"]}}, 48),
        record("AttachUserPolicy", "iam.amazonaws.com", {"userName": backdoor, "policyArn": policy["Arn"]}, None, 47),
        record("CreateLoginProfile", "iam.amazonaws.com", {"userName": backdoor, "passwordResetRequired": False},
               {"loginProfile": {"userName": backdoor, "passwordResetRequired": False}}, 46),
        # CloudTrail writes the session token of an AssumeRole answer into the record.
        record("AssumeRole", "sts.amazonaws.com", {"roleArn": role_arn, "roleSessionName": "attacker-session"},
               {"credentials": {"accessKeyId": creds["AccessKeyId"], "sessionToken": creds["SessionToken"],
                                "expiration": iso(creds["Expiration"])}}, 45),
    ]
    write_trail(url, group, events)
    print(json.dumps({"backdoor_user": backdoor, "backdoor_key": bkey["AccessKeyId"],
                      "backdoor_secret": bkey["SecretAccessKey"], "password": password,
                      "policy_arn": policy["Arn"], "role": role, "role_arn": role_arn,
                      "session_key": creds["AccessKeyId"], "session_secret": creds["SecretAccessKey"],
                      "session_token": creds["SessionToken"], "event_ids": ids}))

def twin(url, group, user, key, secret):
    """The leaked key mints a second key for its own user and the record goes to a log group:
    the newer Active key a rerun guard would take for a replacement is the attacker's."""
    import time, uuid
    client("iam", url).put_user_policy(UserName=user, PolicyName="ci-iam", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}))
    k = client("iam", url, key, secret).create_access_key(UserName=user)["AccessKey"]
    event_id = str(uuid.uuid4())
    write_trail(url, group, [trail_record(
        int(time.time() * 1000) - 60000, "CreateAccessKey", "iam.amazonaws.com", {"userName": user},
        {"accessKey": {"accessKeyId": k["AccessKeyId"], "status": "Active", "userName": user}}, key, user, event_id)])
    print(json.dumps({"twin_key": k["AccessKeyId"], "twin_secret": k["SecretAccessKey"], "event_id": event_id}))

def steal(url, group, user, key, secret):
    import time, uuid
    admin = client("iam", url)
    admin.put_user_policy(UserName=user, PolicyName="ci-admin", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    suffix = uuid.uuid4().hex[:8]
    sm, ssm = client("secretsmanager", url), client("ssm", url)
    rotating, plain, param = "prod/db-" + suffix, "prod/api-" + suffix, "/prod/deploy-token-" + suffix
    values = {name: "v-" + uuid.uuid4().hex for name in (rotating, plain, param)}
    sm.create_secret(Name=rotating, SecretString="initial-" + uuid.uuid4().hex)
    # Rotation configured: moto takes RotationRules without a function (AWS would want one, or a
    # managed secret) and rotates once at once; the value the attacker reads is written after.
    sm.rotate_secret(SecretId=rotating, RotationRules={"AutomaticallyAfterDays": 30})
    sm.put_secret_value(SecretId=rotating, SecretString=values[rotating])
    sm.create_secret(Name=plain, SecretString=values[plain])
    ssm.put_parameter(Name=param, Value=values[param], Type="SecureString")
    # Everything below is signed with the leaked key.
    read_rotating = client("secretsmanager", url, key, secret).get_secret_value(SecretId=rotating)
    read_plain = client("secretsmanager", url, key, secret).get_secret_value(SecretId=plain)
    read_param = client("ssm", url, key, secret).get_parameter(Name=param, WithDecryption=True)
    assert read_rotating["SecretString"] == values[rotating] and read_param["Parameter"]["Value"] == values[param]
    now = int(time.time() * 1000)
    ids = {}
    def record(label, name, source, request, ago_min):
        ids[label] = str(uuid.uuid4())
        return trail_record(now - ago_min * 60000, name, source, request, None, key, user, ids[label])
    events = [
        record("rotating", "GetSecretValue", "secretsmanager.amazonaws.com", {"secretId": rotating}, 30),
        record("plain", "GetSecretValue", "secretsmanager.amazonaws.com", {"secretId": plain}, 29),
        record("parameter", "GetParameter", "ssm.amazonaws.com", {"name": param, "withDecryption": True}, 28),
    ]
    write_trail(url, group, events)
    print(json.dumps({"rotating": rotating, "plain": plain, "parameter": param, "values": list(values.values()),
                      "read_version": read_rotating["VersionId"], "plain_version": read_plain["VersionId"],
                      "event_ids": ids}))

def secret_state(url, name):
    d = client("secretsmanager", url).describe_secret(SecretId=name)
    last = d.get("LastRotatedDate")
    print(json.dumps({"rotation_enabled": d.get("RotationEnabled", False),
                      "last_rotated": last.timestamp() if last else None,
                      "stages": d.get("VersionIdsToStages", {})}))

def iam_state(url, user, role=None):
    iam = client("iam", url)
    state = {"keys": {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]},
             "attached": [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]],
             "inline": iam.list_user_policies(UserName=user)["PolicyNames"]}
    try:
        iam.get_login_profile(UserName=user)
        state["login_profile"] = True
    except iam.exceptions.NoSuchEntityException:
        state["login_profile"] = False
    if role:
        state["role_inline"] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    print(json.dumps(state))

def main():
    cmd, url = sys.argv[1], sys.argv[2]
    if cmd == "bootstrap":
        iam = client("iam", url, "bootstrap", "bootstrap")
        iam.create_user(UserName="respond-admin")
        k = iam.create_access_key(UserName="respond-admin")["AccessKey"]
        iam.put_user_policy(UserName="respond-admin", PolicyName="admin",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        print(k["AccessKeyId"], k["SecretAccessKey"])
    elif cmd == "user":
        iam = client("iam", url)
        iam.create_user(UserName=sys.argv[3])
        k = iam.create_access_key(UserName=sys.argv[3])["AccessKey"]
        print(k["AccessKeyId"], k["SecretAccessKey"])
    elif cmd == "create-key":
        k = client("iam", url).create_access_key(UserName=sys.argv[3])["AccessKey"]
        print(k["AccessKeyId"], k["SecretAccessKey"])
    elif cmd == "keys":
        iam = client("iam", url)
        ks = iam.list_access_keys(UserName=sys.argv[3])["AccessKeyMetadata"]
        print(json.dumps([{"id": k["AccessKeyId"], "status": k["Status"]} for k in ks]))
    elif cmd == "tags":
        ts = client("iam", url).list_user_tags(UserName=sys.argv[3])["Tags"]
        print(json.dumps({t["Key"]: t["Value"] for t in ts}))
    elif cmd == "auth":
        sts = client("sts", url, sys.argv[3], sys.argv[4])
        try:
            print(sts.get_caller_identity()["Arn"])
        except Exception as e:
            print(str(e), file=sys.stderr)
            sys.exit(1)
    elif cmd == "trail":
        import time
        import uuid
        group, key, decoys = sys.argv[3], sys.argv[4], sys.argv[5:]
        # --agent=TEXT: the user agent of the leaked key's CreateUser event (attacker-controlled text).
        agent = "Boto3/1.34.0"
        if decoys and decoys[0].startswith("--agent="):
            agent, decoys = decoys[0][len("--agent="):], decoys[1:]
        now = int(time.time() * 1000)
        def event(k, name, ip, agent, ago_min):
            return {"timestamp": now - ago_min * 60000, "message": json.dumps({
                "eventVersion": "1.08", "eventID": str(uuid.uuid4()), "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now - ago_min * 60000) / 1000)),
                "eventSource": "iam.amazonaws.com" if name.startswith(("List", "Create")) else "sts.amazonaws.com",
                "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": agent,
                "userIdentity": {"type": "IAMUser", "accessKeyId": k, "userName": "someone",
                                 "arn": "arn:aws:iam::123456789012:user/someone"}})}
        events = [event(key, "GetCallerIdentity", "203.0.113.7", "aws-cli/2.15.0", 120),
                  event(key, "ListUsers", "203.0.113.7", "aws-cli/2.15.0", 90),
                  event(key, "CreateUser", "198.51.100.23", agent, 30)]
        for i, d in enumerate(decoys):
            events += [event(d, "ListBuckets", "192.0.2.1", "console", 100 - i), event(d, "GetCallerIdentity", "192.0.2.1", "console", 50 - i)]
        events.sort(key=lambda e: e["timestamp"])
        write_trail(url, group, events)
    elif cmd == "secret":
        client("secretsmanager", url).create_secret(Name=sys.argv[3], SecretString=sys.argv[4])
    elif cmd == "get-secret":
        print(client("secretsmanager", url).get_secret_value(SecretId=sys.argv[3])["SecretString"])
    elif cmd == "kms-key":
        print(client("kms", url).create_key(Description="respond test")["KeyMetadata"]["KeyId"])
    elif cmd == "ssm-put":
        extra = {"KeyId": sys.argv[5]} if len(sys.argv) > 5 else {}
        client("ssm", url).put_parameter(Name=sys.argv[3], Value=sys.argv[4], Type="SecureString", **extra)
    elif cmd == "ssm-get":
        ssm = client("ssm", url)
        p = ssm.get_parameter(Name=sys.argv[3], WithDecryption=True)["Parameter"]
        meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [sys.argv[3]]}])
        key = (meta["Parameters"] or [{}])[0].get("KeyId")
        print(json.dumps({"value": p["Value"], "type": p["Type"], "key-id": key, "version": p["Version"]}))
    elif cmd == "role":
        client("iam", url).create_role(RoleName=sys.argv[3], AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                   "Action": "sts:AssumeRole"}]}))
    elif cmd == "role-policy":
        doc = client("iam", url).get_role_policy(RoleName=sys.argv[3], PolicyName=sys.argv[4])["PolicyDocument"]
        print(json.dumps(doc) if not isinstance(doc, str) else doc)
    elif cmd == "attack":
        attack(url, *sys.argv[3:7])
    elif cmd == "steal":
        steal(url, *sys.argv[3:7])
    elif cmd == "twin":
        twin(url, *sys.argv[3:7])
    elif cmd == "secret-state":
        secret_state(url, sys.argv[3])
    elif cmd == "trail-records":
        logs, records, token = client("logs", url), [], None
        while True:
            page = logs.filter_log_events(logGroupName=sys.argv[3], **({"nextToken": token} if token else {}))
            records += [json.loads(e["message"]) for e in page["events"]]
            token = page.get("nextToken")
            if not token:
                break
        print(json.dumps(records))
    elif cmd == "iam-state":
        iam_state(url, *sys.argv[3:5])
    elif cmd == "bucket":
        extra = {"ObjectLockEnabledForBucket": True} if sys.argv[4:5] == ["lock"] else {}
        client("s3", url).create_bucket(Bucket=sys.argv[3], **extra)
    elif cmd in ("s3-keys", "s3-get"):
        s3, bucket, prefix = client("s3", url), sys.argv[3], sys.argv[4]
        keys = []
        # No Prefix parameter: moto checks the signature of a query holding '/' against its
        # decoded form, which no client signs (the bucket is a test's own and small).
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].startswith(prefix)]
        if cmd == "s3-get":
            for k in keys:
                dest = os.path.join(sys.argv[5], k[len(prefix):])
                os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
                with open(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                    f.write(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
        print(json.dumps(sorted(keys)))
    elif cmd == "s3-retention":
        # HeadObject's Object Lock headers (moto answers GetObjectRetention with a 500).
        h = client("s3", url).head_object(Bucket=sys.argv[3], Key=sys.argv[4])
        until = h.get("ObjectLockRetainUntilDate")
        print(json.dumps({"mode": h.get("ObjectLockMode"), "until": until.strftime("%Y-%m-%dT%H:%M:%SZ") if until else None}))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)

if __name__ == "__main__":
    main()
