"""The one validation of ID tokens for both login flows (OpenID Connect Core 1.0, 3.1.3.7).

A refusal names the check that failed (`TokenRefused.check`) so that an operator can tell a clock
problem from a misregistered client from an attack, without the token itself ever being logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
from django.core.exceptions import SuspiciousOperation

# What each check means, for log lines (English: logs are read by operators, not citizens).
CHECKS = {
    "malformed": "not a well-formed signed JWT",
    "algorithm": "signing algorithm not accepted (OIDC_RP_SIGN_ALGO)",
    "key": "no signing key of the provider matches the token",
    "signature": "signature does not verify",
    "missing_claim": "a required claim is missing",
    "issuer": "issuer is not the configured provider (OIDC_OP_ISSUER)",
    "audience": "audience is not this client",
    "azp": "several audiences or an azp, and azp is not this client",
    "expiry": "expired (exp is in the past beyond the clock leeway)",
    "not_yet_valid": (
        "not yet valid (iat or nbf in the future beyond the clock leeway: the provider's clock is ahead?)"
    ),
    "issued_at": "iat is not a number",
    "nonce": "nonce does not match this login",
    "auth_time": "authentication older than max_age, or no auth_time",
}


class TokenRefused(SuspiciousOperation):
    def __init__(self, check: str, detail: str = ""):
        self.check = check
        text = f"ID token check '{check}' failed: {CHECKS.get(check, check)}"
        super().__init__(f"{text} ({detail})" if detail else text)


# PyJWT's errors, most specific first (InvalidSignatureError is a DecodeError, the time errors are
# InvalidTokenErrors).
_PYJWT_CHECKS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expiry"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidIssuedAtError, "issued_at"),
    (jwt.InvalidAudienceError, "audience"),
    (jwt.InvalidIssuerError, "issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidSignatureError, "signature"),
    (jwt.InvalidAlgorithmError, "algorithm"),
    (jwt.InvalidKeyError, "key"),
    (jwt.PyJWTError, "malformed"),
)


def token_algorithm(token: str, algorithms: list[str]) -> str:
    """The token's `alg` if it is one we accept ("none" never is)."""
    try:
        alg = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise TokenRefused("malformed")
    if alg not in algorithms or alg == "none":
        raise TokenRefused("algorithm", f"token alg {alg!r}, accepted {' '.join(algorithms)}")
    return alg


def validate_id_token(
    token: Any,
    *,
    key_for: Callable[[str], Any],
    algorithms: list[str],
    client_id: str,
    issuer: str,
    nonce: str | None,
    require_nonce: bool = True,
    leeway: float = 10,
    max_age: int = 0,
) -> dict:
    """The ID token's claims, or TokenRefused. `key_for(token)` gives the verification key (the
    provider's JWK for the token's kid, or a configured key); `issuer` empty skips the iss check
    (a provider configured by endpoints alone, without OIDC_OP_ISSUER)."""
    if not isinstance(token, str) or not token:
        raise TokenRefused("malformed", "no ID token in the token response")
    alg = token_algorithm(token, algorithms)
    key = key_for(token)
    required = ["sub", "aud", "exp", "iat"] + (["iss"] if issuer else [])
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=client_id,
            issuer=issuer or None,
            leeway=leeway,
            options={"require": required},
        )
    except jwt.PyJWTError as exc:
        check = next(name for kind, name in _PYJWT_CHECKS if isinstance(exc, kind))
        raise TokenRefused(check, getattr(exc, "claim", "") or "")
    audience = payload["aud"]
    audiences = [audience] if isinstance(audience, str) else list(audience)
    azp = payload.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise TokenRefused("azp")
    if require_nonce and (not nonce or payload.get("nonce") != nonce):
        raise TokenRefused("nonce")
    if max_age:
        auth_time = payload.get("auth_time")
        if not isinstance(auth_time, int | float) or time.time() - auth_time > max_age + leeway:
            raise TokenRefused("auth_time")
    return payload
