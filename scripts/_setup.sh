# Shared setup for scripts/run and scripts/test; source it, don't run it.
#
# Everything here is idempotent and cheap when there is nothing to do, so that both scripts
# can call it on every run: a fresh Debian 12 machine (root, python3 3.11) gets what it needs,
# an up-to-date one is checked in milliseconds.

OPSCONSOLE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$OPSCONSOLE_ROOT/.venv"

die() {
    echo "opsconsole setup: $*" >&2
    exit 1
}

# Run a command with its output kept aside: nothing on success, all of it on failure.
quietly() {
    local log rc=0
    log=$(mktemp)
    "$@" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        cat "$log" >&2
        rm -f "$log"
        die "failed (exit $rc): $*"
    fi
    rm -f "$log"
}

apt_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Install the Debian packages named that are not installed yet; apt-get update only then.
ensure_apt_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        apt_installed "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "missing packages ${missing[*]}: run as root or install them"
        sudo=(sudo)
    fi
    echo "opsconsole setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    quietly "${sudo[@]}" apt-get update -q
    quietly "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Make .venv hold an editable install of the project, with the extra named ("" or "test").
# A stamp holding a hash of pyproject.toml (and of where the repo lives) skips pip when the
# install is already current; the test extra is a superset, so its stamp serves a runtime ask.
ensure_venv() {
    local extra=$1 python=${PYTHON:-python3} want stamp="$VENV/.stamp-${1:-runtime}"
    command -v "$python" >/dev/null || die "$python not found; opsconsole needs Python 3.11+"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$python is $("$python" --version 2>&1); opsconsole needs Python 3.11+"
    want=$(cat "$OPSCONSOLE_ROOT/pyproject.toml" <(echo "$OPSCONSOLE_ROOT") | sha256sum)
    if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c '' 2>/dev/null; then
        if [[ "$(cat "$VENV/.stamp-test" 2>/dev/null)" == "$want" ]] ||
            [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
            return 0
        fi
    else
        echo "opsconsole setup: creating $VENV" >&2
        rm -rf "$VENV"
        if ! "$python" -m venv "$VENV" >/dev/null 2>&1; then
            # Debian's own python3 cannot make a venv until python3-venv is installed.
            rm -rf "$VENV"
            ensure_apt_packages python3-venv
            quietly "$python" -m venv "$VENV"
        fi
    fi
    echo "opsconsole setup: installing opsconsole${extra:+[$extra]} into .venv" >&2
    local spec="$OPSCONSOLE_ROOT${extra:+[$extra]}"
    quietly "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$spec"
    rm -f "$VENV"/.stamp-*
    echo "$want" >"$stamp"
}

# Build a tree with the installed shape of the package (opsconsole/ holding links to tui/'s
# files, and widgets/, sources/, themes/ as links) and print its path. Tools that walk the
# package on disk (mypy, import-linter's grimp) cannot follow setuptools' package-dir mapping
# through the editable install: they only see tui/. Rebuilt every time, so new modules count;
# kept inside .venv, which every tool already ignores.
build_package_tree() {
    local tree="$VENV/package-tree" entry pkg
    rm -rf "$tree" && mkdir -p "$tree/opsconsole"
    for entry in "$OPSCONSOLE_ROOT"/tui/*; do
        ln -s "$entry" "$tree/opsconsole/$(basename "$entry")"
    done
    for pkg in widgets sources themes; do
        ln -s "$OPSCONSOLE_ROOT/$pkg" "$tree/opsconsole/$pkg"
    done
    echo "$tree"
}
