"""Targeted checks, random samples, review records, the change log and the citizen's log extract."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessLogEntry, AuditEvent, LogReview
from audit.selectors import bulk_reads
from mailboxes.services import membership_add, membership_remove
from tests import factories
from tests.conftest import login

from .conftest import read_thread

pytestmark = pytest.mark.django_db

Route = AccessLogEntry.Route


def _period():
    today = timezone.localdate()
    return {"date_from": (today - timedelta(days=7)).isoformat(), "date_to": today.isoformat()}


def _check(client, check):
    return client.get(reverse("audit:checks"), {"check": check, **_period()})


def test_outside_team_check_finds_reads_by_staff_of_another_unit_only(client, org, case_a):
    read_thread(org.handler_a1, case_a)  # the handler
    read_thread(org.handler_a2, case_a, route=Route.GROUP_MAILBOX)  # a member of the case's unit
    read_thread(org.handler_b1, case_a, route=Route.FORWARDING)  # neither
    login(client, org.log_reviewer)
    body = _check(client, "outside").content.decode()
    assert "1 träff" in body
    assert "Cilla Carlsson" in body
    assert "Anna Andersson" not in body and "Bo Berg" not in body


def test_outside_team_check_spares_co_handlers_from_other_units(client, org):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, co_handlers=[org.handler_b1])
    read_thread(org.handler_b1, case)
    login(client, org.log_reviewer)
    assert "0 träffar" in _check(client, "outside").content.decode()


def test_outside_team_check_flags_a_former_member(client, org, case_a):
    read_thread(org.handler_a2, case_a, route=Route.GROUP_MAILBOX)
    membership_remove(unit=org.unit_a, user=org.handler_a2)
    login(client, org.log_reviewer)
    assert "Bo Berg" in _check(client, "outside").content.decode()


def test_protected_identity_check_lists_every_read_of_such_citizens(client, org, case_a):
    protected = factories.citizen("Skyddad", "Person")
    protected.protected_identity = True
    protected.save(update_fields=["protected_identity"])
    hidden_case = factories.case(citizen_obj=protected, eservice_obj=org.eservice_a, handler=org.handler_a1)
    read_thread(org.handler_a1, hidden_case)
    read_thread(org.handler_a1, case_a)
    login(client, org.log_reviewer)
    body = _check(client, "protected").content.decode()
    assert "1 träff" in body
    assert hidden_case.reference in body and case_a.reference not in body
    assert "Skyddad identitet" in body


def _reads_of_citizens(user, n, org, *, at, monkeypatch, spacing=timedelta(minutes=1)):
    for i in range(n):
        case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
        when = at + i * spacing
        monkeypatch.setattr(timezone, "now", lambda when=when: when)
        read_thread(user, case, route=Route.GROUP_MAILBOX)
        monkeypatch.undo()


def test_bulk_read_check_flags_more_than_n_citizens_within_an_hour(client, org, settings, monkeypatch):
    settings.ACCESS_LOG_BULK_READ_THRESHOLD = 3
    start = timezone.now() - timedelta(days=1)
    _reads_of_citizens(org.handler_a2, 4, org, at=start, monkeypatch=monkeypatch)
    # Four citizens too, but spread over four hours: not a burst.
    _reads_of_citizens(
        org.handler_b1, 4, org, at=start, monkeypatch=monkeypatch, spacing=timedelta(minutes=70)
    )
    login(client, org.log_reviewer)
    body = _check(client, "bulk").content.decode()
    assert "1 träff" in body
    assert "Bo Berg" in body and "Cilla Carlsson" not in body
    assert "fler än 3 olika medborgare inom en timme" in body


def test_bulk_read_window_slides_rather_than_following_clock_hours(org, monkeypatch):
    base = timezone.now().replace(minute=40, second=0, microsecond=0) - timedelta(days=1)
    # 10:40 – 11:10: four citizens within 30 minutes, across a clock hour.
    _reads_of_citizens(
        org.handler_a2, 4, org, at=base, monkeypatch=monkeypatch, spacing=timedelta(minutes=10)
    )
    bursts = bulk_reads(start=base - timedelta(hours=1), end=base + timedelta(hours=2), threshold=3)
    assert len(bursts) == 1
    assert bursts[0].citizen_count == 4 and bursts[0].user == org.handler_a2


def test_checks_are_logged_and_exported(client, org, case_a):
    read_thread(org.handler_b1, case_a)
    login(client, org.log_reviewer)
    _check(client, "outside")
    response = client.get(reverse("audit:checks_export"), {"check": "outside", **_period()})
    text = b"".join(response.streaming_content).decode()
    assert "Cilla Carlsson" in text
    actions = list(
        AccessLogEntry.objects.filter(user=org.log_reviewer)
        .order_by("seq")
        .values_list("action", "detail__check")
    )
    assert actions == [("search", "outside"), ("export", "outside")]


def test_random_sample_is_drawn_kept_and_concluded(client, org, case_a):
    for _ in range(5):
        read_thread(org.handler_a1, case_a)
    login(client, org.log_reviewer)
    today = timezone.localdate().isoformat()
    response = client.post(reverse("audit:sample"), {"date_from": today, "date_to": today, "size": 3})
    review = LogReview.objects.get()
    assert response["Location"] == reverse("audit:review", args=[review.pk])
    assert len(review.sample_seqs) == 3 and set(review.sample_seqs) <= {1, 2, 3, 4, 5}
    page = client.get(response["Location"]).content.decode()
    assert page.count("Anna Andersson") >= 3
    assert AccessLogEntry.objects.filter(user=org.log_reviewer, detail__review=review.pk).exists()
    client.post(
        response["Location"],
        {"outcome": "no_remarks", "conclusion": "Alla läsningar gjordes av handläggaren."},
    )
    review.refresh_from_db()
    assert review.status == LogReview.Status.DONE
    assert review.completed_at is not None and review.reviewer == org.log_reviewer
    assert "Inga anmärkningar" in client.get(response["Location"]).content.decode()
    assert AuditEvent.objects.filter(action="log_review.complete", target_id=str(review.pk)).exists()


def test_a_sample_never_includes_the_reviewers_own_searches(client, org, case_a):
    read_thread(org.handler_a1, case_a)
    login(client, org.log_reviewer)
    client.get(reverse("audit:search"), {"citizen": case_a.citizen.user_id})
    today = timezone.localdate().isoformat()
    client.post(reverse("audit:sample"), {"date_from": today, "date_to": today, "size": 10})
    assert LogReview.objects.get().sample_seqs == [1]


def test_sample_without_conclusion_is_not_recorded_and_explains_why(client, org, case_a):
    read_thread(org.handler_a1, case_a)
    login(client, org.log_reviewer)
    today = timezone.localdate().isoformat()
    url = client.post(reverse("audit:sample"), {"date_from": today, "date_to": today, "size": 1})["Location"]
    body = client.post(url, {"outcome": "remarks", "conclusion": ""}).content.decode()
    assert "Det här fältet är obligatoriskt" in body
    assert LogReview.objects.get().status == LogReview.Status.OPEN


def test_a_completed_review_cannot_be_changed_and_others_cannot_conclude_yours(client, org, case_a):
    read_thread(org.handler_a1, case_a)
    other = factories.staff("Loggranskare", first_name="Ines", last_name="Isaksson")
    login(client, org.log_reviewer)
    today = timezone.localdate().isoformat()
    url = client.post(reverse("audit:sample"), {"date_from": today, "date_to": today, "size": 1})["Location"]
    login(client, other)
    assert client.post(url, {"outcome": "remarks", "conclusion": "x"}).status_code == 403
    login(client, org.log_reviewer)
    client.post(url, {"outcome": "no_remarks", "conclusion": "OK"})
    assert client.post(url, {"outcome": "remarks", "conclusion": "ändrat"}).status_code == 403
    assert LogReview.objects.get().conclusion == "OK"


def test_recording_a_review_of_a_search_keeps_the_selection_not_the_personnummer(client, org, case_a):
    read_thread(org.handler_a1, case_a)
    login(client, org.log_reviewer)
    query = f"citizen={case_a.citizen.user_id}&action=read_thread"
    response = client.post(
        reverse("audit:review_record"),
        {
            "kind": "search",
            "query": query,
            "period_start": "2026-01-01",
            "period_end": "2026-03-31",
            "outcome": "no_remarks",
            "conclusion": "Kontroll efter begäran från enhetschef.",
        },
    )
    review = LogReview.objects.get()
    assert response["Location"] == reverse("audit:review", args=[review.pk])
    assert review.selection == {"citizen": case_a.citizen.user_id, "action": "read_thread"}
    assert review.status == LogReview.Status.DONE
    page = client.get(response["Location"]).content.decode()
    assert case_a.citizen.personnummer_formatted in page  # shown to the reviewer, never stored
    assert "Kontroll efter begäran från enhetschef." in page
    listing = client.get(reverse("audit:reviews")).content.decode()
    assert "Hans Holm" in listing and "Sökning" in listing


def test_recording_a_review_with_a_tampered_selection_is_refused(client, org):
    login(client, org.log_reviewer)
    response = client.post(
        reverse("audit:review_record"),
        {
            "kind": "targeted",
            "query": "check=nonsense",
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "outcome": "no_remarks",
            "conclusion": "x",
        },
    )
    assert response.status_code == 400
    assert "Urvalet kunde inte läsas in igen" in response.content.decode()
    assert not LogReview.objects.exists()


def test_change_log_shows_who_removed_a_member(client, org):
    membership_remove(unit=org.unit_a, user=org.handler_a2, actor=org.superuser)
    login(client, org.log_reviewer)
    body = client.get(reverse("audit:events"), {"area": "membership"}).content.decode()
    assert "Medarbetare borttagen" in body
    assert "Fia Falk" in body and org.handler_a2.username in body


# --- the citizen's extract ---------------------------------------------------------------------


def test_citizen_sees_when_which_unit_and_why_but_never_who(client, org, case_a):
    read_thread(org.handler_a1, case_a)
    read_thread(org.handler_b1, case_a, route=Route.FORWARDING)
    other_case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a2)
    read_thread(org.handler_a2, other_case)
    login(client, case_a.citizen.user)
    response = client.get(reverse("audit_citizen:extract"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Vem har öppnat mina meddelanden" in body
    assert body.count("IFO Testenhet A") >= 2
    assert "Handläggarens arbete med ditt ärende" in body
    assert "Hantering av ditt meddelande medan din handläggare var frånvarande" in body
    for name in ("Anna", "Andersson", "Cilla", "Carlsson", org.handler_a1.username, "Bo Berg"):
        assert name not in body
    assert body.count("<tr>") == 3  # header + two reads of this citizen's case


def test_citizen_extract_is_for_citizens_only(client, org):
    assert client.get(reverse("audit_citizen:extract"))["Location"].startswith(reverse("eservices:login"))
    login(client, org.handler_a1)
    assert client.get(reverse("audit_citizen:extract")).status_code == 403
    login(client, org.log_reviewer)
    assert client.get(reverse("audit_citizen:extract")).status_code == 403


def _many_reads(org, n):
    for _ in range(n):
        case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
        read_thread(org.handler_b1, case)
        membership_remove(unit=org.unit_b, user=org.handler_b1, actor=org.superuser)
        membership_add(unit=org.unit_b, user=org.handler_b1, actor=org.superuser)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("audit:checks", {"check": "outside"}),
        ("audit:checks", {"check": "protected"}),
        ("audit:checks", {"check": "bulk"}),
        ("audit:events", {}),
        ("audit:reviews", {}),
    ],
)
def test_review_list_query_counts_do_not_grow_with_rows(
    client, org, name, params, django_assert_max_num_queries
):
    params = {**params, **_period()} if "check" in params else params
    login(client, org.log_reviewer)
    _many_reads(org, 1)
    today = timezone.localdate()
    LogReview.objects.create(reviewer=org.log_reviewer, kind="sample", period_start=today, period_end=today)
    with django_assert_max_num_queries(25) as few:
        assert client.get(reverse(name), params).status_code == 200
    _many_reads(org, 12)
    for _ in range(5):
        LogReview.objects.create(
            reviewer=org.log_reviewer, kind="sample", period_start=today, period_end=today
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(name), params).status_code == 200


def test_citizen_extract_query_count_does_not_grow_with_rows(
    client, org, case_a, django_assert_max_num_queries
):
    login(client, case_a.citizen.user)
    read_thread(org.handler_a1, case_a)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("audit_citizen:extract"))
    for _ in range(15):
        read_thread(org.handler_a2, case_a, route=Route.GROUP_MAILBOX)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("audit_citizen:extract"))
