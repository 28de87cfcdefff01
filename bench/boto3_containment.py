#!/usr/bin/env python3
"""Containment of a leaked AWS key as a careful boto3 script does it, step by step in the order
respond's runbook does: the owner (GetAccessKeyLastUsed), the first pages when PAGERDUTY_EVENTS_URL
and SLACK_WEBHOOK_URL are set (one after the other), then deactivate and deny the owner's sessions
issued before now (the inline AWSRevokeOlderSessions policy) at the same time, then verify Inactive
and read the deny back at the same time, as the runbook's two concurrent groups do. No read of the
key's state first: as in respond, the rerun guard is the owner's respond:replaces tag, read by the
replacement's mint after containment.
Used by bench/containment.sh.
Usage: boto3_containment.py KEY_ID   (env: AWS_*, optionally PAGERDUTY_* and SLACK_WEBHOOK_URL)
Prints JSON: epoch seconds at the first call, at the key verified Inactive and at the deny read
back; clients are made before the clock starts (boto3's model loading is not counted)."""
import datetime, json, os, sys, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor
import boto3, requests

key = sys.argv[1]
iam = boto3.client("iam")
http = requests.Session()
pd_url, pd_key, slack = (os.environ.get(v) for v in ("PAGERDUTY_EVENTS_URL", "PAGERDUTY_ROUTING_KEY", "SLACK_WEBHOOK_URL"))

start = time.time()
user = iam.get_access_key_last_used(AccessKeyId=key)["UserName"]
if slack:
    http.post(slack, json={"text": f"Leaked key {key[:8]}..., owner {user}: containment starting."}).raise_for_status()
if pd_url and pd_key:
    http.post(pd_url, json={"routing_key": pd_key, "event_action": "trigger", "dedup_key": "bench-" + key,
                            "payload": {"summary": f"Leaked aws access-key {key[:8]}...: containment starting",
                                        "source": "boto3", "severity": "critical"}}).raise_for_status()
# As the runbook does: the two changes together, then the two read-backs together (boto3 clients
# are thread-safe); the deny's cut-off is taken before the changes go out.
before = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
deny = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Action": ["*"], "Resource": ["*"],
    "Condition": {"DateLessThan": {"aws:TokenIssueTime": before}}}]})
with ThreadPoolExecutor(max_workers=2) as pool:
    changes = [pool.submit(iam.update_access_key, UserName=user, AccessKeyId=key, Status="Inactive"),
               pool.submit(iam.put_user_policy, UserName=user, PolicyName="AWSRevokeOlderSessions",
                           PolicyDocument=deny)]
    for f in changes:
        f.result()
    listing = pool.submit(iam.list_access_keys, UserName=user)
    policy = pool.submit(iam.get_user_policy, UserName=user, PolicyName="AWSRevokeOlderSessions")
    listed, document = listing.result()["AccessKeyMetadata"], policy.result()["PolicyDocument"]
leaked = next(k for k in listed if k["AccessKeyId"] == key)
assert leaked["Status"] == "Inactive"
inactive = time.time()
text = document if isinstance(document, str) else json.dumps(document)
assert before in urllib.parse.unquote(text)
denied = time.time()
print(json.dumps({"start": start, "inactive": inactive, "denied": denied}))
