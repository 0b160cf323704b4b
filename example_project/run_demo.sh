#!/usr/bin/env bash
# `make demo`: run the example project end to end with the installed `partita`.
# Starts from a clean slate each time (its catalog and data live in the folder).
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)"
partita="$bin/partita"
python="$bin/python"
cd "$(dirname "$0")"
rm -rf .partita data

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$partita" validate
step "$partita" list
step "$partita" graph
step "$python" generate_landing.py
step "$partita" plan
step "$partita" materialize
step "$partita" plan
printf '\n# The shop re-sends 2025-01-07 with a correction: only what reads that day is stale.\n'
step "$python" generate_landing.py --correct 2025-01-07
step "$partita" plan
step "$partita" plan --explain rolling_revenue:2025-01-09
step "$partita" materialize
step "$partita" lineage daily_revenue --partition 2025-01-07
step "$partita" history daily_revenue --partition 2025-01-07
step "$partita" runs
step "$partita" status
printf '\n# daily_revenue promises data within 26h. The example data ends on 2025-01-31, so today\n'
printf '# it is late, and `partita freshness` exits 1: the signal cron or CI alerts on.\n'
set +e
step "$partita" freshness
status=$?
set -e
if [ "$status" -ne 1 ]; then
    echo "expected partita freshness to report daily_revenue late (exit 1), got exit $status" >&2
    exit 1
fi
printf '\n# --at judges the catalog as it was then: before this demo ran, nothing was built.\n'
set +e
step "$partita" freshness daily_revenue --at 2025-02-01T12:00
set -e
