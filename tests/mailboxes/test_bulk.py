"""Bulk take / mark handled in a group mailbox (mailboxes.bulk): each thread opened through
access_thread and changed by the single action's service, logged the same, one transaction each;
ids the user may not act on are counted as not done without saying which or why."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AccessLogEntry, AuditEvent
from mailboxes.bulk import BULK_MAX_THREADS, threads_state_change_bulk
from mailboxes.models import Delivery, MailboxThread
from tests import factories
from tests.conftest import login
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal
from tests.mailboxes.filter_world import build_filter_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return build_filter_world(org)


def bulk(client, world, action: str, ids, filter_query: str = "", user=None):
    login(client, user or world.org.handler_a1)
    return client.post(
        reverse("mailboxes:bulk", args=[world.mailbox.pk]),
        {"atgard": action, "trad": [str(i) for i in ids], "filter": filter_query},
    )


def summary(world, subject: str) -> MailboxThread:
    return MailboxThread.objects.select_related("taken_by", "handled_by").get(
        mailbox=world.mailbox, thread=world.threads[subject]
    )


def flashes(client, response) -> list[str]:
    page = client.get(response["Location"])
    return [str(m) for m in page.context["messages"]]


def test_member_takes_two_threads_at_once(client, world):
    response = bulk(client, world, "take", world.ids("A oläst", "X oläst"))
    assert response.status_code == 302
    for subject in ("A oläst", "X oläst"):
        assert summary(world, subject).taken_by == world.org.handler_a1
    assert summary(world, "A läst").taken_by is None
    assert flashes(client, response) == ["Du tar nu hand om 2 konversationer."]


def test_member_marks_three_handled_and_is_told_so(client, world):
    ids = world.ids("A oläst", "X oläst", "Intern fråga")
    response = bulk(client, world, "handled", ids)
    for subject in ("A oläst", "X oläst", "Intern fråga"):
        assert summary(world, subject).handled_by == world.org.handler_a1
    assert flashes(client, response) == ["3 konversationer markerade som hanterade."]


def test_handled_reaches_the_absent_handlers_own_copy(client, world):
    bulk(client, world, "handled", world.ids("A frånvaro"))
    own = Delivery.objects.get(mailbox=personal(world.org.handler_a2), thread=world.threads["A frånvaro"])
    assert own.handled_by == world.org.handler_a1


def test_each_thread_is_logged_exactly_as_the_single_action_logs_it(client, world):
    """The same access-log entries and change-log events as clicking each one on its own."""
    org = world.org
    single, by_bulk = world.threads["A oläst"], world.threads["A läst"]
    login(client, org.handler_a1)
    for step in ("take", "handled"):
        client.post(reverse(f"mailboxes:{step}", args=[world.mailbox.pk, single.pk]))
    for step in ("take", "handled"):
        bulk(client, world, step, [by_bulk.pk])

    def logged(thread):
        entries = AccessLogEntry.objects.filter(thread_id=thread.pk, user=org.handler_a1).exclude(
            action__in=[AccessLogEntry.Action.READ_THREAD, AccessLogEntry.Action.MARK_READ]
        )
        rows = entries.order_by("seq").values_list(
            "action", "route", "object_type", "mailbox_id", "unit_id", "user_units", "user_roles", "detail"
        )
        events = AuditEvent.objects.filter(actor=org.handler_a1, target_id=str(thread.pk))
        return list(rows), sorted(events.values_list("action", flat=True))

    entries, _ = logged(single)
    assert [(row[0], row[1]) for row in entries] == [
        (AccessLogEntry.Action.TAKE, AccessLogEntry.Route.GROUP_MAILBOX),
        (AccessLogEntry.Action.HANDLED, AccessLogEntry.Route.GROUP_MAILBOX),
    ]
    assert logged(by_bulk) == logged(single)
    entry = AccessLogEntry.objects.get(thread_id=by_bulk.pk, action=AccessLogEntry.Action.HANDLED)
    assert entry.case_id == by_bulk.case.pk and entry.citizen_id == by_bulk.case.citizen.user_id


def test_threads_already_in_that_state_are_left_and_counted(client, world):
    response = bulk(client, world, "handled", world.ids("A hanterad", "A oläst"))
    assert summary(world, "A hanterad").handled_by == world.org.handler_a2  # not re-marked
    assert not AccessLogEntry.objects.filter(
        thread_id=world.threads["A hanterad"].pk, user=world.org.handler_a1
    ).exists()
    assert flashes(client, response) == [
        "1 konversation markerad som hanterad.",
        "1 konversation var redan hanterad.",
    ]
    response = bulk(client, world, "take", world.ids("X tagen", "A hanterad"))
    assert flashes(client, response) == ["2 konversationer var redan dina eller hanterade."]


def test_a_colleagues_take_is_taken_over_as_with_the_single_action(client, world):
    response = bulk(client, world, "take", world.ids("X tagen"), user=world.org.handler_a2)
    assert summary(world, "X tagen").taken_by == world.org.handler_a2
    assert flashes(client, response) == ["Du tar nu hand om 1 konversation."]


def test_ids_the_user_may_not_act_on_are_not_done_and_not_named(client, world):
    org = world.org
    elsewhere = internal_thread(org.handler_b1, [group(org.unit_b)], subject="Enhet B:s").thread
    own_personal = internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Personlig").thread
    ids = [*world.ids("A oläst"), elsewhere.pk, own_personal.pk, 987654321]
    response = bulk(client, world, "handled", [*ids, "abc"])
    assert summary(world, "A oläst").handled_by == org.handler_a1
    assert not MailboxThread.objects.filter(thread=elsewhere, handled_at__isnull=False).exists()
    assert not MailboxThread.objects.filter(thread=own_personal, handled_at__isnull=False).exists()
    messages = flashes(client, response)
    assert messages == [
        "1 konversation markerad som hanterad.",
        "4 konversationer kunde inte ändras: de finns inte i den här brevlådan"
        " eller så får du inte öppna dem.",
    ]
    assert "Enhet B" not in " ".join(messages)


def test_protected_identity_thread_is_not_done_for_a_member_off_the_case_team(client, world):
    org = world.org
    case = factories.case(
        eservice_obj=org.eservice_a, citizen_obj=factories.citizen("Skyddad", "Person"), subject="Skyddad"
    )
    citizen_writes(case)
    # Protected after it reached the group mailbox: the group's members may no longer open it.
    case.citizen.protected_identity = True
    case.citizen.save(update_fields=["protected_identity"])
    result = threads_state_change_bulk(
        user=org.handler_a1, mailbox=world.mailbox, thread_ids=[case.thread_id], action="take"
    )
    assert (result.done, result.not_done) == (0, 1)


def test_a_personal_mailbox_has_no_bulk_actions(client, world):
    org = world.org
    own = personal(org.handler_a1)
    message = internal_thread(org.handler_b1, [own], subject="Till mig")
    login(client, org.handler_a1)
    url = reverse("mailboxes:bulk", args=[own.pk])
    assert client.post(url, {"atgard": "take", "trad": [message.thread_id]}).status_code == 404
    assert MailboxThread.objects.get(mailbox=own, thread=message.thread).taken_by is None
    assert 'id="bulk-form"' not in client.get(reverse("mailboxes:mailbox", args=[own.pk])).content.decode()


def test_a_handler_without_membership_gets_404_and_nothing_changes(client, world):
    response = bulk(client, world, "take", world.ids("A oläst"), user=world.org.handler_b1)
    assert response.status_code == 404
    assert summary(world, "A oläst").taken_by is None


def test_an_unknown_action_is_404(client, world):
    assert bulk(client, world, "delete", world.ids("A oläst")).status_code == 404


def test_get_is_refused(client, world):
    login(client, world.org.handler_a1)
    assert client.get(reverse("mailboxes:bulk", args=[world.mailbox.pk])).status_code == 405


def test_without_csrf_token_nothing_changes(world):
    client = Client(enforce_csrf_checks=True)
    response = bulk(client, world, "take", world.ids("A oläst"))
    assert response.status_code == 403
    assert summary(world, "A oläst").taken_by is None


def test_nothing_selected_or_too_many_says_so(client, world):
    response = bulk(client, world, "take", [])
    assert flashes(client, response) == ["Välj konversationer först."]
    response = bulk(client, world, "take", range(1, BULK_MAX_THREADS + 2))
    assert flashes(client, response) == [f"Välj högst {BULK_MAX_THREADS} konversationer åt gången."]
    assert summary(world, "A oläst").taken_by is None


def test_back_to_the_same_filtered_list_and_never_elsewhere(client, world):
    query = f"etjanst={world.org.eservice_a.pk}&olasta=1"
    response = bulk(client, world, "take", world.ids("A oläst"), filter_query=query)
    list_url = reverse("mailboxes:mailbox", args=[world.mailbox.pk])
    assert response["Location"] == f"{list_url}?{query}"
    response = bulk(client, world, "take", world.ids("A oläst"), filter_query="next=//evil.example/&sida=3")
    assert response["Location"] == list_url
    login(client, world.org.handler_a1)
    url = reverse("mailboxes:bulk", args=[world.mailbox.pk])
    data = {"atgard": "handled", "trad": world.ids("A oläst"), "filter": "hanterad=nej", "sida": "2"}
    assert client.post(url, data)["Location"] == f"{list_url}?hanterad=nej&sida=2"
    data["sida"] = "//evil.example/"
    assert client.post(url, data)["Location"] == f"{list_url}?hanterad=nej"


def test_the_group_list_offers_checkboxes_and_select_all(client, world):
    login(client, world.org.handler_a1)
    body = client.get(reverse("mailboxes:mailbox", args=[world.mailbox.pk])).content.decode()
    thread_id = world.threads["A oläst"].pk
    assert f'<input type="checkbox" name="trad" value="{thread_id}" form="bulk-form"' in body
    assert f'<label for="bulk-{thread_id}" class="visually-hidden">Välj: A oläst</label>' in body
    assert 'data-select-all="trad"' in body
