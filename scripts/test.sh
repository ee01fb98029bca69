#!/usr/bin/env bash
# The test command: everything the tests need (scripts/setup.sh plus the whisperx and diarize
# extras, whose tests run for real on the CPU), then the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_WHISPERX=1 WITH_DIARIZE=1 bash scripts/setup.sh
PODWHISPERER_TESTS_NEED_EXTRAS=1 exec .venv/bin/python -m pytest "$@"
