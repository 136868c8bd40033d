#!/usr/bin/env bash
# bench/export.sh [N...] - `callscope results export` of N current results
# (default 1000000 5000000): seconds, MB/s of output and peak RSS, for
# --format jsonl and csv. The results (5 metrics per conversation, a
# turn-sized evidence and a rationale each) and their conversations are
# made by SQL in the database, not by scoring, so that millions take a
# minute. Memory should stay flat whatever N (the rows are streamed).
# Needs build/ (scripts/build.sh); runs its own throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v bc >/dev/null && [ -x /usr/bin/time ] || apt-get install -y -qq bc time >/dev/null
CS=$PWD/build/callscope
SIZES=("${@:-1000000 5000000}")
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
chmod 755 "$WORK"
trap 'pg_throwaway_stop; rm -rf "$WORK"' EXIT

printf "%-10s %-6s %9s %10s %9s %10s %14s %12s\n" results format seconds "rows/s" "MB/s" "output MB" "client CPU s" "peak RSS MB"
for n in ${SIZES[*]}; do
    db="ebench_$n"
    psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
    export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG= CALLSCOPE_DATA_DIR="$WORK/var"
    $CS db migrate >/dev/null
    convs=$(( n / 5 ))
    psql "$CALLSCOPE_DATABASE_URL" -q <<SQL
INSERT INTO conversations (tenant, id, channel, direction, started_at, outcome,
    n_turns, turns, tools_total, tools_ok, created_ticket, created_crm,
    created_appt, cost_total, content_hash, ingest_batch)
SELECT 't' || (g % 3), 'c-' || g, 'voice', 'inbound',
       timestamptz '2026-10-01' + g * interval '1 second', 'answered',
       0, '[]', 0, 0, 0, 0, 0, 0, md5(g::text), 1
FROM generate_series(1, $convs) g;
INSERT INTO results (tenant, conversation_id, metric, rubric_version,
    evaluator, value, evidence, rationale, content_hash)
SELECT c.tenant, c.id, m.k, 'v1', 'rules',
       CASE WHEN m.k = 'call_reason' THEN '"booking"'::jsonb ELSE 'true' END,
       'You are booked for Tuesday at ten, and I have sent a text confirmation to your phone.',
       'rule 1 matched agent turn 3: "you are booked"', c.content_hash
FROM conversations c,
     unnest(ARRAY['booking_completed', 'caller_authenticated', 'call_reason',
                  'resolution_without_handoff', 'task_offered']) AS m(k);
VACUUM ANALYZE conversations;
VACUUM ANALYZE results;
SQL
    for fmt in jsonl csv; do
        /usr/bin/time -f "%e %M %U %S" -o "$WORK/t" $CS results export --format $fmt \
            | wc -lc > "$WORK/wc"
        read -r t rss u s < "$WORK/t"
        read -r lines bytes < "$WORK/wc"
        [ "$fmt" = csv ] && lines=$(( lines - 1 ))
        [ "$lines" -eq "$n" ] || { echo "export.sh: $lines rows exported, not $n" >&2; exit 1; }
        printf "%-10s %-6s %9.1f %10.0f %9.1f %10.0f %14.1f %12.1f\n" "$n" "$fmt" "$t" \
            "$(echo "$n / $t" | bc -l)" "$(echo "$bytes / 1048576 / $t" | bc -l)" \
            "$(echo "$bytes / 1048576" | bc -l)" "$(echo "$u + $s" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
    done
    psql "$CALLSCOPE_TEST_PG" -qc "DROP DATABASE $db"
done
