"""System checks for the integration settings: a typo in a role map must stop the deploy, not
silently give nobody a role."""

from django.conf import settings
from django.core.checks import Error, register

from accounts.roles import ALL_ROLES

from .sso import parse_group_map


@register("integrations")
def staff_oidc_settings_check(app_configs=None, **kwargs) -> list[Error]:
    errors: list[Error] = []
    for name in ("STAFF_OIDC_ROLE_MAP", "STAFF_OIDC_UNIT_MAP"):
        try:
            mapping = parse_group_map(getattr(settings, name))
        except ValueError as exc:
            errors.append(Error(f"{name}: {exc}", id="integrations.E001"))
            continue
        if name == "STAFF_OIDC_ROLE_MAP":
            unknown = sorted({r for targets in mapping.values() for r in targets} - set(ALL_ROLES))
            if unknown:
                errors.append(
                    Error(
                        f"STAFF_OIDC_ROLE_MAP names unknown role(s): {', '.join(unknown)}",
                        hint=f"Roles are: {', '.join(ALL_ROLES)}",
                        id="integrations.E002",
                    )
                )
    if settings.STAFF_OIDC_ENABLED:
        needed = ["STAFF_OIDC_RP_CLIENT_SECRET"]
        # With an issuer and discovery on, the endpoints come from the discovery document.
        if not (settings.STAFF_OIDC_OP_ISSUER and settings.STAFF_OIDC_OP_DISCOVERY):
            needed += ["STAFF_OIDC_OP_AUTHORIZATION_ENDPOINT", "STAFF_OIDC_OP_TOKEN_ENDPOINT"]
            if settings.STAFF_OIDC_RP_SIGN_ALGO.startswith(("RS", "ES")):
                needed.append("STAFF_OIDC_OP_JWKS_ENDPOINT")
        for name in needed:
            if not getattr(settings, name):
                errors.append(Error(f"staff SSO is on but {name} is empty", id="integrations.E003"))
    return errors


@register("integrations")
def case_file_delivery_check(app_configs=None, **kwargs) -> list[Error]:
    """A misspelt delivery mode would send every journalled document inline without a word."""
    if settings.CASE_FILE_DELIVERY not in ("inline", "pull"):
        return [
            Error(
                f"CASE_FILE_DELIVERY is {settings.CASE_FILE_DELIVERY!r}",
                hint="inline (the PDF/A in the webhook) or pull (its API path)",
                id="integrations.E004",
            )
        ]
    return []
