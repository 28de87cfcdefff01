#!/usr/bin/env python3
"""Writes a CloudTrail log archive as CloudTrail delivers it to S3: gzip files of
{"Records":[...]} under AWSLogs/<account>/CloudTrail/<region>/yyyy/mm/dd/, with realistic records.

Used by the archive-scan tests (small, with planted events, decoys and damaged files) and by
bench/trail-archive.sh (large). Prints nothing; writes <out>/manifest.json describing exactly
which events belong to the target keys, so a test can compare a scan's answer with it.

  trail_archive.py OUT --keys AKIA...,AKIA... [--files 6] [--records 300] [--planted 5]
                   [--mentions 3] [--damaged] [--tricky] [--workers 1] [--seed 7]
"""
import argparse
import datetime as dt
import gzip
import json
import os
import random
import sys
import uuid
from multiprocessing import Pool

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1"]
BASE = dt.datetime(2026, 11, 20, 0, 0, 0, tzinfo=dt.timezone.utc)

DECOY_EVENTS = [
    ("s3.amazonaws.com", "GetObject", {"bucketName": "app-assets", "key": "img/logo.png", "Host": "app-assets.s3.amazonaws.com"}),
    ("ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {}, "filterSet": {"items": [{"name": "tag:env", "valueSet": {"items": [{"value": "prod"}]}}]}}),
    ("sts.amazonaws.com", "AssumeRole", {"roleArn": "arn:aws:iam::123456789012:role/deploy", "roleSessionName": "ci-1234", "durationSeconds": 3600}),
    ("kms.amazonaws.com", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:api"}}),
    ("logs.amazonaws.com", "PutLogEvents", None),
    ("dynamodb.amazonaws.com", "Query", {"tableName": "orders", "keyConditionExpression": "pk = :p", "limit": 50}),
]
TARGET_EVENTS = [
    ("sts.amazonaws.com", "GetCallerIdentity", None),
    ("iam.amazonaws.com", "ListUsers", None),
    ("s3.amazonaws.com", "ListBuckets", None),
    ("iam.amazonaws.com", "CreateUser", {"userName": "backdoor"}),
    ("ec2.amazonaws.com", "RunInstances", {"instanceType": "p3.16xlarge", "minCount": 10, "maxCount": 10}),
    ("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": "prod/db"}),
]
AGENTS = ["aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.ubuntu.22", "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.1",
          "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5", "console.amazonaws.com"]


def fake_key(rng, prefix="AKIA"):
    return prefix + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def record(rng, when, key, user, source, name, params, ip, agent, role=None, extra=None):
    if role:
        identity = {
            "type": "AssumedRole", "principalId": "AROAEXAMPLEROLEID:" + user,
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{user}", "accountId": ACCOUNT, "accessKeyId": key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID", "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                  "accountId": ACCOUNT, "userName": role},
                "attributes": {"creationDate": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "mfaAuthenticated": "false"}}}
    else:
        identity = {"type": "IAMUser", "principalId": "AIDA" + key[4:] + "X", "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
                    "accountId": ACCOUNT, "accessKeyId": key, "userName": user}
    r = {
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source, "eventName": name, "awsRegion": rng.choice(REGIONS), "sourceIPAddress": ip,
        "userAgent": agent, "requestParameters": params,
        "responseElements": None, "requestID": str(uuid.UUID(int=rng.getrandbits(128))),
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))), "readOnly": name.startswith(("Get", "List", "Describe")),
        "eventType": "AwsApiCall", "managementEvent": source != "s3.amazonaws.com", "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": source.replace(".amazonaws.com", "") + ".amazonaws.com"},
    }
    if extra:
        r.update(extra)
    return r


def decoy(rng, when, decoy_keys):
    source, name, params = rng.choice(DECOY_EVENTS)
    key = rng.choice(decoy_keys)
    return record(rng, when, key, "svc-" + key[-4:].lower(), source, name, params,
                  f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}", rng.choice(AGENTS),
                  role="app-role" if rng.random() < 0.3 else None)


def path_for(out, region, when, n):
    folder = os.path.join(out, "AWSLogs", ACCOUNT, "CloudTrail", region, when.strftime("%Y/%m/%d"))
    os.makedirs(folder, exist_ok=True)
    stamp = when.strftime("%Y%m%dT%H%MZ")
    return os.path.join(folder, f"{ACCOUNT}_CloudTrail_{region}_{stamp}_{n:08d}.json.gz")


def write_file(job):
    """One archive file: decoys with the planted records at fixed positions. Returns planted."""
    out, index, records, plan, seed, decoy_keys = job
    rng = random.Random(seed * 100003 + index)
    when = BASE + dt.timedelta(minutes=5 * index)
    rows = []
    planted = []
    slots = {p["slot"]: p for p in plan}
    for i in range(records):
        t = when + dt.timedelta(seconds=i * 300 / max(records, 1))
        if i in slots:
            p = slots[i]
            source, name, params = TARGET_EVENTS[p["n"] % len(TARGET_EVENTS)]
            if p["kind"] == "mention":
                # another identity acting ON the target key: the key id is in requestParameters only
                r = record(rng, t, "AKIAADMINKEYEXAMPLE1", "admin", "iam.amazonaws.com", "UpdateAccessKey",
                           {"accessKeyId": p["key"], "status": "Inactive", "userName": "ci"}, "192.0.2.10", AGENTS[0])
            else:
                r = record(rng, t, p["key"], "ci", source, name, params, p["ip"], AGENTS[p["n"] % 3],
                           role="ci-role" if p["n"] % 4 == 3 else None)
                planted.append({"eventID": r["eventID"], "key": p["key"], "eventName": name, "eventTime": r["eventTime"],
                                "sourceIPAddress": p["ip"]})
            rows.append(r)
        else:
            rows.append(decoy(rng, t, decoy_keys))
    path = path_for(out, rng.choice(REGIONS), when, index)
    with gzip.open(path, "wt", compresslevel=6) as f:
        json.dump({"Records": rows}, f, separators=(",", ":"))
        f.write("\n")  # one line per file, so line tools (grep) can read a concatenation
    return planted


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--keys", required=True)
    ap.add_argument("--files", type=int, default=6)
    ap.add_argument("--records", type=int, default=300)
    ap.add_argument("--planted", type=int, default=5, help="events per target key")
    ap.add_argument("--mentions", type=int, default=3)
    ap.add_argument("--damaged", action="store_true")
    ap.add_argument("--tricky", action="store_true")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    keys = a.keys.split(",")
    rng = random.Random(a.seed)
    # Decoys include a key differing from the target by its last character only.
    decoy_keys = [fake_key(rng) for _ in range(40)] + [k[:-1] + ("B" if k[-1] != "B" else "C") for k in keys]
    plans = {i: [] for i in range(a.files)}
    n = 0
    for key in keys:
        for j in range(a.planted):
            f = rng.randrange(a.files)
            plans[f].append({"key": key, "kind": "event", "n": n, "ip": f"203.0.113.{(n % 5) + 1}"})
            n += 1
        for j in range(a.mentions):
            plans[rng.randrange(a.files)].append({"key": key, "kind": "mention", "n": n})
            n += 1
    jobs = []
    for f in range(a.files):
        slots = rng.sample(range(a.records), len(plans[f]))
        for p, s in zip(plans[f], slots):
            p["slot"] = s
        jobs.append((a.out, f, a.records, plans[f], a.seed, decoy_keys))
    if a.workers > 1:
        with Pool(a.workers) as pool:
            results = pool.map(write_file, jobs)
    else:
        results = [write_file(j) for j in jobs]
    planted = [p for r in results for p in r]
    manifest = {"keys": keys, "planted": planted, "mentions": a.mentions * len(keys), "skipped": [], "kept_from_damaged": []}
    if a.damaged:
        add_damaged(a.out, keys[0], rng, decoy_keys, manifest)
    if a.tricky:
        add_tricky(a.out, keys[0], rng, decoy_keys, manifest)
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def add_damaged(out, key, rng, decoy_keys, manifest):
    folder = os.path.join(out, "AWSLogs", ACCOUNT, "CloudTrail", "us-west-2", "2026", "11", "21")
    os.makedirs(folder, exist_ok=True)
    # Not gzip at all (an HTML error page saved under the archive's name).
    bad = os.path.join(folder, "malformed.json.gz")
    with open(bad, "wb") as f:
        f.write(b"<html><body>AccessDenied " + key.encode() + b"</body></html>\n")
    # gzip with a corrupted deflate stream in the middle.
    when = BASE + dt.timedelta(days=1)
    rows = [decoy(rng, when, decoy_keys) for _ in range(200)]
    data = bytearray(gzip.compress(json.dumps({"Records": rows}).encode()))
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    corrupt = os.path.join(folder, "corrupt.json.gz")
    with open(corrupt, "wb") as f:
        f.write(bytes(data))
    # Cut short: the key's events in the first two records are complete before the cut; the one
    # in the last record is lost with the rest of the file.
    rows = [decoy(rng, when + dt.timedelta(seconds=i), decoy_keys) for i in range(300)]
    kept = []
    for i in (0, 1, 299):
        t = when + dt.timedelta(seconds=i)
        rows[i] = record(rng, t, key, "ci", "s3.amazonaws.com", "GetObject", {"bucketName": "exfil", "key": f"dump-{i}.sql"},
                         "198.51.100.7", AGENTS[1])
        if i < 299:
            kept.append({"eventID": rows[i]["eventID"], "key": key, "eventName": "GetObject",
                         "eventTime": rows[i]["eventTime"], "sourceIPAddress": "198.51.100.7"})
    data = gzip.compress(json.dumps({"Records": rows}).encode())
    cut = os.path.join(folder, "truncated.json.gz")
    with open(cut, "wb") as f:
        f.write(data[: len(data) * 7 // 10])
    manifest["skipped"] += [bad, corrupt, cut]
    manifest["kept_from_damaged"] = kept


def add_tricky(out, key, rng, decoy_keys, manifest):
    """Records that trip naive scanners: braces, brackets, quotes and escapes inside strings, the key
    as a substring of a longer string, a record larger than a read chunk, and a two-member gzip."""
    folder = os.path.join(out, "AWSLogs", ACCOUNT, "CloudTrail", "ap-south-1", "2026", "11", "22")
    os.makedirs(folder, exist_ok=True)
    when = BASE + dt.timedelta(days=2)
    nasty = {"policy": '{"Statement":[{"Effect":"Allow","Action":"*"}]} }}]] \\"' + "\\", "note": "}\"{[" + "\\\\",
             "arn": "arn:aws:iam::123:key/" + key + "/x", "quoted": '"' + key + '"'}
    rows = [decoy(rng, when, decoy_keys) for _ in range(50)]
    planted = []
    r = record(rng, when, key, "ci", "iam.amazonaws.com", "PutUserPolicy", nasty, "203.0.113.99", AGENTS[0])
    rows[10] = r
    planted.append(r)
    # A decoy whose strings contain the key id inside escapes and longer strings only.
    rows[11] = record(rng, when, decoy_keys[0], "svc", "iam.amazonaws.com", "GetPolicy",
                      {"note": key + "x", "k": "\\" + key, "arr": [[["{"]]]}, "10.0.0.1", AGENTS[0])
    # A record bigger than the scanner's read chunk, with the key's identity at its end.
    big = record(rng, when, key, "ci", "s3.amazonaws.com", "PutObject", {"blob": "x" * 700_000}, "203.0.113.98", AGENTS[2])
    big_ordered = {k: v for k, v in big.items() if k != "userIdentity"}
    big_ordered["userIdentity"] = big["userIdentity"]
    rows[20] = big_ordered
    planted.append(big)
    doc1 = json.dumps({"Records": rows[:25]}, indent=2).encode()  # pretty-printed, too
    doc2 = json.dumps({"Records": rows[25:]}).encode()
    with open(os.path.join(folder, "tricky.json.gz"), "wb") as f:
        f.write(gzip.compress(doc1) + gzip.compress(doc2))  # two gzip members, like `cat a.gz b.gz`
    # A digest file: JSON without a Records array.
    digest = os.path.join(out, "AWSLogs", ACCOUNT, "CloudTrail-Digest", "us-east-1", "2026", "11", "22")
    os.makedirs(digest, exist_ok=True)
    with gzip.open(os.path.join(digest, "digest.json.gz"), "wt") as f:
        json.dump({"awsAccountId": ACCOUNT, "logFiles": [{"s3Object": "x", "hashValue": key}]}, f)
    for p in planted:
        manifest["planted"].append({"eventID": p["eventID"], "key": key, "eventName": p["eventName"],
                                    "eventTime": p["eventTime"], "sourceIPAddress": p["sourceIPAddress"]})


if __name__ == "__main__":
    sys.exit(main())
