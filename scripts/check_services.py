#!/usr/bin/env python3
"""Fail fast, with directions, when the test suite's PostgreSQL or Redis is not reachable.

`make test` runs this before pytest. It reads the same variables, with the same defaults, as
lifemsg/settings/test.py:

    DATABASE_URL  default postgres://root@127.0.0.1:5432/lifemsg
    REDIS_URL     default redis://127.0.0.1:6379/15

PostgreSQL is probed on its maintenance database `postgres`, which is where Django connects to
create the test database (the `lifemsg` database itself need not exist). Every probe gives up
after a few seconds. Exit status 0 when both answer, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/lifemsg"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
TIMEOUT_SECONDS = 3

HOW_TO_START = """\
Start them, then run `make test` again. Either

  on this machine (Debian):
      pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

  or with Docker (docker-compose.yml; needs a .env, see .env.example):
      docker compose -f docker-compose.yml -f docker-compose.dev.yml up -d db redis
      export DATABASE_URL=postgres://lifemsg:<POSTGRES_PASSWORD>@127.0.0.1:5432/lifemsg
      export REDIS_URL=redis://:<REDIS_PASSWORD>@127.0.0.1:6379/15

DATABASE_URL and REDIS_URL choose other servers; the role in DATABASE_URL needs CREATEDB."""


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def check_postgres(url: str) -> str | None:
    """None when PostgreSQL answers, else the reason."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql", "postgis"}:
        return f"DATABASE_URL is not a PostgreSQL URL (scheme {parts.scheme!r}); the tests need PostgreSQL"
    # libpq understands postgresql:// URLs; other spellings that django-environ accepts are mapped.
    conninfo = conninfo_to_dict(urlunsplit(parts._replace(scheme="postgresql")))
    conninfo.update(dbname="postgres", connect_timeout=TIMEOUT_SECONDS)
    try:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def check_redis(url: str) -> str | None:
    """None when Redis answers PING, else the reason."""
    import redis

    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, ValueError, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None


def main() -> int:
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    failures = []
    for name, url, check in (
        ("PostgreSQL", database_url, check_postgres),
        ("Redis", redis_url, check_redis),
    ):
        reason = check(url)
        if reason is None:
            print(f"{name}: reachable at {redact(url)}")
        else:
            failures.append(f"{name} is not reachable at {redact(url)}:\n    {reason}")
    if failures:
        print("\n".join(["", "Cannot run the tests:", *failures, "", HOW_TO_START]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
