#!/usr/bin/env bash
# Usage: scripts/test-venv.sh   (idempotent; prints what it does)
# Creates .venv-test with the Python packages the cross-language tests read our files with
# (numpy and safetensors: a checkpoint loaded into a PyTorch-layout forward pass). When it
# cannot (no python3 venv, no network), it says so and exits 0: those tests then skip with a note.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.venv-test
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" 2>/dev/null || { echo "test-venv: cannot create $venv (python3-venv missing); the numpy round-trip tests will skip"; exit 0; }
fi
if "$venv/bin/python" -c 'import numpy, safetensors' 2>/dev/null; then
    echo "test-venv: $venv has numpy and safetensors"
    exit 0
fi
echo "test-venv: installing numpy safetensors into $venv"
"$venv/bin/python" -m pip install -q numpy safetensors || echo "test-venv: pip could not install numpy safetensors; the numpy round-trip tests will skip"
exit 0
