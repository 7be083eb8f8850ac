"""The OpenAPI schema validates, the docs page works under our CSP, and a property-based fuzz run
(schemathesis, bounded) finds no server error and no response outside the schema."""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import roles
from eservices.models import EService
from eservices.services import case_create, citizen_get_or_create
from integrations.models import ApiClient
from integrations.services import api_client_create
from mailboxes.services import membership_add, unit_create
from tests import factories

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.django_db
def test_openapi_schema_validates(tmp_path):
    # drf-spectacular checks the generated document against the OpenAPI 3 meta-schema; any warning
    # (an operation it could not describe) fails too.
    path = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    assert "/api/v1/cases/{external_id}/" in path.read_text()


@pytest.mark.django_db
def test_schema_is_served_as_json(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert set(schema["paths"]) == {
        "/api/v1/cases/{external_id}/",
        "/api/v1/cases/{external_id}/close/",
        "/api/v1/cases/{external_id}/thread/",
        "/api/v1/case-file/{entry_id}/receipt/",
        "/api/v1/case-file/{entry_id}/document/",
    }
    assert schema["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_docs_page_loads_its_assets_from_our_own_server_without_inline_code(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('src="/' in attrs for attrs in scripts)  # same origin, no inline script
    assert "<style" not in html and "style=" not in html
    assert 'lang="sv"' in html
    for url in re.findall(r'(?:src|href)="(/[^"]+)"', html):
        asset = client.get(url.replace("&amp;", "&"))
        assert asset.status_code == 200, url
    script_url = re.findall(r'<script src="(/api/docs/[^"]+)"', html)[0].replace("&amp;", "&")
    assert client.get(script_url)["Content-Type"].startswith("application/javascript")


# --- fuzzing ----------------------------------------------------------------------------------


@pytest.fixture
def wsgi_app(db):
    """The real WSGI application, called in-process inside the test transaction. Like Django's test
    client, keep request signals from closing the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db):
    """A client with every scope, and the data the documented examples name (as in seed_demo), so that
    the fuzz run also walks the successful paths."""
    unit = unit_create(name="IFO Ekonomiskt bistånd", slug="ifo-ekonomiskt-bistand")
    eservice = EService.objects.create(
        name="Ansökan om ekonomiskt bistånd", slug="ekonomiskt-bistand", unit=unit
    )
    handlers = []
    for username in ("gunilla.gran", "hassan.haddad"):
        user = factories.UserFactory(username=username)
        user.groups.add(Group.objects.get(name=roles.HANDLAGGARE))
        membership_add(unit=unit, user=user)
        handlers.append(user)
    citizen = citizen_get_or_create(personnummer="198001019812", first_name="Alva", last_name="Lindqvist")
    case_create(
        citizen=citizen,
        eservice=eservice,
        subject="Befintligt ärende",
        handler=handlers[0],
        external_id="LC-2026-0001",
    )
    return api_client_create(name="fuzz", scopes=ApiClient.Scope.values).token


def _generated_schema() -> dict:
    # The same document /api/schema/ serves (test_schema_is_served_as_json), built without a request.
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


def _schema(mode: str):
    loaded = schemathesis.openapi.from_dict(_generated_schema())
    loaded.config.generation.update(modes=[mode])
    return loaded


# Valid requests (by the schema): every answer must be documented, in type, status and shape.
schema = _schema("positive")
# Invalid requests (wrong types, bad path values, missing fields): refused, never a server error.
negative_schema = _schema("negative")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_fuzz_finds_no_server_error_and_no_response_outside_the_schema(case, token, wsgi_app):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, app=wsgi_app)


@negative_schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_fuzz_with_invalid_input_never_causes_a_server_error(case, token, wsgi_app):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error], app=wsgi_app
    )


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_fuzz_without_a_token_is_refused_within_the_schema(case, wsgi_app):
    response = case.call_and_validate(
        headers={"Authorization": "Bearer lm.unknown.token"}, checks=CHECKS, app=wsgi_app
    )
    assert response.status_code == 401
