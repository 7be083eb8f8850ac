"""Management commands for API clients: the token is printed once and only its hash is kept."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.models import ApiClient

pytestmark = pytest.mark.django_db


def create(*args) -> list[str]:
    out = StringIO()
    call_command("api_client_create", *args, stdout=out)
    return out.getvalue().splitlines()


def test_create_prints_a_working_token_once_and_stores_only_its_hash():
    lines = create("arendesystem", "--scope", "cases:read", "--scope", "cases:write")
    token = lines[lines.index(next(line for line in lines if line.startswith("Token"))) + 1]

    client = ApiClient.objects.get(name="arendesystem")
    assert client.scopes == ["cases:read", "cases:write"]
    assert token.startswith(f"lm.{client.key_id}.")
    secret = token.split(".", 2)[2]
    assert secret not in client.token_hash and token not in str(ApiClient.objects.values().get())
    assert not client.user.is_active and not client.user.has_usable_password()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(reverse("integrations:api_case", args=["NOPE"])).status_code == 404  # authenticated


def test_create_with_webhook_prints_the_signing_secret_and_needs_read_scope():
    lines = create("hooks", "--scope", "cases:read", "--webhook-url", "https://example.test/hook")
    secret = lines[lines.index("Webhook signing secret (shown only now):") + 1]
    assert ApiClient.objects.get(name="hooks").webhook_secret == secret
    with pytest.raises(CommandError, match="cases:read"):
        create("hooks2", "--scope", "cases:write", "--webhook-url", "https://example.test/hook")
    with pytest.raises(CommandError, match="URL"):
        create("hooks3", "--scope", "cases:read", "--webhook-url", "not a url")


def test_create_refuses_a_duplicate_or_bad_name():
    create("system", "--scope", "cases:read")
    with pytest.raises(CommandError, match="already exists"):
        create("system", "--scope", "cases:read")
    with pytest.raises(CommandError):
        create("bad name!", "--scope", "cases:read")


def test_revoke_stops_the_token():
    lines = create("gammal", "--scope", "cases:read")
    token = lines[2]
    call_command("api_client_revoke", "gammal", stdout=StringIO())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(reverse("integrations:api_case", args=["NOPE"])).status_code == 401
    with pytest.raises(CommandError):
        call_command("api_client_revoke", "finns-inte")
