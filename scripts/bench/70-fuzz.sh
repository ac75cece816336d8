#!/usr/bin/env bash
# The long coverage-guided fuzzing run of every file reader (see scripts/bench.sh, docs/fuzz.md):
# libFuzzer, FUZZ_SECONDS per reader (default 300) from the committed seeds. No peer: the figure
# is executions, coverage (libFuzzer's cov/ft) and crashes, which must be 0.
# Writes $BENCH_OUT/fuzz.md (a table row per reader); exits non-zero if a reader crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH_OUT=${BENCH_OUT:-$PWD/bench-results}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
mkdir -p "$BENCH_OUT"
table=$(scripts/fuzz.sh "$FUZZ_SECONDS")
{
    echo "## File readers under coverage-guided fuzzing"
    echo
    echo "libFuzzer (\`scripts/fuzz.sh $FUZZ_SECONDS\`), $FUZZ_SECONDS s per reader from the seeds in"
    echo "\`Tests/Fixtures/fuzz/\`; cov and ft are libFuzzer's edge and feature counts at the end of the run."
    echo
    echo "$table"
} > "$BENCH_OUT/fuzz.md"
echo "$table"
