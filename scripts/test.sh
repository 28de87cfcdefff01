#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing (libcurl headers, moto,
# OpenBao's bao, aiosmtpd), starts the real local servers, runs `swift test`, stops the servers.
# Usage: scripts/test.sh [extra swift test arguments, e.g. --filter Journal]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
trap '"$ROOT/scripts/services.sh" down || true' EXIT
"$ROOT/scripts/services.sh" up
set -a
# shellcheck disable=SC1091
. "$ROOT/.build-services/services.env"
set +a
echo "test.sh: building" >&2
swift build --build-tests 2>&1 | grep -v '^\[' || true
swift build --build-tests >/dev/null
echo "test.sh: running the suite" >&2
# One test at a time: end-to-end tests run respond processes against the servers, and on two
# cores parallel suites starve each other's timers (a step time limit, a retry's wait).
swift test --skip-build --no-parallel "$@"
