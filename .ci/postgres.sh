#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the tuning tests and prints its URL.
# Usage: eval "$(.ci/postgres.sh start DIR)"   then   .ci/postgres.sh stop DIR
set -euo pipefail
action="${1:?start or stop}"
dir="${2:?a data folder}"
port="${KD_PG_PORT:-54329}"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust >/dev/null
    fi
    as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='kerasdoctor'" | grep -q 1 ||
      as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE kerasdoctor" >/dev/null
    echo "export KERASDOCTOR_TEST_POSTGRES=postgresql://postgres@127.0.0.1:$port/kerasdoctor"
    ;;
  stop)
    as_postgres "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null || true
    ;;
esac
