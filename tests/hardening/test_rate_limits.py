"""Sending limits (django-ratelimit in the Redis cache) for citizens and staff, and brute-force
lockout (django-axes) of the citizen test e-ID login."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from eservices.models import Case, ConversationTopic, EService
from mailboxes.models import Message
from mailboxes.services import mailbox_personal_for
from tests import factories
from tests.conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_cache")]

LIMITED = "Du har skickat många meddelanden på kort tid."


def test_cache_is_redis_in_tests():
    from django.conf import settings

    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


@override_settings(CITIZEN_POST_RATE="2/h")
def test_citizen_over_the_limit_gets_429_with_text_kept(client, org, case_a):
    login(client, case_a.citizen.user)
    url = reverse("eservices:case", args=[case_a.pk])
    for n in range(2):
        assert client.post(url, {"body": f"Meddelande {n}"}).status_code == 302
    response = client.post(url, {"body": "Min tredje text som inte får försvinna"})
    page = response.content.decode()
    assert response.status_code == 429
    assert LIMITED in page and "Det du skrev finns kvar." in page
    assert "Min tredje text som inte får försvinna" in page
    assert not Message.objects.filter(body="Min tredje text som inte får försvinna").exists()
    # The limit is per citizen: another citizen can still write.
    other = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    login(client, other.citizen.user)
    assert client.post(reverse("eservices:case", args=[other.pk]), {"body": "Hej"}).status_code == 302


@override_settings(CITIZEN_POST_RATE="1/h")
def test_an_invalid_form_does_not_use_up_the_limit(client, org, case_a):
    login(client, case_a.citizen.user)
    url = reverse("eservices:case", args=[case_a.pk])
    assert client.post(url, {"body": ""}).status_code == 200  # "write a message" error
    assert client.post(url, {"body": "Nu skriver jag"}).status_code == 302


@override_settings(CITIZEN_POST_RATE="1/h")
def test_starting_conversations_is_limited_with_the_same_counter(client, org, case_a):
    eservice = EService.objects.create(
        name="Meddelande IFO", slug="meddelande-ifo", unit=org.unit_a, citizen_can_start=True
    )
    ConversationTopic.objects.create(eservice=eservice, topic="adults", unit=org.unit_a, position=0)
    topic = eservice.topics.get()
    login(client, case_a.citizen.user)
    url = reverse("eservices:case", args=[case_a.pk])
    assert client.post(url, {"body": "Första"}).status_code == 302
    start = reverse("eservices:conversation_start", args=[eservice.slug])
    response = client.post(start, {"topic": topic.pk, "subject": "Boende", "body": "Jag behöver hjälp."})
    page = response.content.decode()
    assert response.status_code == 429
    assert LIMITED in page and "Jag behöver hjälp." in page and 'value="Boende"' in page
    assert Case.objects.filter(citizen=case_a.citizen).count() == 1


@override_settings(STAFF_POST_RATE="1/h")
def test_staff_sending_to_the_citizen_is_limited(client, org, case_a):
    login(client, org.handler_a1)
    url = reverse("mailboxes:case_send_citizen", args=[case_a.pk])
    assert client.post(url, {"citizen-body": "Första svaret"}).status_code == 302
    response = client.post(url, {"citizen-body": "Andra svaret, kvar i rutan"})
    page = response.content.decode()
    assert response.status_code == 429
    assert LIMITED in page and "Andra svaret, kvar i rutan" in page
    assert not Message.objects.filter(body="Andra svaret, kvar i rutan").exists()


@override_settings(STAFF_POST_RATE="1/h")
def test_staff_compose_and_reply_are_limited(client, org):
    login(client, org.handler_a1)
    to = mailbox_personal_for(org.handler_a2)
    compose = reverse("mailboxes:compose")
    first = client.post(compose, {"recipients": [to.pk], "subject": "Fråga", "body": "Första"})
    assert first.status_code == 302
    response = client.post(compose, {"recipients": [to.pk], "subject": "Fråga två", "body": "Text kvar"})
    page = response.content.decode()
    assert response.status_code == 429
    assert LIMITED in page and "Text kvar" in page and 'value="Fråga två"' in page
    # Replying counts against the same limit.
    reply = client.post(first["Location"] + "svara/", {"reply-body": "Svar kvar"})
    assert reply.status_code == 429
    assert "Svar kvar" in reply.content.decode()
    assert not Message.objects.filter(body__in=["Text kvar", "Svar kvar"]).exists()


# --- brute force on the citizen test e-ID login ------------------------------------------------


@override_settings(AXES_FAILURE_LIMIT=3)
def test_guessing_personal_identity_numbers_is_locked_out(client, org):
    citizen = factories.citizen()
    url = reverse("eservices:login")
    for n in range(3):
        response = client.post(url, {"personnummer": factories.personnummer(900 + n)})
        assert response.status_code in (200, 429)
    # Locked: even the right number is refused now, with the Swedish lockout page.
    response = client.post(url, {"personnummer": citizen.personnummer})
    page = response.content.decode()
    assert response.status_code == 429
    assert "För många misslyckade inloggningsförsök" in page
    assert "_auth_user_id" not in client.session
    # The personal identity numbers tried are not kept by axes.
    from axes.models import AccessAttempt, AccessFailureLog

    stored = " ".join(str(a.username) + str(a.post_data) for a in AccessAttempt.objects.all())
    stored += " ".join(str(a.username) for a in AccessFailureLog.objects.all())
    assert factories.personnummer(900)[2:8] not in stored


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_right_number_before_the_limit_logs_in(client, org):
    citizen = factories.citizen()
    url = reverse("eservices:login")
    page = client.post(url, {"personnummer": factories.personnummer(950)}).content.decode()
    assert "Vi har inga meddelanden för det här personnumret." in page
    response = client.post(url, {"personnummer": citizen.personnummer})
    assert response.status_code == 302 and response["Location"] == reverse("eservices:portal")
    assert int(client.session["_auth_user_id"]) == citizen.user.pk


def test_the_cache_keeps_one_redis_client_and_still_answers_from_another_thread():
    import threading

    from django.core.cache import cache

    first = cache.client.get_client(write=True)
    cache.set("lifemsg-test-client", 1, 30)
    assert cache.client.get_client(write=True) is first
    seen = []
    worker = threading.Thread(target=lambda: seen.append(cache.incr("lifemsg-test-client")))
    worker.start()
    worker.join()
    assert seen == [2]
    assert cache.get("lifemsg-test-client") == 2
