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


@pytest.fixture
def case_system(db, make_api):
    """A running stand-in case system (tests/integrations/case_system.py) registered as the API
    client that takes journalled documents. Yields (system, its DRF API client)."""
    from tests.integrations.case_system import serve

    system, stop = serve()
    client, http = make_api(
        scopes=[ApiClient.Scope.CASES_READ, ApiClient.Scope.CASE_FILE],
        name="arendesystem",
        webhook_url=system.url,
    )
    system.secret = client.webhook_secret
    system.client = client
    yield system, http
    stop()
