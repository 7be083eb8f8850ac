"""accounts.oidc: the one ID token validation (each refusal names its check), the provider from
discovery (cached, its issuer checked) and the choice of client authentication method."""

from __future__ import annotations

import time

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import override_settings

from accounts.oidc.provider import ProviderError, choose_auth_method, provider_for
from accounts.oidc.tokens import TokenRefused, validate_id_token

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ISSUER = "https://idp.example.test"


def token(**claims) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "sub": "s", "aud": "me", "iat": now, "exp": now + 60, "nonce": "n"}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, KEY, algorithm="RS256")


def validate(value: str, **kwargs) -> dict:
    options = {
        "key_for": lambda _t: KEY.public_key(),
        "algorithms": ["RS256"],
        "client_id": "me",
        "issuer": ISSUER,
        "nonce": "n",
        "leeway": 10,
        **kwargs,
    }
    return validate_id_token(value, **options)


def test_a_valid_token_gives_its_claims():
    assert validate(token())["sub"] == "s"


@pytest.mark.parametrize(
    ("claims", "check"),
    [
        ({"aud": "other"}, "audience"),
        ({"aud": ["me", "other"]}, "azp"),
        ({"azp": "other"}, "azp"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": None}, "missing_claim"),
        ({"exp": int(time.time()) - 3600}, "expiry"),
        ({"iat": int(time.time()) + 7200}, "not_yet_valid"),
        ({"nbf": int(time.time()) + 7200}, "not_yet_valid"),
        ({"nonce": "replayed"}, "nonce"),
    ],
)
def test_each_refusal_names_the_check_that_failed(claims, check):
    with pytest.raises(TokenRefused) as refused:
        validate(token(**claims))
    assert refused.value.check == check
    assert check in str(refused.value)


def test_several_audiences_with_our_azp_pass():
    assert validate(token(aud=["me", "other"], azp="me"))["azp"] == "me"


def test_the_leeway_covers_a_clock_a_little_ahead_only():
    ahead = int(time.time()) + 5
    assert validate(token(iat=ahead, nbf=ahead))
    with pytest.raises(TokenRefused):
        validate(token(iat=ahead, nbf=ahead), leeway=0)


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_an_unaccepted_algorithm_is_refused_before_any_key_is_used(alg):
    unsigned = jwt.encode({"sub": "s"}, "s" * 32 if alg == "HS256" else None, algorithm=alg)
    with pytest.raises(TokenRefused) as refused:
        validate(unsigned, key_for=lambda _t: pytest.fail("no key may be fetched"))
    assert refused.value.check == "algorithm"


def test_max_age_needs_a_recent_auth_time():
    assert validate(token(auth_time=int(time.time()) - 30), max_age=60)
    for auth_time in (int(time.time()) - 600, None):
        with pytest.raises(TokenRefused) as refused:
            validate(token(auth_time=auth_time), max_age=60)
        assert refused.value.check == "auth_time"


def test_the_auth_method_is_basic_unless_set_or_discovery_offers_only_post():
    assert choose_auth_method("", None) == "client_secret_basic"
    assert choose_auth_method("", ["client_secret_basic", "client_secret_post"]) == "client_secret_basic"
    assert choose_auth_method("", ["client_secret_post"]) == "client_secret_post"
    assert choose_auth_method("client_secret_post", ["client_secret_basic"]) == "client_secret_post"
    with pytest.raises(ProviderError):
        choose_auth_method("private_key_jwt", None)


def _settings(issuer: str, **extra):
    values = {"OIDC_OP_ISSUER": issuer, "OIDC_OP_DISCOVERY": True, "OIDC_TIMEOUT": 5, **extra}
    return lambda name, default=None: values.get(name, default)


@responses.activate
def test_discovery_fills_the_endpoints_once_per_cache_period(clean_cache):
    issuer = f"{ISSUER}/{time.time_ns()}"  # a key of its own in the shared cache
    responses.get(
        issuer + "/.well-known/openid-configuration",
        json={
            "issuer": issuer,
            "authorization_endpoint": issuer + "/auth",
            "token_endpoint": issuer + "/token",
            "userinfo_endpoint": issuer + "/me",
            "jwks_uri": issuer + "/jwks",
            "end_session_endpoint": issuer + "/logout",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        },
    )
    with override_settings(OIDC_DISCOVERY_CACHE_SECONDS=60):
        first = provider_for(_settings(issuer))
        again = provider_for(_settings(issuer, OIDC_OP_TOKEN_ENDPOINT="https://proxy.example/token"))
    assert len(responses.calls) == 1
    assert (first.token_endpoint, first.userinfo_endpoint, first.end_session_origin) == (
        issuer + "/token",
        issuer + "/me",
        ISSUER,
    )
    assert first.token_auth_method == "client_secret_post"
    assert again.token_endpoint == "https://proxy.example/token"  # a setting overrides discovery


@responses.activate
def test_a_discovery_document_naming_another_issuer_is_refused(clean_cache):
    issuer = f"{ISSUER}/{time.time_ns()}"
    responses.get(issuer + "/.well-known/openid-configuration", json={"issuer": "https://evil.example"})
    with pytest.raises(ProviderError) as error:
        provider_for(_settings(issuer))
    assert error.value.step == "discovery"
