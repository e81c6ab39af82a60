#!/usr/bin/env bash
# `make bench`: every benchmark, each side by side with its reference system.
# Results print as they come; docs/performance.md records them with this command.
# bench/compat_*.py are compatibility checks against reference servers (PASS/FAIL, no timing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG=1 SECRET_KEY=bench-only PYTHONPATH="$PWD"
only="${BENCH:-}"
for script in bench/bench_*.py bench/compat_*.py; do
    name=$(basename "$script" .py)
    if [ -n "$only" ] && [[ "$name" != *"$only"* ]]; then continue; fi
    echo "=== $name"
    "$PY" "$script"
done
