#!/usr/bin/env bash
# The same benchmark against a real, already running `prefect server start` (not the embedded one).
#   bash bench/rerun_server.sh [--minutes 10] [--reps 2]
set -euo pipefail
cd "$(dirname "$0")/.."
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
home=$(mktemp -d)
PREFECT_HOME=$home PREFECT_SERVER_ANALYTICS_ENABLED=false .venv/bin/prefect server start --host 127.0.0.1 --port "$port" >"$home/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$home"' EXIT
export PREFECT_API_URL="http://127.0.0.1:$port/api"
for _ in $(seq 120); do curl -sf "$PREFECT_API_URL/health" >/dev/null && break; sleep 1; done
PREFECT_HOME=$home .venv/bin/python bench/pipeline.py "$@"
