"""The 403 and 404 pages send people back to their own start page: citizens to their portal, staff
to the staff start page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


def start_link(response) -> str:
    match = re.search(r'<a href="([^"]*)">Gå till startsidan</a>', response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


def test_citizen_error_pages_lead_to_the_portal(client, org):
    citizen = factories.citizen()
    login(client, citizen.user)
    not_found = client.get("/medborgare/arenden/999999/")
    forbidden = client.get(reverse("mailboxes:index"))  # a staff page
    assert (not_found.status_code, forbidden.status_code) == (404, 403)
    assert start_link(not_found) == start_link(forbidden) == reverse("eservices:portal") == "/medborgare/"
    assert start_link(client.get("/finns-inte/")) == "/medborgare/"


def test_staff_error_pages_lead_to_the_staff_start_page(client, org):
    login(client, org.handler_a1)
    not_found = client.get("/brevlador/999999/")
    forbidden = client.get(reverse("administration:units"))
    citizen_page = client.get(reverse("eservices:portal"))  # staff are kept out of /medborgare/
    assert (not_found.status_code, forbidden.status_code, citizen_page.status_code) == (404, 403, 403)
    assert start_link(not_found) == start_link(forbidden) == start_link(citizen_page) == "/"


def test_visitors_of_citizen_pages_go_to_the_portal_others_to_the_start_page(client):
    assert start_link(client.get("/medborgare/finns-inte/")) == "/medborgare/"
    assert start_link(client.get("/finns-inte/")) == "/"
