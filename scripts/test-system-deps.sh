#!/usr/bin/env bash
# What `make test` needs from the system besides Python packages: a PostgreSQL
# server's binaries (the catalog tests start their own server with initdb and
# pg_ctl) and Debian's Chromium with its driver (the web page is tested in a real
# headless browser). Each is installed from Debian's packages only when missing,
# so a machine that has them pays nothing; nothing here starts a service.
set -euo pipefail

missing=()
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null && ! command -v initdb > /dev/null; then
    missing+=(postgresql)
fi
if ! command -v chromium > /dev/null; then
    missing+=(chromium chromium-driver)
fi
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi
echo "installing test dependencies from Debian's packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" > /tmp/partita-apt.log 2>&1; then
    "${sudo[@]}" apt-get update > /dev/null 2>&1 || true
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" > /tmp/partita-apt.log 2>&1 || {
        tail -20 /tmp/partita-apt.log >&2
        echo "could not install ${missing[*]} (see /tmp/partita-apt.log); the tests need them" >&2
        exit 1
    }
fi
