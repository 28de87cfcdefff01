#!/usr/bin/env python3
"""Fails when a known secret appears, in any spelling, in what respond wrote during a test run.

    secrets-scan.py --manifest FILE [--env-file services.env] [--secret VALUE]... PATH...

The known secrets are the lines of the manifest (the tests append every secret they mint:
leaked keys, replacement keys read back from Vault, Vault tokens), the secret values of the
services' env file (moto's admin secret key, the OpenBao root token), and any --secret.

Each PATH is a file or a folder walked whole. A folder holding a `journal.jsonl` is an incident
folder; under any other folder only respond's outputs are read: incident folders, `batch-*`
summaries, Markdown files and the captured stdout/stderr (`*.out`, `*.err`), so a fixture a test
wrote as respond's input (a key file, a fake ~/.aws) is not mistaken for a leak. A `.jsonl`
of the recording receiver is read request by request (its bodies are base64 too); a maildir
message is read raw and decoded (MIME base64, quoted-printable, RFC 2047 subjects).

The spellings are those respond's masker must cover (issue 12, item 10): raw, hex lower and
upper, base64 and base64url with and without padding, the three base64 alignments inside a
longer stream, percent-encoding (either hex case, `+` for spaces), JSON escapes (`\\/`), and
for a secret whose letters are of one case, both cases. Exit 1 with each finding (file, which
secret by its fingerprint, which spelling), 0 when clean, 2 on bad usage.

--self-test plants a secret in each spelling (base64 alignment 2 included) and checks that the
scan finds each and passes a masked copy.
"""
import argparse
import base64
import email
import email.policy
import hashlib
import json
import os
import re
import sys
import tempfile
import urllib.parse

MIN_SPELLING = 6
SECRET_ENV_NAMES = ("RESPOND_TEST_AWS_SECRET_ACCESS_KEY", "RESPOND_TEST_BAO_TOKEN")


def fingerprint(secret):
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:8]


def aligned_base64(data, offset):
    """The characters of base64(offset bytes + data + more) that depend on data alone."""
    encoded = base64.b64encode(b"\0" * offset + data).decode()
    first = (8 * offset + 5) // 6
    end = (8 * (offset + len(data))) // 6
    return encoded[first:end]


def single_case(value):
    letters = [c for c in value if c.isascii() and c.isalpha()]
    return bool(letters) and (all(c.islower() for c in letters) or all(c.isupper() for c in letters))


def spellings(secret):
    """(name, text, case_insensitive) for every spelling of a secret."""
    data = secret.encode()
    out = {}

    def add(name, text, ci=False):
        if len(text) >= MIN_SPELLING and text not in out:
            out[text] = (name, ci)

    ci = single_case(secret)
    add("raw", secret, ci)
    add("json-escaped", json.dumps(secret)[1:-1], ci)
    add("json-escaped \\/", json.dumps(secret)[1:-1].replace("/", "\\/"), ci)
    percent = (("", "percent (all)"), ("-._~", "percent (RFC 3986)"), ("-._~!$&'()*+,;=:@/?", "percent (query)"))
    for safe, name in percent:
        add(name, urllib.parse.quote(secret, safe=safe), True)  # the %XX digits in either case
    add("form", urllib.parse.quote_plus(secret, safe="-._~"), True)
    add("hex", data.hex(), True)
    std = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    add("base64", std)
    add("base64 unpadded", std.rstrip("="))
    add("base64url", url)
    add("base64url unpadded", url.rstrip("="))
    for offset in range(3):
        core = aligned_base64(data, offset)
        add(f"base64 alignment {offset}", core)
        add(f"base64url alignment {offset}", core.replace("+", "-").replace("/", "_"))
    return [(name, text, ci) for text, (name, ci) in out.items()]


class Scanner:
    def __init__(self, secrets):
        self.rules = []
        for secret in sorted(set(s for s in secrets if len(s) >= MIN_SPELLING)):
            for name, text, ci in spellings(secret):
                self.rules.append((fingerprint(secret), name, text.lower() if ci else text, ci))
        self.findings = []
        self.files = 0

    def scan_text(self, where, text):
        lower = None
        for fp, name, text_, ci in self.rules:
            if ci:
                lower = lower if lower is not None else text.lower()
                hit = text_ in lower
            else:
                hit = text_ in text
            if hit:
                self.findings.append(f"{where}: secret {fp} in {name} spelling")

    def scan_bytes(self, where, data):
        self.scan_text(where, data.decode("utf-8", "replace"))

    def scan_receiver_log(self, path):
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                try:
                    record = json.loads(line)
                except ValueError:
                    self.scan_bytes(f"{path}:{n}", line)
                    continue
                where = f"{path}:{n} ({record.get('method')} {record.get('path')})"
                body = base64.b64decode(record.get("body_b64") or "")
                self.scan_bytes(where, body)
                self.scan_text(where, (record.get("path") or "") + "?" + (record.get("query") or ""))
                headers = record.get("headers") or {}
                self.scan_text(where + " headers", "\n".join(f"{k}: {v}" for k, v in headers.items()))

    def scan_mail(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        self.scan_bytes(path, raw)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.scan_text(path + " (headers)", "\n".join(f"{k}: {v}" for k, v in message.items()))
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            self.scan_bytes(path + " (decoded part)", payload)

    def scan_file(self, path):
        self.files += 1
        if "/maildir/" in path and ("/new/" in path or "/cur/" in path):
            return self.scan_mail(path)
        if path.endswith(".jsonl") and "receiver" in os.path.basename(path):
            return self.scan_receiver_log(path)
        with open(path, "rb") as f:
            self.scan_bytes(path, f.read())

    def scan_tree(self, root):
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            incident = "journal.jsonl" in files or any(
                os.path.exists(os.path.join(p, "journal.jsonl")) for p in parents(folder, root))
            for name in sorted(files):
                path = os.path.join(folder, name)
                if os.path.islink(path):
                    continue
                output = (incident or name.startswith("batch-") or name.endswith((".md", ".out", ".err"))
                          or "/maildir/" in path or name.endswith("receiver-requests.jsonl"))
                if output:
                    try:
                        self.scan_file(path)
                    except OSError as e:
                        self.findings.append(f"{path}: unreadable ({e})")

    def scan(self, path):
        if os.path.isdir(path):
            self.scan_tree(path)
        elif os.path.exists(path):
            self.scan_file(path)


def parents(folder, root):
    """The folders from `folder` up to (not including) `root`'s parent."""
    out = []
    folder = os.path.abspath(folder)
    root = os.path.abspath(root)
    while folder.startswith(root) and folder != os.path.dirname(folder):
        out.append(folder)
        if folder == root:
            break
        folder = os.path.dirname(folder)
    return out


def load_secrets(args):
    secrets = list(args.secret or [])
    if args.manifest and os.path.exists(args.manifest):
        with open(args.manifest, encoding="utf-8") as f:
            secrets += [line.rstrip("\n") for line in f if line.strip()]
    if args.env_file and os.path.exists(args.env_file):
        with open(args.env_file, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"(?:export )?(\w+)=(.*)", line.strip())
                if m and m.group(1) in SECRET_ENV_NAMES:
                    secrets.append(m.group(2))
    return secrets


def self_test():
    """Plants a secret in every spelling, each in its own file, and checks each is found; a
    copy with the secret masked passes."""
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    token = "root-9f86d081884c7d659a2feaa0"
    failures = []
    with tempfile.TemporaryDirectory() as root:
        incident = os.path.join(root, "20261202T000000Z-key-compromised")
        os.makedirs(incident)
        open(os.path.join(incident, "journal.jsonl"), "w").write('{"masked":"sha256:1a2b3c4d"}\n')
        planted = {}
        for name, text, _ in spellings(secret):
            planted[name] = f"before {text} after"
        # Inside a longer base64 blob (HTTP Basic base64(user:secret)), the secret starts at byte
        # offset len(user:) mod 3: "ab:" 0, "abc:" 1, "abcd:" 2.
        for user in ("ab", "abc", "abcd"):
            blob = base64.b64encode(f"{user}:{secret}!tail".encode()).decode()
            planted[f"basic auth, alignment {(len(user) + 1) % 3}"] = "Authorization: Basic " + blob
        planted["upper-cased token"] = "echo " + token.upper()
        for i, (name, text) in enumerate(planted.items()):
            path = os.path.join(incident, f"report-{i}.md")
            with open(path, "w") as f:
                f.write(text)
            scanner = Scanner([secret, token])
            scanner.scan(root)
            if not any(f"report-{i}.md" in x for x in scanner.findings):
                failures.append(f"not found: {name}: {text}")
            os.remove(path)
        # Clean output, and an input fixture outside any incident folder, pass.
        with open(os.path.join(incident, "report.md"), "w") as f:
            f.write(f"key {fingerprint(secret)} masked")
        with open(os.path.join(root, "credentials"), "w") as f:
            f.write(f"aws_secret_access_key = {secret}\n")
        scanner = Scanner([secret, token])
        scanner.scan(root)
        if scanner.findings:
            failures.append("false positive: " + "; ".join(scanner.findings))
    for f in failures:
        print("secrets-scan self-test: " + f, file=sys.stderr)
    if not failures:
        print("secrets-scan self-test: every spelling found, clean output passes", file=sys.stderr)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--manifest")
    p.add_argument("--env-file")
    p.add_argument("--secret", action="append")
    p.add_argument("--self-test", action="store_true")
    p.add_argument("paths", nargs="*")
    args = p.parse_args()
    if args.self_test:
        return self_test()
    secrets = load_secrets(args)
    if not secrets:
        print("secrets-scan: no known secrets (manifest empty or missing): nothing proven", file=sys.stderr)
        return 2
    scanner = Scanner(secrets)
    for path in args.paths:
        scanner.scan(path)
    for f in scanner.findings:
        print("secrets-scan: LEAK " + f, file=sys.stderr)
    if scanner.findings:
        print(f"secrets-scan: {len(scanner.findings)} leak(s) of {len(set(secrets))} known secrets", file=sys.stderr)
        return 1
    print(f"secrets-scan: clean ({scanner.files} outputs, {len(set(secrets))} known secrets, every spelling)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
