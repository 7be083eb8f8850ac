"""mozilla-django-oidc's backend and login view, made to use the shared provider configuration,
client authentication method, token validation and failure log lines. Each flow's subclass sets
`get_settings` (its own setting names) and `flow` (its name in log lines)."""

from __future__ import annotations

import logging
from urllib.parse import quote

import jwt
import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from requests.auth import HTTPBasicAuth

from .provider import Provider, ProviderError, provider_error, provider_for
from .tokens import TokenRefused, token_algorithm, validate_id_token

logger = logging.getLogger("lifemsg.oidc")

# Everything a login against a provider can fail with, short of a bug.
LOGIN_FAILURES = (
    SuspiciousOperation,
    ProviderError,
    requests.RequestException,
    jwt.PyJWTError,
    KeyError,
    ValueError,
)


def log_login_failure(flow: str, exc: BaseException) -> None:
    """One line an operator can act on: the failed check or the provider's error; never a token, a
    secret or a personnummer (none of these exceptions carries one)."""
    if isinstance(exc, TokenRefused | ProviderError):
        logger.warning("%s login refused: %s", flow, exc)
    elif isinstance(exc, requests.RequestException):
        url = getattr(exc.request, "url", "") or ""
        logger.warning(
            "%s login failed: provider not reachable (%s) at %s", flow, type(exc).__name__, url.split("?")[0]
        )
    else:
        logger.warning("%s login refused: %s", flow, type(exc).__name__)


class ProviderBackendMixin:
    """Put before OIDCAuthenticationBackend. Settings are read when a login runs (`configure`), not
    when Django instantiates the backend."""

    flow = "OIDC"
    provider: Provider

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()

    def configure(self) -> None:
        get = self.get_settings
        self.provider = provider_for(get)
        self.OIDC_OP_TOKEN_ENDPOINT = self.provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = self.provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = self.provider.jwks_uri or None
        self.OIDC_RP_CLIENT_ID = get("OIDC_RP_CLIENT_ID")
        self.OIDC_RP_CLIENT_SECRET = get("OIDC_RP_CLIENT_SECRET", "")
        self.OIDC_RP_SIGN_ALGO = get("OIDC_RP_SIGN_ALGO", "RS256")
        self.OIDC_RP_IDP_SIGN_KEY = get("OIDC_RP_IDP_SIGN_KEY", None)
        if not self.OIDC_OP_TOKEN_ENDPOINT:
            raise ImproperlyConfigured(f"{self.flow}: no token endpoint (set the issuer or the endpoint)")
        self.id_token = None

    def authenticate(self, request, **kwargs):
        self.configure()
        return super().authenticate(request, **kwargs)

    # --- the token request ---------------------------------------------------------------

    def get_token(self, payload):
        payload = dict(payload)
        auth = None
        if self.provider.token_auth_method == "client_secret_basic":
            # RFC 6749 2.3.1: id and secret are form-encoded before they go into the Basic header.
            auth = HTTPBasicAuth(
                quote(payload.pop("client_id"), safe=""), quote(payload.pop("client_secret"), safe="")
            )
        response = requests.post(
            self.OIDC_OP_TOKEN_ENDPOINT,
            data=payload,
            auth=auth,
            verify=self.get_settings("OIDC_VERIFY_SSL", True),
            timeout=self.get_settings("OIDC_TIMEOUT", None),
            proxies=self.get_settings("OIDC_PROXY", None),
        )
        if response.status_code != 200:
            error = provider_error("token", response)
            if error.error == "invalid_client":
                error.args = (f"{error.args[0]} [client authentication: {self.provider.token_auth_method}]",)
            raise error
        return response.json()

    def store_tokens(self, access_token, id_token):
        # Nothing goes into the session here: the flow's callback keeps the ID token for logout
        # (accounts.oidc.logout) once the user is logged in, in the session that login made.
        self.id_token = id_token

    # --- the ID token --------------------------------------------------------------------

    def signing_key(self, token: str):
        if self.OIDC_RP_SIGN_ALGO.startswith("HS"):
            return self.OIDC_RP_CLIENT_SECRET
        if self.OIDC_RP_IDP_SIGN_KEY:
            return self.OIDC_RP_IDP_SIGN_KEY
        if not self.OIDC_OP_JWKS_ENDPOINT:
            raise ImproperlyConfigured(f"{self.flow}: no JWKS endpoint (set the issuer or the endpoint)")
        try:
            return self.retrieve_matching_jwk(token)
        except (SuspiciousOperation, KeyError) as exc:
            raise TokenRefused("key", str(exc)[:100])

    def algorithms(self) -> list[str]:
        return self.OIDC_RP_SIGN_ALGO.replace(",", " ").split()

    def verify_token(self, token, **kwargs):
        leeway = self.get_settings("OIDC_CLOCK_LEEWAY_SECONDS", 10)
        return validate_id_token(
            token,
            key_for=self.signing_key,
            algorithms=self.algorithms(),
            client_id=self.OIDC_RP_CLIENT_ID,
            issuer=self.provider.issuer,
            nonce=kwargs.get("nonce"),
            require_nonce=self.get_settings("OIDC_USE_NONCE", True),
            leeway=float(leeway if leeway is not None else 10),
            max_age=int(self.get_settings("OIDC_MAX_AGE", 0) or 0),
        )

    # --- userinfo ------------------------------------------------------------------------

    def fetch_userinfo(self, access_token, payload) -> dict:
        """The userinfo endpoint's claims about the ID token's subject ({} without an endpoint)."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return {}
        response = requests.get(
            self.OIDC_OP_USER_ENDPOINT,
            headers={"Authorization": f"Bearer {access_token}"},
            verify=self.get_settings("OIDC_VERIFY_SSL", True),
            timeout=self.get_settings("OIDC_TIMEOUT", None),
            proxies=self.get_settings("OIDC_PROXY", None),
        )
        if response.status_code != 200:
            raise provider_error("userinfo", response)
        if response.headers.get("content-type", "").lower().startswith("application/jwt"):
            alg = token_algorithm(response.text, self.algorithms())
            claims = jwt.decode(
                response.text,
                self.signing_key(response.text),
                algorithms=[alg],
                options={"verify_aud": False},
            )
        else:
            claims = response.json()
        # OpenID Connect Core 5.3.2: the userinfo must be about the ID token's subject.
        if not isinstance(claims, dict) or claims.get("sub") != payload.get("sub"):
            raise ProviderError("userinfo", "the userinfo is about another subject than the ID token")
        return claims


class ProviderLoginViewMixin:
    """Put before OIDCAuthenticationRequestView: the authorization endpoint from the provider
    configuration, and prompt=login / max_age for shared computers (OIDC_PROMPT_LOGIN, OIDC_MAX_AGE).
    A provider that cannot be reached for discovery gets `provider_unavailable` (the flow's page)."""

    flow = "OIDC"

    def get(self, request):
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_for(self.get_settings).authorization_endpoint
        except (ProviderError, requests.RequestException) as exc:
            log_login_failure(self.flow, exc)
            return self.provider_unavailable(request)
        return super().get(request)

    def provider_unavailable(self, request):
        raise NotImplementedError

    def get_extra_params(self, request) -> dict:
        params = dict(super().get_extra_params(request))
        if self.get_settings("OIDC_PROMPT_LOGIN", False):
            params["prompt"] = "login"
        max_age = int(self.get_settings("OIDC_MAX_AGE", 0) or 0)
        if max_age:
            params["max_age"] = str(max_age)
        return params
