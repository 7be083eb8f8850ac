"""Where a flow's OpenID provider is: its discovery document (`<issuer>/.well-known/openid-configuration`)
fills in every endpoint the settings leave empty, so IT enters the issuer, client id and secret.

The discovery document is cached (OIDC_DISCOVERY_CACHE_SECONDS, default an hour) in the shared cache:
it changes rarely, and a login should not cost an extra round trip to the provider. The signing keys
are not cached here: mozilla-django-oidc fetches the JWKS at each login, so a key rotation at the
provider never locks anyone out.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

Setting = Callable[..., object]
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class ProviderError(Exception):
    """The provider answered, but not with what a login needs. `step` is where (discovery, token,
    userinfo, jwks), `error` the provider's OAuth error code when it sent one (invalid_client ...)."""

    def __init__(self, step: str, detail: str, error: str = ""):
        self.step, self.error = step, error
        super().__init__(f"{step}: {detail}")


def provider_error(step: str, response: requests.Response) -> ProviderError:
    """The provider's own words for a refused request (RFC 6749 5.2): error and error_description,
    which name the problem (invalid_client, invalid_grant) and never carry a token."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    error = str(body.get("error") or "")[:100]
    description = str(body.get("error_description") or "")[:200]
    detail = f"HTTP {response.status_code}" + (f" {error}" if error else "")
    return ProviderError(step, detail + (f" ({description})" if description else ""), error)


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str
    token_auth_method: str

    @property
    def end_session_origin(self) -> str:
        parts = urlsplit(self.end_session_endpoint)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def discovery_document(issuer: str, *, timeout: float) -> dict:
    key = "oidc:discovery:" + hashlib.sha256(issuer.encode()).hexdigest()
    try:
        document = cache.get(key)
    except Exception:  # a cache outage must not stop logins; fetch instead
        logger.warning("OIDC discovery cache unavailable; fetching from the provider")
        document = None
    if document is not None:
        return document
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    response = requests.get(url, timeout=timeout)
    if response.status_code != 200:
        raise provider_error("discovery", response)
    try:
        document = response.json()
    except ValueError:
        raise ProviderError("discovery", f"{url} is not JSON")
    # OpenID Connect Discovery 4.3: the document must be the issuer's own.
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise ProviderError("discovery", f"the document at {url} names another issuer")
    try:
        cache.set(key, document, settings.OIDC_DISCOVERY_CACHE_SECONDS)
    except Exception:
        logger.warning("OIDC discovery cache unavailable; document not cached")
    return document


def choose_auth_method(configured: str, supported: list[str] | None) -> str:
    """The configured client authentication method; if none, client_secret_basic (the OpenID default)
    unless the provider's discovery document offers only client_secret_post."""
    if configured:
        if configured not in AUTH_METHODS:
            raise ProviderError("settings", f"token auth method {configured!r} is not one of {AUTH_METHODS}")
        return configured
    if supported and "client_secret_basic" not in supported and "client_secret_post" in supported:
        return "client_secret_post"
    return "client_secret_basic"


def provider_for(get_setting: Setting) -> Provider:
    """The flow's provider: each endpoint from its setting, else from the issuer's discovery document
    (when OIDC_OP_ISSUER is set and OIDC_OP_DISCOVERY is on)."""
    issuer = str(get_setting("OIDC_OP_ISSUER", "") or "")
    document: dict = {}
    if issuer and get_setting("OIDC_OP_DISCOVERY", True):
        document = discovery_document(issuer, timeout=float(get_setting("OIDC_TIMEOUT", 10) or 10))

    def pick(name: str, field: str) -> str:
        return str(get_setting(name, "") or document.get(field) or "")

    return Provider(
        issuer=issuer,
        authorization_endpoint=pick("OIDC_OP_AUTHORIZATION_ENDPOINT", "authorization_endpoint"),
        token_endpoint=pick("OIDC_OP_TOKEN_ENDPOINT", "token_endpoint"),
        userinfo_endpoint=pick("OIDC_OP_USER_ENDPOINT", "userinfo_endpoint"),
        jwks_uri=pick("OIDC_OP_JWKS_ENDPOINT", "jwks_uri"),
        end_session_endpoint=pick("OIDC_OP_LOGOUT_ENDPOINT", "end_session_endpoint"),
        token_auth_method=choose_auth_method(
            str(get_setting("OIDC_RP_TOKEN_AUTH_METHOD", "") or ""),
            document.get("token_endpoint_auth_methods_supported"),
        ),
    )
