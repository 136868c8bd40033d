#!/usr/bin/env bash
# build.sh [BUILD_DIR [CMAKE_ARGS...]] - configure and build (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}; shift || true
mkdir -p "$dir"
log="$dir/build.log"
# Quiet unless it fails: then the whole log.
if ! { cmake -S . -B "$dir" -DCS_MODULES="base;config;model;regex;redact;store;ingest;import;kpi;sample;rubric;score;llm;net;review;report;mail;pipeline;cli" "$@" &&
       cmake --build "$dir" -j"$(nproc)"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "build.sh: build failed in $dir (log: $log)" >&2
    exit 1
fi
grep -E 'warning:' "$log" >&2 || true
echo "built $dir/callscope" >&2
