#!/usr/bin/env bash
# Coverage-guided fuzzing of the file readers with libFuzzer (docs/fuzz.md).
#   scripts/fuzz.sh [SECONDS_PER_READER] [READER...]
# Builds Fuzz/ (its own scratch path .build-fuzz), then fuzzes each reader for the given time
# (default 25 s) starting from its committed seeds in Tests/Fixtures/fuzz/<reader>/, with a
# working corpus in .build-fuzz/corpus/<reader>/. Prints one table row per reader (executions,
# libFuzzer's cov/ft, crashes) and exits 1 if any reader crashed; crash inputs are kept in
# .build-fuzz/crashes/<reader>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_READER=${1:-25}
shift || true
READERS=("$@")
[ ${#READERS[@]} -eq 0 ] && READERS=(safetensors policy numpy calibration robotconfig dataset)
SWIFT=${SWIFT:-swift}
RUNTIME=$(dirname "$(dirname "$(command -v "$SWIFT")")")/lib/clang
NO_MAIN=$(ls "$RUNTIME"/*/lib/linux/libclang_rt.fuzzer_no_main-"$(uname -m)".a | head -1)
# Instrument every module (the frontend flags only: the driver's -sanitize=fuzzer would link
# libFuzzer's own main, which clashes with SwiftPM's entry point); link the no-main runtime.
(cd Fuzz && "$SWIFT" build -c release --scratch-path ../.build-fuzz --product robotctl-fuzz \
    -Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer \
    -Xswiftc -Xfrontend -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
    -Xlinker "$NO_MAIN" -Xlinker -lstdc++ >&2)
BIN=.build-fuzz/release/robotctl-fuzz
# libFuzzer, not Swift's backtracer, must see a trap to record the crashing input.
export SWIFT_BACKTRACE=enable=no
status=0
echo "| reader | seconds | executions | cov | ft | corpus | crashes |"
echo "|---|---|---|---|---|---|---|"
for reader in "${READERS[@]}"; do
    corpus=.build-fuzz/corpus/$reader crashes=.build-fuzz/crashes/$reader
    mkdir -p "$corpus" "$crashes"
    log=.build-fuzz/$reader.log
    set +e
    "$BIN" "$reader" -max_total_time="$SECONDS_PER_READER" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "Tests/Fixtures/fuzz/$reader" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo "?")
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo "?")
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo "?")
    found=$(find "$crashes" -type f | wc -l)
    echo "| $reader | $SECONDS_PER_READER | $runs | $cov | $ft | $corp | $found |"
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        status=1
        echo "fuzz: $reader failed (exit $rc); see $log and $crashes/" >&2
    fi
done
exit $status
