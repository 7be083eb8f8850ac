import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import path

from lifemsg import urls as root_urls


def _db_down(request):
    raise OperationalError("connection refused")


def _bug(request):
    raise ValueError("bug")


urlpatterns = [path("db-down/", _db_down), path("bug/", _bug)]
handler500 = root_urls.handler500


@pytest.mark.urls("tests.lifemsg.test_failure_pages")
def test_database_unavailable_gives_swedish_503_page():
    client = Client(raise_request_exception=False)
    response = client.get("/db-down/")
    assert response.status_code == 503
    body = response.content.decode()
    assert 'lang="sv"' in body
    assert "Tjänsten är tillfälligt inte tillgänglig" in body
    assert response["Retry-After"] == "30"


@pytest.mark.urls("tests.lifemsg.test_failure_pages")
def test_other_errors_give_500():
    client = Client(raise_request_exception=False)
    assert client.get("/bug/").status_code == 500
