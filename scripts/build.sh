#!/usr/bin/env bash
# build.sh [BUILD_DIR [CMAKE_ARGS...]] - configure and build (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}; shift || true
cmake -S . -B "$dir" -DCS_MODULES="base;config;model;store;ingest;kpi;sample;rubric;score;llm;net;report;mail;pipeline;cli" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" -- --no-print-directory
