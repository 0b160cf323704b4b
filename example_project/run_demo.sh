#!/usr/bin/env bash
# `make demo`: run the example project end to end with the installed `partita`.
set -euo pipefail
partita="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
cd "$(dirname "$0")"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$partita" validate
step "$partita" list
step "$partita" graph
step "$partita" graph +rolling_revenue --format mermaid
step "$(dirname "$partita")/python" call_assets.py 2025-01-07
