from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from eservices.models import ConversationTopic, EService
from tests import factories

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def pdf_upload(name: str = "intyg.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def login_citizen(client, citizen):
    client.force_login(citizen.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def case_a(org):
    """A case in unit A with handler_a1 as handler and no co-handlers."""
    return factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Ansökan om stöd")


@pytest.fixture
def ifo(org):
    """An e-service where citizens start conversations, with the two topics of the routine."""
    eservice = EService.objects.create(
        name="Meddelande IFO – barn och familj samt vuxen",
        slug="meddelande-ifo",
        unit=org.unit_a,
        citizen_can_start=True,
    )
    ConversationTopic.objects.create(
        eservice=eservice, topic=ConversationTopic.Topic.CHILDREN_FAMILY, unit=org.unit_a, position=0
    )
    ConversationTopic.objects.create(
        eservice=eservice, topic=ConversationTopic.Topic.ADULTS, unit=org.unit_b, position=1
    )
    return eservice


@pytest.fixture
def purged_queue():
    """Drop tasks that earlier transactional tests enqueued on this Redis db and nobody consumed, so
    a live worker starts from an empty queue."""
    from lifemsg.celery import app

    with app.connection_for_write() as connection:
        app.control.purge(connection=connection)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Swedish first: the browser asks for Swedish like a Swedish citizen's phone would.
    return {**browser_context_args, "locale": "sv-SE"}


def ensure_migration_data() -> None:
    """Recreate what migrations put in the database (content types, permissions, the role groups and
    their permissions), idempotently. A transactional test's flush removes it, and pytest-django's
    serialized_rollback cannot be relied on to restore it once Playwright's event loop runs in the
    main thread (the connection object holding the serialized copy is replaced)."""
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0)
        create_permissions(app_config, verbosity=0)
    import_module("accounts.migrations.0002_roles").create_roles(apps, None)
    import_module("eservices.migrations.0004_assign_any_case_roles").grant(apps, None)


@pytest.fixture
def live_org(transactional_db):
    """The `org` organisation for transactional tests (live server, real worker)."""
    ensure_migration_data()
    return factories.Organisation.build()


_serialized: dict[str, str] = {}


@pytest.fixture(scope="session", autouse=True)
def _remember_serialized_db(django_db_setup, django_db_blocker):
    """Keep the serialized test database that pytest-django's serialized_rollback restores from.

    Django's connections live in asgiref's thread-critical Local, which switches to context-variable
    storage whenever an event loop is running in the thread. Playwright's sync API leaves its loop
    running in the main thread, so after the first browser test `connections["default"]` is a new
    object without `_test_serialized_contents`, and every later serialized_rollback test (in any
    app) silently restores nothing. _carry_serialized_db hands the copy to the new object."""
    from django.db import connections

    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents is not None:
            _serialized[alias] = contents


@pytest.fixture(autouse=True)
def _carry_serialized_db():
    yield
    from django.db import connections

    for alias, contents in _serialized.items():
        if not hasattr(connections[alias], "_test_serialized_contents"):
            connections[alias]._test_serialized_contents = contents
