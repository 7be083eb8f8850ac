"""Give the application's own database role what it needs, and no more (PostgreSQL).

Run as the role that owns the tables (the one that runs `migrate`), after every `migrate`:

    DATABASE_URL=postgres://lifemsg_owner:...@db/lifemsg manage.py grant_app_role lifemsg_app

The application then connects as `lifemsg_app`, which is neither a superuser nor the owner, so it
cannot switch triggers off, alter or truncate tables, and on the audit tables has only what appending
needs: it cannot delete or change access-log entries, write retention anchors, change the retention
period the database enforces, or change or delete audit events. Retention it may only ask for,
through audit_access_log_prune() (migration 0005), which removes nothing younger than that period.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit.models import AccessLogPruning
from audit.services import audit_event_record

# Table -> privileges taken back after the schema-wide grant.
PROTECTED = {
    "audit_accesslogentry": "UPDATE, DELETE, TRUNCATE",
    "audit_accesslogpruning": "INSERT, UPDATE, DELETE, TRUNCATE",
    "audit_accessloghead": "DELETE, TRUNCATE",
    "audit_auditevent": "UPDATE, DELETE, TRUNCATE",
    "audit_retention_floor": "INSERT, UPDATE, DELETE, TRUNCATE",
}
PRUNE_FUNCTION = "audit_access_log_prune(bigint, bigint, text, timestamptz, timestamptz, text)"


class Command(BaseCommand):
    help = (
        "Grant the application's database role (not a superuser, not the owner) the privileges it needs "
        "and none that could erase the audit log; set the retention period the database enforces. Run "
        "as the owner of the tables after migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="The role the application connects as.")
        parser.add_argument(
            "--create",
            action="store_true",
            help="Create the role (LOGIN, no other attributes) if it does not exist; needs CREATEROLE.",
        )
        parser.add_argument(
            "--password-env",
            default="",
            help="With --create: the environment variable holding the new role's password.",
        )
        parser.add_argument(
            "--schema", default="public", help="The schema of lifemsg's tables (default public)."
        )

    def handle(self, *args, role: str, create: bool, password_env: str, schema: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only.")
        qn = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cursor:
            if create:
                self._create(cursor, role, password_env)
            cursor.execute("SELECT rolsuper, rolname = current_user FROM pg_roles WHERE rolname = %s", [role])
            row = cursor.fetchone()
            if row is None:
                raise CommandError(f"There is no role {role!r} (use --create, or have a DBA create it).")
            if row[0] or row[1]:
                raise CommandError(
                    f"{role!r} is a superuser or the role running this command: the application must "
                    "connect as a role that neither is a superuser nor owns the tables."
                )
            r, s = qn(role), qn(schema)
            # Only the database's owner may grant CONNECT; PUBLIC usually has it already.
            cursor.execute("SELECT has_database_privilege(%s, current_database(), 'CONNECT')", [role])
            if not cursor.fetchone()[0]:
                cursor.execute(f"GRANT CONNECT ON DATABASE {qn(connection.settings_dict['NAME'])} TO {r}")
            for statement in (
                f"GRANT USAGE ON SCHEMA {s} TO {r}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} "
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
                *(f"REVOKE {privs} ON {s}.{qn(t)} FROM {r}" for t, privs in PROTECTED.items()),
                f"GRANT EXECUTE ON FUNCTION {s}.{PRUNE_FUNCTION} TO {r}",
            ):
                cursor.execute(statement)
            self._set_floor(cursor)
        self.stdout.write(self.style.SUCCESS(f"Granted {role} the application's privileges on {schema}."))

    def _create(self, cursor, role: str, password_env: str) -> None:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone():
            return
        password = os.environ.get(password_env, "") if password_env else ""
        if not password:
            raise CommandError("--create needs --password-env naming a variable with the password.")
        qn = connection.ops.quote_name
        cursor.execute(
            f"CREATE ROLE {qn(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD %s",
            [password],
        )

    def _set_floor(self, cursor) -> None:
        days = settings.ACCESS_LOG_RETENTION_DAYS
        cursor.execute("SELECT access_log_days FROM audit_retention_floor WHERE id = 1")
        row = cursor.fetchone()
        before = row[0] if row else None
        if before == days:
            return
        cursor.execute(
            "INSERT INTO audit_retention_floor (id, access_log_days) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET access_log_days = EXCLUDED.access_log_days",
            [days],
        )
        audit_event_record(
            actor=None,
            action="retention.access_log_floor",
            target=AccessLogPruning,
            target_repr="audit_retention_floor",
            before={"access_log_days": before},
            after={"access_log_days": days},
            reason="manage.py grant_app_role",
        )
        self.stdout.write(f"The database now keeps access-log entries at least {days} days (was {before}).")
