from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client

from accounts import roles
from tests import factories, quick_flush
from tests.openid_provider import browser_openid_provider, openid_provider, provider_clock  # noqa: F401

CHROMIUM = "/usr/bin/chromium"

quick_flush.install()


def pytest_runtest_setup(item):
    """`postgres_only` tests skip on another database (make test-sqlite), `fast_path` tests (they
    assert the fast path's own statements and query counts) skip when lifemsg.perf's PostgreSQL
    statements are off (make test-nofast, make test-sqlite)."""
    from django.db import connection

    from lifemsg import perf

    postgres_only = item.get_closest_marker("postgres_only")
    if postgres_only and connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL: {postgres_only.kwargs.get('reason', 'its SQL, roles or triggers')}")
    if item.get_closest_marker("fast_path") and not perf.fast_sql():
        pytest.skip("asserts the fast path's statements; LIFEMSG_FAST_PATH is off or not PostgreSQL")


@pytest.fixture(scope="session", autouse=True)
def _sqlite_flush_past_triggers():
    """SQLite's test flush is DELETE, which the append-only triggers refuse (tests/sqlite_flush.py)."""
    from tests.sqlite_flush import flush_past_triggers

    with flush_past_triggers():
        yield


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


@contextmanager
def celery_worker_running():
    """A real Celery worker (solo pool, in a thread) consuming from the test Redis broker, for as long
    as the block runs. Started inside a test, it stands for a worker that was down until then: it
    takes the tasks queued meanwhile."""
    from celery.contrib.testing.worker import start_worker

    from lifemsg.celery import app as celery_app

    celery_app.loader.import_module("celery.contrib.testing.tasks")
    # The test worker reconfigures logging (root at ERROR); later tests' log capture needs it back.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=True, shutdown_timeout=10) as worker:
            yield worker
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


@pytest.fixture
def live_celery_worker(transactional_db):
    """A real Celery worker running for the whole test (see celery_worker_running)."""
    with celery_worker_running() as worker:
        yield worker


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return (
        "transactional_db" in item.fixturenames
        or "live_server" in item.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )


class _Baseline:
    """The `org` of a test module, built once per module inside a transaction that is rolled back
    after the module: each test runs in a savepoint within it (its own `db` atomic) and gets a copy
    of the organisation's objects. This is Django's setUpTestData, for pytest; building the
    organisation through the services is most of a test's set-up time. Transactional tests commit,
    so they build their own, and the module's transaction is closed before they run."""

    def __init__(self) -> None:
        self.atomic = None
        self.org: factories.Organisation | None = None

    def open(self, blocker) -> None:
        from django.db import connection, transaction

        with blocker.unblock():
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            if not Group.objects.exists():  # a transactional test's flush ran before this module
                ensure_migration_data()
            self.org = factories.Organisation.build()
        # A management command run as from the shell closes every connection when it ends
        # (BaseCommand.run_from_argv), which would end the module's transaction under the next test.
        connection.close = lambda: None

    def close(self, blocker) -> None:
        from django.db import connection, transaction

        if self.atomic is None:
            return
        del connection.close  # Django's own again
        with blocker.unblock():
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
        self.atomic, self.org = None, None


_baseline = _Baseline()


@pytest.fixture(scope="module", autouse=True)
def _module_baseline(request, django_db_blocker):
    """Opens the module's baseline when one of its non-transactional tests uses `org`. Module scope:
    set up before any test's own fixtures, so the tests' atomics nest inside it."""
    module_items = [item for item in request.session.items if item.module is request.module]
    if any("org" in item.fixturenames and not is_transactional(item) for item in module_items):
        request.getfixturevalue("django_db_setup")
        _baseline.open(django_db_blocker)
    yield
    _baseline.close(django_db_blocker)


@pytest.fixture
def org(request, db):
    """A small organisation: two units with group mailboxes, staff in each role. (`db` turns into
    `transactional_db` for a transactional test, and keeps pytest-django's test order right.)"""
    if _baseline.org is None or is_transactional(request.node):
        return factories.Organisation.build()
    return copy.deepcopy(_baseline.org)


@pytest.fixture
def clean_cache():
    """Rate-limit counters live in the test Redis db: start every test with none."""
    cache.clear()
    yield
    cache.clear()


def login(client: Client, user) -> Client:
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return client


def login_verified(client: Client, user) -> Client:
    """`login`, and the session's second factor verified as django_otp.login records it (for tests
    with STAFF_OTP_ENABLED on). The user gets a confirmed TOTP device if they have none."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    login(client, user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def idle_for(client: Client, seconds: float) -> float:
    """The client's session made to look idle for `seconds`: its last activity, as
    accounts.middleware.IdleTimeoutMiddleware keeps it, set that long ago. Returns that moment."""
    from accounts.middleware import IdleTimeoutMiddleware

    last = time.time() - seconds
    session = client.session
    session[IdleTimeoutMiddleware.SESSION_KEY] = last
    session.save()
    return last


@pytest.fixture
def as_user(client):
    def _as(user) -> Client:
        return login(client, user)

    return _as


def role_group(name: str) -> Group:
    assert name in roles.ALL_ROLES
    return Group.objects.get(name=name)


# Data that migrations put in the database. A transactional test ends with a flush that removes it;
# on PostgreSQL the flush puts it back (tests/quick_flush.py), elsewhere every transactional test
# starts by recreating it (idempotently).
MIGRATION_DATA = [
    ("accounts.migrations.0002_roles", "create_roles"),
    ("accounts.migrations.0006_download_case_file_pdf", "grant"),
    ("eservices.migrations.0004_assign_any_case_roles", "grant"),
    ("eservices.migrations.0006_protected_identity_permission", "grant"),
    ("retention_rules.migrations.0002_seed_rules_and_roles", "seed_and_grant"),
]


def ensure_migration_data() -> None:
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0)
        create_permissions(app_config, verbosity=0)
    for module, function in MIGRATION_DATA:
        getattr(import_module(module), function)(apps, None)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language (Swedish): LocaleMiddleware leaves the language of a
    test's last request active in the thread, which an English page would pass on to the next test's
    service calls and their messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _no_pending_routing_wakeup():
    """Each test starts without a routing wake-up pending: one left by an earlier test, whose task
    nobody ran, would make this test's first message wait for that task (absence.routing)."""
    from absence.routing import routing_wakeup_clear

    routing_wakeup_clear()


@pytest.fixture(autouse=True)
def _migration_data_for_transactional_tests(request, django_db_blocker):
    if is_transactional(request.node):
        # pytest-django runs transactional tests last; the last module's baseline may still be open.
        _baseline.close(django_db_blocker)
        request.getfixturevalue("transactional_db")
        if not quick_flush.snapshot_restores():
            from django.db import connection

            ensure_migration_data()
            if connection.vendor == "postgresql":
                quick_flush.snapshot_take(connection)
