"""Errors an outside prober provokes: ids past the 64-bit range are plain 404s on every backend (decided
by the URL resolver, before any query), and a refused request (403) is one log line, no traceback."""

from __future__ import annotations

import logging

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.converters import IntConverter
from django.urls.exceptions import Resolver404

from tests.conftest import login

OUT_OF_RANGE = (2**63, 2**64, 10**30)


def _patterns(resolver=None, namespace: str = ""):
    """(name, pattern) of every named application URL (the Django admin left out)."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _patterns(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


def _id_urls(value: int) -> list[str]:
    """Every URL with an integer in its path, each integer set to `value` (other parts: a slug)."""
    urls = []
    for name, pattern in _patterns():
        converters = getattr(pattern.pattern, "converters", {})
        ids = [key for key, converter in converters.items() if converter.regex.startswith("[0-9]")]
        if ids:
            kwargs = {key: (value if key in ids else "x") for key in converters}
            urls.append(reverse(name, kwargs=kwargs))
    return urls


def test_every_url_with_an_id_is_found():
    assert len(_id_urls(1)) >= 20  # the walk above finds the URLs it is meant to check


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_an_id_past_the_64_bit_range_matches_no_url(value):
    """The resolver refuses it, so no view and no database (SQLite included) ever sees it."""
    matched = []
    for url in _id_urls(value):
        try:
            resolve(url)
            matched.append(url)
        except Resolver404:
            pass
    assert not matched


def test_no_url_takes_an_unbounded_integer():
    unbounded = [
        name
        for name, pattern in _patterns()
        if any(isinstance(c, IntConverter) for c in getattr(pattern.pattern, "converters", {}).values())
    ]
    assert not unbounded, f"use <id:...> (lifemsg/converters.py) in {unbounded}"


@pytest.mark.django_db
def test_an_id_past_the_range_answers_404_to_staff_and_citizens(client, org):
    from tests import factories

    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    for user in (org.handler_a1, org.superuser, case.citizen.user):
        login(client, user)
        statuses = {url: client.get(url).status_code for url in _id_urls(2**63)}
        # 404, or the 403 the session kind gets before any URL is looked at (staff on citizen pages).
        assert set(statuses.values()) <= {403, 404}, {u: s for u, s in statuses.items() if s != 404}
        assert 404 in statuses.values()
        client.logout()


@pytest.mark.django_db
def test_a_refused_request_is_logged_on_one_line(client, org, caplog):
    from tests import factories

    citizen = factories.case(eservice_obj=org.eservice_a).citizen
    login(client, citizen.user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("mailboxes:index")).status_code == 403
        login(client, org.handler_a1)
        assert client.get(reverse("audit:search")).status_code == 403
    refused = [r for r in caplog.records if r.name == "django.request"]
    assert len(refused) == 2
    for record in refused:
        line = logging.Formatter("%(levelname)s %(name)s %(message)s").format(record)
        assert record.exc_info is None and "Traceback" not in line and "\n" not in line
        assert line.startswith("WARNING django.request Forbidden")


@pytest.mark.django_db
def test_ids_past_the_range_in_a_list_are_left_out_of_the_query():
    """Form fields of several ids (ModelMultipleChoiceField, kept uploads) query with `pk__in`: a value
    no 64-bit column holds is dropped, so SQLite never sees it (it raises OverflowError, a 500)."""
    from mailboxes.models import Mailbox

    _sql, params = Mailbox.objects.filter(pk__in=[1, 2**63, -(2**63) - 1, 2**64]).query.sql_with_params()
    assert params == (1,)
    assert not Mailbox.objects.filter(pk__in=[2**64]).exists()


@pytest.mark.django_db
def test_a_form_posting_ids_past_the_range_is_refused_as_an_invalid_choice(client, org):
    login(client, org.handler_a1)
    big = str(2**64)
    response = client.post(
        reverse("mailboxes:compose"),
        {"recipients": [big], "subject": "Hej", "body": "Text", "kept_attachments": [big], "action": "send"},
    )
    assert response.status_code == 400
