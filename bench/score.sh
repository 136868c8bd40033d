#!/usr/bin/env bash
# bench/score.sh [N] - offline rules evaluation throughput with the starter
# rubrics (rubrics/, 6 metrics) on N generated conversations (default
# 200000): conversations/s (CPU-bound on one core: callscope is single-
# threaded while scoring) and peak RSS. Needs build/ (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v bc >/dev/null && [ -x /usr/bin/time ] || apt-get install -y -qq bc time >/dev/null
CS=build/callscope
N=${1:-200000}
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
chmod 755 "$WORK"
trap 'pg_throwaway_stop; rm -rf "$WORK"' EXIT
psql "$CALLSCOPE_TEST_PG" -qc "CREATE DATABASE sbench"
export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=sbench" CALLSCOPE_CONFIG= CALLSCOPE_DATA_DIR="$WORK/var"
$CS sample --days 20 --per-day $(( N / 20 )) | $CS ingest /dev/stdin >/dev/null
/usr/bin/time -f "%e %U %M" -o "$WORK/t" $CS score -q > "$WORK/out"
read -r wall user rss < "$WORK/t"
cat "$WORK/out"
printf "score: %d conversations, %.1f s wall, %.1f s user (client CPU), %.0f conv/s wall, %.0f conv/s per client core-second, peak RSS %.1f MB\n" \
    "$N" "$wall" "$user" "$(echo "$N / $wall" | bc -l)" "$(echo "$N / $user" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
/usr/bin/time -f "%e %U %M" -o "$WORK/t" $CS score -q > "$WORK/out"
read -r wall user rss < "$WORK/t"
printf "second run (nothing stale): %.1f s wall, %s\n" "$wall" "$(cat "$WORK/out")"
