#!/usr/bin/env bash
# run.sh [SECONDS [TARGET...]] - builds the libFuzzer targets of
# tests/fuzz/targets with clang (CS_FUZZ=ON, in build-fuzz/: libFuzzer,
# AddressSanitizer and UndefinedBehaviorSanitizer) and runs each for
# SECONDS (default $CS_TEST_FUZZ_SECONDS, else 60; 0 skips everything),
# from its corpus (build-fuzz/corpus/<target>, kept between runs) and its
# seeds (made from the tests' data by seeds.py). A crash, leak, timeout or
# out-of-memory input is copied into tests/fuzz/<target>/regressions/
# (replayed by the ctest fuzz_replay/<target> from then on) and the
# script fails. Prints one line of figures per target.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-${CS_TEST_FUZZ_SECONDS:-60}}
shift || true
[ "$secs" = 0 ] && { echo "fuzz: skipped (0 seconds)"; exit 0; }
out=build-fuzz
CC=clang scripts/build.sh "$out" -DCS_FUZZ=ON -DCS_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCS_WERROR=OFF >/dev/null 2>&1 ||
    { cat "$out/build.log" >&2; exit 1; }
status=0
while read -r name kind paths; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
        continue
    fi
    corpus=$out/corpus/$name
    seeds=$out/seeds/$name
    arts=$out/artifacts/$name
    mkdir -p "$corpus" "$arts"
    # shellcheck disable=SC2086
    nseeds=$(/usr/bin/python3 tests/fuzz/seeds.py "$kind" "$seeds" $paths)
    log=$out/fuzz-$name.log
    rc=0
    t0=$(date +%s)
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$out/fuzz_$name" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$arts/" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
    took=$(( $(date +%s) - t0 ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
    ncorp=$(find "$corpus" -type f | wc -l)
    echo "fuzz $name: ${execs:-?} runs in $took s (${rate:-?}/s), coverage ${cov:-?} edges, corpus $ncorp (+$nseeds seeds)"
    if [ "$rc" != 0 ]; then
        status=1
        mkdir -p "tests/fuzz/$name/regressions"
        for f in "$arts"/*; do
            [ -f "$f" ] || continue
            cp "$f" "tests/fuzz/$name/regressions/"
            echo "fuzz $name: FOUND $(basename "$f") -> tests/fuzz/$name/regressions/" >&2
        done
        tail -n 60 "$log" >&2
    fi
done < tests/fuzz/targets
exit $status
