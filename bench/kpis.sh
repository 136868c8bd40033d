#!/usr/bin/env bash
# bench/kpis.sh [N...] - seconds of `callscope kpis` over one month holding
# N conversations (default 100000 1000000), to see how it grows (CS: the
# build, default build/callscope): from the rollups (the default) and by
# the exact scan (CALLSCOPE_KPI_SCAN=1), the JSON report (with the
# previous period) and --by day (in each tenant's zone, and in UTC), as
# ingest leaves them (span deltas not compacted) and after `db
# compact-rollups` (its seconds, then the JSON report and --by day
# again); then the seconds of `db rebuild-rollups` and the rollups' rows
# (span histograms: rows/values).
set -euo pipefail
cd "$(dirname "$0")/.."
CS=${CS:-build/callscope}
SIZES=("${@:-100000 1000000}")
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
trap 'pg_throwaway_stop; rm -rf "$WORK"' EXIT
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc -l; }
printf "%-9s %9s %8s %8s %8s %9s %9s %9s %9s %9s %9s %9s %10s %9s %10s\n" rows "ingest s" "json s" \
    "day s" "day UTC" "scan json" "scan day" "scan UTC" "compact s" "c. json" "c. day" "rebuild s" "conv rows" "span d" "span h"
for n in ${SIZES[*]}; do
    db="kbench_$n"
    psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG= CALLSCOPE_DATA_DIR="$WORK/var"
    start=$(date +%s.%N)
    $CS sample --start 2026-10-01 --days 31 --per-day $(( n / 31 )) | $CS ingest /dev/stdin >/dev/null
    t_ing=$(echo "$(date +%s.%N) - $start" | bc -l)
    psql "$CALLSCOPE_DATABASE_URL" -qc "VACUUM ANALYZE"
    month=(kpis --from 2026-10-01 --to 2026-11-01 --format json)
    t1=$(secs $CS "${month[@]}")
    t2=$(secs $CS "${month[@]}" --by day --no-compare)
    t2u=$(secs $CS "${month[@]}" --by day --no-compare --tz UTC)
    t3=$(CALLSCOPE_KPI_SCAN=1 secs $CS "${month[@]}")
    t4=$(CALLSCOPE_KPI_SCAN=1 secs $CS "${month[@]}" --by day --no-compare)
    t4u=$(CALLSCOPE_KPI_SCAN=1 secs $CS "${month[@]}" --by day --no-compare --tz UTC)
    t6=$(secs $CS db compact-rollups)
    t7=$(secs $CS "${month[@]}")
    t8=$(secs $CS "${month[@]}" --by day --no-compare)
    t5=$(secs $CS db rebuild-rollups)
    rc=$(psql "$CALLSCOPE_DATABASE_URL" -Atc "SELECT count(*) FROM kpi_rollup")
    rd=$(psql "$CALLSCOPE_DATABASE_URL" -Atc "SELECT count(*) || '/' || sum(cardinality(n)) FROM kpi_span_d")
    rh=$(psql "$CALLSCOPE_DATABASE_URL" -Atc "SELECT count(*) || '/' || sum(cardinality(n)) FROM kpi_span_h")
    printf "%-9s %9.1f %8.2f %8.2f %8.2f %9.2f %9.2f %9.2f %9.1f %9.2f %9.2f %9.1f %10s %9s %10s\n" "$n" "$t_ing" "$t1" "$t2" "$t2u" "$t3" "$t4" "$t4u" "$t6" "$t7" "$t8" "$t5" "$rc" "$rd" "$rh"
    psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE $db"
done
