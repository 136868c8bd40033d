#!/usr/bin/env bash
# bench/xlsx.sh [N] - `callscope report client` for one tenant-month of N
# conversations (default 200,000): seconds and peak RSS, run in turn with
# a bare libxlsxwriter loop (bench/xlsx_bare.c, built here) that writes a
# sheet of the same rows and columns, then the bare loop without
# constant_memory. RUNS (default 3) runs of each; medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CS=$ROOT/build/callscope
N=${1:-200000}
RUNS=${RUNS:-3}
TENANT=acme-dental
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
trap 'pg_throwaway_stop; rm -rf "$WORK"' EXIT
cc -O2 -Wall -o "$WORK/xlsx_bare" bench/xlsx_bare.c \
    $(pkg-config --cflags --libs xlsxwriter)

psql "$CALLSCOPE_TEST_PG" -qc "CREATE DATABASE xbench"
export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=xbench" \
    CALLSCOPE_CONFIG="$ROOT/config/callscope.json" \
    CALLSCOPE_DATA_DIR="$WORK/var" CALLSCOPE_REPORTS_DIR="$WORK/reports" \
    CALLSCOPE_RUBRICS_DIR="$ROOT/rubrics"
psql_db() { psql "$CALLSCOPE_DATABASE_URL" -qAt "$@"; }

# A month with about N/10 conversations of the tenant (a third of the
# sample's), scored by the starter rubrics; then copies under new ids (the
# same times, values and results) up to N.
base=$(( N / 10 ))
$CS sample --start 2026-10-01 --days 31 --per-day $(( base * 3 / 31 + 1 )) \
    -o "$WORK/sample.jsonl"
$CS ingest "$WORK/sample.jsonl" >/dev/null
$CS -q score >/dev/null
MONTH="tenant = '$TENANT'
  AND started_at >= '2026-10-01'::timestamp AT TIME ZONE 'America/New_York'
  AND started_at < '2026-11-01'::timestamp AT TIME ZONE 'America/New_York'"
have=$(psql_db -c "SELECT count(*) FROM conversations WHERE $MONTH")
copies=$(( (N - have) / have + 1 ))
# The copies are written with column lists (a row-to-JSON round trip is
# far slower): columns TABLE SKIP RENAMED names|exprs lists the table's
# columns but SKIP, as names or as expressions over c with RENAMED given
# the copy's suffix. (Results of the last copy may lack their
# conversation: they are never read.)
columns() {
    psql_db -c "SELECT string_agg(CASE WHEN '$4' = 'names' THEN column_name
        WHEN column_name = '$3' THEN 'c.$3 || ''-'' || g'
        ELSE 'c.' || column_name END, ', ' ORDER BY ordinal_position)
        FROM information_schema.columns
        WHERE table_name = '$1' AND column_name <> '$2'"
}
psql_db -c "INSERT INTO conversations
  SELECT $(columns conversations - id exprs)
  FROM conversations c, generate_series(1, $copies) g
  WHERE c.$MONTH LIMIT $(( N - have ))" \
    -c "INSERT INTO results ($(columns results id conversation_id names))
  SELECT $(columns results id conversation_id exprs)
  FROM results c, generate_series(1, $copies) g
  WHERE c.tenant = '$TENANT' AND c.current" \
    -c "VACUUM ANALYZE"
rows=$(psql_db -c "SELECT count(*) FROM conversations WHERE $MONTH")

# The bare loop writes the Conversations sheet's columns with their types
# in every row (id, started, 5 texts, flag, reason, 5 numbers, sentiment,
# then each metric by the type of its values).
metrics=$(psql_db -c "SELECT string_agg(CASE jsonb_typeof(v) WHEN 'boolean'
  THEN 'b' WHEN 'number' THEN 'n' ELSE 's' END, '' ORDER BY metric)
  FROM (SELECT metric, (array_agg(value) FILTER (WHERE value <> '\"not_applicable\"'))[1] v
        FROM results WHERE tenant = '$TENANT' AND current
        AND metric <> 'customer_sentiment' GROUP BY metric) m")
types="sdssssbsnnnnns$metrics"

run() { # command... : prints seconds and peak RSS (kB); stderr in $WORK/err
    local out=$WORK/time.$$
    /usr/bin/time -v -o "$out" "$@" >/dev/null 2>"$WORK/err"
    awk -F': ' '/Elapsed \(wall/ {split($2, t, ":"); s = t[1] * 60 + t[2]}
                /Maximum resident/ {r = $2}
                END {printf "%.2f %d\n", s, r}' "$out"
}
# The phases callscope -vv reports: KPIs computed, workbook written.
phases() {
    sed -nE 's/.*computed in ([0-9.]+) s/\1/p; s/.*written in ([0-9.]+) s/\1/p' \
        "$WORK/err" | paste -sd' '
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

: >"$WORK/cs"; : >"$WORK/bare"; : >"$WORK/phases"
for i in $(seq "$RUNS"); do
    run "$CS" -vv report client --tenant "$TENANT" --from 2026-10-01 \
        --to 2026-11-01 >>"$WORK/cs"
    phases >>"$WORK/phases"
    run "$WORK/xlsx_bare" "$WORK/bare.xlsx" "$rows" "$types" >>"$WORK/bare"
done
mem=$(run "$WORK/xlsx_bare" "$WORK/mem.xlsx" "$rows" "$types" --in-memory)
xlsx=$(ls "$WORK"/reports/*/client-$TENANT.xlsx)
cells=$(/usr/bin/python3 -c "import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(len(re.findall(rb'<c ', z.read('xl/worksheets/sheet3.xml'))))" "$xlsx")

cs_s=$(cut -d' ' -f1 "$WORK/cs" | median)
cs_kb=$(cut -d' ' -f2 "$WORK/cs" | sort -n | tail -1)
bare_s=$(cut -d' ' -f1 "$WORK/bare" | median)
bare_kb=$(cut -d' ' -f2 "$WORK/bare" | sort -n | tail -1)
echo "conversations in the month: $rows; Conversations sheet: ${#types}" \
     "columns, $cells cells written (the bare loop: $(( (rows + 1) * ${#types} )))"
echo "xlsx: $(stat -c %s "$xlsx") bytes"
printf "%-44s %10s %12s\n" "" "seconds" "peak RSS MB"
printf "%-44s %10s %12.1f\n" "callscope report client (median of $RUNS)" \
    "$cs_s" "$(echo "$cs_kb / 1024" | bc -l)"
printf "%-44s %10s\n" "  of which KPIs (PostgreSQL queries)" \
    "$(cut -d' ' -f1 "$WORK/phases" | median)"
printf "%-44s %10s\n" "  of which the workbook (rows streamed)" \
    "$(cut -d' ' -f2 "$WORK/phases" | median)"
printf "%-44s %10s %12.1f\n" "bare libxlsxwriter, constant_memory" \
    "$bare_s" "$(echo "$bare_kb / 1024" | bc -l)"
printf "%-44s %10s %12.1f\n" "bare libxlsxwriter, in memory (one run)" \
    "${mem% *}" "$(echo "${mem#* } / 1024" | bc -l)"
echo "ratio callscope / bare: $(echo "$cs_s / $bare_s" | bc -l | cut -c1-4);" \
     "workbook alone / bare: $(echo "$(cut -d' ' -f2 "$WORK/phases" | median) / $bare_s" | bc -l | cut -c1-4)"
echo "runs (s, kB): callscope $(tr '\n' ';' <"$WORK/cs") bare $(tr '\n' ';' <"$WORK/bare")"
