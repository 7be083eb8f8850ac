"""Logout that logs out, in Chromium against a real OpenID provider (panva's oidc-provider on
loopback): after "Logga ut", the provider's session is ended too, so the next "Logga in" on the same
browser is asked to log in at the provider again rather than let in silently; for the citizens'
e-ID and for staff single sign-on. The browser enforces the CSP (form-action) that Django's test
client ignores: the logout form's redirect to the provider must be allowed by it."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROVIDER_LOGIN = "Test-IdP: logga in"


def _log_in_at_provider(page, account: str) -> None:
    expect(page.get_by_role("heading", name=PROVIDER_LOGIN)).to_be_visible()
    page.get_by_label("Konto").fill(account)
    page.get_by_role("button", name="Logga in hos Test-IdP").click()


def _log_out_everywhere(page, live_server, back_to: str) -> None:
    page.get_by_role("button", name="Logga ut").click()
    # The provider's own page (RP-initiated logout) asks to confirm; it ends its session there.
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url + back_to)))


def test_citizen_logout_ends_the_e_id_session_and_the_next_login_asks_again(
    live_server, page, browser_openid_provider
):
    e_id = "Logga in med e-legitimation (BankID eller Freja eID+)"
    with override_settings(**browser_openid_provider.citizen_settings()):
        page.goto(live_server.url + "/medborgare/logga-in/")
        page.get_by_role("link", name=e_id).click()
        _log_in_at_provider(page, "alva")
        expect(page.get_by_role("heading", level=1, name="Mina meddelanden")).to_be_visible()

        _log_out_everywhere(page, live_server, "/medborgare/logga-in/")
        expect(page.get_by_text("Du är utloggad.")).to_be_visible()

        page.get_by_role("link", name=e_id).click()
        expect(page.get_by_role("heading", name=PROVIDER_LOGIN)).to_be_visible()
        page.goto(live_server.url + "/medborgare/")  # lifemsg's session is gone too
        expect(page.get_by_role("link", name=e_id)).to_be_visible()


def test_staff_logout_ends_the_sso_session_and_the_next_login_asks_again(
    live_server, page, browser_openid_provider
):
    sso = "Logga in med ditt organisationskonto"
    with override_settings(**browser_openid_provider.staff_settings()):
        page.goto(live_server.url + "/logga-in/")
        page.get_by_role("link", name=sso).click()
        _log_in_at_provider(page, "anna")
        # Logged in as Anna: her workspace opens on her personal mailbox, her name in the header.
        expect(page.get_by_role("heading", level=1)).to_contain_text("Min brevlåda")
        expect(page.locator(".whoami")).to_contain_text("Anna Sundberg")

        _log_out_everywhere(page, live_server, "/logga-in/")

        page.get_by_role("link", name=sso).click()
        expect(page.get_by_role("heading", name=PROVIDER_LOGIN)).to_be_visible()
