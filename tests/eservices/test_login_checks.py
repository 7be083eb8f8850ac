"""Citizen e-ID: the clock leeway, failures that say what went wrong in the log (never a token or a
personnummer), and callbacks that are refused without touching the session of a logged-in citizen."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from django.urls import reverse

from tests.eservices.test_login import OIDC, FakeResponse, broker, id_token  # noqa: F401

pytestmark = pytest.mark.django_db


def _start(client) -> dict:
    location = client.get(reverse("eservices:oidc_authentication_init"))["Location"]
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def _callback(client, params, **query):
    return client.get(
        reverse("eservices:oidc_callback"), {"code": "c-1", "state": params["state"], **query}, follow=True
    )


@override_settings(**OIDC)
def test_a_broker_clock_two_seconds_ahead_still_logs_in(client, broker):  # noqa: F811
    params = _start(client)
    ahead = int(time.time()) + 2
    broker["id_token"] = id_token(nonce=params["nonce"], iat=ahead, nbf=ahead)
    _callback(client, params)
    assert SESSION_KEY in client.session


@override_settings(**OIDC)
def test_a_broker_clock_two_hours_ahead_is_refused_and_logged_by_check(client, broker, caplog):  # noqa: F811
    params = _start(client)
    ahead = int(time.time()) + 7200
    token = id_token(nonce=params["nonce"], iat=ahead, nbf=ahead, exp=ahead + 300)
    broker["id_token"] = token
    with caplog.at_level(logging.INFO):
        page = _callback(client, params).content.decode()
    assert SESSION_KEY not in client.session
    assert "lyckades inte" in page
    assert "not yet valid" in caplog.text
    assert token not in caplog.text and "198001019812" not in caplog.text


@override_settings(**OIDC)
def test_the_brokers_error_code_is_logged(client, broker, monkeypatch, caplog):  # noqa: F811
    def refuse(url, data=None, **kwargs):
        response = FakeResponse({"error": "invalid_client", "error_description": "bad client auth"})
        response.status_code = 401
        return response

    monkeypatch.setattr("requests.post", refuse)
    monkeypatch.setattr("mozilla_django_oidc.auth.requests.post", refuse)
    params = _start(client)
    with caplog.at_level(logging.INFO):
        _callback(client, params)
    assert "invalid_client" in caplog.text
    assert "client-secret" not in caplog.text


@override_settings(**OIDC, OIDC_OP_LOGOUT_ENDPOINT="https://eid-broker.example/logout")
@pytest.mark.parametrize("query", [{"error": "access_denied"}, {}], ids=["error", "stale-state"])
def test_a_stale_or_refused_callback_leaves_a_logged_in_citizen_alone(client, broker, query):  # noqa: F811
    params = _start(client)
    broker["id_token"] = id_token(nonce=params["nonce"])
    _callback(client, params)
    session_before = dict(client.session.items())
    assert SESSION_KEY in session_before and "oidc_end_session" in session_before

    # Back to the used callback URL, or the broker answering an old request with an error.
    _callback(client, params, **query)

    assert dict(client.session.items()).get(SESSION_KEY) == session_before[SESSION_KEY]
    assert client.session["oidc_end_session"] == session_before["oidc_end_session"]
    assert client.get(reverse("eservices:portal")).status_code == 200


@override_settings(**{**OIDC, "OIDC_OP_DISCOVERY": True, "OIDC_OP_ISSUER": "http://127.0.0.1:9"})
def test_a_broker_that_cannot_be_reached_is_said_so_in_swedish_and_logged(client, clean_cache, caplog):
    with caplog.at_level(logging.WARNING):
        page = client.get(reverse("eservices:oidc_authentication_init"), follow=True).content.decode()
    assert "Tjänsten för e-legitimation går inte att nå just nu." in page
    assert "not reachable" in caplog.text and "127.0.0.1:9/.well-known/openid-configuration" in caplog.text
