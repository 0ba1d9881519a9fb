#!/usr/bin/env bash
# A throwaway PostgreSQL 15 + pgvector cluster for the test suite and benchmarks.
#
#   eval "$(bash scripts/pg-test-cluster.sh start)"   # exports PAPERBOARD_TEST_POSTGRES_URL
#   bash scripts/pg-test-cluster.sh stop "$PAPERBOARD_PG_CLUSTER_DIR"
#   bash scripts/pg-test-cluster.sh ensure             # only install what is missing
#   bash scripts/pg-test-cluster.sh restart DIR        # start it again after a crash (tests)
#
# Why a private cluster: tests must not assume a server is running and must never touch an
# existing one, so each run gets initdb into a fresh temp dir, a free port, and a socket in
# that dir; `stop` shuts it down and removes the dir.
#
# Why pgvector is built from source: Debian 12 has no postgresql-15-pgvector binary package.
# Debian trixie's source package builds against PG 15; we fetch it with a private apt config
# (a deb-src line for trixie on the mirror this machine already uses) so the system's apt
# sources stay untouched. The build is cached under $PAPERBOARD_PG_CACHE and skipped when
# vector.control is already installed.
set -euo pipefail

PG_VERSION=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
CACHE=${PAPERBOARD_PG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paperboard/pg}
# Tests trade durability for speed (fsync=off survives a killed server, not a power cut);
# bench/store.py asks for fsync=on, synchronous_commit=off: SQLite's WAL + synchronous=NORMAL.
SERVER_OPTIONS=${PAPERBOARD_PG_SERVER_OPTIONS:--c fsync=off}

log() { echo "pg-test-cluster: $*" >&2; }
die() { log "error: $*"; exit 2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else
        command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
        sudo -n "$@"
    fi
}

apt_quiet() {
    DEBIAN_FRONTEND=noninteractive as_root apt-get -qq -o Dpkg::Use-Pty=0 "$@" >/dev/null
}

ensure_server() {
    [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && return 0
    log "PostgreSQL $PG_VERSION not found: installing Debian's postgresql"
    apt_quiet install -y "postgresql-$PG_VERSION" \
        || { apt_quiet update && apt_quiet install -y "postgresql-$PG_VERSION"; } \
        || die "cannot install postgresql-$PG_VERSION (need root and the Debian registry)"
}

pgvector_installed() {
    local share lib
    share=$("$PG_BIN/pg_config" --sharedir 2>/dev/null || echo /usr/share/postgresql/$PG_VERSION)
    lib=$("$PG_BIN/pg_config" --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/$PG_VERSION/lib)
    [ -f "$share/extension/vector.control" ] && [ -f "$lib/vector.so" ]
}

debian_mirror() {
    # The mirror of the machine's own (non-security) Debian source, deb822 or one-line style.
    local m=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        m=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}' \
            /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' \
            /etc/apt/sources.list | grep -v security | head -n1)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

ensure_pgvector() {
    pgvector_installed && return 0
    log "pgvector missing for PostgreSQL $PG_VERSION: building Debian's source package"
    if [ ! -x "$PG_BIN/pg_config" ] || [ ! -f "/usr/include/postgresql/$PG_VERSION/server/postgres.h" ]; then
        apt_quiet install -y "postgresql-server-dev-$PG_VERSION" \
            || { apt_quiet update && apt_quiet install -y "postgresql-server-dev-$PG_VERSION"; } \
            || die "cannot install postgresql-server-dev-$PG_VERSION"
    fi
    command -v make >/dev/null && command -v gcc >/dev/null \
        || apt_quiet install -y build-essential || die "cannot install a C compiler"

    local apt_dir="$CACHE/apt" src_dir="$CACHE/src"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$src_dir"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    echo "deb-src [signed-by=$keyring] $(debian_mirror) trixie main" >"$apt_dir/sources.list"
    local opts=(
        -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache::Archives=$apt_dir/archives"
        -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
        -o "APT::Sandbox::User=root"
    )
    if ! compgen -G "$src_dir/pgvector_*.dsc" >/dev/null; then
        apt-get -qq "${opts[@]}" update >/dev/null || die "cannot read trixie sources from $(debian_mirror)"
        (cd "$src_dir" && apt-get -qq "${opts[@]}" source --download-only pgvector >/dev/null) \
            || die "cannot download the pgvector source package"
    fi
    local dsc build
    dsc=$(ls "$src_dir"/pgvector_*.dsc | sort -V | tail -n1)
    build="$src_dir/build"
    rm -rf "$build"
    if command -v dpkg-source >/dev/null; then
        dpkg-source --no-check -x "$dsc" "$build" >/dev/null
    else
        mkdir -p "$build" && tar -xf "$(ls "$src_dir"/pgvector_*.orig.tar.* | tail -n1)" \
            -C "$build" --strip-components=1
    fi
    make -s -C "$build" OPTFLAGS="" PG_CONFIG="$PG_BIN/pg_config" >/dev/null 2>&1 \
        || die "pgvector build failed (see: make -C $build PG_CONFIG=$PG_BIN/pg_config)"
    as_root make -s -C "$build" OPTFLAGS="" PG_CONFIG="$PG_BIN/pg_config" install >/dev/null \
        || die "pgvector install failed (need root)"
    pgvector_installed || die "pgvector still not installed after the build"
    log "pgvector installed from $(basename "$dsc")"
}

free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Run a PostgreSQL binary as the cluster owner: the `postgres` user when we are root
# (the server refuses to run as root).
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    ensure_server
    ensure_pgvector
    local dir port
    dir=$(mktemp -d "${TMPDIR:-/tmp}/paperboard-pg.XXXXXX")
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 $SERVER_OPTIONS" \
            start >/dev/null 2>&1; then
            break
        fi
        [ "$attempt" -eq 5 ] && { tail -n 20 "$dir/server.log" >&2; rm -rf "$dir"; die "cannot start the cluster"; }
    done
    "$PG_BIN/psql" -q -X -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null \
        || { stop "$dir"; die "CREATE EXTENSION vector failed"; }
    echo "$port" >"$dir/port"
    echo "$SERVER_OPTIONS" >"$dir/options"
    echo "export PAPERBOARD_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/postgres"
    echo "export PAPERBOARD_PG_CLUSTER_DIR=$dir"
    echo "# stop with: bash $0 stop $dir"
}

restart() {
    # Start a cluster this script created again on its port (after a crash, e.g. kill -9).
    local dir=${1:-}
    case "$(basename "${dir:-x}")" in paperboard-pg.*) ;; *) die "usage: $0 restart DIR";; esac
    [ -f "$dir/port" ] || die "$dir is not a running-capable test cluster"
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 $(cat "$dir/options")" \
        start >/dev/null 2>&1 || { tail -n 20 "$dir/server.log" >&2; die "cannot restart the cluster"; }
}

stop() {
    local dir=${1:-${PAPERBOARD_PG_CLUSTER_DIR:-}}
    [ -n "$dir" ] || die "usage: $0 stop DIR"
    # Only ever a cluster this script created: refuse anything else.
    case "$(basename "$dir")" in paperboard-pg.*) ;; *) die "$dir is not a paperboard test cluster";; esac
    [ -d "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-start}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    restart) restart "${2:-}" ;;
    ensure) ensure_server; ensure_pgvector ;;
    *) die "usage: $0 start | stop DIR | restart DIR | ensure" ;;
esac
