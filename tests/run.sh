#!/usr/bin/env bash
# The test suite: the gates and pytest (unit, then integration on the lab), side by side.
# Called by `./dev test` after set-up; extra arguments (pytest options: -x, -k ...) go to
# every pytest stream.
#
# CI's budget is 60 minutes on 2 cores. The integration tests spend much of their time
# waiting (systemd in containers, moto, replication, watchdog timers), so pytest runs in
# streams side by side, each with labs of its own (name, /24, moto port, fact
# cache): the site lab's chain (converge, production defaults, the DR day) is the longest;
# the cheaper roles' molecule scenarios are a stream of their own.
# The gates run beside them. Every line is prefixed with its stream's name; each stream
# ends with its slowest tests and its time.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export PATH=$root/.venv/bin:$PATH
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

failed=()
gate() {
  local name=$1; shift
  local started=$SECONDS
  printf '==> gate %s\n' "$name"
  if "$@"; then
    printf '    %s ok (%ss)\n' "$name" $((SECONDS - started))
  else
    printf '    %s FAILED (%ss)\n' "$name" $((SECONDS - started))
    return 1
  fi
}

gates() {
  local rc=0
  gate yamllint yamllint -s . || rc=1
  gate ruff bash -c 'ruff check . && ruff format --check .' || rc=1
  # ansible-lint's syntax checks load the default inventory, inventories/lab, whose aws_ec2
  # source needs a running moto. Linting needs no cloud hosts: give it the lab's static
  # file. (Not "localhost,": ANSIBLE_INVENTORY is a path list, and the empty path after the
  # comma is the checkout itself, whose executables Ansible would run as inventory scripts.)
  # An empty HOME: ansible-lint searches ~/.ansible/collections before ./collections, and a
  # copy of tradeops.platform installed there (by an older molecule prerun, or by hand) is
  # stale: it would lint this checkout against roles it does not have.
  local lint_home
  lint_home=$(mktemp -d)
  gate ansible-lint env HOME="$lint_home" ANSIBLE_INVENTORY="$root/inventories/lab/hosts.yml" \
    ansible-lint -q --profile production || rc=1
  rm -rf "$lint_home"
  gate ansible-test-sanity bash tests/sanity/run.sh || rc=1
  return $rc
}

# name: paths. Tests marked `full` (the day-2 commands on the site lab: twenty minutes of
# check-mode runs beside the other suites; the DR drill on a lab of its own,
# tests/integration/drill, in no stream) are beyond the budget: `./dev test-full` runs
# them. The boot-time tuning VM (tests/integration/tuning_vm, 15-25 minutes of
# emulated CPU under TCG) does not fit in the budget: `./dev test-vm` runs it
# (docs/tuning.md, "The VM scenario").
declare -A streams=(
  [site]="tests/integration/lab tests/integration/dayto tests/integration/production_defaults"
  [hosts]="tests/integration/faults tests/integration/engine tests/integration/backup tests/integration/k8s"
  [units]="tests/unit tests/integration/aws tests/integration/aws_backup tests/integration/monitoring tests/integration/test_setup.py"
  # the roles' molecule scenarios that fit in CI's budget (the others: ./dev test-full)
  [roles]="tests/integration/test_molecule.py"
)
order=(site hosts units roles)

stream() {
  local name=$1; shift
  local started=$SECONDS rc
  # shellcheck disable=SC2086  # the paths are words
  # No nice for the other streams: their labs' moto and region gate would inherit it, and
  # a starved gate times out the engines' DR fence check (their start fails).
  pytest ${streams[$name]} -m "not full" --durations=15 -p no:cacheprovider "$@" 2>&1 |
    sed -u "s/^/[$name] /"
  rc=${PIPESTATUS[0]}
  # pytest's 5 means it collected nothing: that is a failure of the suite, not a pass.
  ((rc == 5)) && echo "[$name] pytest collected no tests" && rc=1
  echo "$rc $((SECONDS - started))" >"$logs/$name.rc"
  printf '==> stream %s: exit %s in %ss\n' "$name" "$rc" $((SECONDS - started))
}

printf '==> pytest in %d streams beside the gates: %s\n' "${#order[@]}" "${order[*]}"
pids=()
for name in "${order[@]}"; do
  stream "$name" "$@" &
  pids+=($!)
done
gates 2>&1 | sed -u 's/^/[gates] /'
((PIPESTATUS[0])) && failed+=(gates)
wait "${pids[@]}"

for name in "${order[@]}"; do
  read -r rc seconds <"$logs/$name.rc" 2>/dev/null || { rc=1 seconds='?'; }
  printf '    stream %-9s exit %s (%ss)\n' "$name" "$rc" "$seconds"
  ((rc)) && failed+=("pytest:$name")
done
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}"
  exit 1
fi
echo "all gates and test streams passed"
