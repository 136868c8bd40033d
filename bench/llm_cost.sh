#!/usr/bin/env bash
# bench/llm_cost.sh [N] - money per judged conversation: the LLM judge
# against the test double on the 12-turn conversations of a generated day
# (at most N, default 250), the five starter rubrics of bench/llm.sh, at
# the default (gpt-4o-mini) prices of docs/config.md. The double's prompt
# cache off and on, synchronous and through the Batch API (score --batch
# twice: submit, then collect). Needs build/.
set -euo pipefail
cd "$(dirname "$0")/.."
CS=$PWD/build/callscope
N=${1:-250}
. scripts/pg-throwaway.sh
WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill $DPID 2>/dev/null; pg_throwaway_stop; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/rubrics"
for r in booking_completed caller_authenticated call_reason resolution_without_handoff agent_empathy; do
    cp rubrics/$r.json "$WORK/rubrics/"
done
$CS sample --days 1 --per-day 4000 --out "$WORK/all.jsonl"
/usr/bin/python3 -c "
import json, sys
n = 0
with open('$WORK/s.jsonl', 'w') as out:
    for line in open('$WORK/all.jsonl'):
        if n < $N and len(json.loads(line).get('turns', [])) == 12:
            out.write(line); n += 1
print(n, 'conversations of 12 turns', file=sys.stderr)"
# defaults of docs/config.md, stated here so the figures say what they used
PIN=0.00015 PCACHED=0.000075 POUT=0.0006 BIN=0.000075 BCACHED=0.0000375 BOUT=0.0003
echo "{\"llm\": {\"model\": \"bench\", \"price_in_per_1k\": $PIN, \"price_cached_in_per_1k\": $PCACHED, \"price_out_per_1k\": $POUT, \"batch_price_in_per_1k\": $BIN, \"batch_price_cached_in_per_1k\": $BCACHED, \"batch_price_out_per_1k\": $BOUT}}" > "$WORK/cfg.json"

one() { # one NAME DOUBLE_ARGS... -> the score summary's LLM line
    local db=$1; shift
    rm -f "$WORK/port"
    /usr/bin/python3 tests/llm_double/server.py --port-file "$WORK/port" --latency-ms 20 "$@" >/dev/null 2>&1 &
    DPID=$!
    for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
    psql "$CALLSCOPE_TEST_PG" -qc "CREATE DATABASE $db"
    export CALLSCOPE_DATABASE_URL="$CALLSCOPE_TEST_PG dbname=$db" CALLSCOPE_CONFIG="$WORK/cfg.json" \
        CALLSCOPE_DATA_DIR="$WORK/var" CALLSCOPE_RUBRICS_DIR="$WORK/rubrics" \
        CALLSCOPE_LLM_BASE_URL="http://127.0.0.1:$(cat "$WORK/port")/v1" CALLSCOPE_LLM_CONCURRENCY=16
    $CS ingest "$WORK/s.jsonl" >/dev/null
    [ "$db" = uncached ] && $CS score --dry-run | sed 's/^/  /' >&2
    if [ "${db#batch}" != "$db" ]; then
        $CS score -q --batch >/dev/null          # submit
        line=$($CS score -q --batch | grep '^LLM:')  # collect
    else
        line=$($CS score -q | grep '^LLM:')
    fi
    judged=$(psql "$CALLSCOPE_DATABASE_URL" -Atc "SELECT count(DISTINCT conversation_id) FROM results WHERE evaluator LIKE 'llm:%' AND value <> '\"not_applicable\"'")
    kill $DPID; wait $DPID 2>/dev/null || true; DPID=
    echo "$judged $line"
}

printf "%-22s %8s %10s %10s %10s %8s %12s %14s\n" way judged prompt cached completion cached% "cost" "per conv"
for way in uncached cached batch_uncached batch_cached; do
    case $way in
    *uncached) line=$(one $way --no-cache) ;;
    *) line=$(one $way) ;;
    esac
    judged=${line%% *}
    p=$(sed -n 's/.* wire), \([0-9]*\) prompt.*/\1/p' <<<"$line")
    c=$(sed -n 's/.* prompt (\([0-9]*\) cached.*/\1/p' <<<"$line")
    o=$(sed -n 's/.* + \([0-9]*\) completion.*/\1/p' <<<"$line")
    cost=$(sed -n 's/.* cost \([0-9.]*\).*/\1/p' <<<"$line")
    printf "%-22s %8d %10d %10d %10d %7.1f%% %12.6f %14.8f\n" "$way" "$judged" "$p" "$c" "$o" \
        "$(echo "100 * $c / $p" | bc -l)" "$cost" "$(echo "$cost / $judged" | bc -l)"
    if [ $way = uncached ]; then
        bcost=$(echo "$p * $BIN / 1000 + $o * $BOUT / 1000" | bc -l)
        printf "%-22s %8d %10d %10d %10d %7.1f%% %12.6f %14.8f\n" "uncached@batch prices" "$judged" "$p" 0 "$o" 0 \
            "$bcost" "$(echo "$bcost / $judged" | bc -l)"
    fi
done
