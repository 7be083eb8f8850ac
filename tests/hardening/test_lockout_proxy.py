"""Lockout behind the reverse proxy: failures count per user name AND client address, the client
address taken from the trusted proxy's X-Forwarded-For (TRUSTED_PROXY_COUNT), so someone typing a
colleague's name wrong five times locks out only themselves, and a client cannot pick its own
address by sending the header itself."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from lifemsg.clientip import client_ip

pytestmark = pytest.mark.django_db

PROXY = "172.18.0.5"  # the reverse proxy's address on the compose network
WRONG, RIGHT = "fel-lösenord-1234", "test-password-123"


def behind_proxy(forwarded_for: str, proxy: str = PROXY) -> Client:
    """A browser whose requests reach the application through the proxy, which appended the
    browser's address to X-Forwarded-For (the header may already hold what the browser sent)."""
    return Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded_for)


def fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        client.post(reverse("accounts:login"), {"username": username, "password": WRONG})


def logs_in(client: Client, username: str) -> bool:
    response = client.post(reverse("accounts:login"), {"username": username, "password": RIGHT})
    return response.status_code == 302 and "_auth_user_id" in client.session


@override_settings(AXES_FAILURE_LIMIT=5, TRUSTED_PROXY_COUNT=1)
def test_a_second_client_behind_the_proxy_is_not_locked_out_by_the_first_clients_failures(org):
    name = org.handler_a1.username
    attacker, colleague = behind_proxy("198.51.100.7"), behind_proxy("198.51.100.8")
    fail(attacker, name, 5)
    assert not logs_in(attacker, name)  # the first client is locked out, even with the password
    assert logs_in(colleague, name)


@override_settings(AXES_FAILURE_LIMIT=5, TRUSTED_PROXY_COUNT=1)
def test_a_client_cannot_escape_its_lockout_by_sending_its_own_forwarded_for(org):
    name = org.handler_a1.username
    for n in range(5):  # a new made-up address each time; the proxy appends the real one
        fail(behind_proxy(f"10.9.9.{n}, 198.51.100.7"), name, 1)
    assert not logs_in(behind_proxy("10.9.9.99, 198.51.100.7"), name)
    assert logs_in(behind_proxy("198.51.100.8"), name)


@override_settings(AXES_FAILURE_LIMIT=5, TRUSTED_PROXY_COUNT=1)
def test_a_client_cannot_lock_out_a_colleague_by_claiming_the_colleagues_address(org):
    name = org.handler_a1.username
    fail(behind_proxy("198.51.100.8, 198.51.100.7"), name, 5)
    assert logs_in(behind_proxy("198.51.100.8"), name)


@pytest.mark.parametrize(
    ("count", "trusted", "remote", "forwarded", "expected"),
    [
        (0, [], "198.51.100.7", "10.0.0.1", "198.51.100.7"),  # no proxy: the header is the client's
        (1, [], PROXY, "10.0.0.1, 198.51.100.7", "198.51.100.7"),
        (2, [], PROXY, "10.0.0.1, 198.51.100.7, 192.0.2.10", "198.51.100.7"),  # load balancer + proxy
        (2, [], PROXY, "198.51.100.7", PROXY),  # fewer hops than configured: not trusted
        (1, ["172.18.0.0/16"], PROXY, "198.51.100.7", "198.51.100.7"),
        (1, ["172.18.0.0/16"], "198.51.100.9", "198.51.100.7", "198.51.100.9"),  # not via the proxy
        (1, [], PROXY, "", PROXY),
        (1, [], PROXY, "not an address", PROXY),
    ],
)
def test_the_client_address_is_the_one_the_trusted_proxies_saw(count, trusted, remote, forwarded, expected):
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXY_COUNT=count, TRUSTED_PROXY_IPS=trusted):
        assert client_ip(request) == expected
