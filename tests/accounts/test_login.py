import pytest
from django.urls import reverse

from accounts import roles
from tests.factories import citizen, staff

pytestmark = pytest.mark.django_db


def test_staff_logs_in_and_lands_in_the_workspace_on_their_own_mailbox(client):
    user = staff(roles.HANDLAGGARE, username="anna")
    response = client.post(reverse("accounts:login"), {"username": "anna", "password": "test-password-123"})
    assert response.status_code == 302
    page = client.get(reverse("accounts:home"), follow=True)
    assert page.redirect_chain == [(reverse("mailboxes:mailbox", args=[user.personal_mailbox.pk]), 302)]
    assert page.status_code == 200
    assert 'id="workspace"' in page.content.decode()
    assert user.first_name in page.content.decode()
    assert 'lang="sv"' in page.content.decode()


def test_someone_new_lands_in_the_workspace_before_any_mail_reached_them(client):
    from mailboxes.models import Mailbox

    user = staff(roles.HANDLAGGARE)
    Mailbox.objects.filter(owner=user).delete()
    client.force_login(user)
    response = client.get(reverse("accounts:home"))
    assert response["Location"] == reverse("mailboxes:mailbox", args=[Mailbox.objects.get(owner=user).pk])


def test_wrong_password_gets_a_swedish_message_and_keeps_username(client):
    staff(roles.HANDLAGGARE, username="bertil")
    response = client.post(reverse("accounts:login"), {"username": "bertil", "password": "fel"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Fel användarnamn eller lösenord" in body
    assert 'value="bertil"' in body


def test_citizen_account_cannot_use_staff_login(client):
    c = citizen()
    c.user.set_password("x-password-123456")
    c.user.save()
    response = client.post(
        reverse("accounts:login"), {"username": c.user.username, "password": "x-password-123456"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_landing_page_shows_only_the_roles_tools(client):
    reviewer = staff(roles.LOGGRANSKARE)
    client.force_login(reviewer)
    body = client.get(reverse("accounts:home")).content.decode()
    assert "Mina brevlådor" not in body


def test_login_page_is_swedish_by_default_and_english_on_request(client):
    assert "Logga in" in client.get(reverse("accounts:login")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Log in for staff" in client.get(reverse("accounts:login")).content.decode()


def test_logout_requires_post_and_ends_session(client):
    user = staff()
    client.force_login(user)
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:home")).status_code == 302


def test_swedish_first_whatever_the_browser_asks(client):
    """Swedish is the product's language: a browser asking for English still gets Swedish until the
    user chooses English, and then keeps English (the choice is remembered in a cookie)."""
    asked_english = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}
    page = client.get(reverse("accounts:login"), **asked_english)
    assert '<html lang="sv"' in page.content.decode()
    assert "Logga in" in page.content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="sv")
    assert "Log in for staff" in page.content.decode()
    client.post(reverse("set_language"), {"language": "sv", "next": "/"})
    assert "Logga in" in client.get(reverse("accounts:login"), **asked_english).content.decode()
