#!/usr/bin/env bash
# bench/pdf.sh [N] - the monthly executive PDF of one tenant-month holding
# N conversations (default 1000000), scored by the rules evaluator:
# seconds to compute the report (the SQL aggregation and the details the
# PDF needs) and to render it, timed apart, with peak RSS of the command.
set -euo pipefail
cd "$(dirname "$0")/.."
CS=$PWD/build/callscope
N=${1:-1000000}
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
trap 'pg_throwaway_stop; rm -rf "$WORK"' EXIT
db=pdfbench
psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG= \
       CALLSCOPE_DATA_DIR="$WORK/var" CALLSCOPE_REPORTS_DIR="$WORK/reports" \
       CALLSCOPE_TEMPLATES_DIR="$PWD/templates" CALLSCOPE_RUBRICS_DIR="$PWD/rubrics"
# One tenant: the sample's three folded into one (ids stay unique).
$CS sample --start 2026-10-01 --days 31 --per-day $(( N / 31 )) |
    sed 's/"tenant":"[^"]*"/"tenant":"bench"/' | $CS ingest /dev/stdin >/dev/null
$CS -q score >/dev/null
psql "$CALLSCOPE_DATABASE_URL" -qc "VACUUM ANALYZE"
n=$(psql "$CALLSCOPE_DATABASE_URL" -Atc "SELECT count(*) FROM conversations")
for run in 1 2 3; do
    /usr/bin/time -f "%M" -o "$WORK/rss" $CS -vv report executive --month 2026-10 \
        --tenant bench 2>"$WORK/log" >/dev/null
    agg=$(sed -n "s/.*computed the report of 'bench' in \([0-9.]*\) s.*/\1/p" "$WORK/log")
    ren=$(sed -n "s/.*rendered '.*' in \([0-9.]*\) s.*/\1/p" "$WORK/log")
    printf "run %d: %s conversations: aggregation %s s, rendering %s s, peak RSS %s KB\n" \
        "$run" "$n" "$agg" "$ren" "$(tail -1 "$WORK/rss")"
done
pages=$(pdfinfo "$WORK/reports/2026-10/executive-bench.pdf" | sed -n 's/Pages: *//p')
size=$(stat -c %s "$WORK/reports/2026-10/executive-bench.pdf")
echo "pages: $pages, file: $size bytes"
