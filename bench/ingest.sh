#!/usr/bin/env bash
# bench/ingest.sh [N...] - ingest throughput and peak memory of
# `callscope ingest` against psql's \copy of the same rows, already flattened,
# into the same table. Default sizes: 20000 200000. Each is measured REPS
# times (default 3), alternating the two tools, and the medians are shown:
# on this kind of machine single runs move by ±10 %.
# ROLLUPS=off measures without the KPI rollups' triggers (disabled after
# the migration), to see what maintaining them costs.
# Needs a release build in build/ (scripts/build.sh; CS names another)
# and runs its own throwaway PostgreSQL (fsync off, unix socket).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v bc >/dev/null && [ -x /usr/bin/time ] || apt-get install -y -qq bc time >/dev/null
CS=${CS:-build/callscope}
SIZES=("${@:-20000 200000}")
REPS=${REPS:-3}
# shellcheck source=../scripts/pg-throwaway.sh
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
chmod 755 "$WORK"
trap 'pg_throwaway_stop; rm -rf "$WORK"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf "%-10s %-22s %10s %12s %9s %12s\n" rows tool "median s" "rows/s" "MB/s" "peak RSS MB"
for n in ${SIZES[*]}; do
    days=20; per_day=$(( n / days ))
    file="$WORK/s-$n.jsonl"
    $CS sample --days $days --per-day $per_day --out "$file"
    mb=$(du -m "$file" | cut -f1)
    : > "$WORK/cs"; : > "$WORK/pq"; rss=0; rss2=0
    for rep in $(seq "$REPS"); do
        db="bench_${n}_$rep"
        psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
        export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG= CALLSCOPE_DATA_DIR="$WORK/var"
        $CS db migrate >/dev/null
        if [ "${ROLLUPS:-on}" = off ]; then
            psql "$CALLSCOPE_DATABASE_URL" -qc "ALTER TABLE conversations DISABLE TRIGGER USER"
        fi
        COLS=$(psql "$CALLSCOPE_DATABASE_URL" -Atc "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'conversations' AND column_name <> 'ingested_at'")
        /usr/bin/time -f "%e %M" -o "$WORK/t" $CS ingest "$file" >/dev/null
        read -r t r < "$WORK/t"; echo "$t" >> "$WORK/cs"; rss=$r
        # The same rows, flattened by callscope, loaded by psql's \copy.
        psql "$CALLSCOPE_DATABASE_URL" -qc "\\copy (SELECT $COLS FROM conversations) TO '$WORK/flat.tsv'"
        psql "$CALLSCOPE_DATABASE_URL" -qc "TRUNCATE conversations" -c "CHECKPOINT"
        /usr/bin/time -f "%e %M" -o "$WORK/t" psql "$CALLSCOPE_DATABASE_URL" -qc "\\copy conversations ($COLS) FROM '$WORK/flat.tsv'"
        read -r t r < "$WORK/t"; echo "$t" >> "$WORK/pq"; rss2=$r
        psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE $db"
        rm -f "$WORK/flat.tsv"
    done
    t=$(median < "$WORK/cs"); t2=$(median < "$WORK/pq")
    printf "%-10s %-22s %10.2f %12.0f %9.1f %12.1f\n" "$n" "callscope ingest" "$t" \
        "$(echo "$n / $t" | bc -l)" "$(echo "$mb / $t" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
    printf "%-10s %-22s %10.2f %12.0f %9.1f %12.1f\n" "$n" "psql \\copy (flat)" "$t2" \
        "$(echo "$n / $t2" | bc -l)" "$(echo "$mb / $t2" | bc -l)" "$(echo "$rss2 / 1024" | bc -l)"
    printf "%-10s ratio callscope/\\copy (medians): %.2f; runs: callscope %s, psql %s\n" "$n" \
        "$(echo "$t2 / $t" | bc -l)" "$(tr '\n' ' ' < "$WORK/cs")" "$(tr '\n' ' ' < "$WORK/pq")"
    rm -f "$file"
done
