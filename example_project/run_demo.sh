#!/usr/bin/env bash
# `make demo`: the example project's four pipelines, end to end, with the installed `partita`.
# Usage: bash example_project/run_demo.sh path/to/.venv/bin/partita
# Starts from a clean slate each time (its catalog and data live in this folder), starts
# the local orders API (a free port; stopped at the end, even on failure or Ctrl-C),
# builds everything once, then shows what a late correction of one day rebuilds.
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)"
partita="$bin/partita"
python="$bin/python"
cd "$(dirname "$0")"
rm -rf .partita data
mkdir -p data

say() { printf '\n'; printf '\033[36m# %s\033[0m\n' "$@"; }
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
# `partita` shown as the user types it, run as the installed one
p() { printf '\n\033[1m$ partita %s\033[0m\n' "$*"; "$partita" "$@"; }
# the same for a command whose exit status is part of the story: expect_status N ARGS...
expect_status() {
    local expected="$1" status=0
    shift
    printf '\n\033[1m$ partita %s\033[0m\n' "$*"
    "$partita" "$@" || status=$?
    if [ "$status" -ne "$expected" ]; then
        echo "run_demo.sh: expected 'partita $*' to exit $expected, it exited $status" >&2
        exit 1
    fi
}

api_pid=""
stop_api() {
    if [ -n "$api_pid" ]; then
        kill "$api_pid" 2>/dev/null || true
        wait "$api_pid" 2>/dev/null || true
    fi
}
trap stop_api EXIT
trap 'exit 130' INT TERM

say "The shop's orders API, run locally (it answers 503 now and then, on purpose)."
"$python" services/orders_api.py serve --port 0 >data/orders_api.log 2>&1 &
api_pid=$!
for _ in $(seq 100); do
    [ -s data/orders_api/address ] && break
    kill -0 "$api_pid" 2>/dev/null || { cat data/orders_api.log >&2; exit 1; }
    sleep 0.1
done
[ -s data/orders_api/address ] || { echo "run_demo.sh: the orders API did not start" >&2; exit 1; }
ORDERS_API_URL="$(cat data/orders_api/address)"
export ORDERS_API_URL
echo "ORDERS_API_URL=$ORDERS_API_URL (the Daily sales pipeline reads it)"

say "The project: four pipelines (pipelines/*.py) merged in defs.py, SQL models in models/."
p validate
p list
p schedules

say "The other sources write their daily exports (deterministic: the same bytes every time):" \
    "marketing's exports, the shops' sales database (SQLite; PostgreSQL with RETAIL_SOURCE_URL)," \
    "the store's till and stock files."
step "$python" services/marketing_exports.py
step "$python" services/retail_source.py
step "$python" services/store_ledger.py

say "What is stale, and why: everything is missing."
p plan

say "Build everything once, with OpenLineage events written to data/openlineage.jsonl." \
    "Two quality warnings are published (they do not block); pipeline 4's blocking check" \
    "comes into play later, when a bad stock count arrives."
p materialize --openlineage-file data/openlineage.jsonl
say "Checks that did not pass: warnings here (a blocking failure would keep its data unpublished)."
p checks --failed
printf '%s OpenLineage events in data/openlineage.jsonl\n' "$(wc -l <data/openlineage.jsonl)"

say "What a report was built from: every upstream partition, with its data version."
p lineage sales/daily_report --partition 2025-01-09

say "Freshness: sales/daily_report promises data within 26h. The example's data end on" \
    "2025-01-14, so today it is late and 'partita freshness' exits 1 (what cron or CI alerts on)." \
    "--alert also tells the sales team, once per violation (data/notifications/sales.jsonl)."
expect_status 1 freshness --alert
tail -n 1 data/notifications/sales.jsonl

say "A late correction: the orders API now serves a corrected 2025-01-07." \
    "The source sales/orders_api sees the day's version change; only what reads that day is stale:" \
    "that day's orders and revenue, and the 7 daily reports whose chart covers it."
step "$python" services/orders_api.py correct 2025-01-07
p plan --explain sales/daily_report:2025-01-09
say "Rebuild the Daily sales pipeline: exactly the 10 partitions above, nothing else."
p materialize 'sales/*'
p plan 'sales/*'
p history sales/raw_orders --partition 2025-01-07

say "A till in the north syncs late: 2025-01-08 in the north is corrected in the shop database." \
    "Exactly that day-region is stale, with that day's totals and BI note and the north's week."
step "$python" services/retail_source.py --correct 2025-01-08 north
p plan group:retail
p materialize group:retail
tail -n 1 data/notifications/bi.jsonl

say "The week's stock recount arrives; one row of 2025-01-09 is negative (a scanner error)." \
    "The blocking check refuses that day: its metrics and report are not rebuilt and what was" \
    "published before stays; the six other days are rebuilt. Store operations are alerted." \
    "A failed step makes 'partita materialize' exit 1; the run summary names it."
step "$python" services/store_ledger.py --recount
expect_status 1 materialize group:inventory
p checks inventory/stock --failed
head -n 5 data/reports/inventory/2025-01-09.md
cat data/notifications/store-ops.jsonl
p status

say "Published files:"
ls data/reports/sales | head -n 4
ls data/reports/marketing

cat <<'EOF'

# Try next, from example_project/ (see docs/example_project.md):
#   python services/orders_api.py serve &        # the orders API again (the demo stopped it)
#   partita ui                                   # the graph, partition health, lineage, runs
#   partita daemon                               # the 02:00 schedule and freshness alerts
#   partita materialize 'sales/*' --from 2025-01-08 --to 2025-01-14 --force   # backfill the last 7 days
#   partita materialize sales/daily_report --partition 2025-01-10 --force       # rerun only one day's report
#   partita lineage marketing/roi --partition 2025-01-03 --columns               # column-level lineage of SQL
#   partita -f pipelines/marketing_roi.py plan   # one pipeline alone
#   python services/store_ledger.py --recount --fixed && partita materialize group:inventory   # only 2025-01-09
#   partita lineage retail/daily_totals --partition 2025-01-08 --columns
#   RETAIL_SOURCE_URL=postgresql://user:password@host/db python services/retail_source.py   # the source on PostgreSQL
#   open data/reports/sales/2025-01-14.html data/reports/marketing/dashboard.html
EOF
