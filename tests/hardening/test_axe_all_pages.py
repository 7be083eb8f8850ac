"""An axe-core audit (WCAG 2.0/2.1 A and AA rules) of every page each role can reach, in Chromium
against the live server: zero violations allowed. One browser context per role, logged in once
(session cookie); pages that are not on main yet (absence) join automatically once their URL names
exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from absence.routing import route_message
from eservices.models import ConversationTopic, EService
from eservices.services import staff_message_send
from mailboxes.models import Message
from mailboxes.services import note_add
from tests import factories
from tests.mailboxes.conftest import citizen_writes, group, internal_thread, personal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def optional(name: str, *args) -> list[str]:
    """URL of a page that may not be merged yet (absence UI): [] while its name is unknown."""
    try:
        return [reverse(name, args=args)]
    except NoReverseMatch:
        return []


def build_world():
    org = factories.Organisation.build()
    case = factories.case(
        eservice_obj=org.eservice_a,
        handler=org.handler_a1,
        co_handlers=[org.handler_a2],
        citizen_obj=factories.citizen("Greta", "Medborgarsson"),
        subject="Ansökan om stöd",
    )
    citizen_writes(case, body="Hej, jag har en fråga om mitt ärende. Se https://example.org/info")
    reply = staff_message_send(case=case, sender=org.handler_a1, body="Vi ringer dig i morgon.")
    route_message(message_id=reply.pk)
    note_add(thread=case.thread, author=org.handler_a1, via_mailbox=personal(org.handler_a1), body="Notering")
    internal = internal_thread(org.handler_b1, [personal(org.handler_a1)], subject="Kan du ringa mig?")
    grouped = internal_thread(org.handler_b1, [group(org.unit_a)], subject="Behöver tolk")
    startable = EService.objects.create(
        name="Meddelande IFO", slug="meddelande-ifo", unit=org.unit_a, citizen_can_start=True
    )
    ConversationTopic.objects.create(eservice=startable, topic="adults", unit=org.unit_a, position=0)
    EService.objects.create(
        name="Kontakt med LSS", slug="kontakt-lss", unit=org.unit_b, citizen_can_start=True
    )
    return org, case, internal, grouped, startable


def staff_pages(user, org, case, internal, grouped) -> list[tuple[str, int]]:
    """(url, expected status) for everything this staff member can open, plus a 403 and a 404."""
    today = timezone.localdate()
    week_ago = today - timedelta(days=7)
    pages = [(reverse("accounts:home"), 200), ("/tillganglighet/", 200), ("/finns-inte/", 404)]
    if user.has_perm("accounts.use_mailboxes"):
        mine = personal(user)
        pages += [
            (reverse("mailboxes:index"), 200),
            (reverse("mailboxes:mailbox", args=[mine.pk]), 200),
            (reverse("mailboxes:compose"), 200),
            (reverse("mailboxes:search") + "?q=ringa", 200),
        ]
        if user == org.handler_a1:
            unit_box = group(org.unit_a)
            pages += [
                (reverse("mailboxes:mailbox", args=[unit_box.pk]), 200),
                (reverse("mailboxes:thread", args=[mine.pk, internal.thread_id]), 200),
                (reverse("mailboxes:thread", args=[unit_box.pk, grouped.thread_id]), 200),
                (reverse("mailboxes:forward", args=[mine.pk, internal.thread_id]), 200),
                (reverse("mailboxes:print", args=[unit_box.pk, grouped.thread_id]), 200),
                (reverse("mailboxes:case_thread", args=[case.pk]), 200),
            ]
    else:
        pages.append((reverse("mailboxes:index"), 403))
    if user.has_perm("accounts.plan_own_absence"):
        pages += [(url, 200) for url in optional("absence:mine")]
    if user.has_perm("accounts.take_sick_calls"):
        pages += [(url, 200) for url in optional("absence:sick_call")]
    if user.has_perm("accounts.view_unit_overview"):
        pages += [(url, 200) for url in optional("absence:unit_overview")]
    if user.has_perm("accounts.assign_cases"):
        pages += [
            (reverse("eservices:staff_cases"), 200),
            (reverse("eservices:staff_case_assign", args=[case.pk]), 200),
        ]
    if user.has_perm("eservices.set_protected_identity"):
        pages.append((reverse("eservices:staff_case_protection", args=[case.pk]), 200))
    if user.has_perm("accounts.manage_membership"):
        pages += [
            (reverse("administration:units"), 200),
            (reverse("administration:unit", args=[org.unit_a.pk]), 200),
            (reverse("administration:staff"), 200),
            (reverse("administration:staff_member", args=[org.handler_a1.pk]), 200),
        ]
    if user.has_perm("accounts.review_access_log"):
        pages += [
            (reverse("audit:search"), 200),
            (reverse("audit:checks"), 200),
            (reverse("audit:sample"), 200),
            (reverse("audit:reviews"), 200),
            (reverse("audit:events"), 200),
            # With results: the case's reads (written by the handler's visits above), a check, a sample.
            (reverse("audit:search") + f"?citizen={case.citizen.user_id}", 200),
            (reverse("audit:search") + f"?unit={org.unit_a.pk}", 200),
            (reverse("audit:checks") + f"?check=outside&date_from={week_ago}&date_to={today}", 200),
            (reverse("audit:review", args=[sample_review(user).pk]), 200),
        ]
    else:
        pages.append((reverse("audit:search"), 403))
    return pages


def sample_review(reviewer):
    from audit.services import log_review_sample_draw

    end = timezone.localdate()
    return log_review_sample_draw(
        reviewer=reviewer, period_start=end - timedelta(days=7), period_end=end, size=5
    )


def session_cookie(user, base_url: str) -> list[dict]:
    client = Client()
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}]


def audit(page, base_url: str, pages: list[tuple[str, int]], who: str, problems: list[str]) -> None:
    axe = Axe()
    for url, expected in pages:
        try:
            response = page.goto(base_url + url)
        except Exception as exc:  # e.g. an empty error response Chromium refuses to show
            problems.append(f"{who} {url}: {exc}")
            continue
        if response.status != expected:
            problems.append(f"{who} {url}: HTTP {response.status}, expected {expected}")
            continue
        if "/api/docs/" in url:
            page.wait_for_selector(".opblock")  # Swagger UI renders after load
        result = axe.run(page, options=WCAG)
        if result.violations_count:
            problems.append(f"{who} {url}:\n{result.generate_report()}")


def test_every_page_has_no_wcag_a_or_aa_violations(live_server, browser):
    org, case, internal, grouped, startable = build_world()
    base = live_server.url
    problems: list[str] = []
    staff = {
        "handläggare": org.handler_a1,
        "enhetschef": org.manager_a,
        "administratör": org.admin,
        "superanvändare": org.superuser,
        "systemförvaltare": org.sysadmin,
        "loggranskare": org.log_reviewer,
    }
    visited = 0
    for who, user in staff.items():
        pages = staff_pages(user, org, case, internal, grouped)
        context = browser.new_context(locale="sv-SE")
        context.add_cookies(session_cookie(user, base))
        audit(context.new_page(), base, pages, who, problems)
        context.close()
        visited += len(pages)

    citizen_pages = [
        (reverse("eservices:portal"), 200),
        (reverse("eservices:case", args=[case.pk]), 200),
        (reverse("eservices:conversation_choose"), 200),
        (reverse("eservices:conversation_start", args=[startable.slug]), 200),
        (reverse("eservices:settings"), 200),
        (reverse("audit_citizen:extract"), 200),
        ("/tillganglighet/", 200),
        ("/medborgare/finns-inte/", 404),
        (reverse("mailboxes:index"), 403),
    ]
    context = browser.new_context(locale="sv-SE")
    context.add_cookies(session_cookie(case.citizen.user, base))
    audit(context.new_page(), base, citizen_pages, "medborgare", problems)
    context.close()

    anonymous_pages = [
        (reverse("accounts:login"), 200),
        (reverse("eservices:login"), 200),
        ("/tillganglighet/", 200),
        ("/finns-inte/", 404),
        (reverse("integrations:api_docs"), 200),
    ]
    context = browser.new_context(locale="sv-SE")
    audit(context.new_page(), base, anonymous_pages, "anonym", problems)
    context.close()
    visited += len(citizen_pages) + len(anonymous_pages)

    assert Message.objects.filter(thread=case.thread).count() == 3
    assert visited > 50
    assert not problems, "\n\n".join(problems)
