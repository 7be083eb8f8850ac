"""In the browser, with the second factor on: an administrator issues an enrolment link, a
handläggare who has only a password is held at "two-step verification is required", enrols with the
link (the code computed here as the app would), keeps the recovery codes and reaches the mailboxes.
Each page passes an axe WCAG 2.1 AA audit."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "sv-SE"}


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def assert_accessible(page) -> None:
    result = Axe().run(page, options=WCAG)
    assert result.violations_count == 0, result.generate_report()


def password_login(page, live_server, user) -> None:
    page.goto(live_server.url + reverse("accounts:login"))
    page.get_by_label("Användarnamn").fill(user.username)
    page.get_by_label("Lösenord").fill("test-password-123")
    page.get_by_role("button", name="Logga in").click()


def test_an_administrator_issues_a_link_and_a_handlaggare_enrols_with_it(live_server, page, settings):
    settings.STAFF_OTP_ENABLED = True
    page.set_default_timeout(10_000)
    org = factories.Organisation.build()
    admin_device = TOTPDevice.objects.create(user=org.superuser, name="app", confirmed=True)

    password_login(page, live_server, org.superuser)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tvåstegsverifiering")
    page.get_by_label("Kod").fill(code(admin_device))
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Välkommen|Min brevlåda"))
    page.goto(live_server.url + reverse("administration:staff_member", args=[org.handler_a1.pk]))
    section = page.get_by_role("region", name="Tvåstegsverifiering")
    expect(section).to_contain_text("Inte aktiverad.")
    assert_accessible(page)
    section.get_by_role("button", name="Skapa en aktiveringslänk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aktiveringslänk för Anna Andersson")
    assert_accessible(page)
    link = page.get_by_label("Aktiveringslänk").input_value()
    assert "/tvastegsverifiering/aktivera/" in link
    page.get_by_role("button", name="Logga ut").click()

    password_login(page, live_server, org.handler_a1)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tvåstegsverifiering krävs")
    assert_accessible(page)
    page.goto(live_server.url + reverse("mailboxes:index"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tvåstegsverifiering krävs")

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Aktivera tvåstegsverifiering")
    assert_accessible(page)
    device = TOTPDevice.objects.get(user=org.handler_a1, confirmed=False)
    page.get_by_label("Kod").fill(code(device))
    page.get_by_role("button", name="Bekräfta").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tvåstegsverifiering är aktiverad")
    expect(page.get_by_role("list", name="Reservkoder").get_by_role("listitem")).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="Jag har sparat koderna – fortsätt").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Välkommen|Min brevlåda"))
    page.goto(live_server.url + reverse("mailboxes:index"))
    assert "/tvastegsverifiering/" not in page.url

    page.goto(link)  # once only
    expect(page.get_by_role("heading", level=1)).to_have_text("Aktiveringslänken fungerar inte")
    assert_accessible(page)
