"""The thread page's composer costs two queries (the author's draft, the units' saved replies),
whatever the number of saved replies and whether a draft exists."""

from __future__ import annotations

import pytest
from django.urls import reverse

from replies.models import SavedReply
from replies.services import draft_save
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, internal_thread, personal
from tests.mailboxes.test_queries import count_queries

pytestmark = pytest.mark.django_db


def test_thread_pages_cost_the_same_with_many_saved_replies_and_a_draft(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    citizen_writes(case)
    message = internal_thread(org.handler_b1, [personal(org.handler_a1)])
    urls = {
        "citizen": reverse("mailboxes:case_thread", args=[case.pk]),
        "internal": reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, message.thread_id]),
    }
    login(client, org.handler_a1)
    for url in urls.values():
        client.get(url)
        client.get(url)  # steady state: read marks and the session's activity done
    before = {name: count_queries(client, url) for name, url in urls.items()}

    SavedReply.objects.bulk_create(
        [
            SavedReply(unit=unit, title=f"Svar {i}", body="Text")
            for unit in (org.unit_a, org.unit_b)
            for i in range(25)
        ]
    )
    draft_save(user=org.handler_a1, thread=case.thread, body="Utkast")
    draft_save(user=org.handler_a1, thread=message.thread, body="Utkast")
    after = {name: count_queries(client, url) for name, url in urls.items()}
    assert after == before, (before, after)
    page = client.get(urls["citizen"]).text
    offered = page.split('id="saved-reply"')[1].split("</select>")[0]
    assert offered.count("<option") == 25  # unit A's, not unit B's (Anna is not a member there)
