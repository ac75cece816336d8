#!/usr/bin/env bash
# Runs every benchmark side by side with its peer in one go and writes bench-results/.
# Each section is added by the work that owns the figure; see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench-results
echo "bench: results in bench-results/"
