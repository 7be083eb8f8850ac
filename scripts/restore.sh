#!/usr/bin/env bash
# Restore a lifemsg backup (made by scripts/backup.sh) into an EMPTY database and an empty attachments
# folder, then prove it: every attachment file's checksum, and (with MANAGE set) the counts, the
# attachments the database names, and the access log's hash chain (manage.py verify_backup).
#
#   DATABASE_URL=postgres://.../lifemsg_restored ATTACHMENTS_DIR=/srv/restored-private \
#   MANAGE="python manage.py" scripts/restore.sh /backups/lifemsg-20261207T020000Z
#
# Exits non-zero on the first thing that does not match. It never overwrites: a database with tables
# or a non-empty folder is refused (restore into new ones, check, then switch over).
set -euo pipefail

backup="${1:?usage: scripts/restore.sh BACKUP_DIR}"
: "${DATABASE_URL:?DATABASE_URL (the empty target database) is required}"
: "${ATTACHMENTS_DIR:?ATTACHMENTS_DIR (the empty target folder) is required}"
pg_url="${DATABASE_URL/#postgresql+psycopg:/postgresql:}"
pg_url="${pg_url/#pgsql:/postgresql:}"

fail() { echo "restore: $*" >&2; exit 1; }
for part in db.dump attachments.tar SHA256SUMS manifest; do
    [ -f "$backup/$part" ] || fail "$backup has no $part: not a complete backup"
done
tables="$(psql "$pg_url" -qAtX -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
[ "$tables" = "0" ] || fail "the target database is not empty ($tables tables); restore into a new one"
mkdir -p "$ATTACHMENTS_DIR"
[ -z "$(ls -A "$ATTACHMENTS_DIR")" ] || fail "the target folder $ATTACHMENTS_DIR is not empty"

pg_restore --exit-on-error --no-owner --no-privileges --dbname="$pg_url" "$backup/db.dump"
tar -C "$ATTACHMENTS_DIR" -xf "$backup/attachments.tar"
if [ -s "$backup/SHA256SUMS" ]; then
    (cd "$ATTACHMENTS_DIR" && sha256sum --quiet --strict -c "$backup/SHA256SUMS") \
        || fail "attachment files do not match their checksums"
fi
echo "restore: database and $(wc -l <"$backup/SHA256SUMS") attachment files restored; checksums match"

if [ -n "${MANAGE:-}" ]; then
    # shellcheck disable=SC2086  # MANAGE is a command line, e.g. "python manage.py"
    DATABASE_URL="$DATABASE_URL" $MANAGE verify_backup "$backup" --attachments "$ATTACHMENTS_DIR"
fi
