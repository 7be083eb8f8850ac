"""Saved replies: kept per unit by its unit manager, used by the unit's case workers, inserted into
the reply with the sender's and the unit's name filled in on the server — nothing else."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from mailboxes.models import UnitMembership
from replies.models import Draft, SavedReply
from replies.services import saved_reply_create, saved_reply_text
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved(org):
    return saved_reply_create(
        unit=org.unit_a,
        title="Bekräftelse",
        body="Hej! Vi har fått ditt meddelande. Hälsningar {handläggare}, {enhet}. {personnummer}",
        actor=org.manager_a,
    )


def test_placeholders_are_only_the_sender_and_the_unit(org, saved):
    text = saved_reply_text(saved, sender=org.handler_a1)
    assert "Hälsningar Anna Andersson, IFO Testenhet A." in text
    assert "{personnummer}" in text  # not a placeholder: left as written, nothing filled in


def test_the_unit_manager_creates_changes_and_deletes_saved_replies(client, org):
    login(client, org.manager_a)
    assert client.get(reverse("replies:saved_list")).status_code == 200
    response = client.post(
        reverse("replies:saved_create"),
        {"unit": org.unit_a.pk, "title": "Tack", "body": "Tack för ditt meddelande. /{handläggare}"},
    )
    assert response.status_code == 302
    saved = SavedReply.objects.get()
    assert (saved.unit, saved.title, saved.updated_by) == (org.unit_a, "Tack", org.manager_a)
    assert "Tack" in client.get(reverse("replies:saved_list")).text

    response = client.post(
        reverse("replies:saved_edit", args=[saved.pk]),
        {"unit": org.unit_a.pk, "title": "Tack!", "body": "Tack."},
    )
    assert response.status_code == 302
    saved.refresh_from_db()
    assert (saved.title, saved.body) == ("Tack!", "Tack.")

    # The same title twice in one unit is refused, with the form shown again.
    client.post(reverse("replies:saved_create"), {"unit": org.unit_a.pk, "title": "Annan", "body": "x"})
    again = client.post(
        reverse("replies:saved_create"), {"unit": org.unit_a.pk, "title": "Annan", "body": "y"}
    )
    assert again.status_code == 400

    assert client.post(reverse("replies:saved_delete", args=[saved.pk])).status_code == 302
    assert list(SavedReply.objects.values_list("title", flat=True)) == ["Annan"]
    actions = list(
        AuditEvent.objects.filter(action__startswith="saved_reply.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["saved_reply.create", "saved_reply.update", "saved_reply.create", "saved_reply.delete"]


def test_only_the_units_own_manager_manages(client, org, saved):
    other_manager = factories.staff("Enhetschef", units=(org.unit_b,))
    login(client, other_manager)
    assert client.get(reverse("replies:saved_list")).status_code == 200
    assert "Bekräftelse" not in client.get(reverse("replies:saved_list")).text
    assert client.get(reverse("replies:saved_edit", args=[saved.pk])).status_code == 404
    assert client.post(reverse("replies:saved_delete", args=[saved.pk])).status_code == 404
    # …nor can they put a reply in a unit not theirs.
    response = client.post(
        reverse("replies:saved_create"), {"unit": org.unit_a.pk, "title": "X", "body": "Y"}
    )
    assert response.status_code == 400
    # A case worker uses them but does not manage them.
    login(client, org.handler_a1)
    assert client.get(reverse("replies:saved_list")).status_code == 403
    assert client.post(reverse("replies:saved_delete", args=[saved.pk])).status_code == 403
    assert SavedReply.objects.count() == 1


def test_inserting_adds_the_filled_in_text_after_what_is_written(client, org, saved):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    citizen_writes(case)
    login(client, org.handler_a1)
    page = client.get(reverse("mailboxes:case_thread", args=[case.pk]))
    assert "Bekräftelse" in page.text  # offered in the form
    response = client.post(
        reverse("replies:case_insert", args=[case.pk]),
        {"saved_reply": saved.pk, "citizen-body": "Hej Greta,"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Hej Greta,\n\nHej! Vi har fått ditt meddelande. Hälsningar Anna Andersson" in response.text
    assert "Utkast sparat" in response.text
    # Kept as the draft, so a reload (or a browser without JavaScript) finds it in the form.
    assert Draft.objects.get().body.startswith("Hej Greta,\n\nHej! Vi har fått")
    no_js = client.post(reverse("replies:case_insert", args=[case.pk]), {"saved_reply": saved.pk})
    assert no_js.status_code == 302 and no_js["Location"].endswith("#composer")


def test_another_units_saved_reply_cannot_be_inserted(client, org):
    foreign = saved_reply_create(unit=org.unit_b, title="B", body="Enhet B:s text", actor=org.manager_a)
    message = internal_thread(org.handler_b1, [personal(org.handler_a1)])
    login(client, org.handler_a1)
    url = reverse("replies:insert", args=[personal(org.handler_a1).pk, message.thread_id])
    response = client.post(url, {"saved_reply": foreign.pk, "reply-body": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert (
        "Enhet B:s text"
        not in client.get(
            reverse("mailboxes:thread", args=[personal(org.handler_a1).pk, message.thread_id])
        ).text
    )
    assert not Draft.objects.exists()
    # And nobody outside the thread inserts anything into it.
    login(client, org.handler_b1)
    assert client.post(url, {"saved_reply": foreign.pk}).status_code == 404
    assert group(org.unit_a)  # the org is intact


def test_a_manager_in_two_units_sees_both(org, client):
    UnitMembership.objects.create(unit=org.unit_b, user=org.manager_a)
    saved_reply_create(unit=org.unit_a, title="A-text", body="a", actor=org.manager_a)
    saved_reply_create(unit=org.unit_b, title="B-text", body="b", actor=org.manager_a)
    page = login(Client(), org.manager_a).get(reverse("replies:saved_list")).text
    assert "A-text" in page and "B-text" in page


def test_the_demo_gives_every_unit_two_saved_replies_once(monkeypatch):
    from mailboxes.models import Unit
    from replies import demo

    class Seeder:
        created: dict = {}

        def _count(self, key):
            self.created[key] = self.created.get(key, 0) + 1

    factories.unit("Demoenhet")
    demo.seed(Seeder())
    assert SavedReply.objects.filter(unit__name="Demoenhet").count() == 2
    before = SavedReply.objects.count()
    demo.seed(Seeder())
    assert SavedReply.objects.count() == before == 2 * Unit.objects.count()
