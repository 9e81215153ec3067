#!/bin/sh
# Back the database up while the service runs: backup.sh DESTINATION
# SQLite: an online backup (a consistent copy, writers wait a moment).
# PostgreSQL: pg_dump's custom format (restore with restore.sh or pg_restore).
set -eu
url="${CLOSELOOP_DATABASE_URL:?set CLOSELOOP_DATABASE_URL as the service has it}"
destination="${1:?usage: backup.sh DESTINATION}"
case "$url" in
  sqlite:///*) sqlite3 "${url#sqlite:///}" ".backup '$destination'" ;;
  postgres://*|postgresql://*) pg_dump --format=custom --no-owner --file="$destination" "$url" ;;
  *) echo "backup.sh: unknown database URL scheme" >&2; exit 2 ;;
esac
echo "backed up to $destination"
