"""Foreign e-ID through eIDAS (issue 24): LoA substantial and high are accepted; a citizen without a
Swedish personnummer is matched by the eIDAS identifier, and by a coordination number
(samordningsnummer) where the broker gives one."""

# ruff: noqa: F811  (the `broker` fixture is imported from test_login and named as a parameter)

from __future__ import annotations

import pytest
from django.test import override_settings

from eservices.models import Citizen
from tests import factories
from tests.eservices.test_login import OIDC, PNR_CLAIM, _authenticate, broker, id_token  # noqa: F401

pytestmark = pytest.mark.django_db

EIDAS_ID = "https://id.oidc.se/claim/eidasPersonIdentifier"
COORD = "https://id.oidc.se/claim/coordinationNumber"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
HIGH = "http://eidas.europa.eu/LoA/high"
COORD_NUMBER = "199001721233"  # born 12 January 1990: day + 60, valid check digit


def eidas_token(**claims):
    return id_token(
        **{
            "acr": SUBSTANTIAL,
            PNR_CLAIM: None,
            EIDAS_ID: "DE/SE/0a1b2c3d4e",
            "given_name": "Jonas",
            "family_name": "Müller",
            **claims,
        }
    )


@override_settings(**OIDC)
def test_eidas_login_finds_the_citizen_the_case_system_registered_by_coordination_number(broker):
    registered = factories.citizen("Jonas", "Müller", number=COORD_NUMBER)
    user, _ = _authenticate(eidas_token(**{COORD: COORD_NUMBER}), broker)
    assert user == registered.user
    registered.refresh_from_db()
    assert registered.eidas_id == "DE/SE/0a1b2c3d4e"
    # Next time the eIDAS identifier alone finds them.
    user, _ = _authenticate(eidas_token(acr=HIGH), broker)
    assert user == registered.user
    assert Citizen.objects.count() == 1


@override_settings(**OIDC)
def test_eidas_login_with_a_new_coordination_number_creates_the_citizen(broker):
    user, _ = _authenticate(eidas_token(**{COORD: COORD_NUMBER}), broker)
    citizen = Citizen.objects.get()
    assert user == citizen.user
    assert (citizen.personnummer, citizen.eidas_id) == (COORD_NUMBER, "DE/SE/0a1b2c3d4e")
    assert (citizen.first_name, citizen.last_name) == ("Jonas", "Müller")


@override_settings(**OIDC)
def test_eidas_login_without_coordination_number_finds_a_citizen_registered_by_eidas_id(broker):
    known = factories.citizen("Jonas", "Müller", number=COORD_NUMBER)
    Citizen.objects.filter(pk=known.pk).update(eidas_id="DE/SE/0a1b2c3d4e")
    user, _ = _authenticate(eidas_token(), broker)
    assert user == known.user


@override_settings(**OIDC)
def test_an_unknown_eidas_identity_without_coordination_number_is_refused(broker):
    user, request = _authenticate(eidas_token(), broker)
    assert user is None
    assert request.citizen_oidc_refusal == "eidas_unknown"
    assert not Citizen.objects.exists()


@override_settings(**OIDC)
@pytest.mark.parametrize("acr", ["http://eidas.europa.eu/LoA/low", "http://id.elegnamnden.se/loa/1.0/loa2"])
def test_eidas_low_assurance_is_refused(broker, acr):
    user, request = _authenticate(eidas_token(acr=acr, **{COORD: COORD_NUMBER}), broker)
    assert user is None and request.citizen_oidc_refusal == "acr"


@override_settings(**OIDC)
def test_a_swedish_login_is_never_matched_by_an_eidas_identifier(broker):
    known = factories.citizen("Jonas", "Müller", number=COORD_NUMBER)
    Citizen.objects.filter(pk=known.pk).update(eidas_id="DE/SE/0a1b2c3d4e")
    user, request = _authenticate(eidas_token(acr="http://id.elegnamnden.se/loa/1.0/loa3"), broker)
    assert user is None and request.citizen_oidc_refusal == "personnummer"


@override_settings(**OIDC)
def test_an_invalid_coordination_number_is_refused(broker):
    user, request = _authenticate(eidas_token(**{COORD: "199001721234"}), broker)
    assert user is None and request.citizen_oidc_refusal == "personnummer"
    assert not Citizen.objects.exists()


@override_settings(**OIDC)
def test_eidas_identifier_and_coordination_number_of_two_citizens_is_refused(broker):
    one = factories.citizen("Jonas", "Müller", number=COORD_NUMBER)
    other = factories.citizen("Anna", "Ek")
    Citizen.objects.filter(pk=other.pk).update(eidas_id="DE/SE/0a1b2c3d4e")
    user, request = _authenticate(eidas_token(**{COORD: one.personnummer}), broker)
    assert user is None and request.citizen_oidc_refusal == "eidas_conflict"
