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
printf '\n# daily_revenue promises data within 26h: judged as of the morning after the last day.\n'
step "$partita" freshness --at 2025-02-01T12:00
