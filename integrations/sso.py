"""Staff single sign-on through OpenID Connect, on mozilla-django-oidc.

The citizens' e-ID login uses the library's own settings (OIDC_*). Staff SSO reads the same names
with a STAFF_ prefix (`staff_oidc_setting`), through subclasses of the library's backend and views
that override `get_settings`. The staff callback authenticates with the staff backend only, and that
backend is deliberately not in AUTHENTICATION_BACKENDS: `django.contrib.auth.authenticate()` (the
password form, the citizens' OIDC callback) never reaches it, and the staff callback never offers a
staff IdP's code to the citizens' backend. The session is then kept by ModelBackend, like any
staff login.

It only ever creates or logs in staff users (kind=staff); an existing citizen, an API service
account or an inactive user with the claimed username is refused. Optional maps turn IdP group
claims into roles and unit memberships at every login; only the roles and units named in a map are
managed by it, everything else stays as set locally.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import roles
from accounts.backends import MODEL_BACKEND
from accounts.oidc.backend import (
    LOGIN_FAILURES,
    ProviderBackendMixin,
    ProviderLoginViewMixin,
    log_login_failure,
)
from accounts.oidc.logout import end_session_remember
from audit.services import audit_event_record
from mailboxes.models import Unit, UnitMembership
from mailboxes.services.units import mailbox_personal_for, membership_add, membership_remove

logger = logging.getLogger(__name__)

SESSION_BACKEND = MODEL_BACKEND
# Set in the session of a staff SSO login. It stands in for lifemsg's own second factor only when
# STAFF_OIDC_REQUIRED_AMR made the IdP's multi-factor a condition of the login (accounts.otp).
SSO_SESSION_KEY = "staff_sso_login"
FLOW = "staff SSO"

# Library settings that staff SSO fixes rather than reads from the environment.
_FIXED = {
    "OIDC_AUTHENTICATION_CALLBACK_URL": "integrations:sso_callback",
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_STORE_ID_TOKEN": False,
    "OIDC_USERNAME_ALGO": None,
    "OIDC_RP_IDP_SIGN_KEY": None,
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_USE_NONCE": True,
    "OIDC_VERIFY_SSL": True,
    "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {},
}


def staff_oidc_setting(attr: str, *args):
    """mozilla-django-oidc's setting `OIDC_X` read as `STAFF_OIDC_X` (other names as they are)."""
    if attr in _FIXED:
        return _FIXED[attr]
    name = f"STAFF_{attr}" if attr.startswith("OIDC_") else attr
    if hasattr(settings, name):
        return getattr(settings, name)
    if args:
        return args[0]
    raise ImproperlyConfigured(f"Setting {name} not found")


def parse_group_map(value: str) -> dict[str, set[str]]:
    """ "g1=A;g2=B;g1=C" -> {"g1": {"A", "C"}, "g2": {"B"}}. The last "=" splits, so group names may
    contain "=" (some IdPs send distinguished names)."""
    result: dict[str, set[str]] = {}
    for item in (value or "").split(";"):
        item = item.strip()
        if not item:
            continue
        group, sep, target = item.rpartition("=")
        group, target = group.strip(), target.strip()
        if not sep or not group or not target:
            raise ValueError(f"not 'idp-group=value': {item!r}")
        result.setdefault(group, set()).add(target)
    return result


def claim_groups(claims: dict) -> set[str]:
    value = claims.get(settings.STAFF_OIDC_GROUPS_CLAIM)
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    return {str(v) for v in value}


class StaffOIDCBackend(ProviderBackendMixin, OIDCAuthenticationBackend):
    """Staff backend: STAFF_OIDC_* settings, the ID token checked as the citizens' is
    (accounts.oidc.tokens), staff users only."""

    flow = FLOW
    get_settings = staticmethod(staff_oidc_setting)

    def get_userinfo(self, access_token, id_token, payload):
        """Claims of the ID token, completed by the userinfo endpoint when the provider has one
        (Entra ID puts groups in the ID token only)."""
        return {**payload, **self.fetch_userinfo(access_token, payload)}

    def verify_claims(self, claims) -> bool:
        if not str(claims.get(settings.STAFF_OIDC_USERNAME_CLAIM) or "").strip():
            logger.warning("staff SSO: no %s claim", settings.STAFF_OIDC_USERNAME_CLAIM)
            return False
        required_amr = set(settings.STAFF_OIDC_REQUIRED_AMR)
        if required_amr:
            amr = claims.get("amr") or []
            amr = {amr} if isinstance(amr, str) else set(amr)
            if not amr & required_amr:
                logger.warning("staff SSO: login without multi-factor (amr=%s) refused", sorted(amr))
                return False
        return True

    def _username(self, claims) -> str:
        return str(claims[settings.STAFF_OIDC_USERNAME_CLAIM]).strip()[:150]

    def filter_users_by_claims(self, claims):
        # Every user with that name, citizens included, so that a citizen is refused (update_user)
        # rather than duplicated.
        return self.UserModel.objects.filter(username__iexact=self._username(claims))

    def describe_user_by_claims(self, claims) -> str:
        return f"username {self._username(claims)}"

    def _profile(self, claims) -> dict:
        return {
            "email": str(claims.get(settings.STAFF_OIDC_EMAIL_CLAIM) or "")[:254],
            "first_name": str(claims.get(settings.STAFF_OIDC_FIRST_NAME_CLAIM) or "")[:150],
            "last_name": str(claims.get(settings.STAFF_OIDC_LAST_NAME_CLAIM) or "")[:150],
        }

    @transaction.atomic
    def create_user(self, claims):
        User = get_user_model()
        user = User(username=self._username(claims), kind=User.Kind.STAFF, **self._profile(claims))
        user.set_unusable_password()  # SSO users have no local password
        user.save()
        mailbox_personal_for(user)
        audit_event_record(
            actor=None,
            action="sso.user_create",
            target=user,
            after={"username": user.username},
            reason="staff single sign-on",
        )
        staff_access_sync(user=user, groups=claim_groups(claims))
        return user

    @transaction.atomic
    def update_user(self, user, claims):
        if not user.is_staff_user or not user.is_active or hasattr(user, "api_client"):
            raise SuspiciousOperation("staff SSO refused for a non-staff, inactive or service account")
        profile = self._profile(claims)
        changed = [field for field, value in profile.items() if value and getattr(user, field) != value]
        for field in changed:
            setattr(user, field, profile[field])
        if changed:
            user.save(update_fields=changed)
        staff_access_sync(user=user, groups=claim_groups(claims))
        return user


@transaction.atomic
def staff_access_sync(*, user, groups: set[str]) -> None:
    """Bring the roles and units named in STAFF_OIDC_ROLE_MAP / STAFF_OIDC_UNIT_MAP in line with the
    user's IdP groups. Roles and units the maps do not mention are left alone."""
    role_map = parse_group_map(settings.STAFF_OIDC_ROLE_MAP)
    unit_map = parse_group_map(settings.STAFF_OIDC_UNIT_MAP)
    before: dict = {}
    after: dict = {}
    if role_map:
        managed = {r for targets in role_map.values() for r in targets if r in roles.ALL_ROLES}
        wanted = {r for g in groups for r in role_map.get(g, ()) if r in managed}
        current = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
        if current != wanted:
            user.groups.remove(*Group.objects.filter(name__in=current - wanted))
            user.groups.add(*Group.objects.filter(name__in=wanted - current))
            before["roles"], after["roles"] = sorted(current), sorted(wanted)
    if unit_map:
        managed_slugs = {s for targets in unit_map.values() for s in targets}
        units = {
            u.slug: u for u in Unit.objects.filter(slug__in=managed_slugs).select_related("group_mailbox")
        }
        missing = managed_slugs - set(units)
        if missing:
            logger.warning("STAFF_OIDC_UNIT_MAP names unknown unit(s): %s", ", ".join(sorted(missing)))
        wanted = {s for g in groups for s in unit_map.get(g, ()) if s in units}
        current = set(
            UnitMembership.objects.filter(user=user, unit__slug__in=managed_slugs).values_list(
                "unit__slug", flat=True
            )
        )
        for slug in sorted(wanted - current):
            membership_add(unit=units[slug], user=user)
        for slug in sorted(current - wanted):
            membership_remove(unit=units[slug], user=user)
        if current != wanted:
            before["units"], after["units"] = sorted(current), sorted(wanted)
    if after:
        audit_event_record(
            actor=None,
            action="sso.access_sync",
            target=user,
            before=before,
            after=after,
            reason="IdP group claims at staff single sign-on",
        )


class StaffSSOLoginView(ProviderLoginViewMixin, OIDCAuthenticationRequestView):
    """/sso/logga-in/: redirect to the IdP (state, nonce and PKCE kept in the session)."""

    flow = FLOW
    get_settings = staticmethod(staff_oidc_setting)

    def get(self, request):
        if not settings.STAFF_OIDC_ENABLED:
            raise Http404
        return super().get(request)

    def provider_unavailable(self, request):
        return sso_failed(request)


class StaffSSOCallbackView(OIDCAuthenticationCallbackView):
    """/sso/callback/: the library's callback, authenticating with the staff backend only."""

    get_settings = staticmethod(staff_oidc_setting)

    @property
    def failure_url(self) -> str:
        return reverse("integrations:sso_failed")

    def get(self, request):
        if not settings.STAFF_OIDC_ENABLED:
            raise Http404
        states = request.session.get("oidc_states") or {}
        state = request.GET.get("state")
        if request.GET.get("error"):
            logger.info("%s: the IdP answered %s", FLOW, request.GET.get("error")[:100])
            if state in states:
                del request.session["oidc_states"][state]
                request.session.save()
            return self.login_failure()
        if "code" not in request.GET or not state or state not in states:
            return self.login_failure()
        # One use per state: removed before the code is exchanged, so a replay finds nothing.
        entry = request.session["oidc_states"].pop(state)
        request.session.modified = True
        request.session.save()
        backend = StaffOIDCBackend()
        try:
            user = backend.authenticate(
                request, nonce=entry.get("nonce"), code_verifier=entry.get("code_verifier")
            )
        except LOGIN_FAILURES as exc:
            log_login_failure(FLOW, exc)
            user = None
        if user is None or not user.is_active or not user.is_staff_user:
            return self.login_failure()
        if request.user.is_authenticated and request.user.pk != user.pk:
            auth.logout(request)
        user.backend = SESSION_BACKEND
        self.user = user
        response = self.login_success()
        # After login(): the session key was rotated.
        request.session[SSO_SESSION_KEY] = True
        end_session_remember(
            request,
            provider=backend.provider,
            id_token=backend.id_token,
            client_id=backend.OIDC_RP_CLIENT_ID,
            return_to=reverse("accounts:login"),
        )
        return response


def sso_failed(request):
    return render(request, "integrations/sso_failed.html", status=403)
