#!/usr/bin/env python3
"""Checks every report.json of an incident folder (beside its journal.jsonl) under the given
folders, and any .json file given directly, against the published schema,
docs/report.schema.json. scripts/test.sh runs it over everything the tests made respond write, so
a report that drifts from the schema fails the suite.

--self-test first proves the checker can fail: the committed golden report passes, and each of a
set of broken copies of it (a wrong verdict, a missing field, an unknown field, a bad time, a
contained report without a containment time) is refused.
Exit 0 when every report is valid, 1 otherwise."""
import copy
import json
import os
import sys

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA_PATH = os.path.join(ROOT, "docs", "report.schema.json")
GOLDEN = os.path.join(ROOT, "Tests", "RespondCoreTests", "Golden", "report-live.json")


def validator():
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(v, report):
    return sorted(v.iter_errors(report), key=lambda e: list(e.absolute_path))


def self_test(v):
    with open(GOLDEN) as f:
        good = json.load(f)
    found = problems(v, good)
    if found:
        print(f"self-test: the golden report does not validate: {found[0].message}", file=sys.stderr)
        return False

    def broken(change):
        r = copy.deepcopy(good)
        change(r)
        return r

    cases = {
        "a verdict respond never writes": lambda r: r.update(verdict="PROBABLY CONTAINED"),
        "no status line": lambda r: r.pop("status-line"),
        "an unknown field": lambda r: r.update(secret="x"),
        "a time without a zone": lambda r: r.update({"started-at": "2026-11-18T11:06:40"}),
        "contained without a time": lambda r: r.pop("contained-at"),
        "a step with a made-up outcome": lambda r: r["steps"][0].update(outcome="sort of"),
        "an evidence file outside evidence/": lambda r: r.update(
            {"evidence-files": [{"step": "s", "path": "../journal.jsonl", "sha256": "0" * 64, "bytes": 1}]}),
        "an event without a time": lambda r: r["evidence"][0]["evidence"]["events"][0].pop("time"),
    }
    ok = True
    for name, change in cases.items():
        if not problems(v, broken(change)):
            print(f"self-test: a report with {name} was accepted", file=sys.stderr)
            ok = False
    if ok:
        print(f"check-report-schema: self-test passed ({len(cases)} broken reports refused)", file=sys.stderr)
    return ok


def reports(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for folder, _, files in os.walk(path):
            # An incident folder: respond writes report.json beside its journal. A test that
            # writes a file named report.json to exercise file handling wrote no report.
            if "report.json" in files and "journal.jsonl" in files:
                yield os.path.join(folder, "report.json")


def main(argv):
    v = validator()
    if argv and argv[0] == "--self-test":
        return 0 if self_test(v) else 1
    checked, bad = 0, 0
    for path in reports(argv):
        checked += 1
        with open(path) as f:
            try:
                report = json.load(f)
            except ValueError as e:
                print(f"{path}: not JSON: {e}", file=sys.stderr)
                bad += 1
                continue
        for e in problems(v, report)[:5]:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print(f"{path}: {where}: {e.message}", file=sys.stderr)
        if problems(v, report):
            bad += 1
    print(f"check-report-schema: {checked} report(s) checked, {bad} invalid", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
