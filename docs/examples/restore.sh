#!/bin/sh
# Restore a backup made by backup.sh into the database CLOSELOOP_DATABASE_URL names, with
# the service stopped: restore.sh BACKUP. Then run `flask db upgrade` and start it again.
set -eu
url="${CLOSELOOP_DATABASE_URL:?set CLOSELOOP_DATABASE_URL to the database to restore into}"
backup="${1:?usage: restore.sh BACKUP}"
case "$url" in
  sqlite:///*)
    database="${url#sqlite:///}"
    rm -f "$database-wal" "$database-shm"
    sqlite3 "$database" ".restore '$backup'" ;;
  postgres://*|postgresql://*)
    pg_restore --clean --if-exists --no-owner --exit-on-error --dbname="$url" "$backup" ;;
  *) echo "restore.sh: unknown database URL scheme" >&2; exit 2 ;;
esac
echo "restored $backup"
