"""OpenID Connect machinery shared by the two login flows: citizens' e-ID (eservices.oidc) and staff
single sign-on (integrations.sso). Each flow keeps its own settings (OIDC_* and STAFF_OIDC_*), passed
in as a `get_setting` function; what a provider is and what an ID token must be to log anyone in is
decided here, once:

- `provider`: the provider's endpoints, from its discovery document (issuer + client is enough) or
  from settings that override it, and the client authentication method;
- `tokens`: the one validation of ID tokens (signature, algorithm, issuer, audience and azp, exp,
  iat/nbf with a clock leeway, nonce, max_age), naming the check that failed;
- `backend`: the token request, userinfo and validation wired into mozilla-django-oidc;
- `logout`: ending the provider's session on logout (RP-initiated logout) and the CSP that lets
  the browser go there.
"""
