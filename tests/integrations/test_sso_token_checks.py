"""Staff SSO's ID token checks are the citizen e-ID's (one validation for both flows): another
client in `aud` without `azp`, no `exp`, a provider clock far ahead are refused; a clock a little
ahead is tolerated (OIDC_CLOCK_LEEWAY_SECONDS); every refusal is logged by the check that failed
and the provider's own error code, never with a token."""

from __future__ import annotations

import logging
import time

import pytest
from django.urls import reverse

from tests.integrations.test_sso import CLIENT_ID, logged_in_user, sso_login, sso_settings, stub  # noqa: F401

pytestmark = pytest.mark.django_db


def _refused(client, response) -> bool:
    return response["Location"] == reverse("integrations:sso_failed") and logged_in_user(client) is None


@sso_settings()
def test_a_token_listing_another_client_without_azp_is_refused(client, stub, caplog):  # noqa: F811
    provider = stub()
    provider.id_claims = {"aud": [CLIENT_ID, "another-client"]}
    with caplog.at_level(logging.INFO):
        assert _refused(client, sso_login(client, provider))
    assert "azp" in caplog.text


@sso_settings()
def test_a_token_listing_another_client_with_our_azp_is_accepted(client, stub):  # noqa: F811
    provider = stub()
    provider.id_claims = {"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID}
    sso_login(client, provider)
    assert logged_in_user(client) is not None


@sso_settings()
def test_a_token_without_exp_is_refused(client, stub, caplog):  # noqa: F811
    provider = stub()
    provider.id_claims = {"exp": None}
    with caplog.at_level(logging.INFO):
        assert _refused(client, sso_login(client, provider))
    assert "exp" in caplog.text


@sso_settings()
def test_a_provider_clock_two_seconds_ahead_still_logs_in(client, stub):  # noqa: F811
    ahead = int(time.time()) + 2
    provider = stub()
    provider.id_claims = {"iat": ahead, "nbf": ahead, "exp": ahead + 300}
    sso_login(client, provider)
    assert logged_in_user(client) is not None


@sso_settings()
def test_a_provider_clock_two_hours_ahead_is_refused_and_logged_as_not_yet_valid(client, stub, caplog):  # noqa: F811
    ahead = int(time.time()) + 7200
    provider = stub()
    provider.id_claims = {"iat": ahead, "nbf": ahead, "exp": ahead + 300}
    with caplog.at_level(logging.INFO):
        assert _refused(client, sso_login(client, provider))
    assert "not yet valid" in caplog.text


@sso_settings(STAFF_OIDC_CLOCK_LEEWAY_SECONDS=0)
def test_the_leeway_is_a_setting(client, stub):  # noqa: F811
    ahead = int(time.time()) + 3
    provider = stub()
    provider.id_claims = {"iat": ahead, "nbf": ahead, "exp": ahead + 300}
    assert _refused(client, sso_login(client, provider))


@sso_settings()
def test_the_providers_error_code_is_logged_without_secrets(client, stub, caplog):  # noqa: F811
    provider = stub()
    provider.token_status = 401
    provider.token_error = {"error": "invalid_client", "error_description": "client authentication failed"}
    with caplog.at_level(logging.INFO):
        assert _refused(client, sso_login(client, provider))
    assert "invalid_client" in caplog.text
    assert "stub-client-secret" not in caplog.text


def test_the_system_check_accepts_sso_configured_by_the_issuer_alone():
    from django.test import override_settings

    from integrations.checks import staff_oidc_settings_check

    by_issuer = {
        "STAFF_OIDC_ENABLED": True,
        "STAFF_OIDC_OP_ISSUER": "https://idp.kommun.example.test",
        "STAFF_OIDC_OP_DISCOVERY": True,
        "STAFF_OIDC_RP_CLIENT_SECRET": "secret",
        "STAFF_OIDC_OP_AUTHORIZATION_ENDPOINT": "",
        "STAFF_OIDC_OP_TOKEN_ENDPOINT": "",
        "STAFF_OIDC_OP_JWKS_ENDPOINT": "",
    }
    with override_settings(**by_issuer):
        assert staff_oidc_settings_check() == []
    with override_settings(**{**by_issuer, "STAFF_OIDC_OP_DISCOVERY": False}):
        errors = " ".join(e.msg for e in staff_oidc_settings_check())
    assert "STAFF_OIDC_OP_TOKEN_ENDPOINT" in errors and "STAFF_OIDC_OP_JWKS_ENDPOINT" in errors


@sso_settings(STAFF_OIDC_OP_LOGOUT_ENDPOINT="https://idp.kommun.example.test/logout")
@pytest.mark.parametrize("query", [{"error": "access_denied"}, {"code": "old"}], ids=["error", "stale"])
def test_a_stale_or_refused_callback_leaves_a_logged_in_staff_session_alone(client, stub, query):  # noqa: F811
    sso_login(client, stub())
    before = dict(client.session.items())
    assert "oidc_end_session" in before

    client.get(reverse("integrations:sso_callback"), {"state": "old-state", **query})

    assert logged_in_user(client) is not None
    assert client.session["oidc_end_session"] == before["oidc_end_session"]
