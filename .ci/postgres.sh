#!/usr/bin/env bash
# Start a PostgreSQL server for the storage tests on 127.0.0.1:54329 (not the default port,
# which a distribution's own cluster may hold), installing it with apt-get when the machine has
# none. Prints one line for the caller to eval:
#   eval "$(bash .ci/postgres.sh)"   ->   TEST_POSTGRES_URL=postgresql+asyncpg://...
# Everything else goes to stderr. Running it twice is fine. The server must not inherit fd 3 (the
# caller's command substitution): it would hold the pipe open and the caller would wait forever.
set -euo pipefail
exec 3>&1 1>&2

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
bin=/usr/lib/postgresql/$version/bin
data=/tmp/cancelbot-pg
if [ ! -s "$data/PG_VERSION" ]; then
  rm -rf "$data"
  install -d -o postgres -g postgres "$data"
  su postgres -c "$bin/initdb -D $data -U postgres --auth=trust -E UTF8" >/dev/null 3>&-
fi
if ! su postgres -c "$bin/pg_ctl -D $data status" >/dev/null 2>&1; then
  su postgres -c "$bin/pg_ctl -D $data -l $data/server.log -w -t 60 \
    -o \"-c listen_addresses=127.0.0.1 -c port=54329 -k /tmp -c fsync=off\" start" >/dev/null 3>&-
fi
for _ in $(seq 1 60); do
  "$bin/pg_isready" -h 127.0.0.1 -p 54329 -q && break
  sleep 1
done
"$bin/pg_isready" -h 127.0.0.1 -p 54329 -q
echo "export TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:54329/postgres" >&3
