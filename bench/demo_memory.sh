#!/usr/bin/env bash
# Peak memory (max RSS) of `podwhisperer demo`, first run and cached rerun, on the embedded server.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export PREFECT_HOME=$tmp/prefect PREFECT_LOCAL_STORAGE_PATH=$tmp/results
for run in first rerun; do
  /usr/bin/time -f "%M %e" -o "$tmp/time" .venv/bin/podwhisperer demo --out "$tmp/out" --work-dir "$tmp/work" >/dev/null 2>&1
  read -r kb secs <"$tmp/time"
  echo "demo $run run: peak RSS $((kb / 1024)) MiB (largest single process: the CLI or the embedded server it starts), $secs s wall"
done
