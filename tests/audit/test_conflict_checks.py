"""Targeted checks for conflicts of interest (issue 24): staff reading citizens who share their
surname or address, and staff who are themselves citizens with a case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.conftest import login

from .conftest import read_thread

pytestmark = pytest.mark.django_db


def _check(client, check):
    today = timezone.localdate()
    period = {"date_from": (today - timedelta(days=7)).isoformat(), "date_to": today.isoformat()}
    return client.get(reverse("audit:checks"), {"check": check, **period})


def _case_of(citizen, org):
    return factories.case(citizen_obj=citizen, eservice_obj=org.eservice_a, handler=org.handler_a1)


def test_same_surname_check_finds_staff_reading_a_namesake_and_only_them(client, org):
    namesake = _case_of(factories.citizen("Erik", "andersson"), org)  # Anna Andersson's surname
    stranger = _case_of(factories.citizen("Lisa", "Lind"), org)
    read_thread(org.handler_a1, namesake)
    read_thread(org.handler_a1, stranger)
    read_thread(org.handler_a2, namesake)  # Bo Berg: not his surname
    login(client, org.log_reviewer)
    body = _check(client, "kin").content.decode()
    assert "1 träff" in body
    assert namesake.reference in body and stranger.reference not in body
    assert "Anna Andersson" in body and "Bo Berg" not in body


def test_same_address_check_matches_the_address_whatever_its_case_and_spacing(client, org):
    org.handler_a2.address = "Storgatan 1,  123 45 Småstad"
    org.handler_a2.save(update_fields=["address"])
    neighbour = factories.citizen("Olle", "Ek")
    neighbour.address = "storgatan 1, 123 45 småstad"
    neighbour.save(update_fields=["address"])
    elsewhere = factories.citizen("Pia", "Ek")
    elsewhere.address = "Storgatan 3, 123 45 Småstad"
    elsewhere.save(update_fields=["address"])
    near, far = _case_of(neighbour, org), _case_of(elsewhere, org)
    read_thread(org.handler_a2, near)
    read_thread(org.handler_a2, far)
    login(client, org.log_reviewer)
    body = _check(client, "kin").content.decode()
    assert "1 träff" in body
    assert near.reference in body and far.reference not in body


def test_staff_without_an_address_never_match_citizens_without_one(client, org):
    read_thread(org.handler_a2, _case_of(factories.citizen("Ulla", "Ek"), org))
    login(client, org.log_reviewer)
    assert "0 träffar" in _check(client, "kin").content.decode()


def test_client_check_lists_reads_by_staff_who_are_citizens_with_a_case(client, org):
    org.handler_b1.personnummer = "198112289874"
    org.handler_b1.save(update_fields=["personnummer"])
    own = _case_of(factories.citizen("Cilla", "Carlsson", number="198112289874"), org)
    other = _case_of(factories.citizen("Kim", "Ek"), org)
    read_thread(org.handler_b1, own)
    read_thread(org.handler_b1, other)
    read_thread(org.handler_a2, other)  # staff who are not clients
    login(client, org.log_reviewer)
    body = _check(client, "client").content.decode()
    assert "2 träffar" in body
    assert own.reference in body and other.reference in body
    assert "Bo Berg" not in body


def test_client_check_ignores_staff_whose_citizen_record_has_no_case(client, org):
    org.handler_b1.personnummer = "198112289874"
    org.handler_b1.save(update_fields=["personnummer"])
    factories.citizen("Cilla", "Carlsson", number="198112289874")  # registered, no case
    read_thread(org.handler_b1, _case_of(factories.citizen("Kim", "Ek"), org))
    login(client, org.log_reviewer)
    assert "0 träffar" in _check(client, "client").content.decode()


@pytest.mark.parametrize("check", ["kin", "client"])
def test_the_new_checks_export_as_csv_and_are_logged(client, org, check):
    read_thread(org.handler_a1, _case_of(factories.citizen("Erik", "Andersson"), org))
    login(client, org.log_reviewer)
    today = timezone.localdate().isoformat()
    response = client.get(
        reverse("audit:checks_export"), {"check": check, "date_from": today, "date_to": today}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
