#!/usr/bin/env bash
# Benchmarks print figures (each compares two things in one run, as a ratio, because
# these machines are noisy); they assert nothing. `./dev bench [NAME [ARGS...]]` runs
# them all, or those whose file name contains NAME, with ARGS (./dev bench site --existing).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
shopt -s nullglob
ran=0
for bench in tests/benchmarks/*_bench.py; do
  [[ -n ${1:-} && $bench != *"$1"* ]] && continue
  echo "==> $bench"
  "$root/.venv/bin/python" "$bench" "${@:2}"
  ran=$((ran + 1))
done
((ran)) || echo "no benchmark matched"
