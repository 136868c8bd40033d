#!/usr/bin/env bash
# bench/partition.sh [N] [OLD_CALLSCOPE] - storage by month, before and
# after: N conversations (default 1000000) over the 12 months from
# 2025-12-01, ingested, scored by the rules evaluator and read by `kpis`,
# then the oldest month pruned, with NEW=build/callscope (partitioned
# tables) and OLD_CALLSCOPE (a build without them, e.g. of the commit
# before migration 50) into databases of their own, one after the other;
# then the in-place migration of the OLD database by NEW. Seconds each.
# OLD_CALLSCOPE "-" runs NEW alone (no migration).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
N=${1:-1000000}
OLD=${2:?"usage: bench/partition.sh N OLD_CALLSCOPE"}
NEW=${NEW:-build/callscope}
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
chmod 755 "$WORK"
trap 'pg_throwaway_stop; rm -rf "$WORK"' EXIT
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null; printf "%.2f" "$(echo "$(date +%s.%N) - $s" | bc -l)"; }
$NEW sample --start 2025-12-01 --days 365 --per-day $(( N / 365 )) > "$WORK/in.jsonl"
rows=$(wc -l < "$WORK/in.jsonl")
# Retention that drops the first month (December 2025) only: the first
# kept day is 2026-01-01 for every tenant (all in UTC) whenever it runs.
cat > "$WORK/cfg.json" <<EOF
{"tenants": {"default": {"retention_days": $(( ( $(date -u +%s) - $(date -u -d 2026-01-01 +%s) ) / 86400 ))}}}
EOF
printf "%-4s %9s %9s %9s %9s %9s %9s\n" "" "ingest" "score" "kpis Oct" "kpis 12m" "by day" "prune"
run() {
    local tag=$1 cs=$2 db=$3
    psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG="$WORK/cfg.json" CALLSCOPE_DATA_DIR="$WORK/var"
    ti=$(secs $cs ingest -q "$WORK/in.jsonl")
    ts=$(secs $cs score -q)
    psql "$CALLSCOPE_DATABASE_URL" -qc "VACUUM ANALYZE"
    tk=$(secs $cs kpis --from 2026-10-01 --to 2026-11-01 --format json)
    ty=$(secs $cs kpis --from 2025-12-01 --to 2026-12-01 --format json)
    td=$(secs $cs kpis --from 2026-10-01 --to 2026-11-01 --format json --by day --no-compare)
    tp=$(secs $cs db prune)
    printf "%-4s %9s %9s %9s %9s %9s %9s\n" "$tag" "$ti" "$ts" "$tk" "$ty" "$td" "$tp"
}
[ "$OLD" = - ] || run old "$OLD" pbench_old
run new "$NEW" pbench_new
[ "$OLD" = - ] && { echo "rows: $rows; load: $(cut -d' ' -f1-3 /proc/loadavg)"; exit 0; }
# The in-place migration: the old database (11 months left) opened by NEW.
export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=pbench_old"
tm=$(secs $NEW db migrate)
echo "in-place migration of the old database ($(psql "$CALLSCOPE_DATABASE_URL" -Atc 'SELECT count(*) FROM conversations') conversations, $(psql "$CALLSCOPE_DATABASE_URL" -Atc 'SELECT count(*) FROM results') results): $tm s"
echo "rows: $rows; load: $(cut -d' ' -f1-3 /proc/loadavg)"
