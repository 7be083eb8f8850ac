"""Both OpenID Connect flows against a real, standards-following provider (panva's oidc-provider on
loopback, tests/openid_provider.py), configured the way IT would: issuer, client id and secret only.
The browser's part is played by Django's test client and a requests session (no Chromium here; the
logout in a real browser is in test_oidc_browser.py)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import override_settings
from django.urls import reverse

from accounts import roles
from eservices.models import Citizen
from tests.openid_provider import PNR, ProviderBrowser

pytestmark = pytest.mark.django_db
CITIZEN_START = "/medborgare/oidc/start/"
STAFF_START = "/sso/logga-in/"


def _user(client):
    user_id = client.session.get(SESSION_KEY)
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def citizen_login(client, provider, **settings):
    with override_settings(**provider.citizen_settings(**settings)):
        return ProviderBrowser(provider).login(client, CITIZEN_START, account="alva")


def staff_login(client, provider, **settings):
    with override_settings(**provider.staff_settings(**settings)):
        return ProviderBrowser(provider).login(client, STAFF_START, account="anna")


def test_a_citizen_logs_in_with_the_issuer_alone_and_the_personnummer_from_userinfo(client, openid_provider):
    response = citizen_login(client, openid_provider)

    assert response["Location"] == reverse("eservices:portal")
    citizen = Citizen.objects.get(personnummer=PNR)
    assert _user(client) == citizen.user
    assert (citizen.first_name, citizen.last_name) == ("Alva", "Lindqvist")


def test_a_staff_member_logs_in_with_the_issuer_alone_with_the_mapped_role(client, openid_provider):
    response = staff_login(client, openid_provider)

    assert response.status_code == 302 and response["Location"] != reverse("integrations:sso_failed")
    user = _user(client)
    assert user.username == "anna.sso@kommun.example" and user.is_staff_user
    assert set(user.groups.filter(name__in=roles.ALL_ROLES).values_list("name", flat=True)) == {"Handläggare"}


@pytest.mark.parametrize("login", [citizen_login, staff_login], ids=["citizen", "staff"])
def test_a_provider_accepting_only_client_secret_basic_works_with_the_setting(
    client, openid_provider, login, caplog
):
    prefix = "" if login is citizen_login else "STAFF_"
    with caplog.at_level(logging.WARNING):
        login(client, openid_provider, **{f"{prefix}OIDC_RP_TOKEN_AUTH_METHOD": "client_secret_post"})
    assert _user(client) is None
    assert "invalid_client" in caplog.text and "client_secret_post" in caplog.text

    login(client, openid_provider, **{f"{prefix}OIDC_RP_TOKEN_AUTH_METHOD": "client_secret_basic"})
    assert _user(client) is not None


@pytest.mark.parametrize("login", [citizen_login, staff_login], ids=["citizen", "staff"])
def test_a_provider_clock_two_seconds_ahead_logs_in(client, openid_provider, provider_clock, login):
    provider_clock(2)
    login(client, openid_provider)
    assert _user(client) is not None


@pytest.mark.parametrize("login", [citizen_login, staff_login], ids=["citizen", "staff"])
def test_a_provider_clock_two_hours_ahead_is_refused(client, openid_provider, provider_clock, login, caplog):
    provider_clock(7200)
    with caplog.at_level(logging.WARNING):
        login(client, openid_provider)
    assert _user(client) is None
    assert "not_yet_valid" in caplog.text
    assert PNR not in caplog.text and "eyJ" not in caplog.text  # no personnummer, no JWT


def test_prompt_login_asks_the_provider_again_although_its_session_lives(client, openid_provider):
    browser = ProviderBrowser(openid_provider)
    with override_settings(**openid_provider.citizen_settings()):
        browser.login(client, CITIZEN_START)
        client.logout()  # lifemsg's session only: the provider's lives on
        browser.login(client, CITIZEN_START)
    assert browser.login_pages == 1  # the second login was silent
    with override_settings(**openid_provider.citizen_settings(OIDC_PROMPT_LOGIN=True)):
        client.logout()
        browser.login(client, CITIZEN_START)
    assert browser.login_pages == 2
    assert _user(client) is not None


@pytest.mark.parametrize(
    ("login", "logout", "landing", "back_to"),
    [
        (citizen_login, "eservices:logout", "eservices:portal", "/medborgare/logga-in/"),
        (staff_login, "accounts:logout", "accounts:home", "/logga-in/"),
    ],
    ids=["citizen", "staff"],
)
def test_logout_goes_to_the_providers_end_session_and_the_csp_lets_the_form_go_there(
    client, openid_provider, login, logout, landing, back_to
):
    login(client, openid_provider)
    csp = client.get(reverse(landing), follow=True)["Content-Security-Policy"]
    form_action = next(d for d in csp.split(";") if d.strip().startswith("form-action")).split()[1:]
    assert form_action == ["'self'", openid_provider.issuer]

    response = client.post(reverse(logout))

    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == openid_provider.issuer + "/session/end"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["post_logout_redirect_uri"] == "http://testserver" + back_to
    assert query["id_token_hint"].count(".") == 2
    assert _user(client) is None
    # Logged out, the pages no longer let a form go to the provider.
    csp = client.get(reverse("accounts:login"))["Content-Security-Policy"]
    assert openid_provider.issuer not in csp
