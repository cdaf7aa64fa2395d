#!/usr/bin/env bash
# The test suite: the gates, then pytest (unit, then integration on the lab).
# Called by `./dev test` after set-up; extra arguments go to pytest.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export PATH=$root/.venv/bin:$PATH

failed=()
gate() {
  local name=$1; shift
  local started=$SECONDS
  printf '==> gate %s\n' "$name"
  if "$@"; then
    printf '    %s ok (%ss)\n' "$name" $((SECONDS - started))
  else
    printf '    %s FAILED (%ss)\n' "$name" $((SECONDS - started))
    failed+=("$name")
  fi
}

gate yamllint yamllint -s .
gate ruff bash -c 'ruff check . && ruff format --check .'
# ansible-lint's syntax checks load the default inventory, inventories/lab, whose aws_ec2
# source needs a running moto. Linting needs no cloud hosts: give it the lab's static file.
# (Not "localhost,": ANSIBLE_INVENTORY is a path list, and the empty path after the comma
# is the checkout itself, whose executables Ansible would run as inventory scripts.)
# An empty HOME: ansible-lint searches ~/.ansible/collections before ./collections, and a
# copy of tradeops.platform installed there (by an older molecule prerun, or by hand) is
# stale: it would lint this checkout against roles it does not have.
lint_home=$(mktemp -d)
gate ansible-lint env HOME="$lint_home" ANSIBLE_INVENTORY="$root/inventories/lab/hosts.yml" \
  ansible-lint -q --profile production
rm -rf "$lint_home"
gate ansible-test-sanity bash tests/sanity/run.sh
printf '==> pytest\n'
# The slowest tests, in every CI log: the run must stay under 60 minutes on 2 cores.
# The boot-time tuning VM (marker vm, 15-25 minutes of emulated CPU under TCG) does not
# fit in that budget: `./dev test-vm` runs it (docs/tuning.md, "The VM scenario").
pytest tests -m "not vm" --durations=25 "$@"
rc=$?
# pytest's 5 means it collected nothing: that is a failure of the suite, not a pass.
((rc == 5)) && echo "pytest collected no tests" && rc=1

if ((${#failed[@]})); then
  echo "gates failed: ${failed[*]}"
  exit 1
fi
exit $rc
