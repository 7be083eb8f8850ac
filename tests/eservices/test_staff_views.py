"""Case assignment (/arenden/): unit managers for their own units' cases, administrators and system
administrators for all; everyone else refused. Every change audited; the send permission follows."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from stdnum import luhn

from audit.models import AuditEvent
from eservices.models import Case
from eservices.permissions import can_send_to_citizen
from eservices.services import assignment_token, case_assign
from mailboxes.services import membership_add
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def case_b(org):
    eservice_b = factories.eservice(org.unit_b, name="Ansökan om stöd enligt LSS")
    return factories.case(eservice_obj=eservice_b, handler=org.handler_b1, subject="Ledsagarservice")


def _fresh(user):
    # guardian caches object permissions on the user instance
    return User.objects.get(pk=user.pk)


def test_unit_manager_lists_only_their_units_cases(client, org, case_a, case_b):
    body = login(client, org.manager_a).get(reverse("eservices:staff_cases")).content.decode()
    assert case_a.reference in body
    assert case_b.reference not in body
    assert "Anna Andersson" in body  # handler


def test_unit_manager_gets_404_for_another_units_case(client, org, case_b):
    login(client, org.manager_a)
    assert client.get(reverse("eservices:staff_case_assign", args=[case_b.pk])).status_code == 404
    response = client.post(
        reverse("eservices:staff_case_assign", args=[case_b.pk]),
        {"handler": org.handler_a1.pk, "token": assignment_token(case_b)},
    )
    assert response.status_code == 404
    case_b.refresh_from_db()
    assert case_b.handler == org.handler_b1
    assert client.get(reverse("eservices:staff_case_assign", args=[999999])).status_code == 404


@pytest.mark.parametrize("who", ["handler_a1", "superuser", "log_reviewer"])
def test_roles_without_case_assignment_get_403(client, org, case_a, who):
    login(client, getattr(org, who))
    assert client.get(reverse("eservices:staff_cases")).status_code == 403
    assert client.get(reverse("eservices:staff_case_assign", args=[case_a.pk])).status_code == 403
    response = client.post(
        reverse("eservices:staff_case_assign", args=[case_a.pk]),
        {"handler": org.handler_a2.pk, "token": assignment_token(case_a)},
    )
    assert response.status_code == 403
    case_a.refresh_from_db()
    assert case_a.handler == org.handler_a1


def test_citizen_and_anonymous_are_refused(client, org, case_a):
    assert client.get(reverse("eservices:staff_cases")).status_code == 302  # to the staff login
    client.force_login(case_a.citizen.user, backend="accounts.backends.ModelBackend")
    assert client.get(reverse("eservices:staff_cases")).status_code == 403


@pytest.mark.parametrize("who", ["admin", "sysadmin"])
def test_administrators_see_and_assign_in_every_unit(client, org, case_a, case_b, who):
    login(client, getattr(org, who))
    body = client.get(reverse("eservices:staff_cases")).content.decode()
    assert case_a.reference in body and case_b.reference in body
    assert client.get(reverse("eservices:staff_case_assign", args=[case_b.pk])).status_code == 200


def test_filter_without_handler(client, org, case_a):
    waiting = factories.case(eservice_obj=org.eservice_a, handler=None, subject="Väntar på handläggare")
    body = (
        login(client, org.manager_a)
        .get(reverse("eservices:staff_cases"), {"without_handler": "on"})
        .content.decode()
    )
    assert waiting.reference in body
    assert case_a.reference not in body
    assert "1 ärende" in body


def test_list_shows_names_but_only_masked_personnummer_and_hides_protected_identities(client, org, case_a):
    body_digits = "750315123"  # a birth date no other test citizen has
    protected = factories.citizen(
        first="Hemlig", last="Person", number="19" + body_digits + luhn.calc_check_digit(body_digits)
    )
    protected.protected_identity = True
    protected.save(update_fields=["protected_identity"])
    hidden = factories.case(citizen_obj=protected, eservice_obj=org.eservice_a)
    body = login(client, org.manager_a).get(reverse("eservices:staff_cases")).content.decode()
    citizen = case_a.citizen
    assert citizen.last_name in body
    assert citizen.personnummer not in body and citizen.personnummer_formatted not in body
    assert citizen.personnummer_masked in body
    assert hidden.reference in body
    assert "Hemlig" not in body and protected.personnummer_masked not in body
    assert "Skyddad identitet" in body


def test_search_by_full_personnummer_finds_the_case(client, org, case_a):
    other = factories.case(eservice_obj=org.eservice_a)
    body = (
        login(client, org.manager_a)
        .get(reverse("eservices:staff_cases"), {"q": case_a.citizen.personnummer_formatted})
        .content.decode()
    )
    assert case_a.reference in body and other.reference not in body


def test_case_list_query_count_is_flat(client, org, django_assert_max_num_queries):
    factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1, co_handlers=[org.handler_a2])
    login(client, org.manager_a)
    with django_assert_max_num_queries(30) as one:
        client.get(reverse("eservices:staff_cases"))
    for _ in range(8):
        factories.case(eservice_obj=org.eservice_a, handler=org.handler_a2, co_handlers=[org.handler_a1])
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("eservices:staff_cases"))


def test_pickers_offer_only_members_of_the_cases_unit(client, org, case_a):
    body = (
        login(client, org.manager_a)
        .get(reverse("eservices:staff_case_assign", args=[case_a.pk]))
        .content.decode()
    )
    assert "Bo Berg" in body  # handler_a2, member of unit A
    assert "Cilla Carlsson" not in body  # handler_b1, unit B only
    response = client.post(
        reverse("eservices:staff_case_assign", args=[case_a.pk]),
        {"handler": org.handler_b1.pk, "co_handlers": [org.handler_b1.pk], "token": assignment_token(case_a)},
    )
    assert response.status_code == 200
    assert "Välj ett giltigt alternativ" in response.content.decode()
    case_a.refresh_from_db()
    assert case_a.handler == org.handler_a1


def test_assignment_writes_audit_event_and_permission_follows_at_once(client, org, case_a):
    login(client, org.manager_a)
    response = client.post(
        reverse("eservices:staff_case_assign", args=[case_a.pk]) + "?next=/arenden/%3Fwithout_handler%3Don",
        {
            "handler": org.handler_a2.pk,
            "co_handlers": [org.handler_a1.pk],
            "reason": "Anna går ner i tid",
            "token": assignment_token(case_a),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/arenden/?without_handler=on"
    case_a.refresh_from_db()
    assert case_a.handler == org.handler_a2
    assert list(case_a.co_handlers.all()) == [org.handler_a1]
    event = AuditEvent.objects.filter(action="case.assign", target_id=str(case_a.pk)).latest("id")
    assert event.actor == org.manager_a
    assert event.before == {"handler": org.handler_a1.username, "co_handlers": []}
    assert event.after == {"handler": org.handler_a2.username, "co_handlers": [org.handler_a1.username]}
    assert event.reason == "Anna går ner i tid"
    assert can_send_to_citizen(user=_fresh(org.handler_a2), case=case_a)

    # Removing both: nobody may send any more, at once.
    client.post(
        reverse("eservices:staff_case_assign", args=[case_a.pk]),
        {"handler": "", "token": assignment_token(case_a)},
    )
    case_a.refresh_from_db()
    assert case_a.handler is None
    assert not can_send_to_citizen(user=_fresh(org.handler_a1), case=case_a)
    assert not can_send_to_citizen(user=_fresh(org.handler_a2), case=case_a)
    history = client.get(reverse("eservices:staff_case_assign", args=[case_a.pk])).content.decode()
    assert "Anna går ner i tid" in history and "Dora Dahl" in history


def test_handler_cannot_also_be_co_handler(client, org, case_a):
    login(client, org.manager_a)
    response = client.post(
        reverse("eservices:staff_case_assign", args=[case_a.pk]),
        {"handler": org.handler_a2.pk, "co_handlers": [org.handler_a2.pk], "token": assignment_token(case_a)},
    )
    assert "Bo Berg är handläggare och kan inte samtidigt vara medhandläggare." in response.content.decode()
    case_a.refresh_from_db()
    assert case_a.handler == org.handler_a1


def test_concurrent_change_is_not_overwritten_and_the_choice_is_kept(client, org, case_a):
    stale = assignment_token(case_a)
    case_assign(case=case_a, handler=org.handler_a2, co_handlers=[], actor=org.admin)
    login(client, org.manager_a)
    response = client.post(
        reverse("eservices:staff_case_assign", args=[case_a.pk]),
        {"handler": org.handler_a1.pk, "co_handlers": [org.handler_a2.pk], "token": stale},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Någon annan ändrade handläggarna" in body
    assert f'value="{org.handler_a1.pk}" selected' in body
    case_a.refresh_from_db()
    assert case_a.handler == org.handler_a2


def test_former_member_stays_selectable_but_cannot_be_newly_added(client, org, case_a):
    from mailboxes.services import membership_remove

    membership_remove(unit=org.unit_a, user=org.handler_a1)
    login(client, org.manager_a)
    page = client.get(reverse("eservices:staff_case_assign", args=[case_a.pk])).content.decode()
    assert "Anna Andersson (inte längre med i enheten)" in page
    # Keeping her as handler while adding a co-handler from the unit is fine.
    client.post(
        reverse("eservices:staff_case_assign", args=[case_a.pk]),
        {"handler": org.handler_a1.pk, "co_handlers": [org.handler_a2.pk], "token": assignment_token(case_a)},
    )
    case_a.refresh_from_db()
    assert case_a.handler == org.handler_a1
    other = factories.case(eservice_obj=org.eservice_a, handler=None)
    response = client.post(
        reverse("eservices:staff_case_assign", args=[other.pk]),
        {"handler": org.handler_a1.pk, "token": assignment_token(other)},
    )
    assert "Välj ett giltigt alternativ" in response.content.decode()
    assert Case.objects.get(pk=other.pk).handler is None


def test_manager_of_two_units_sees_both(client, org, case_a, case_b):
    membership_add(unit=org.unit_b, user=org.manager_a)
    body = login(client, org.manager_a).get(reverse("eservices:staff_cases")).content.decode()
    assert case_a.reference in body and case_b.reference in body


def test_landing_page_links_case_assignment_for_managers(client, org):
    # A manager lands in the workspace; its menu has the manager's other tools.
    body = login(client, org.manager_a).get(reverse("accounts:home"), follow=True).content.decode()
    assert reverse("eservices:staff_cases") in body
