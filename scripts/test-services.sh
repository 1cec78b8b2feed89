#!/usr/bin/env bash
# Installs (when missing) and starts the real servers the real-client tests use:
# PostgreSQL and Redis, each on a private loopback port, with data in a temp dir. Also installs
# tinyproxy and openssl (the proxy, private-CA and sslmode=verify-full tests use them).
# Prints `export ...` lines for the test run; `stop` tears them down.
# Usage: eval "$(bash scripts/test-services.sh start [--install])"; ...; bash scripts/test-services.sh stop
#
# It changes the system only when asked: `--install` (what .ci/run passes) may apt-get install
# PostgreSQL and Redis and add a `postgres` system user (PostgreSQL refuses to run as root).
# Without it, anything missing is listed with the command that would install it, and nothing
# is changed.
set -euo pipefail
allow_install=false
for arg in "$@"; do
  case "$arg" in
    --install | -y) allow_install=true ;;
  esac
done
state=${TUNNEL_SERVICES_DIR:-/tmp/tunnel-test-services}
pg_port=${TUNNEL_TEST_PG_PORT:-55432}
redis_port=${TUNNEL_TEST_REDIS_PORT:-56379}

install_missing() {
  local need=()
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server redis-tools)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql postgresql-contrib)
  command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
  # A real HTTP proxy and openssl for the proxy / private-CA tests (test/cli/network.test.ts).
  command -v tinyproxy >/dev/null 2>&1 || need+=(tinyproxy)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$allow_install" != true ]; then
      echo "missing: ${need[*]}" >&2
      echo "install them yourself (apt-get install ${need[*]}), or run: bash scripts/test-services.sh start --install" >&2
      return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then echo "need root to install: ${need[*]}" >&2; return 1; fi
    echo "installing ${need[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need[@]}" >&2
  fi
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

start() {
  install_missing
  mkdir -p "$state" && chmod 0755 "$state"
  touch "$state/pg.log"
  local bin; bin=$(pg_bin)
  # PostgreSQL refuses to run as root: run the private cluster as the postgres user
  # (or as the current user when it is not root).
  local pguser=postgres; [ "$(id -u)" -ne 0 ] && pguser=$(id -un)
  if ! id "$pguser" >/dev/null 2>&1; then
    if [ "$allow_install" != true ]; then
      echo "no '$pguser' user to run PostgreSQL as (it refuses root): run with --install to add a system user" >&2
      return 1
    fi
    echo "adding system user $pguser" >&2
    useradd -r -M postgres
  fi
  if [ ! -d "$state/pg" ]; then
    mkdir -p "$state/pg" && chown "$pguser" "$state/pg"
    runas "$pguser" "$bin/initdb" -D "$state/pg" -A trust -U postgres >/dev/null
  fi
  chown -R "$pguser" "$state/pg" "$state/pg.log"
  if ! runas "$pguser" "$bin/pg_ctl" -D "$state/pg" status >/dev/null 2>&1; then
    runas "$pguser" "$bin/pg_ctl" -D "$state/pg" -l "$state/pg.log" -w \
      -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$state/pg -c max_connections=100" start >/dev/null
  fi
  if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
      --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log" --dir "$state" >/dev/null
    for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export TUNNEL_TEST_PG_PORT=$pg_port TUNNEL_TEST_REDIS_PORT=$redis_port"
}

runas() {
  local u=$1; shift
  if [ "$(id -un)" = "$u" ]; then "$@"; else su -s /bin/sh "$u" -c "$(printf '%q ' "$@")"; fi
}

stop() {
  local bin; bin=$(pg_bin)
  local pguser=postgres; [ "$(id -u)" -ne 0 ] && pguser=$(id -un)
  [ -d "$state/pg" ] && runas "$pguser" "$bin/pg_ctl" -D "$state/pg" -m fast stop >/dev/null 2>&1 || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start [--install] | stop" >&2; exit 2 ;;
esac
