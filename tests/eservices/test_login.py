"""Citizen login: e-ID through OpenID Connect (CitizenOIDCBackend and views), the labelled test login
(never in production), and the short idle timeout of citizen sessions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory, override_settings
from django.urls import reverse

from accounts.oidc.tokens import TokenRefused
from eservices.models import Citizen
from eservices.oidc import CITIZEN_BACKEND, CitizenOIDCBackend
from tests import factories
from tests.conftest import idle_for

pytestmark = pytest.mark.django_db

PNR_CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"
LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"


def _keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


PRIVATE_KEY, PUBLIC_KEY = _keypair()
OTHER_PRIVATE_KEY, _ = _keypair()

OIDC = {
    "CITIZEN_OIDC_ENABLED": True,
    "OIDC_RP_CLIENT_ID": "lifemsg-citizen",
    "OIDC_RP_CLIENT_SECRET": "client-secret",
    "OIDC_RP_SIGN_ALGO": "RS256",
    "OIDC_RP_IDP_SIGN_KEY": PUBLIC_KEY,
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://eid-broker.example/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": "https://eid-broker.example/token",
    "OIDC_OP_USER_ENDPOINT": "",
    "OIDC_OP_JWKS_ENDPOINT": "",
    "OIDC_OP_ISSUER": "https://eid-broker.example",
    "OIDC_OP_DISCOVERY": False,
    "OIDC_PERSONNUMMER_CLAIM": PNR_CLAIM,
    "OIDC_REQUIRED_ACR": f"{LOA3} http://id.elegnamnden.se/loa/1.0/loa4",
}


def id_token(*, nonce="n-1", key=PRIVATE_KEY, **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": "https://eid-broker.example",
        "sub": "abc-123",
        "aud": "lifemsg-citizen",
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "acr": LOA3,
        PNR_CLAIM: "198001019812",
        "given_name": "Alva",
        "family_name": "Lindqvist",
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm="RS256")


class FakeResponse:
    status_code = 200
    url = "https://eid-broker.example/token"
    text = ""

    def __init__(self, data):
        self.data = data
        self.headers = {"content-type": "application/json"}

    def json(self):
        return self.data

    def raise_for_status(self):
        return None


@pytest.fixture
def broker(monkeypatch):
    """The e-ID broker's token endpoint: returns whatever ID token the test sets."""
    state = {"id_token": None, "posted": []}

    def post(url, data=None, **kwargs):
        state["posted"].append((url, dict(data or {})))
        return FakeResponse({"id_token": state["id_token"], "access_token": "access", "token_type": "Bearer"})

    monkeypatch.setattr("mozilla_django_oidc.auth.requests.post", post)
    return state


def _callback_request(code="code-1", state="state-1"):
    request = RequestFactory().get("/medborgare/oidc/callback/", {"code": code, "state": state})
    request.session = SessionStore()
    return request


def _authenticate(token, broker):
    broker["id_token"] = token
    request = _callback_request()
    user = CitizenOIDCBackend().authenticate(request, citizen_oidc=True, nonce="n-1", code_verifier=None)
    return user, request


# --- backend -------------------------------------------------------------------------------------


@override_settings(**OIDC)
def test_valid_id_token_creates_the_citizen_from_the_personnummer_claim(broker):
    user, _ = _authenticate(id_token(), broker)
    citizen = Citizen.objects.get(personnummer="198001019812")
    assert user == citizen.user
    assert user.is_citizen
    assert (citizen.first_name, citizen.last_name) == ("Alva", "Lindqvist")


@override_settings(**OIDC)
def test_existing_citizen_is_found_not_duplicated(broker):
    existing = factories.citizen(number="198001019812", first="Alva", last="Lindqvist")
    user, _ = _authenticate(id_token(**{PNR_CLAIM: "19800101-9812"}), broker)
    assert user == existing.user
    assert Citizen.objects.count() == 1


@override_settings(**OIDC)
def test_token_without_personnummer_claim_is_refused(broker):
    user, request = _authenticate(id_token(**{PNR_CLAIM: None}), broker)
    assert user is None
    assert request.citizen_oidc_refusal == "personnummer"
    assert not Citizen.objects.exists()


@override_settings(**OIDC)
def test_token_with_invalid_personnummer_is_refused(broker):
    user, request = _authenticate(id_token(**{PNR_CLAIM: "198001019813"}), broker)
    assert user is None and request.citizen_oidc_refusal == "personnummer"


@override_settings(**OIDC)
@pytest.mark.parametrize("acr", ["http://id.elegnamnden.se/loa/1.0/loa2", "", None])
def test_token_with_too_low_or_no_acr_is_refused(broker, acr):
    user, request = _authenticate(id_token(acr=acr), broker)
    assert user is None
    assert request.citizen_oidc_refusal == "acr"
    assert not Citizen.objects.exists()


@override_settings(**{**OIDC, "OIDC_REQUIRED_ACR": ""})
def test_without_a_configured_acr_every_login_is_refused(broker):
    user, request = _authenticate(id_token(), broker)
    assert user is None and request.citizen_oidc_refusal == "acr"


@override_settings(**OIDC)
@pytest.mark.parametrize(
    ("claims", "check"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": ["lifemsg-citizen", "x"]}, "azp"),
        ({"exp": None}, "missing_claim"),
    ],
)
def test_token_for_another_client_or_issuer_is_refused(broker, claims, check):
    with pytest.raises(TokenRefused) as refused:
        _authenticate(id_token(**claims), broker)
    assert refused.value.check == check
    assert not Citizen.objects.exists()


@override_settings(**OIDC)
def test_token_signed_by_another_key_is_rejected(broker):
    from django.core.exceptions import SuspiciousOperation

    with pytest.raises(SuspiciousOperation):
        _authenticate(id_token(key=OTHER_PRIVATE_KEY), broker)
    assert not Citizen.objects.exists()


@override_settings(**OIDC)
def test_backend_answers_only_the_citizen_callback(broker):
    staff = factories.staff(username="kalle")
    backend = CitizenOIDCBackend()
    request = _callback_request()
    assert backend.authenticate(request, username="kalle", password="test-password-123") is None
    assert backend.authenticate(request, nonce="n-1") is None  # another OIDC flow's call
    assert broker["posted"] == []
    assert backend.get_user(staff.pk) is None  # never loads a staff session
    assert staff.has_perm("accounts.use_mailboxes")
    assert not backend.has_perm(staff, "accounts.use_mailboxes")


# --- views ---------------------------------------------------------------------------------------


@override_settings(**OIDC)
def test_e_id_login_round_trip_logs_the_citizen_in(client, broker):
    start = client.get(reverse("eservices:oidc_authentication_init"))
    assert start.status_code == 302
    target = urlparse(start["Location"])
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://eid-broker.example/authorize"
    assert params["client_id"] == "lifemsg-citizen"
    assert params["redirect_uri"].endswith("/medborgare/oidc/callback/")
    # Swedish e-ID first, then foreign e-ID through eIDAS (substantial, high).
    assert params["acr_values"].split() == [
        LOA3,
        "http://id.elegnamnden.se/loa/1.0/loa4",
        "http://eidas.europa.eu/LoA/substantial",
        "http://eidas.europa.eu/LoA/high",
    ]
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["nonce"] and params["state"]

    broker["id_token"] = id_token(nonce=params["nonce"])
    done = client.get(reverse("eservices:oidc_callback"), {"code": "c-1", "state": params["state"]})
    assert done.status_code == 302 and done["Location"] == reverse("eservices:portal")
    url, posted = broker["posted"][0]
    assert url == "https://eid-broker.example/token"
    assert posted["code"] == "c-1" and posted["code_verifier"]
    assert posted["redirect_uri"] == params["redirect_uri"]
    citizen = Citizen.objects.get(personnummer="198001019812")
    assert client.session[SESSION_KEY] == str(citizen.user.pk)
    assert client.session["_auth_user_backend"] == CITIZEN_BACKEND
    assert client.get(reverse("eservices:portal")).status_code == 200

    # The state is single use.
    again = client.get(reverse("eservices:oidc_callback"), {"code": "c-1", "state": params["state"]})
    assert again["Location"] == reverse("eservices:login")


@override_settings(**OIDC)
def test_low_assurance_login_shows_why_in_swedish(client, broker):
    params = parse_qs(urlparse(client.get(reverse("eservices:oidc_authentication_init"))["Location"]).query)
    broker["id_token"] = id_token(nonce=params["nonce"][0], acr="http://id.elegnamnden.se/loa/1.0/loa2")
    response = client.get(
        reverse("eservices:oidc_callback"), {"code": "c", "state": params["state"][0]}, follow=True
    )
    assert "säkerhetsnivå" in response.content.decode()
    assert SESSION_KEY not in client.session


@override_settings(**OIDC)
def test_cancelled_and_unknown_state_callbacks_log_nobody_in(client, broker):
    cancelled = client.get(
        reverse("eservices:oidc_callback"), {"error": "access_denied", "state": "x"}, follow=True
    )
    assert "Inloggningen avbröts." in cancelled.content.decode()
    unknown = client.get(reverse("eservices:oidc_callback"), {"code": "c", "state": "forged"}, follow=True)
    assert "lyckades inte" in unknown.content.decode()
    assert broker["posted"] == []
    assert SESSION_KEY not in client.session


@override_settings(**OIDC)
def test_bad_signature_on_callback_is_a_failed_login_not_an_error_page(client, broker):
    params = parse_qs(urlparse(client.get(reverse("eservices:oidc_authentication_init"))["Location"]).query)
    broker["id_token"] = id_token(nonce=params["nonce"][0], key=OTHER_PRIVATE_KEY)
    response = client.get(reverse("eservices:oidc_callback"), {"code": "c", "state": params["state"][0]})
    assert response.status_code == 302 and response["Location"] == reverse("eservices:login")
    assert SESSION_KEY not in client.session


def test_oidc_urls_are_404_when_e_id_is_not_configured(client):
    assert not settings.CITIZEN_OIDC_ENABLED
    assert client.get(reverse("eservices:oidc_authentication_init")).status_code == 404
    assert client.get(reverse("eservices:oidc_callback"), {"code": "c", "state": "s"}).status_code == 404


@override_settings(**OIDC)
def test_login_page_offers_e_id_when_configured(client):
    body = client.get(reverse("eservices:login")).content.decode()
    assert "Logga in med e-legitimation (BankID eller Freja eID+)" in body
    assert reverse("eservices:oidc_authentication_init") in body


# --- test login ----------------------------------------------------------------------------------


def test_test_login_with_a_known_personnummer_logs_in(client):
    citizen = factories.citizen()
    page = client.get(reverse("eservices:login")).content.decode()
    assert "Testinloggning – inte en riktig e-legitimation" in page
    response = client.post(reverse("eservices:login"), {"personnummer": citizen.personnummer_formatted})
    assert response.status_code == 302 and response["Location"] == reverse("eservices:portal")
    assert client.session[SESSION_KEY] == str(citizen.user.pk)


def test_test_login_refuses_unknown_and_invalid_numbers_in_swedish(client):
    unknown = client.post(reverse("eservices:login"), {"personnummer": "19121212-1212"}).content.decode()
    assert "Vi har inga meddelanden för det här personnumret." in unknown
    invalid = client.post(reverse("eservices:login"), {"personnummer": "19121212-1213"}).content.decode()
    assert "Ange ett giltigt svenskt personnummer" in invalid
    assert 'value="19121212-1213"' in invalid
    assert SESSION_KEY not in client.session


@override_settings(CITIZEN_TEST_LOGIN_ENABLED=False)
def test_test_login_is_gone_when_disabled(client):
    citizen = factories.citizen()
    page = client.get(reverse("eservices:login")).content.decode()
    assert "Testinloggning" not in page
    response = client.post(reverse("eservices:login"), {"personnummer": citizen.personnummer})
    assert response.status_code == 403
    assert SESSION_KEY not in client.session


def test_production_settings_disable_the_test_login_whatever_the_environment():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lifemsg.settings.production",
        "SECRET_KEY": "p" * 64,
        "ACCESS_LOG_HMAC_KEY": "k" * 40,
        "CITIZEN_TEST_LOGIN_ENABLED": "true",
    }
    code = (
        "import django; django.setup(); "
        "from django.conf import settings; print(settings.CITIZEN_TEST_LOGIN_ENABLED)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=True,
    )
    assert result.stdout.strip() == "False"


# --- session kinds and idle timeout --------------------------------------------------------------


@override_settings(CITIZEN_SESSION_IDLE_SECONDS=120, STAFF_SESSION_IDLE_SECONDS=1800)
def test_citizen_session_ends_after_the_short_citizen_idle_time(client):
    citizen = factories.citizen()
    client.force_login(citizen.user, backend="accounts.backends.ModelBackend")
    assert client.get(reverse("eservices:portal")).status_code == 200
    idle_for(client, 100)
    assert client.get(reverse("eservices:portal")).status_code == 200  # activity resets the clock
    idle_for(client, 121)
    response = client.get(reverse("eservices:portal"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("eservices:login"))
    assert SESSION_KEY not in client.session


@override_settings(CITIZEN_SESSION_IDLE_SECONDS=120, STAFF_SESSION_IDLE_SECONDS=1800)
def test_staff_sessions_keep_the_longer_staff_idle_time(client, org):
    client.force_login(org.manager_a, backend="accounts.backends.ModelBackend")
    assert client.get(reverse("eservices:staff_cases")).status_code == 200
    idle_for(client, 600)
    assert client.get(reverse("eservices:staff_cases")).status_code == 200


def test_logged_in_staff_is_told_to_log_out_before_citizen_login(client, org):
    client.force_login(org.handler_a1, backend="accounts.backends.ModelBackend")
    body = client.get(reverse("eservices:login")).content.decode()
    assert "Du är inloggad som personal." in body
    assert 'name="personnummer"' not in body


def test_citizen_logout_ends_the_session(client):
    citizen = factories.citizen()
    client.force_login(citizen.user, backend="accounts.backends.ModelBackend")
    response = client.post(reverse("eservices:logout"), follow=True)
    assert "Du är utloggad." in response.content.decode()
    assert client.get(reverse("eservices:portal")).status_code == 302
