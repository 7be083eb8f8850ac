#!/usr/bin/env bash
# Back up lifemsg: the database and the private attachments folder, taken from one point in time.
#
#   DATABASE_URL=postgres://... ATTACHMENTS_DIR=/var/lib/lifemsg/private BACKUP_DIR=/backups scripts/backup.sh
#
# Writes BACKUP_DIR/lifemsg-<UTC time>/ with
#   db.dump          pg_dump custom format (restore with scripts/restore.sh, or pg_restore)
#   attachments.tar  the attachments folder
#   SHA256SUMS       a checksum per attachment file (relative to the folder)
#   manifest         counts and the access log's head, read in the dump's own snapshot
# and keeps the newest BACKUP_KEEP (default 14) backups. The backup appears under its final name only
# when complete. pg_dump must be of the server's major version or newer (the compose `backup` service
# runs in the postgres image for that reason).
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL is required}"
: "${ATTACHMENTS_DIR:?ATTACHMENTS_DIR (the private attachments folder) is required}"
: "${BACKUP_DIR:?BACKUP_DIR (where backups go) is required}"
keep="${BACKUP_KEEP:-14}"
# libpq does not know Django's scheme aliases.
pg_url="${DATABASE_URL/#postgresql+psycopg:/postgresql:}"
pg_url="${pg_url/#pgsql:/postgresql:}"

[ -d "$ATTACHMENTS_DIR" ] || { echo "backup: no attachments folder at $ATTACHMENTS_DIR" >&2; exit 1; }
mkdir -p "$BACKUP_DIR"
name="lifemsg-$(date -u +%Y%m%dT%H%M%SZ)"
work="$BACKUP_DIR/.$name.partial"
rm -rf "$work"
mkdir -m 700 "$work"
trap 'rm -rf "$work"' EXIT

# One REPEATABLE READ transaction exports its snapshot: pg_dump dumps exactly what the counts below
# see, so the manifest describes the dump even while citizens keep writing.
coproc PSQL { psql "$pg_url" -qAtX -v ON_ERROR_STOP=1 2>&1; }
# Bash unsets PSQL_PID as soon as the coprocess ends, which can be before the `wait` below.
psql_pid=$PSQL_PID
ask() {
    printf '%s\n' "$1" >&"${PSQL[1]}"
    local answer
    read -r -t 60 answer <&"${PSQL[0]}" || { echo "backup: no answer from PostgreSQL to: $1" >&2; exit 1; }
    printf '%s' "$answer"
}
ask "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();" >"$work/snapshot"
snapshot="$(cat "$work/snapshot")"
rm "$work/snapshot"
case "$snapshot" in *[!0-9A-F-]*|"") echo "backup: could not export a snapshot: $snapshot" >&2; exit 1 ;; esac
counts="$(ask "SELECT concat_ws(' ',
    (SELECT count(*) FROM mailboxes_message), (SELECT count(*) FROM mailboxes_thread),
    (SELECT count(*) FROM mailboxes_delivery), (SELECT count(*) FROM mailboxes_attachment),
    (SELECT count(*) FROM audit_accesslogentry),
    (SELECT coalesce(max(seq), 0) FROM audit_accesslogentry),
    (SELECT coalesce((SELECT last_hash FROM audit_accessloghead WHERE id = 1), '')));")"
read -r messages threads deliveries attachments log_entries log_seq log_hash <<<"$counts"

pg_dump --format=custom --no-owner --no-privileges --snapshot="$snapshot" --file="$work/db.dump" "$pg_url"
printf 'COMMIT;\n' >&"${PSQL[1]}"
exec {PSQL[1]}>&-
wait "$psql_pid" 2>/dev/null || true

tar -C "$ATTACHMENTS_DIR" -cf "$work/attachments.tar" .
(cd "$ATTACHMENTS_DIR" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) >"$work/SHA256SUMS"

files=$(wc -l <"$work/SHA256SUMS")
if [ "$attachments" -gt 0 ] && [ "$files" -eq 0 ]; then
    echo "backup: the database names $attachments attachments but $ATTACHMENTS_DIR holds no files: wrong folder?" >&2
    exit 1
fi

cat >"$work/manifest" <<MANIFEST
format=1
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
pg_dump=$(pg_dump --version)
messages=$messages
threads=$threads
deliveries=$deliveries
attachments=$attachments
attachment_files=$files
access_log_entries=$log_entries
access_log_seq=$log_seq
access_log_head=$log_hash
MANIFEST

mv "$work" "$BACKUP_DIR/$name"
trap - EXIT
echo "backup: $BACKUP_DIR/$name ($messages messages, $files attachment files, access log #$log_seq)"

# Keep the newest $keep backups.
mapfile -t old < <(find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name 'lifemsg-*' | sort -r | tail -n +"$((keep + 1))")
for dir in "${old[@]}"; do rm -rf "$dir"; echo "backup: removed old $dir"; done
