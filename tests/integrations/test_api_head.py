"""HEAD asks what GET asks: every API route answers a HEAD exactly as it answers the GET, whatever
the token's scopes and whether the case exists, so HEAD is no way round a scope (an existence
oracle, or the body's size in Content-Length)."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from integrations.models import ApiClient
from integrations.urls import urlpatterns
from tests import factories

pytestmark = pytest.mark.django_db

READ, WRITE, CONTENT, CASE_FILE = (
    ApiClient.Scope.CASES_READ,
    ApiClient.Scope.CASES_WRITE,
    ApiClient.Scope.MESSAGES_CONTENT,
    ApiClient.Scope.CASE_FILE,
)
SCOPE_SETS = [
    (),
    (READ,),
    (WRITE,),
    (CONTENT,),
    (CASE_FILE,),
    (WRITE, CONTENT),
    (READ, CONTENT),
    (READ, WRITE, CONTENT, CASE_FILE),
]


def _api_urls(external_ids, entry_ids=("5d5f3c0e-0000-4000-8000-000000000001",)) -> list[str]:
    """Every named API route (integrations/urls.py: api_*), with each of `external_ids` (or of
    `entry_ids`, a journalled document's) if it takes one."""
    urls = []
    for pattern in urlpatterns:
        if not (pattern.name or "").startswith("api_"):
            continue
        name = f"integrations:{pattern.name}"
        if "external_id" in pattern.pattern.regex.groupindex:
            urls += [reverse(name, kwargs={"external_id": e}) for e in external_ids]
        elif "entry_id" in pattern.pattern.regex.groupindex:
            urls += [reverse(name, kwargs={"entry_id": e}) for e in entry_ids]
        else:
            urls.append(reverse(name))
    return urls


def test_head_on_every_api_route_answers_as_get_for_every_scope(org, make_api):
    case = factories.case(eservice_obj=org.eservice_a, handler=org.handler_a1)
    type(case).objects.filter(pk=case.pk).update(external_id="LC-HEAD-1")
    case.external_id = "LC-HEAD-1"
    urls = _api_urls([case.external_id, "LC-MISSING-1"])
    assert len(urls) >= 8
    different = []
    for scopes, url, query in itertools.product(SCOPE_SETS, urls, ({}, {"content": "true"})):
        _client, http = make_api(scopes=scopes)
        got, head = http.get(url, query), http.head(url, query)
        if head.status_code != got.status_code:
            different.append(f"{scopes} {url} {query}: GET {got.status_code}, HEAD {head.status_code}")
        assert not head.content
    assert not different, "\n".join(different)
