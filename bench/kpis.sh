#!/usr/bin/env bash
# bench/kpis.sh [N...] - seconds of `callscope kpis` over one month holding
# N conversations (default 100000 1000000), to see how it grows.
set -euo pipefail
cd "$(dirname "$0")/.."
CS=build/callscope
SIZES=("${@:-100000 1000000}")
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
trap 'pg_throwaway_stop; rm -rf "$WORK"' EXIT
printf "%-10s %12s %14s %14s\n" rows "ingest s" "kpis json s" "kpis --by day s"
for n in ${SIZES[*]}; do
    db="kbench_$n"
    psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG= CALLSCOPE_DATA_DIR="$WORK/var"
    start=$(date +%s.%N)
    $CS sample --start 2026-10-01 --days 31 --per-day $(( n / 31 )) | $CS ingest /dev/stdin >/dev/null
    t_ing=$(echo "$(date +%s.%N) - $start" | bc -l)
    psql "$CALLSCOPE_DATABASE_URL" -qc "VACUUM ANALYZE conversations"
    s=$(date +%s.%N)
    $CS kpis --from 2026-10-01 --to 2026-11-01 --format json >/dev/null
    t1=$(echo "$(date +%s.%N) - $s" | bc -l)
    s=$(date +%s.%N)
    $CS kpis --from 2026-10-01 --to 2026-11-01 --by day --no-compare --format json >/dev/null
    t2=$(echo "$(date +%s.%N) - $s" | bc -l)
    printf "%-10s %12.1f %14.2f %14.2f\n" "$n" "$t_ing" "$t1" "$t2"
    psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE $db"
done
