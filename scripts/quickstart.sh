#!/usr/bin/env bash
# quickstart.sh - install what is missing, build, and run the nightly job and
# then the monthly job on the bundled sample data with the embedded
# defaults: a private PostgreSQL cluster under var/, the offline rules
# evaluator and no SMTP server (mail goes to reports/outbox/ as .eml).
# Leaves its output under reports/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
CS=build/callscope

# 60 days of sample conversations up to today (UTC), written once; the
# report is for yesterday, complete in every tenant's time zone.
yesterday=$(date -u -d yesterday +%F)
start=$(date -u -d "$yesterday -58 days" +%F)
mkdir -p var/inbox
sample="var/inbox/sample-$start.jsonl"
if ! ls var/done/*/"sample-$start.jsonl" >/dev/null 2>&1 && [ ! -f "$sample" ]; then
    "$CS" sample --start "$start" --days 60 --per-day 300 --out "$sample.tmp"
    mv "$sample.tmp" "$sample"
fi
rc=0
"$CS" nightly --date "$yesterday" || rc=$?
# The monthly job: the executive PDFs and client workbooks of the last
# complete month, mailed (to reports/outbox/ with no SMTP server).
month=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)
"$CS" monthly --month "$month" || rc=$?
echo
echo "Reports are in reports/ :"
find reports -type f | sort | sed 's/^/  /'
echo
echo "Try: $CS kpis --from $start --to $(date -u +%F) --format table"
# 4 means "finished, but something was rejected or failed": the sample
# data has nothing of the kind.
exit $rc
