"""The retention pages for the Systemförvaltare: rules with a validated form, the runs, a run's
review list without content, approval by a colleague (POST, four eyes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from retention_rules.models import Kind, RetentionItem, RetentionRule, RetentionRun
from retention_rules.rules import rules_in_effect
from retention_rules.services import run_propose
from tests.conftest import login

pytestmark = pytest.mark.django_db


def rule_data(**overrides) -> dict:
    return {
        "period": "10",
        "unit": "years",
        "decision": "Arkivmyndighetens beslut dnr KS 2024/117, 2024-05-02",
        "research_sample": "on",
        "active_from": timezone.localdate().isoformat(),
        "reason": "Nytt beslut",
        **overrides,
    }


def test_the_rules_page_shows_each_kind_and_its_decision(client, org):
    response = login(client, org.sysadmin).get(reverse("administration:retention_rules"))
    assert response.status_code == 200
    page = response.content.decode()
    for label in ("Meddelanden i medborgartrådar", "Åtkomstlogg", "Ändringslogg"):
        assert label in page
    assert "MESSAGE_RETENTION_DAYS" in page  # the seeded decision says where its period came from


def test_saving_a_rule_adds_a_version_and_records_who(client, org):
    login(client, org.sysadmin)
    url = reverse("administration:retention_rule_edit", args=[Kind.CITIZEN_THREAD])
    assert client.get(url).status_code == 200
    response = client.post(url, rule_data())
    assert response.status_code == 302
    rule = rules_in_effect()[Kind.CITIZEN_THREAD]
    assert (rule.period, rule.unit, rule.changed_by, rule.research_sample) == (
        10,
        "years",
        org.sysadmin,
        True,
    )
    assert RetentionRule.objects.filter(kind=Kind.CITIZEN_THREAD).count() == 2
    page = client.get(reverse("administration:retention_rules")).content.decode()
    assert "dnr KS 2024/117" in page and "Gun Gran" in page


@pytest.mark.parametrize(
    "kind, data, field, message",
    [
        (Kind.CITIZEN_THREAD, {"decision": ""}, "decision", "Ange beslutet som regeln följer."),
        (Kind.CITIZEN_THREAD, {"period": "0"}, "period", "Fristen måste vara minst 1."),
        (Kind.CITIZEN_THREAD, {"period": "tio"}, "period", "Ange fristen som ett heltal."),
        (
            Kind.CITIZEN_THREAD,
            {"active_from": (timezone.localdate() - timedelta(days=1)).isoformat()},
            "active_from",
            "Datumet har passerat. Välj i dag eller ett senare datum.",
        ),
        (Kind.CHANGE_LOG, {"research_sample": ""}, "period", "Ändringsloggen kan inte gallras"),
        (Kind.ACCESS_LOG, {}, "research_sample", "Forskningsurvalet gäller bara meddelanden och bilagor"),
    ],
)
def test_a_rule_with_a_mistake_is_refused_with_a_clear_message(client, org, kind, data, field, message):
    login(client, org.sysadmin)
    response = client.post(reverse("administration:retention_rule_edit", args=[kind]), rule_data(**data))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert RetentionRule.objects.filter(kind=kind).count() == 1


def test_an_unknown_kind_is_not_found(client, org):
    login(client, org.sysadmin)
    assert client.get(reverse("administration:retention_rule_edit", args=["meddelanden"])).status_code == 404


def test_the_review_list_shows_counts_and_reasons_but_no_content_or_names(client, org, records):
    run = run_propose(proposer=None)
    login(client, org.sysadmin)
    response = client.get(reverse("administration:retention_run", args=[run.pk]))
    page = response.content.decode()
    assert "Väntar på godkännande" in page
    assert "Forskningsurval (född den 5:e, 15:e eller 25:e): 2" in page
    assert "Ärendet är fortfarande öppet: 1" in page
    for secret in ("Gammal fråga", "Rut", "Femton", "19800115", "Gammal intern"):
        assert secret not in page
    kept = client.get(
        reverse("administration:retention_run", args=[run.pk]), {"outcome": "research_sample"}
    ).content.decode()
    assert f"Meddelande {records.research.pk}" in kept
    assert f"Meddelande {records.plain.pk}" not in kept


def test_the_review_list_takes_as_many_queries_for_many_records_as_for_one(
    client, org, records, django_assert_max_num_queries
):
    run = run_propose(proposer=None)
    login(client, org.sysadmin)
    url = reverse("administration:retention_run", args=[run.pk])
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    RetentionItem.objects.bulk_create(
        RetentionItem(run=run, kind=Kind.INTERNAL_THREAD, object_id=10_000_000 + n) for n in range(60)
    )
    with django_assert_max_num_queries(len(few)):
        client.get(url)


def test_a_colleague_approves_and_the_proposer_cannot(
    client, org, records, archivist, django_capture_on_commit_callbacks
):
    login(client, org.sysadmin)
    response = client.post(reverse("administration:retention_run_propose"))
    run = RetentionRun.objects.get()
    assert response.url == reverse("administration:retention_run", args=[run.pk])
    approve = reverse("administration:retention_run_approve", args=[run.pk])
    page = client.post(approve, follow=True).content.decode()
    assert "Du föreslog den här körningen: någon annan måste godkänna den." in page
    run.refresh_from_db()
    assert run.state == RetentionRun.State.PROPOSED

    login(client, archivist)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(approve)
    assert len(callbacks) == 1
    run.refresh_from_db()
    assert (run.state, run.approved_by) == (RetentionRun.State.APPROVED, archivist)


def test_cancelling_a_run_from_its_page(client, org, records, archivist):
    run = run_propose(proposer=org.sysadmin)
    login(client, archivist)
    client.post(reverse("administration:retention_run_cancel", args=[run.pk]), {"reason": "Fel beslut"})
    run.refresh_from_db()
    assert (run.state, run.end_reason) == (RetentionRun.State.CANCELLED, "Fel beslut")
    assert "Avbruten" in client.get(reverse("administration:retention_runs")).content.decode()


def test_approving_needs_a_post(client, org, records, archivist):
    run = run_propose(proposer=org.sysadmin)
    login(client, archivist)
    assert client.get(reverse("administration:retention_run_approve", args=[run.pk])).status_code == 405


def test_the_runs_list_takes_as_many_queries_for_many_runs_as_for_one(
    client, org, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run_propose(proposer=org.sysadmin)
    login(client, org.sysadmin)
    url = reverse("administration:retention_runs")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(5):
        run_propose(proposer=org.sysadmin)  # each replaces the one waiting: six runs in the list
    assert RetentionRun.objects.count() == 6
    with django_assert_max_num_queries(len(one)):
        response = client.get(url)
    assert response.content.decode().count("Avbruten") == 5


def test_the_log_reviewer_reads_the_runs_steps_in_the_change_log(client, org, records, archivist):
    from retention_rules.services import run_approve

    run = run_propose(proposer=org.sysadmin)
    run_approve(run_id=run.pk, approver=archivist)
    page = login(client, org.log_reviewer).get(reverse("audit:events")).content.decode()
    assert "Gallringskörning föreslagen (granskningslista)" in page
    assert "Gallringskörning godkänd" in page
    assert "granskningslista:" in page
