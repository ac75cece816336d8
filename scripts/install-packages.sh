#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet, and says
# which. Idempotent: prints "all present" and does nothing when everything is there.
# Runs apt-get as root, or through sudo when not root.
set -euo pipefail
missing=()
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: all present ($*)"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "error: missing packages ${missing[*]} and not root, and sudo is not available; install them as root: apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "system packages: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed ${missing[*]}"
