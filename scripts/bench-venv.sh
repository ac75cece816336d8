#!/usr/bin/env bash
# Usage: scripts/bench-venv.sh PACKAGE...   (prints the venv's python path on success)
# Creates .venv-bench (a local virtual environment for benchmark peers) if needed and
# pip-installs the given PyPI packages that are missing. Exits non-zero, with a message on
# stderr, if a package cannot be installed; callers then skip that peer's row with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-bench
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2 || { echo "bench-venv: cannot create $venv (python3-venv missing?)" >&2; exit 1; }
fi
for pkg in "$@"; do
    name=${pkg%%[=<>]*}
    if ! "$venv/bin/python" -m pip show "$name" >/dev/null 2>&1; then
        echo "bench-venv: installing $pkg" >&2
        "$venv/bin/python" -m pip install -q "$pkg" >&2 || { echo "bench-venv: could not install $pkg" >&2; exit 1; }
    fi
done
echo "$PWD/$venv/bin/python"
