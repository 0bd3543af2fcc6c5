#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and benchmarks of the receipt
# log shared by serving replicas (src/serve/pg_log_store.h).
#
#   tests/postgres/cluster.sh start DIR [--durable]
#   tests/postgres/cluster.sh stop DIR
#
# start: a fresh cluster in DIR (anything there before is stopped and
# removed), listening on a Unix socket in DIR only (no TCP port, so clusters
# of several build trees never collide). Connect as the superuser "aftune":
#   postgresql:///postgres?host=DIR&user=aftune
# Authentication is "trust" on that socket, which only DIR's owner can reach
# (mode 0700). fsync is off unless --durable (the tests kill serving
# replicas, never the database server; the benchmarks pass --durable).
# As root (CI) the server runs as the "postgres" user the Debian package
# creates, via runuser; otherwise as the calling user.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR [--durable]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
command=$1
dir=$2
# DIR is removed with rm -rf: an absolute path two levels deep at least.
[[ $dir == /*/* && $dir != *..* ]] || { echo "$0: DIR must be an absolute path like /tmp/aftune-pg" >&2; exit 2; }
durable=0
[[ ${3:-} == --durable ]] && durable=1

fail() { echo "postgres cluster: $*" >&2; exit 1; }

# The server's user may not be able to enter the caller's directory (a
# checkout under /root, say): every path here is absolute.
cd /

# The server's programs: Debian keeps them off PATH, under
# /usr/lib/postgresql/<version>/bin.
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z $bindir ]] && command -v pg_ctl >/dev/null; then bindir=$(dirname "$(command -v pg_ctl)"); fi
[[ -n $bindir && -x $bindir/initdb ]] ||
  fail "PostgreSQL's server is not installed (no initdb): run scripts/bootstrap.sh --tests"

as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || fail "running as root needs the 'postgres' user (package postgresql)"
  as_owner=(runuser -u postgres --)
fi

stop() {
  if [[ -f $dir/data/postmaster.pid ]]; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null ||
      "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$dir"
}

case $command in
  start)
    # The socket's path must fit in sun_path (107 bytes).
    (( ${#dir} + 16 <= 107 )) || fail "$dir is too long for a Unix socket directory"
    stop
    mkdir -p "$dir"
    chmod 700 "$dir"
    if ((${#as_owner[@]})); then chown postgres: "$dir"; fi
    "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U aftune --auth=trust -E UTF8 --locale=C --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; fail "initdb failed"; }
    fsync=off
    ((durable)) && fsync=on
    if ! "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=$fsync -c max_connections=200" \
        start >/dev/null; then
      cat "$dir/server.log" >&2
      fail "the server did not start"
    fi
    echo "postgres cluster: running in $dir (postgresql:///postgres?host=$dir&user=aftune)"
    ;;
  stop)
    stop
    ;;
  *)
    usage
    ;;
esac
