#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server:
#   tests/with_postgres.sh .venv/bin/pytest tests
# initdb into a temporary directory, listen on a unix socket there only, export
# PROFILECMDS_TEST_DATABASE_URL for tests/settings.py, run the command, and stop and delete
# the server on exit, whether the command passed or not. Installs PostgreSQL from the
# package manager when it is missing and we are root.
set -euo pipefail

find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

# The server's version from `postgres --version`, "postgres (PostgreSQL) 15.18 (Debian
# 15.18-0+deb12u1)": 15.18. A line of another form is printed whole.
version_of() {
  sed -E 's/^postgres \(PostgreSQL\) ([^ ]+).*$/\1/' <<<"$1"
}

# Sourced (by the tests of these functions): define them, run nothing.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

BINDIR=$(find_bindir || true)
if [ -z "$BINDIR" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "PostgreSQL not found; installing it from the package manager." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    BINDIR=$(find_bindir)
  else
    echo "PostgreSQL (initdb) not found; install it, e.g. apt-get install postgresql." >&2
    exit 1
  fi
fi

DATA=$(mktemp -d "${TMPDIR:-/tmp}/profilecmds-pg.XXXXXX")
AS=()
DB_USER=$(id -un)
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: the server runs as the unprivileged postgres user.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DATA"
  AS=(runuser -u postgres --)
  DB_USER=postgres
fi

stop() {
  "${AS[@]}" "$BINDIR/pg_ctl" -D "$DATA/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap stop EXIT

"${AS[@]}" "$BINDIR/initdb" -D "$DATA/db" -U "$DB_USER" --auth=trust -E UTF8 >/dev/null
"${AS[@]}" "$BINDIR/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -w \
  -o "-c listen_addresses='' -k $DATA -c fsync=off -c full_page_writes=off" start >/dev/null

export PROFILECMDS_TEST_DATABASE_URL="postgres://$DB_USER@/profilecmds?host=$DATA"
echo "PostgreSQL $(version_of "$("$BINDIR/postgres" --version)") running in $DATA" >&2
"$@"
