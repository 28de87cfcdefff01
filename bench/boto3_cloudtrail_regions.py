#!/usr/bin/env python3
"""The boto3 contestant of bench/cloudtrail-regions.sh: one key's CloudTrail LookupEvents in each
region, one region after another, every page, paced like a careful script (at most 2 requests
in any second per region, CloudTrail's quota, so no page is throttled). Prints the event count.

    boto3_cloudtrail_regions.py KEY REGION[,REGION...]
Endpoint and credentials from the environment (AWS_ENDPOINT_URL_CLOUDTRAIL, AWS_ACCESS_KEY_ID...).
"""
import sys
import time

import boto3


def main():
    key, regions = sys.argv[1], sys.argv[2].split(",")
    end = time.time()
    total = 0
    for region in regions:
        client = boto3.client("cloudtrail", region_name=region)
        sent, token = [], None
        while True:
            if len(sent) >= 2 and time.time() - sent[-2] < 1.0:
                time.sleep(1.0 - (time.time() - sent[-2]))
            sent.append(time.time())
            args = {"LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": key}],
                    "StartTime": end - 90 * 86400, "EndTime": end, "MaxResults": 50}
            if token:
                args["NextToken"] = token
            page = client.lookup_events(**args)
            total += len(page["Events"])
            token = page.get("NextToken")
            if not token:
                break
    print(total)


if __name__ == "__main__":
    main()
