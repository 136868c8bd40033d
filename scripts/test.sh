#!/usr/bin/env bash
# test.sh - the whole test suite: installs what is missing, builds with
# -Werror, starts a throwaway PostgreSQL, runs every test (ctest), then does
# the same in an AddressSanitizer + UndefinedBehaviorSanitizer build, then
# runs every libFuzzer target (tests/fuzz/run.sh) for CS_TEST_FUZZ_SECONDS
# each (60). CS_TEST_SANITIZE=0 skips the sanitizer pass,
# CS_TEST_FUZZ_SECONDS=0 the fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# shellcheck source=pg-throwaway.sh
. scripts/pg-throwaway.sh
trap pg_throwaway_stop EXIT

status=0
scripts/build.sh build -DCS_WERROR=ON -DCS_SANITIZE=OFF
ctest --test-dir build --output-on-failure -j2 || status=1

if [ "${CS_TEST_SANITIZE:-1}" != 0 ]; then
    echo "== again under AddressSanitizer + UndefinedBehaviorSanitizer"
    scripts/build.sh build-asan -DCS_WERROR=ON -DCS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j2 || status=1
fi

if [ "${CS_TEST_FUZZ_SECONDS:-60}" != 0 ]; then
    echo "== fuzzing: every target of tests/fuzz/targets for ${CS_TEST_FUZZ_SECONDS:-60} s"
    tests/fuzz/run.sh "${CS_TEST_FUZZ_SECONDS:-60}" || status=1
fi
exit $status
