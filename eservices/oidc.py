"""Citizen login with e-ID: OpenID Connect against the municipality's e-ID broker (BankID, Freja eID+),
through mozilla-django-oidc.

The citizen flow has its own subclasses of the library's backend and views, mounted under
/medborgare/oidc/ (eservices.urls), instead of the library's global urls and settings-driven classes:
staff SSO is a separate flow with its own settings (STAFF_OIDC_*), and neither must ever answer for the
other. Concretely:

- every setting this flow reads goes through `citizen_setting`: the citizen's OIDC_* settings, with
  the callback URL and redirects fixed to the citizen pages;
- the callback view calls CitizenOIDCBackend directly (not `django.contrib.auth.authenticate`), so no
  other backend is ever handed a citizen's authorisation code; the backend sits in
  AUTHENTICATION_BACKENDS only so that sessions it created load, and `authenticate` answers nothing
  unless called by that view;
- a login is refused unless the ID token is for us (aud/azp, optionally iss), has an accepted
  assurance level (acr, OIDC_REQUIRED_ACR) and carries a valid personnummer in the configured claim
  (OIDC_PERSONNUMMER_CLAIM). The citizen is found or created by that personnummer.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.backends import take_session_user

from . import personnummer as pnr
from .services import citizen_from_eid

logger = logging.getLogger(__name__)

CITIZEN_BACKEND = "eservices.oidc.CitizenOIDCBackend"

# Library settings whose value is a property of the citizen flow, not of the deployment.
_FIXED = {
    "OIDC_AUTHENTICATION_CALLBACK_URL": "eservices:oidc_callback",
    "LOGIN_REDIRECT_URL": "eservices:portal",
    "LOGIN_REDIRECT_URL_FAILURE": "eservices:login",
    "OIDC_REDIRECT_FIELD_NAME": "next",
    "OIDC_CREATE_USER": True,
}


def citizen_setting(attr: str, *default):
    """Settings for the citizen flow (mozilla-django-oidc's `get_settings` hook)."""
    if attr in _FIXED:
        return _FIXED[attr]
    if attr == "OIDC_STORE_ID_TOKEN":
        # Kept only when it is needed to end the session at the broker on logout.
        return bool(settings.OIDC_OP_LOGOUT_ENDPOINT)
    return import_from_settings(attr, *default)


def accepted_acrs() -> list[str]:
    """OIDC_REQUIRED_ACR: the accepted assurance levels, space- or comma-separated, most wanted first."""
    return [v for v in settings.OIDC_REQUIRED_ACR.replace(",", " ").split() if v]


class LoginRefused(SuspiciousOperation):
    """The broker authenticated someone, but not in a way we accept. `reason` picks the message."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


class CitizenOIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # Django instantiates every backend on each staff login too: read the OIDC settings only when
        # a citizen login actually runs (see authenticate).
        self.UserModel = get_user_model()

    get_settings = staticmethod(citizen_setting)

    def authenticate(self, request, citizen_oidc: bool = False, **kwargs):
        if not citizen_oidc or request is None or not settings.CITIZEN_OIDC_ENABLED:
            return None
        super().__init__()
        return super().authenticate(request, **kwargs)

    # --- what we accept --------------------------------------------------------------------

    def get_userinfo(self, access_token, id_token, payload):
        if not self.OIDC_OP_USER_ENDPOINT:
            return {}
        return super().get_userinfo(access_token, id_token, payload)

    def check_id_token(self, payload: dict) -> None:
        client_id = self.OIDC_RP_CLIENT_ID
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if client_id not in audiences:
            raise LoginRefused("token", "ID token audience is not this client")
        if len(audiences) > 1 and payload.get("azp") != client_id:
            raise LoginRefused("token", "ID token azp is not this client")
        issuer = settings.OIDC_OP_ISSUER
        if issuer and payload.get("iss") != issuer:
            raise LoginRefused("token", "ID token issuer mismatch")
        if "exp" not in payload:  # PyJWT checks exp only when present
            raise LoginRefused("token", "ID token without exp")
        accepted = accepted_acrs()
        if not accepted:
            # Fail closed: without a configured assurance level no e-ID login is accepted.
            logger.error("OIDC_REQUIRED_ACR is not set; refusing citizen e-ID login")
            raise LoginRefused("acr", "no accepted acr configured")
        if payload.get("acr") not in accepted:
            raise LoginRefused("acr", "assurance level too low")

    def citizen_claims(self, payload: dict, userinfo: dict) -> tuple[str, str, str]:
        """(personnummer, first name, last name) from the validated ID token and userinfo."""
        if userinfo and payload.get("sub") and userinfo.get("sub") not in (None, payload.get("sub")):
            raise LoginRefused("token", "userinfo sub differs from the ID token's")
        claim = settings.OIDC_PERSONNUMMER_CLAIM
        raw = payload.get(claim) or userinfo.get(claim)
        if not raw or not isinstance(raw, str):
            raise LoginRefused("personnummer", "personnummer claim missing")
        try:
            number = pnr.normalise(raw)
        except ValidationError:
            raise LoginRefused("personnummer", "personnummer claim invalid")
        first = str(payload.get("given_name") or userinfo.get("given_name") or "")[:100]
        last = str(payload.get("family_name") or userinfo.get("family_name") or "")[:100]
        return number, first, last

    def get_or_create_user(self, access_token, id_token, payload):
        try:
            self.check_id_token(payload)
            userinfo = self.get_userinfo(access_token, id_token, payload)
            number, first, last = self.citizen_claims(payload, userinfo)
        except LoginRefused as refusal:
            self.request.citizen_oidc_refusal = refusal.reason
            raise
        citizen = citizen_from_eid(personnummer=number, first_name=first, last_name=last)
        user = citizen.user
        if not user.is_active or not user.is_citizen:
            self.request.citizen_oidc_refusal = "inactive"
            raise LoginRefused("inactive", "account not active")
        return user

    # --- sessions and permissions ----------------------------------------------------------

    def get_user(self, user_id):
        # The session read brought the user along (accounts.sessions), else one query.
        offered = take_session_user(user_id)
        user = offered[0] if offered else self.UserModel.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active and user.is_citizen else None

    # A citizen has no model permissions; this backend grants nothing.
    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()


def _refusal_message(reason: str | None) -> str:
    if reason == "acr":
        return _(
            "Your e-ID does not have the security level needed here. Log in with BankID or with "
            "Freja eID+ (Freja with a verified identity)."
        )
    if reason == "personnummer":
        return _("We could not read a valid personal identity number from your e-ID. Please try again.")
    if reason == "cancelled":
        return _("The login was cancelled.")
    return _("The login with e-ID did not succeed. Please try again.")


class CitizenOIDCEnabledMixin:
    def dispatch(self, request, *args, **kwargs):
        if not settings.CITIZEN_OIDC_ENABLED:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class CitizenOIDCAuthenticationRequestView(CitizenOIDCEnabledMixin, OIDCAuthenticationRequestView):
    """Sends the citizen to the e-ID broker (state, nonce and PKCE kept in the session)."""

    get_settings = staticmethod(citizen_setting)

    def get_extra_params(self, request) -> dict:
        params = dict(super().get_extra_params(request))
        acrs = accepted_acrs()
        if acrs:
            params.setdefault("acr_values", " ".join(acrs))
        params.setdefault("ui_locales", get_language() or settings.LANGUAGE_CODE)
        return params


class CitizenOIDCCallbackView(CitizenOIDCEnabledMixin, OIDCAuthenticationCallbackView):
    """The broker's redirect back: redeem the code through CitizenOIDCBackend, log the citizen in."""

    get_settings = staticmethod(citizen_setting)

    @property
    def success_url(self) -> str:
        next_url = self.request.session.pop("oidc_login_next", None)
        # Only ever back into the citizen portal.
        if next_url and next_url.startswith("/medborgare/") and not next_url.startswith("//"):
            return next_url
        return resolve_url("eservices:portal")

    def login_failure(self, reason: str | None = None):
        self.request.session.pop("oidc_id_token", None)
        messages.error(self.request, _refusal_message(reason))
        return HttpResponseRedirect(resolve_url("eservices:login"))

    def login_success(self):
        request = self.request
        if request.user.is_authenticated and request.user.pk != self.user.pk:
            auth.logout(request)
        auth.login(request, self.user, backend=CITIZEN_BACKEND)
        return HttpResponseRedirect(self.success_url)

    def get(self, request):
        states = request.session.get("oidc_states") or {}
        state = request.GET.get("state")
        entry = states.pop(state, None) if state else None
        if entry is not None:
            # One use per state (replay protection), also when the broker reports an error.
            request.session["oidc_states"] = states
            request.session.save()
        if request.GET.get("error"):
            if request.user.is_authenticated:
                auth.logout(request)
            cancelled = request.GET.get("error") in ("access_denied", "login_required", "cancelled")
            return self.login_failure("cancelled" if cancelled else None)
        if entry is None or not request.GET.get("code"):
            return self.login_failure()
        backend = CitizenOIDCBackend()
        try:
            user = backend.authenticate(
                request,
                citizen_oidc=True,
                nonce=entry.get("nonce"),
                code_verifier=entry.get("code_verifier"),
            )
        except (SuspiciousOperation, requests.RequestException, jwt.PyJWTError, KeyError, ValueError) as exc:
            logger.warning("citizen e-ID login failed: %s", type(exc).__name__)
            user = None
        if user is None:
            reason = getattr(request, "citizen_oidc_refusal", None)
            logger.info("citizen e-ID login refused (%s)", reason or "token")
            return self.login_failure(reason)
        self.user = user
        return self.login_success()


def broker_logout_url(request, id_token: str | None) -> str | None:
    """Where to send a citizen on logout to end the e-ID session at the broker too (shared
    computers), if the broker has an end-session endpoint configured."""
    endpoint = settings.OIDC_OP_LOGOUT_ENDPOINT
    if not endpoint or not id_token:
        return None
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": request.build_absolute_uri(resolve_url("eservices:login")),
        "client_id": settings.OIDC_RP_CLIENT_ID,
    }
    return f"{endpoint}?{urlencode(params)}"
