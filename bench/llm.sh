#!/usr/bin/env bash
# bench/llm.sh [N] - the LLM judge against the test double answering in
# 200 ms: N generated conversations (default 2000), 5 rubrics, concurrency
# 16 and 64. Prints conversations/s against the bound concurrency/latency,
# requests and prompt tokens per conversation, client CPU per request and
# peak RSS; then the same conversations judged one rubric per request (5
# rescore runs) to compare prompt tokens. Needs build/ (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v bc >/dev/null && [ -x /usr/bin/time ] || apt-get install -y -qq bc time >/dev/null
CS=$PWD/build/callscope
N=${1:-2000}
LAT=200
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill $DPID 2>/dev/null; pg_throwaway_stop; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/rubrics"
for r in booking_completed caller_authenticated call_reason resolution_without_handoff agent_empathy; do
    cp rubrics/$r.json "$WORK/rubrics/"
done
/usr/bin/python3 tests/llm_double/server.py --port-file "$WORK/port" --latency-ms $LAT \
    --stats-file "$WORK/stats" >/dev/null 2>&1 &
DPID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
PORT=$(cat "$WORK/port")
$CS sample --days 1 --per-day "$N" --out "$WORK/s.jsonl"

run() { # run DB CONCURRENCY ARGS... -> prints the figures line
    local db=$1 conc=$2; shift 2
    export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG= \
        CALLSCOPE_DATA_DIR="$WORK/var" CALLSCOPE_RUBRICS_DIR="$WORK/rubrics" \
        CALLSCOPE_LLM_BASE_URL="http://127.0.0.1:$PORT/v1" CALLSCOPE_LLM_MODEL=bench \
        CALLSCOPE_LLM_CONCURRENCY=$conc
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" $CS "$@" > "$WORK/out"
    cat "$WORK/out" >&2
}

printf "%-12s %8s %10s %9s %12s %14s %14s %12s %10s\n" concurrency convs "seconds" "conv/s" "bound conv/s" "req/conv" "prompt tok/conv" "CPU µs/req" "RSS MB"
for conc in 16 64; do
    db="llm_$conc"
    psql "$CALLSCOPE_TEST_PG" -qc "CREATE DATABASE $db"
    CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG= CALLSCOPE_DATA_DIR="$WORK/var" \
        $CS ingest "$WORK/s.jsonl" >/dev/null
    run "$db" "$conc" score -q
    read -r wall usr sys rss < "$WORK/t"
    req=$(sed -n 's/^LLM: \([0-9]*\) requests.*/\1/p' "$WORK/out")
    tok=$(sed -n 's/.* tries on the wire), \([0-9]*\) prompt.*/\1/p' "$WORK/out")
    judged=$(psql "$CALLSCOPE_DATABASE_URL" -Atc "SELECT count(DISTINCT conversation_id) FROM results WHERE evaluator LIKE 'llm:%' AND value <> '\"not_applicable\"'")
    printf "%-12s %8d %10.2f %9.1f %12.1f %14.2f %14.0f %12.0f %10.1f\n" "$conc" "$N" "$wall" \
        "$(echo "$N / $wall" | bc -l)" "$(echo "$conc * 1000 / $LAT" | bc -l)" \
        "$(echo "$req / $N" | bc -l)" "$(echo "$tok / $judged" | bc -l)" \
        "$(echo "($usr + $sys) * 1000000 / $req" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
done

# The same work, one rubric per request (what a per-rubric grader sends).
db=llm_16; total=0; reqs=0
for r in booking_completed caller_authenticated call_reason resolution_without_handoff agent_empathy; do
    run "$db" 64 rescore -q --metric "$r"
    t=$(sed -n 's/.* tries on the wire), \([0-9]*\) prompt.*/\1/p' "$WORK/out")
    q=$(sed -n 's/^LLM: \([0-9]*\) requests.*/\1/p' "$WORK/out")
    total=$((total + ${t:-0})); reqs=$((reqs + ${q:-0}))
done
export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db"
judged=$(psql "$CALLSCOPE_DATABASE_URL" -Atc "SELECT count(DISTINCT conversation_id) FROM results WHERE evaluator LIKE 'llm:%' AND value <> '\"not_applicable\"'")
printf "one rubric per request: %d requests, %.2f requests and %.0f prompt tokens per judged conversation\n" \
    "$reqs" "$(echo "$reqs / $judged" | bc -l)" "$(echo "$total / $judged" | bc -l)"
