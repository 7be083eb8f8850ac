from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from ..services import api_call_record, api_client_for_token, api_client_touch


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer lm.<key id>.<secret>`. request.user is the client's service account,
    request.auth the ApiClient."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Give the token as: Authorization: Bearer <token>."))
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid token."))
        client, secret_ok = api_client_for_token(token)
        if client is None:
            raise AuthenticationFailed(_("Invalid token."))
        if not secret_ok or not client.is_active:
            # A known key id with a wrong secret, or a revoked client: on the client's record.
            api_call_record(
                client=client,
                method=request.method,
                path=request.path,
                status=401,
                detail={"refused": "wrong secret" if not secret_ok else "client revoked"},
            )
            raise AuthenticationFailed(_("Invalid token."))
        api_client_touch(client=client)
        return client.user, client

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.api.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Per-client token, created with `manage.py api_client_create` and shown once.",
        }
