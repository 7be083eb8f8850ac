import pytest
from django.urls import reverse

from accounts import roles
from tests.conftest import idle_for
from tests.factories import citizen, staff

pytestmark = pytest.mark.django_db


def test_staff_session_ends_after_idle_time(client, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 60
    client.force_login(staff(roles.HANDLAGGARE))
    assert client.get(reverse("accounts:home"), follow=True).status_code == 200
    idle_for(client, 61)
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in client.session


def test_activity_within_idle_time_keeps_staff_logged_in(client, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 60
    client.force_login(staff(roles.HANDLAGGARE))
    client.get(reverse("accounts:home"))
    idle_for(client, 50)
    assert client.get(reverse("accounts:home"), follow=True).status_code == 200
    idle_for(client, 50)  # 100 s since login, but only 50 since the last request
    assert client.get(reverse("accounts:home"), follow=True).status_code == 200


def test_keepalive_counts_as_activity_and_page_shows_warning_dialog(client, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 60
    client.force_login(staff(roles.HANDLAGGARE))
    page = client.get(reverse("accounts:home"), follow=True).content.decode()
    assert 'data-idle-seconds="60"' in page
    assert "Du loggas snart ut" in page
    idle_for(client, 50)
    assert client.post(reverse("accounts:keepalive")).status_code == 204
    idle_for(client, 30)
    assert client.get(reverse("accounts:home"), follow=True).status_code == 200


def test_citizen_session_ends_sooner(client, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 3600
    settings.CITIZEN_SESSION_IDLE_SECONDS = 120
    c = citizen()
    client.force_login(c.user)
    assert client.get(reverse("eservices:portal")).status_code == 200
    idle_for(client, 121)
    response = client.get(reverse("eservices:portal"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("eservices:login"))


def test_htmx_request_after_timeout_redirects_the_page(client, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 60
    client.force_login(staff(roles.HANDLAGGARE))
    client.get(reverse("accounts:home"))
    idle_for(client, 61)
    response = client.get(reverse("accounts:home"), HTTP_HX_REQUEST="true")
    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("accounts:login")
