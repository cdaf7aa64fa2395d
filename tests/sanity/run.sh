#!/usr/bin/env bash
# ansible-test sanity for the collection. ansible-test wants the collection at
# .../ansible_collections/tradeops/platform and outside any other git checkout, so this
# builds the collection (galaxy.yml's build_ignore decides what is in it), unpacks it
# there with its dependencies linked beside it, and runs the test in the copy. Its pip bootstrapper comes from get_pip_bootstrap.py (the usual
# download host is not reachable here).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$root/.venv
work=${TMPDIR:-/tmp}/tradeops-sanity
dest=$work/ansible_collections/tradeops/platform

pip_version=$("$venv/bin/python" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([0-9.]+)'", src.read_text()).group(1))
PY
)
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
cp "$root/tests/sanity/get_pip_bootstrap.py" "$cache/get_pip_${pip_version//./_}.py"

rm -rf "$work"
mkdir -p "$dest"
cd "$root"
"$venv/bin/ansible-galaxy" collection build --force --output-path "$work" >/dev/null
tar -xzf "$work"/tradeops-platform-*.tar.gz -C "$dest"
rm -f "$work"/tradeops-platform-*.tar.gz
# Dependencies (doc fragments, module_utils) resolve from the same ansible_collections.
site=$("$venv/bin/python" -c 'import ansible_collections.amazon.aws as m, pathlib; print(pathlib.Path(m.__path__[0]).parents[1])')
for ns in amazon community ansible containers kubernetes; do
  ln -s "$site/$ns" "$work/ansible_collections/$ns"
done
cd "$dest"
git init -q && git add -A
exec "$venv/bin/ansible-test" sanity --python 3.11 --color no "$@"
