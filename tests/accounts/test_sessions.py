"""accounts.sessions: Django's database sessions with the user's id in a column of their own, so the
session read brings the user along (one query for both), and nothing else about sessions changes."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts import roles
from accounts.backends import ModelBackend
from accounts.models import UserSession
from accounts.sessions import SessionStore
from lifemsg.perf.handoff import offer_session_user
from tests import factories
from tests.conftest import idle_for

pytestmark = pytest.mark.django_db


def _logged_in(user) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, client.cookies["sessionid"].value


def test_logging_in_records_the_user_beside_the_session_and_logging_out_ends_it():
    handler = factories.staff(roles.HANDLAGGARE, units=(factories.unit(),))
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": handler.username, "password": "test-password-123"}
    )
    assert response.status_code == 302
    session = UserSession.objects.get(session_key=client.cookies["sessionid"].value)
    assert session.user_id == handler.pk
    assert session.get_decoded()[SESSION_KEY] == str(handler.pk)
    client.post(reverse("accounts:logout"))
    assert not UserSession.objects.filter(pk=session.pk).exists()
    assert client.get(reverse("mailboxes:index")).status_code == 302  # to the login page


@pytest.mark.fast_path
def test_the_session_read_brings_the_user_with_permissions_and_groups(django_assert_num_queries):
    handler = factories.staff(roles.HANDLAGGARE, units=(factories.unit(),))
    group_names = sorted(handler.groups.values_list("name", flat=True))
    _, key = _logged_in(handler)
    with django_assert_num_queries(1):
        store = SessionStore(key)
        user = ModelBackend().get_user(int(store[SESSION_KEY]))
        assert user.pk == handler.pk
        assert user.has_perm("accounts.use_mailboxes") and not user.has_perm("accounts.manage_roles")
        assert roles.HANDLAGGARE in group_names
        assert roles.user_group_names(user) == group_names


@pytest.mark.fast_path
def test_a_user_offered_by_a_session_serves_only_that_user_and_only_once(django_assert_num_queries):
    first = factories.staff(roles.HANDLAGGARE)
    second = factories.staff(roles.HANDLAGGARE)
    offer_session_user(first)
    with django_assert_num_queries(1):  # not the one offered: read
        assert ModelBackend().get_user(second.pk).pk == second.pk
    offer_session_user(first)
    with django_assert_num_queries(0):
        assert ModelBackend().get_user(first.pk).pk == first.pk
    with django_assert_num_queries(1):  # taken already: read again
        assert ModelBackend().get_user(first.pk).pk == first.pk


def test_a_deactivated_users_session_logs_nobody_in():
    handler = factories.staff(roles.HANDLAGGARE, units=(factories.unit(),))
    client, _ = _logged_in(handler)
    assert client.get(reverse("mailboxes:index")).status_code == 200
    handler.is_active = False
    handler.save(update_fields=["is_active"])
    response = client.get(reverse("mailboxes:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_a_changed_password_ends_the_other_sessions():
    handler = factories.staff(roles.HANDLAGGARE, units=(factories.unit(),))
    client, _ = _logged_in(handler)
    assert client.get(reverse("mailboxes:index")).status_code == 200
    handler.set_password("a-new-pass-phrase-9")
    handler.save(update_fields=["password"])
    assert client.get(reverse("mailboxes:index")).status_code == 302


def test_a_deleted_users_sessions_go_with_them():
    user = factories.UserFactory()
    _, key = _logged_in(user)
    assert UserSession.objects.filter(session_key=key, user=user).exists()
    user.delete()
    assert not UserSession.objects.filter(session_key=key).exists()


@pytest.mark.fast_path
def test_a_citizens_e_id_session_brings_the_citizen_and_serves_no_staff(django_assert_num_queries):
    from django.contrib.auth import load_backend

    from eservices.oidc import CITIZEN_BACKEND

    citizen = factories.citizen()
    client = Client()
    client.force_login(citizen.user, backend=CITIZEN_BACKEND)
    with django_assert_num_queries(1):
        store = SessionStore(client.cookies["sessionid"].value)
        user = load_backend(store[BACKEND_SESSION_KEY]).get_user(int(store[SESSION_KEY]))
        assert user.pk == citizen.user.pk
    staff = factories.staff(roles.HANDLAGGARE)
    client.force_login(staff, backend=CITIZEN_BACKEND)
    store = SessionStore(client.cookies["sessionid"].value)
    assert load_backend(CITIZEN_BACKEND).get_user(int(store[SESSION_KEY])) is None


def _page_queries(client, url: str) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.fast_path
@pytest.mark.django_db(transaction=True)
def test_the_idle_timeout_refresh_costs_a_page_one_update_and_is_stored():
    """The session's last activity is written at most every IdleTimeoutMiddleware.RESOLUTION
    seconds; the request that writes it makes one statement more than the next, an UPDATE (no
    BEGIN/COMMIT around it), and the new time is in the database."""
    from accounts.middleware import IdleTimeoutMiddleware

    handler = factories.staff(roles.HANDLAGGARE, units=(factories.unit(),))
    client, key = _logged_in(handler)
    url = reverse("mailboxes:index")
    client.get(url)
    earlier = idle_for(client, IdleTimeoutMiddleware.RESOLUTION + 1)

    refreshing, statements = _page_queries(client, url)
    plain, _ = _page_queries(client, url)
    assert refreshing == plain + 1
    writes = [sql for sql in statements if not sql.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith('UPDATE "accounts_usersession"'), writes
    stored = SessionStore(key).load()[IdleTimeoutMiddleware.SESSION_KEY]
    assert stored > earlier + 1


@pytest.mark.django_db(transaction=True)
def test_saving_a_session_deleted_meanwhile_fails_and_brings_nothing_back():
    """Logged out in another tab while a request ran: the save is refused as in Django (the session
    middleware answers it with 400) and the session is not created again."""
    from django.contrib.sessions.backends.base import UpdateError

    handler = factories.staff(roles.HANDLAGGARE, units=(factories.unit(),))
    _, key = _logged_in(handler)
    store = SessionStore(key)
    store["seen"] = 1
    UserSession.objects.filter(session_key=key).delete()
    with pytest.raises(UpdateError):
        store.save()
    assert not UserSession.objects.filter(session_key=key).exists()


def test_saving_a_session_inside_a_transaction_keeps_djangos_savepoint():
    """Inside a transaction the save is Django's own: a failed one (the session deleted meanwhile)
    leaves the surrounding transaction usable."""
    from django.contrib.sessions.backends.base import UpdateError
    from django.db import transaction

    handler = factories.staff(roles.HANDLAGGARE, units=(factories.unit(),))
    _, key = _logged_in(handler)
    with transaction.atomic():
        store = SessionStore(key)
        store["seen"] = 1
        UserSession.objects.filter(session_key=key).delete()
        with pytest.raises(UpdateError):
            store.save()
        assert UserSession.objects.filter(user=handler).count() == 0  # still usable
