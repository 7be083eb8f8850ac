import pytest
from django.urls import reverse

from tests.conftest import login
from tests.mailboxes.conftest import group, internal_thread, personal

pytestmark = pytest.mark.django_db


def test_pages_render(client, org, citizen_case, unassigned_case):
    m = internal_thread(org.handler_a2, [personal(org.handler_a1), group(org.unit_a)])
    login(client, org.handler_a1)
    for url in [
        reverse("mailboxes:index"),
        reverse("mailboxes:mailbox", args=[personal(org.handler_a1).pk]),
        reverse("mailboxes:mailbox", args=[group(org.unit_a).pk]),
        reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, m.thread_id]),
        reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, citizen_case.thread_id]),
        reverse("mailboxes:thread", args=[group(org.unit_a).pk, unassigned_case.thread_id]),
        reverse("mailboxes:compose"),
        reverse("mailboxes:search") + "?q=fråga",
        reverse("mailboxes:case_thread", args=[citizen_case.pk]),
    ]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        print(url, len(r.content))
