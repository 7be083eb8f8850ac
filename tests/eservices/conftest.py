from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from eservices.models import ConversationTopic, EService
from tests import factories

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def pdf_upload(name: str = "intyg.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def login_citizen(client, citizen):
    client.force_login(citizen.user, backend="accounts.backends.ModelBackend")
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
    a live worker starts from an empty queue (and no routing wake-up stands for a purged task)."""
    from absence.routing import routing_wakeup_clear
    from lifemsg.celery import app

    with app.connection_for_write() as connection:
        app.control.purge(connection=connection)
    routing_wakeup_clear()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Swedish first: the browser asks for Swedish like a Swedish citizen's phone would.
    return {**browser_context_args, "locale": "sv-SE"}


@pytest.fixture
def live_org(transactional_db):
    """The `org` organisation for transactional tests (live server, real worker); the migration data
    it needs is recreated by tests/conftest.py for every transactional test."""
    return factories.Organisation.build()
