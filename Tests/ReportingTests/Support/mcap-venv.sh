#!/usr/bin/env bash
# Creates (once) a Python venv with the `mcap` reader package and prints its python's path.
# Usage: mcap-venv.sh VENV_DIR. Exits 3 with a one-line note when python3, venv or pip is
# unavailable (the tests then skip with that note).
set -euo pipefail
venv="$1"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import mcap" 2>/dev/null; then
    echo "$venv/bin/python"; exit 0
fi
command -v python3 >/dev/null || { echo "python3 is not installed (apt-get install python3 python3-venv)" >&2; exit 3; }
python3 -m venv "$venv" >/dev/null 2>&1 || { echo "python3 -m venv failed (apt-get install python3-venv)" >&2; exit 3; }
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mcap>=1.1,<2" >/dev/null 2>&1 \
    || { echo "pip install mcap failed (no network to PyPI?)" >&2; exit 3; }
echo "$venv/bin/python"
