#!/usr/bin/env bash
# Install the programs the benchmarks compare opsconsole with, when they are missing.
#
#   htop, btop, tmux   Debian packages
#   lnav, less         Debian packages (the log view's peers)
#   glances            Debian package; if it does not run, PyPI into bench/.peers-venv
#   toolong (tl)       PyPI into bench/.peers-venv (startup comparison only)
#
# Idempotent: a second run installs nothing. Needs root for apt-get (as on the dev machines and CI).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.peers-venv"
python="${PYTHON:-python3}"

log() { printf 'setup-peers: %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then
        log "apt-get update"
        apt-get update -q >/dev/null
        apt_updated=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

missing=()
for program in htop btop tmux lnav less; do
    command -v "$program" >/dev/null || missing+=("$program")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

peers_venv() {
    if [ ! -x "$venv/bin/pip" ]; then
        log "creating $venv"
        "$python" -m venv "$venv"
        # Keep the venv out of git without touching the repo's .gitignore.
        printf '*\n' >"$venv/.gitignore"
    fi
}

glances_runs() { "$1" --version >/dev/null 2>&1; }

if [ -x "$venv/bin/glances" ] && glances_runs "$venv/bin/glances"; then
    : # an earlier run fell back to PyPI; keep using it
elif ! { command -v glances >/dev/null && glances_runs glances; }; then
    command -v glances >/dev/null || apt_install glances || true
    if ! { command -v glances >/dev/null && glances_runs glances; }; then
        log "Debian's glances does not run; installing it from PyPI into $venv"
        peers_venv
        "$venv/bin/pip" install -q glances
    fi
fi

if [ ! -x "$venv/bin/tl" ]; then
    peers_venv
    log "pip install toolong"
    "$venv/bin/pip" install -q toolong
fi

log "ready: htop $(command -v htop), btop $(command -v btop), tmux $(command -v tmux),"
log "       lnav $(command -v lnav), less $(command -v less),"
log "       glances $( [ -x "$venv/bin/glances" ] && echo "$venv/bin/glances" || command -v glances), tl $venv/bin/tl"
