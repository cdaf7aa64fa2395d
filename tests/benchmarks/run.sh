#!/usr/bin/env bash
# Benchmarks print figures (each compares two things in one run, as a ratio, because
# these machines are noisy); they assert nothing. `./dev bench [NAME]` runs them all,
# or those whose file name contains NAME.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
shopt -s nullglob
ran=0
for bench in tests/benchmarks/*_bench.py; do
  [[ -n ${1:-} && $bench != *"$1"* ]] && continue
  echo "==> $bench"
  "$root/.venv/bin/python" "$bench"
  ran=$((ran + 1))
done
((ran)) || echo "no benchmark matched"
