"""The htmx unread-count polling (@idle_passive) never keeps an unattended staff session alive."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.middleware import IdleTimeoutMiddleware
from tests.conftest import idle_for, login

pytestmark = pytest.mark.django_db


def test_unread_polling_is_not_activity(client, org, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 60
    login(client, org.handler_a1)
    assert client.get(reverse("mailboxes:index")).status_code == 200
    idle_for(client, 50)
    poll = client.get(reverse("mailboxes:unread"), HTTP_HX_REQUEST="true")
    assert poll.status_code == 200  # still inside the idle time: the counts are served
    # 11 more seconds pass: 61 s since the last real activity (had the poll counted, only 11 s).
    session = client.session
    session[IdleTimeoutMiddleware.SESSION_KEY] -= 11
    session.save()
    poll = client.get(reverse("mailboxes:unread"), HTTP_HX_REQUEST="true")
    assert poll.status_code == 401 and poll["HX-Redirect"].startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in client.session


def test_poll_leaves_the_activity_stamp_alone(client, org, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 60
    login(client, org.handler_a1)
    client.get(reverse("mailboxes:index"))
    idle_for(client, 40)
    stamp = client.session[IdleTimeoutMiddleware.SESSION_KEY]
    client.get(reverse("mailboxes:unread"), HTTP_HX_REQUEST="true")
    assert client.session[IdleTimeoutMiddleware.SESSION_KEY] == stamp
