"""Staff SSO against an in-process stub OpenID provider (no network): `responses` answers the token,
JWKS and userinfo endpoints; ID tokens are RS256-signed with a key made for the test run."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from accounts import roles
from audit.models import AuditEvent
from integrations.sso import SSO_SESSION_KEY
from mailboxes.models import UnitMembership
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()

ISSUER = "https://idp.kommun.example.test/realms/staff"
CLIENT_ID = "lifemsg-staff"
CLIENT_SECRET = "stub-client-secret"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "stub-key-1"


def sso_settings(**extra):
    values = {
        "STAFF_OIDC_ENABLED": True,
        "STAFF_OIDC_RP_CLIENT_ID": CLIENT_ID,
        "STAFF_OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "STAFF_OIDC_RP_SIGN_ALGO": "RS256",
        "STAFF_OIDC_OP_ISSUER": ISSUER,
        "STAFF_OIDC_OP_DISCOVERY": False,
        "STAFF_OIDC_OP_AUTHORIZATION_ENDPOINT": f"{ISSUER}/auth",
        "STAFF_OIDC_OP_TOKEN_ENDPOINT": f"{ISSUER}/token",
        "STAFF_OIDC_OP_USER_ENDPOINT": f"{ISSUER}/userinfo",
        "STAFF_OIDC_OP_JWKS_ENDPOINT": f"{ISSUER}/certs",
        "STAFF_OIDC_ROLE_MAP": "ifo-handlaggare=Handläggare;ifo-chefer=Enhetschef;ifo-chefer=Handläggare",
        "STAFF_OIDC_UNIT_MAP": "",
        "STAFF_OIDC_REQUIRED_AMR": [],
    }
    values.update(extra)
    return override_settings(**values)


@dataclass
class StubProvider:
    """What the IdP would do: remember the authorization request, issue a code, answer the token
    endpoint (checking client secret, redirect URI and PKCE) with a signed ID token."""

    claims: dict
    codes: dict = field(default_factory=dict)
    token_status: int = 200
    audience: str = CLIENT_ID
    nonce_override: str | None = None
    token_requests: list = field(default_factory=list)
    # Claims of the ID token to change (None removes one), e.g. {"exp": None} or a clock ahead.
    id_claims: dict = field(default_factory=dict)
    token_error: dict = field(default_factory=lambda: {"error": "server_error"})

    def install(self, rsps: responses.RequestsMock) -> None:
        public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
        rsps.get(f"{ISSUER}/certs", json={"keys": [{**public_jwk, "kid": KID, "alg": "RS256", "use": "sig"}]})
        rsps.add_callback(responses.POST, f"{ISSUER}/token", callback=self.token)
        rsps.add_callback(responses.GET, f"{ISSUER}/userinfo", callback=self.userinfo)

    def authorize(self, location: str) -> dict:
        """The browser arrives at the IdP; the user logs in (with MFA); the IdP redirects back."""
        url = urlparse(location)
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/auth"
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert params["client_id"] == CLIENT_ID and params["response_type"] == "code"
        assert "openid" in params["scope"].split()
        code = f"code-{len(self.codes) + 1}"
        self.codes[code] = params
        return {"code": code, "state": params["state"]}

    def token(self, request):
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        self.token_requests.append(form)
        if self.token_status != 200:
            return self.token_status, {}, json.dumps(self.token_error)
        auth = self.codes.pop(form.get("code"), None)
        if (
            auth is None
            or client_secret(request, form) != CLIENT_SECRET
            or form["redirect_uri"] != auth["redirect_uri"]
        ):
            return 400, {}, json.dumps({"error": "invalid_grant"})
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(
            b"="
        )
        if challenge.decode() != auth["code_challenge"]:
            return 400, {}, json.dumps({"error": "invalid_grant", "error_description": "PKCE"})
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": self.audience,
            "sub": self.claims["sub"],
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce_override or auth["nonce"],
            **{k: v for k, v in self.claims.items() if k in ("groups", "amr")},
        }
        payload.update(self.id_claims)
        id_token = jwt.encode(
            {k: v for k, v in payload.items() if v is not None},
            KEY,
            algorithm="RS256",
            headers={"kid": KID},
        )
        return (
            200,
            {},
            json.dumps({"id_token": id_token, "access_token": "stub-access", "token_type": "Bearer"}),
        )

    def userinfo(self, request):
        assert request.headers["Authorization"] == "Bearer stub-access"
        return 200, {}, json.dumps({k: v for k, v in self.claims.items() if k not in ("groups", "amr")})


def client_secret(request, form: dict) -> str | None:
    """The secret the client authenticated with: HTTP Basic (client_secret_basic) or the form."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        return base64.b64decode(header[6:]).decode().partition(":")[2]
    return form.get("client_secret")


def claims(username="anna.ek@kommun.example", groups=("ifo-handlaggare",), **extra) -> dict:
    return {
        "sub": f"sub-{username}",
        "preferred_username": username,
        "email": username,
        "given_name": "Anna",
        "family_name": "Ek",
        "groups": list(groups),
        "amr": ["pwd", "mfa"],
        **extra,
    }


def sso_login(client, provider: StubProvider, next_url: str = "/"):
    """Run the whole browser flow; return the callback's response."""
    start = client.get(reverse("integrations:sso_login"), {"next": next_url})
    assert start.status_code == 302
    params = provider.authorize(start["Location"])
    return client.get(reverse("integrations:sso_callback"), params)


@pytest.fixture
def stub():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:

        def make(**kwargs) -> StubProvider:
            provider = StubProvider(claims=claims(**kwargs))
            provider.install(rsps)
            return provider

        yield make


def logged_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


@sso_settings(STAFF_OIDC_UNIT_MAP="ifo-handlaggare=enhet-sso;ifo-chefer=enhet-sso")
def test_first_login_creates_a_staff_user_with_mapped_roles_and_units_and_logs_in(client, stub):
    unit = factories.unit("IFO SSO-enheten")
    unit.slug = "enhet-sso"
    unit.save(update_fields=["slug"])
    provider = stub()

    response = sso_login(client, provider, next_url="/brevlador/")

    assert response.status_code == 302
    assert response["Location"] == "/brevlador/"
    user = logged_in_user(client)
    assert user is not None
    assert (user.username, user.kind, user.email, user.get_full_name()) == (
        "anna.ek@kommun.example",
        "staff",
        "anna.ek@kommun.example",
        "Anna Ek",
    )
    assert not user.has_usable_password()
    assert set(user.groups.filter(name__in=roles.ALL_ROLES).values_list("name", flat=True)) == {"Handläggare"}
    assert user.has_perm("accounts.use_mailboxes")
    assert UnitMembership.objects.filter(user=user, unit=unit).exists()
    assert user.has_perm("mailboxes.access_mailbox", unit.group_mailbox)
    # the code was exchanged with the client secret and the PKCE verifier
    assert provider.token_requests[0]["grant_type"] == "authorization_code"
    assert AuditEvent.objects.filter(action="sso.user_create", target_id=str(user.pk)).exists()
    assert client.session[SSO_SESSION_KEY] is True
    assert client.get(reverse("accounts:home"), follow=True).status_code == 200


@sso_settings(STAFF_OIDC_UNIT_MAP="ifo-handlaggare=enhet-a;ifo-chefer=enhet-b")
def test_next_login_follows_group_changes_and_leaves_unmapped_roles_alone(client, stub):
    unit_a, unit_b = factories.unit(), factories.unit()
    for unit, slug in ((unit_a, "enhet-a"), (unit_b, "enhet-b")):
        unit.slug = slug
        unit.save(update_fields=["slug"])
    sso_login(client, stub(groups=["ifo-handlaggare"]))
    user = logged_in_user(client)
    user.groups.add(Group.objects.get(name=roles.LOGGRANSKARE))  # given locally, not by the IdP
    client.logout()

    sso_login(client, stub(groups=["ifo-chefer"]))

    user = logged_in_user(client)
    assert set(user.groups.filter(name__in=roles.ALL_ROLES).values_list("name", flat=True)) == {
        "Enhetschef",
        "Handläggare",
        "Loggranskare",
    }
    assert set(UnitMembership.objects.filter(user=user).values_list("unit__slug", flat=True)) == {"enhet-b"}
    event = AuditEvent.objects.filter(action="sso.access_sync", target_id=str(user.pk)).latest("at")
    assert event.before == {"roles": ["Handläggare"], "units": ["enhet-a"]}
    assert event.after == {"roles": ["Enhetschef", "Handläggare"], "units": ["enhet-b"]}


@sso_settings()
def test_existing_local_staff_account_is_matched_by_username(client, stub):
    local = factories.staff(roles.HANDLAGGARE, username="Bo.Berg@kommun.example")
    sso_login(client, stub(username="bo.berg@kommun.example"))
    assert logged_in_user(client) == local
    assert User.objects.filter(username__iexact="bo.berg@kommun.example").count() == 1


@sso_settings()
def test_sso_never_logs_in_a_citizen(client, stub):
    citizen = factories.citizen()
    response = sso_login(client, stub(username=citizen.user.username))
    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:sso_failed")
    assert logged_in_user(client) is None
    page = client.get(response["Location"])
    assert page.status_code == 403
    assert "Inloggningen med ditt organisationskonto misslyckades" in page.content.decode()
    citizen.user.refresh_from_db()
    assert citizen.user.kind == "citizen" and not citizen.user.groups.exists()


@sso_settings()
def test_inactive_accounts_and_api_service_accounts_are_refused(client, stub):
    from integrations.services import api_client_create

    factories.staff(username="slutat", is_active=False)
    assert sso_login(client, stub(username="slutat"))["Location"] == reverse("integrations:sso_failed")
    service = api_client_create(name="system", scopes=["cases:read"]).client.user
    assert sso_login(client, stub(username=service.username))["Location"] == reverse(
        "integrations:sso_failed"
    )
    assert logged_in_user(client) is None


@sso_settings()
def test_a_token_for_another_client_is_refused(client, stub):
    provider = stub()
    provider.audience = "some-other-app"
    assert sso_login(client, provider)["Location"] == reverse("integrations:sso_failed")
    assert logged_in_user(client) is None
    assert not User.objects.filter(username="anna.ek@kommun.example").exists()


@sso_settings()
def test_a_wrong_nonce_or_unknown_state_is_refused(client, stub):
    provider = stub()
    provider.nonce_override = "replayed-nonce"
    assert sso_login(client, provider)["Location"] == reverse("integrations:sso_failed")
    response = client.get(reverse("integrations:sso_callback"), {"code": "x", "state": "never-issued"})
    assert response["Location"] == reverse("integrations:sso_failed")
    assert logged_in_user(client) is None


@sso_settings()
def test_a_state_cannot_be_used_twice(client, stub):
    provider = stub()
    start = client.get(reverse("integrations:sso_login"))
    params = provider.authorize(start["Location"])
    client.get(reverse("integrations:sso_callback"), params)
    client.logout()
    again = client.get(reverse("integrations:sso_callback"), params)
    assert again["Location"] == reverse("integrations:sso_failed")


@sso_settings()
def test_provider_errors_end_on_the_failure_page_not_a_server_error(client, stub):
    provider = stub()
    provider.token_status = 500
    assert sso_login(client, provider)["Location"] == reverse("integrations:sso_failed")
    start = client.get(reverse("integrations:sso_login"))
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    denied = client.get(reverse("integrations:sso_callback"), {"error": "access_denied", "state": state})
    assert denied["Location"] == reverse("integrations:sso_failed")
    assert logged_in_user(client) is None


@sso_settings(STAFF_OIDC_REQUIRED_AMR=["mfa", "otp"])
def test_login_without_multi_factor_is_refused_when_required(client, stub):
    assert sso_login(client, stub(amr=["pwd"]))["Location"] == reverse("integrations:sso_failed")
    assert logged_in_user(client) is None
    sso_login(client, stub(amr=["pwd", "otp"]))
    assert logged_in_user(client) is not None


def test_sso_is_off_without_configuration(client):
    assert not settings.STAFF_OIDC_ENABLED
    assert client.get(reverse("integrations:sso_login")).status_code == 404
    assert client.get(reverse("integrations:sso_callback")).status_code == 404


def test_staff_backend_is_never_asked_by_django_authenticate():
    # the password form and the citizens' e-ID callback go through authenticate(); staff SSO must
    # never see (or be seen by) them
    assert not any("integrations" in backend for backend in settings.AUTHENTICATION_BACKENDS)


@sso_settings()
def test_login_link_shows_only_when_sso_is_on(rf):
    from django.template import Context, Template

    template = Template('{% include "integrations/includes/sso_login_link.html" %}')
    assert "Logga in med ditt organisationskonto" in template.render(Context({"next": "/x/"}))
    with override_settings(STAFF_OIDC_ENABLED=False):
        assert "organisationskonto" not in template.render(Context({}))


def test_role_map_with_an_unknown_role_fails_the_system_check():
    from django.core.management.base import SystemCheckError

    with (
        override_settings(STAFF_OIDC_ROLE_MAP="g1=Handläggare;g2=Kung"),
        pytest.raises(SystemCheckError, match="Kung"),
    ):
        call_command("check")
    with override_settings(STAFF_OIDC_UNIT_MAP="utan-likhetstecken"), pytest.raises(SystemCheckError):
        call_command("check")
