"""The three pages: Min frånvaro, Sjukanmälan / vidarebefordran, Enhetsöversikt — for each role."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from absence.models import Absence
from audit.models import AuditEvent
from mailboxes.models import Delivery
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.absence.helpers import citizen_writes, planned, sick_leave
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _day(offset: int) -> str:
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def _plan_form(org, **overrides):
    data = {
        "start_date": _day(1),
        "start_time": "",
        "end_date": _day(3),
        "end_time": "",
        "forward_to": str(org.unit_a.group_mailbox.pk),
        "message_to_colleagues": "Jag har semester.",
        "message_to_citizens": "",
        "reason": "Semester",
        "action": "save",
    }
    data.update(overrides)
    return data


# --- Min frånvaro ----------------------------------------------------------------------------------


def test_handler_plans_an_absence_covering_whole_local_days(client, org):
    login(client, org.handler_a1)
    response = client.post(reverse("absence:mine"), _plan_form(org))
    assert response.status_code == 302
    absence = Absence.objects.get(handler=org.handler_a1)
    assert absence.kind == Absence.Kind.PLANNED
    assert absence.set_by == org.handler_a1
    local_start = timezone.localtime(absence.starts_at)
    local_end = timezone.localtime(absence.ends_at)
    assert (local_start.hour, local_start.minute) == (0, 0)
    assert local_start.date() == timezone.localdate() + timedelta(days=1)
    assert local_end.date() == timezone.localdate() + timedelta(days=4)  # the whole last day
    page = client.get(reverse("absence:mine")).content.decode()
    assert "Planerade frånvaron" in page
    assert "Jag har semester." in page


def test_preview_shows_what_citizens_and_colleagues_see_and_saves_nothing(client, org):
    login(client, org.handler_a1)
    response = client.post(
        reverse("absence:mine"),
        _plan_form(org, action="preview", show_return_date_to_citizens="on", reason="Hemlig orsak"),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert not Absence.objects.exists()
    assert "Förhandsgranskning" in body
    assert "Det här är ett automatiskt svar." in body
    assert "Jag har semester." in body
    # The typed values are kept in the form.
    assert 'value="' + _day(3) + '"' in body
    preview = body.split('id="preview"')[1]
    assert "Hemlig orsak" not in preview


def test_bad_dates_get_a_swedish_message_and_nothing_typed_is_lost(client, org):
    login(client, org.handler_a1)
    response = client.post(
        reverse("absence:mine"),
        _plan_form(org, start_date=_day(3), end_date=_day(1), message_to_colleagues="Behåll mig"),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Sista dagen måste" in body
    assert "Behåll mig" in body
    assert not Absence.objects.exists()


def test_handler_edits_and_ends_own_absence(client, org):
    login(client, org.handler_a1)
    now = timezone.now()
    absence = planned(org.handler_a1, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=2))
    response = client.post(
        reverse("absence:mine_edit", args=[absence.pk]),
        _plan_form(org, end_date=_day(5), message_to_colleagues="Ändrad text"),
    )
    assert response.status_code == 302
    absence.refresh_from_db()
    assert absence.message_to_colleagues == "Ändrad text"
    assert timezone.localtime(absence.ends_at).date() == timezone.localdate() + timedelta(days=6)
    assert absence.starts_at == now - timedelta(hours=1)  # under way: the start stays

    response = client.post(reverse("absence:mine_end", args=[absence.pk]))
    assert response.status_code == 302
    absence.refresh_from_db()
    assert absence.ended_by == org.handler_a1
    assert not absence.is_active()


def test_handler_adds_a_text_to_the_sick_leave_set_for_them_and_it_stays_open_ended(client, org):
    absence = sick_leave(org.handler_a1, actor=org.admin)
    login(client, org.handler_a1)
    page = client.get(reverse("absence:mine_edit", args=[absence.pk])).content.decode()
    assert "Sista dagen (valfritt)" in page
    response = client.post(
        reverse("absence:mine_edit", args=[absence.pk]),
        _plan_form(org, start_date=_day(0), end_date="", message_to_colleagues="Sjuk, åter okänt"),
    )
    assert response.status_code == 302
    absence.refresh_from_db()
    assert absence.ends_at is None and absence.message_to_colleagues == "Sjuk, åter okänt"
    assert absence.kind == Absence.Kind.UNPLANNED and absence.set_by == org.admin


def test_someone_elses_absence_is_404_on_my_pages(client, org):
    other = sick_leave(org.handler_a2, actor=org.admin)
    login(client, org.handler_a1)
    assert client.get(reverse("absence:mine_edit", args=[other.pk])).status_code == 404
    assert client.post(reverse("absence:mine_end", args=[other.pk])).status_code == 404
    assert client.get(reverse("absence:mine_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("absence:mine_edit", args=[999999])).status_code == 404
    other.refresh_from_db()
    assert other.is_active()


def test_returning_handler_sees_who_switched_forwarding_on_and_what_happened(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, subject="Bostadsfråga")
    absence = sick_leave(org.handler_a1, actor=org.admin, reason="Ringde 07.30")
    message = citizen_writes(case)
    copy = Delivery.objects.get(message=message, mailbox=org.unit_a.group_mailbox)
    Delivery.objects.filter(pk=copy.pk).update(handled_at=timezone.now(), handled_by=org.handler_a2)
    from absence.services import absence_end

    absence_end(absence=absence, actor=org.admin)
    login(client, org.handler_a1)
    page = client.get(reverse("absence:mine")).content.decode()
    assert "Medan du var borta" in page
    assert "Erik Ek" in page
    assert "Ringde 07.30" not in page  # the reason is for those who handle absences
    detail = client.get(reverse("absence:mine_detail", args=[absence.pk])).content.decode()
    assert "Bostadsfråga" in detail
    assert "Hanterat av Bo Berg" in detail


def test_min_franvaro_refuses_roles_without_the_permission(client, org):
    for user in (org.admin, org.superuser, org.sysadmin, org.log_reviewer):
        login(client, user)
        assert client.get(reverse("absence:mine")).status_code == 403, user
        assert client.post(reverse("absence:mine"), _plan_form(org)).status_code == 403, user
    assert not Absence.objects.exists()
    login(client, org.manager_a)
    assert client.get(reverse("absence:mine")).status_code == 200


def test_anonymous_and_citizens_are_kept_out(client, org):
    for name in ("absence:mine", "absence:sick_call", "absence:unit_overview"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/logga-in/" in response["Location"]
    citizen = factories.citizen()
    login(client, citizen.user)
    for name in ("absence:mine", "absence:sick_call", "absence:unit_overview"):
        assert client.get(reverse(name)).status_code == 403


def test_own_absence_page_query_count_is_flat(client, org, django_assert_max_num_queries):
    login(client, org.handler_a1)
    now = timezone.now()
    planned(org.handler_a1, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    client.get(reverse("absence:mine"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("absence:mine"))
    for n in range(4):
        start = now + timedelta(days=10 + 3 * n)
        planned(org.handler_a1, starts_at=start, ends_at=start + timedelta(days=1))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("absence:mine"))
    assert len(many) == len(one)


# --- Sjukanmälan / vidarebefordran ---------------------------------------------------------------


def _sick_call_post(org, **overrides):
    data = {
        "handler": str(org.handler_a1.pk),
        "until": "",
        "forward_to": str(org.unit_a.group_mailbox.pk),
        "reason": "Ringde in sjuk 07.30",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ["handler_a2", "manager_a", "log_reviewer"])
def test_sick_call_page_and_post_are_403_for_other_roles(client, org, role):
    login(client, getattr(org, role))
    assert client.get(reverse("absence:sick_call")).status_code == 403
    assert client.get(reverse("absence:sick_call"), {"q": "Anna"}).status_code == 403
    assert client.post(reverse("absence:sick_call"), _sick_call_post(org)).status_code == 403
    absence = sick_leave(org.handler_b1, actor=org.admin)
    assert client.post(reverse("absence:sick_call_end", args=[absence.pk])).status_code == 403
    absence.refresh_from_db()
    assert absence.is_active()
    assert not Absence.objects.filter(handler=org.handler_a1).exists()


@pytest.mark.parametrize("role", ["admin", "superuser", "sysadmin"])
def test_privileged_roles_take_a_sick_call_and_end_it_audited(client, org, role):
    actor = getattr(org, role)
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    unread = citizen_writes(case)
    login(client, actor)

    search = client.get(reverse("absence:sick_call"), {"q": "anna and"}).content.decode()
    assert "Anna Andersson" in search and "Bo Berg" not in search
    form = client.get(reverse("absence:sick_call"), {"handler": org.handler_a1.pk}).content.decode()
    assert "Slå på vidarebefordran nu" in form

    response = client.post(reverse("absence:sick_call"), _sick_call_post(org), follow=True)
    assert response.status_code == 200
    assert "1 oläst meddelande vidarebefordrades" in response.content.decode()
    absence = Absence.objects.get(handler=org.handler_a1)
    assert absence.kind == Absence.Kind.UNPLANNED
    assert absence.ends_at is None
    assert absence.set_by == actor
    assert Delivery.objects.filter(message=unread, mailbox=org.unit_a.group_mailbox).exists()
    created = AuditEvent.objects.get(action="absence.create", target_id=str(absence.pk))
    assert created.actor == actor and created.reason == "Ringde in sjuk 07.30"

    page = client.get(reverse("absence:sick_call")).content.decode()
    assert "Ringde in sjuk 07.30" in page  # reason visible to those who take sick calls
    response = client.post(reverse("absence:sick_call_end", args=[absence.pk]))
    assert response.status_code == 302
    absence.refresh_from_db()
    assert absence.ended_by == actor
    assert AuditEvent.objects.get(action="absence.end", target_id=str(absence.pk)).actor == actor


def test_sick_call_until_a_date_ends_after_that_whole_day(client, org):
    login(client, org.admin)
    client.post(reverse("absence:sick_call"), _sick_call_post(org, until=_day(2)))
    absence = Absence.objects.get(handler=org.handler_a1)
    assert timezone.localtime(absence.ends_at).date() == timezone.localdate() + timedelta(days=3)
    assert timezone.localtime(absence.ends_at).hour == 0


def test_sick_call_needs_a_reason_and_an_allowed_target(client, org):
    login(client, org.admin)
    response = client.post(reverse("absence:sick_call"), _sick_call_post(org, reason=""))
    assert response.status_code == 200
    assert "Det här fältet är obligatoriskt" in response.content.decode()
    response = client.post(
        reverse("absence:sick_call"), _sick_call_post(org, forward_to=str(org.unit_b.group_mailbox.pk))
    )
    assert "Välj vart meddelandena ska gå" in response.content.decode()
    assert not Absence.objects.exists()


def test_sick_call_for_someone_already_away_is_refused_clearly(client, org):
    sick_leave(org.handler_a1, actor=org.admin)
    login(client, org.sysadmin)
    page = client.get(reverse("absence:sick_call"), {"handler": org.handler_a1.pk}).content.decode()
    assert "är redan borta" in page
    response = client.post(reverse("absence:sick_call"), _sick_call_post(org))
    assert "är redan borta" in response.content.decode()
    assert Absence.objects.count() == 1


def test_sick_call_for_unknown_or_citizen_is_404(client, org):
    login(client, org.admin)
    citizen = factories.citizen()
    assert client.get(reverse("absence:sick_call"), {"handler": citizen.user.pk}).status_code == 404
    assert client.post(reverse("absence:sick_call"), _sick_call_post(org, handler="99999")).status_code == 404
    assert client.post(reverse("absence:sick_call"), _sick_call_post(org, handler="x")).status_code == 404


def test_sick_call_page_shows_active_and_planned_per_unit(client, org):
    sick_leave(org.handler_a1, actor=org.admin)
    later = timezone.now() + timedelta(days=7)
    planned(org.handler_b1, starts_at=later, ends_at=later + timedelta(days=1))
    login(client, org.admin)
    page = client.get(reverse("absence:sick_call")).content.decode()
    unit_a = page.split(f"<h3>{org.unit_a.name}</h3>")[1].split(f"<h3>{org.unit_b.name}</h3>")[0]
    unit_b = page.split(f"<h3>{org.unit_b.name}</h3>")[1]
    assert "Anna Andersson" in unit_a and "Borta nu" in unit_a and "Cilla Carlsson" not in unit_a
    assert "Cilla Carlsson" in unit_b and "Planerad" in unit_b


# --- Enhetsöversikt --------------------------------------------------------------------------------


def test_unit_overview_for_the_manager_shows_own_units_only(client, org):
    case = factories.case(eservice_obj=org.eservice_a)
    citizen_writes(case)
    sick_leave(org.handler_a1, actor=org.admin)
    sick_leave(org.handler_b1, actor=org.admin)
    login(client, org.manager_a)
    page = client.get(reverse("absence:unit_overview")).content.decode()
    assert org.unit_a.name in page
    assert org.unit_b.name not in page
    assert "Anna Andersson" in page and "Cilla Carlsson" not in page
    assert "Olästa meddelanden" in page
    assert "tills vidare" in page
    partial = client.get(reverse("absence:unit_overview_refresh"), headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert 'hx-swap-oob="innerHTML"' in body and "<html" not in body and "Anna Andersson" in body


@pytest.mark.parametrize("role", ["handler_a1", "admin", "superuser", "sysadmin", "log_reviewer"])
def test_unit_overview_is_403_for_other_roles(client, org, role):
    login(client, getattr(org, role))
    assert client.get(reverse("absence:unit_overview")).status_code == 403
    assert client.get(reverse("absence:unit_overview_refresh")).status_code == 403


def test_unit_overview_query_count_is_flat(client, org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, org.manager_a)
    case = factories.case(eservice_obj=org.eservice_a)
    citizen_writes(case)
    client.get(reverse("absence:unit_overview"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("absence:unit_overview"))
    for _ in range(3):
        person = factories.staff(units=(org.unit_a,))
        sick_leave(person)
        citizen_writes(factories.case(eservice_obj=org.eservice_a))
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("absence:unit_overview"))
    assert len(many) == len(one)


def test_own_mailbox_copy_stays_visible_after_sick_call(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    message = citizen_writes(case)
    sick_leave(org.handler_a1, actor=org.admin)
    assert Delivery.objects.filter(message=message, mailbox=mailbox_personal_for(org.handler_a1)).exists()
