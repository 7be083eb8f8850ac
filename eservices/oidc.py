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
- the provider (discovery from OIDC_OP_ISSUER), client authentication, the ID token checks and the
  failure log lines are accounts.oidc's, the same as staff SSO's;
- a login is refused unless the ID token passes those checks, has an accepted assurance level (acr,
  OIDC_REQUIRED_ACR) and a valid personnummer in the configured claim (OIDC_PERSONNUMMER_CLAIM), from
  the ID token or the userinfo. The citizen is found or created by that personnummer;
- a foreign e-ID through eIDAS (acr in OIDC_EIDAS_ACR: substantial or high) without a personnummer is
  matched by its eIDAS identifier and a coordination number where present (eservices.eidas);
- a refused or stale callback leaves the session as it was: a logged-in citizen stays logged in, with
  what their logout at the broker needs.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import auth, messages
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import personnummer as pnr
from accounts.oidc.backend import (
    LOGIN_FAILURES,
    ProviderBackendMixin,
    ProviderLoginViewMixin,
    log_login_failure,
)
from accounts.oidc.logout import end_session_remember
from lifemsg.perf.handoff import take_session_user

from .eidas import EidasConflict, EidasUnknown, citizen_from_eidas
from .models import Citizen
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
    # The ID token is kept for logout by accounts.oidc.logout, not by the library.
    "OIDC_STORE_ID_TOKEN": False,
    "OIDC_STORE_ACCESS_TOKEN": False,
}
FLOW = "citizen e-ID"


def citizen_setting(attr: str, *default):
    """Settings for the citizen flow (mozilla-django-oidc's `get_settings` hook)."""
    if attr in _FIXED:
        return _FIXED[attr]
    return import_from_settings(attr, *default)


def accepted_acrs() -> list[str]:
    """OIDC_REQUIRED_ACR: the accepted assurance levels, space- or comma-separated, most wanted first."""
    return [v for v in settings.OIDC_REQUIRED_ACR.replace(",", " ").split() if v]


def eidas_acrs() -> list[str]:
    """OIDC_EIDAS_ACR: the eIDAS levels of assurance accepted for foreign e-IDs (substantial, high)."""
    return [v for v in settings.OIDC_EIDAS_ACR.replace(",", " ").split() if v]


class LoginRefused(SuspiciousOperation):
    """The broker authenticated someone, but not in a way we accept. `reason` picks the message."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


class CitizenOIDCBackend(ProviderBackendMixin, OIDCAuthenticationBackend):
    """Django instantiates every backend on each staff login too: the OIDC settings are read only
    when a citizen login actually runs (ProviderBackendMixin.configure, from authenticate)."""

    flow = FLOW
    get_settings = staticmethod(citizen_setting)

    def authenticate(self, request, citizen_oidc: bool = False, **kwargs):
        if not citizen_oidc or request is None or not settings.CITIZEN_OIDC_ENABLED:
            return None
        return super().authenticate(request, **kwargs)

    # --- what we accept --------------------------------------------------------------------

    def get_userinfo(self, access_token, id_token, payload):
        return self.fetch_userinfo(access_token, payload)

    def check_id_token(self, payload: dict) -> None:
        """What a citizen login needs beyond a valid ID token (accounts.oidc.tokens checked that)."""
        accepted = accepted_acrs()
        if not accepted:
            # Fail closed: without a configured assurance level no e-ID login is accepted.
            logger.error("OIDC_REQUIRED_ACR is not set; refusing citizen e-ID login")
            raise LoginRefused("acr", "no accepted acr configured")
        if payload.get("acr") not in accepted + eidas_acrs():
            raise LoginRefused("acr", "assurance level too low")

    def citizen_claims(self, payload: dict, userinfo: dict) -> tuple[str, str, str]:
        """(personnummer, first name, last name) from the validated ID token and userinfo."""
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

    def foreign_citizen(self, payload: dict, userinfo: dict) -> Citizen:
        """An eIDAS login without a personnummer: matched by the eIDAS identifier and a coordination
        number where the broker gives one (eservices.eidas)."""
        eidas_id = payload.get(settings.OIDC_EIDAS_ID_CLAIM) or userinfo.get(settings.OIDC_EIDAS_ID_CLAIM)
        if not eidas_id or not isinstance(eidas_id, str) or len(eidas_id) > 256:
            raise LoginRefused("personnummer", "neither personnummer nor eIDAS identifier")
        raw = payload.get(settings.OIDC_COORDINATION_NUMBER_CLAIM) or userinfo.get(
            settings.OIDC_COORDINATION_NUMBER_CLAIM
        )
        number = pnr.coordination_number(raw) if isinstance(raw, str) else None
        if raw and number is None:
            raise LoginRefused("personnummer", "coordination number claim invalid")
        try:
            return citizen_from_eidas(
                eidas_id=eidas_id,
                coordination_number=number,
                first_name=str(payload.get("given_name") or userinfo.get("given_name") or "")[:100],
                last_name=str(payload.get("family_name") or userinfo.get("family_name") or "")[:100],
            )
        except EidasUnknown:
            raise LoginRefused("eidas_unknown", "unknown eIDAS identity without coordination number")
        except EidasConflict:
            raise LoginRefused("eidas_conflict", "eIDAS identifier and coordination number disagree")

    def identify(self, access_token, id_token, payload) -> Citizen:
        self.check_id_token(payload)
        userinfo = self.get_userinfo(access_token, id_token, payload)
        claim = settings.OIDC_PERSONNUMMER_CLAIM
        has_personnummer = payload.get(claim) or userinfo.get(claim)
        if not has_personnummer and payload.get("acr") in eidas_acrs():
            return self.foreign_citizen(payload, userinfo)
        number, first, last = self.citizen_claims(payload, userinfo)
        return citizen_from_eid(personnummer=number, first_name=first, last_name=last)

    def get_or_create_user(self, access_token, id_token, payload):
        try:
            citizen = self.identify(access_token, id_token, payload)
        except LoginRefused as refusal:
            self.request.citizen_oidc_refusal = refusal.reason
            raise
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
    if reason == "eidas_unknown":
        return _(
            "We could not find you from your foreign e-ID. Contact the municipality, which can register "
            "your e-ID with your case."
        )
    if reason == "eidas_conflict":
        return _(
            "Your foreign e-ID does not match what the municipality has registered. Contact the municipality."
        )
    if reason == "cancelled":
        return _("The login was cancelled.")
    return _("The login with e-ID did not succeed. Please try again.")


class CitizenOIDCEnabledMixin:
    def dispatch(self, request, *args, **kwargs):
        if not settings.CITIZEN_OIDC_ENABLED:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class CitizenOIDCAuthenticationRequestView(
    CitizenOIDCEnabledMixin, ProviderLoginViewMixin, OIDCAuthenticationRequestView
):
    """Sends the citizen to the e-ID broker (state, nonce and PKCE kept in the session)."""

    flow = FLOW
    get_settings = staticmethod(citizen_setting)

    def provider_unavailable(self, request):
        messages.error(request, _("The e-ID service cannot be reached right now. Please try again later."))
        return HttpResponseRedirect(resolve_url("eservices:login"))

    def get_extra_params(self, request) -> dict:
        params = dict(super().get_extra_params(request))
        acrs = accepted_acrs()
        if acrs:
            params.setdefault("acr_values", " ".join(acrs + eidas_acrs()))
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
        # The session is left as it is: a citizen already logged in stays so (a Back to an old
        # callback URL must not cost them their logout at the broker).
        messages.error(self.request, _refusal_message(reason))
        return HttpResponseRedirect(resolve_url("eservices:login"))

    def login_success(self):
        request = self.request
        if request.user.is_authenticated and request.user.pk != self.user.pk:
            auth.logout(request)
        auth.login(request, self.user, backend=CITIZEN_BACKEND)
        end_session_remember(
            request,
            provider=self.backend.provider,
            id_token=self.backend.id_token,
            client_id=self.backend.OIDC_RP_CLIENT_ID,
            return_to=resolve_url("eservices:login"),
        )
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
            logger.info("%s: the broker answered %s", FLOW, request.GET.get("error")[:100])
            cancelled = request.GET.get("error") in ("access_denied", "login_required", "cancelled")
            return self.login_failure("cancelled" if cancelled else None)
        if entry is None or not request.GET.get("code"):
            return self.login_failure()
        self.backend = CitizenOIDCBackend()
        try:
            user = self.backend.authenticate(
                request,
                citizen_oidc=True,
                nonce=entry.get("nonce"),
                code_verifier=entry.get("code_verifier"),
            )
        except LOGIN_FAILURES as exc:
            log_login_failure(FLOW, exc)
            user = None
        if user is None:
            reason = getattr(request, "citizen_oidc_refusal", None)
            if reason:
                logger.warning("%s login refused: %s", FLOW, reason)
            return self.login_failure(reason)
        self.user = user
        return self.login_success()
