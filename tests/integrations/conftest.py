from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integrations.models import ApiClient
from integrations.services import api_client_create

ALL_SCOPES = tuple(ApiClient.Scope.values)


@pytest.fixture
def make_api():
    """make_api(scopes=..., name=...) -> (ApiClient row, DRF test client sending its token)."""
    counter = iter(range(1, 1000))

    def _make(scopes=ALL_SCOPES, name: str | None = None, webhook_url: str = ""):
        issued = api_client_create(
            name=name or f"system-{next(counter)}", scopes=scopes, webhook_url=webhook_url
        )
        http = APIClient()
        http.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}")
        return issued.client, http

    return _make


@pytest.fixture
def api(db, make_api):
    return make_api()[1]
