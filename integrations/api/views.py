"""REST API for the case system. Each call is audited (api.call, by the client's service account);
reads of message content are also in the access log, written before the content is serialised."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from eservices.models import Case

from ..models import EXTERNAL_ID_PATTERN, ApiClient
from ..selectors import api_case, api_thread_mailboxes, api_thread_messages, sender_kind
from ..services import (
    CaseConflict,
    CaseInput,
    api_call_record,
    case_close,
    case_content_read_record,
    case_put,
)
from .authentication import ApiTokenAuthentication
from .permissions import HasScopes
from .serializers import (
    CaseSerializer,
    CaseWriteSerializer,
    ErrorSerializer,
    ThreadQuerySerializer,
    ThreadSerializer,
)

READ = ApiClient.Scope.CASES_READ
WRITE = ApiClient.Scope.CASES_WRITE
CONTENT = ApiClient.Scope.MESSAGES_CONTENT

EXTERNAL_ID_PARAM = OpenApiParameter(
    "external_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The case system's id of the case.",
    pattern=f"^{EXTERNAL_ID_PATTERN}$",
    examples=[OpenApiExample("Case-system id", value="LC-2026-0001")],
)
# Matches the demo organisation (manage.py seed_demo), so the example works against a demo install.
CASE_EXAMPLE = OpenApiExample(
    "New case with handler",
    value={
        "personnummer": "19800101-9812",
        "first_name": "Alva",
        "last_name": "Lindqvist",
        "eservice": "ekonomiskt-bistand",
        "unit": None,
        "subject": "Ansökan om ekonomiskt bistånd",
        "handler": "gunilla.gran",
        "co_handlers": ["hassan.haddad"],
    },
    request_only=True,
)
ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid token."),
    403: OpenApiResponse(ErrorSerializer, description="The token lacks a scope this call needs."),
}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No case with this external id.")}
BAD_INPUT = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Invalid input: an object mapping each field to its messages.",
    )
}


class ApiView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HasScopes]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    required_scopes: dict[str, tuple[str, ...]] = {}

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        client = getattr(request, "_auth", None)
        if isinstance(client, ApiClient):
            api_call_record(
                client=client,
                method=request.method,
                path=request.path,
                status=response.status_code,
                detail={"external_id": kwargs.get("external_id")},
            )
        return response


def _case_or_404(external_id: str) -> Case:
    case = api_case(external_id=external_id)
    if case is None:
        raise NotFound(_("There is no case with this external id."))
    return case


def _case_input(data: dict) -> CaseInput:
    return CaseInput(
        personnummer=data["personnummer"],
        eservice=data["eservice"],
        subject=data["subject"],
        unit=data.get("unit"),
        first_name=data.get("first_name", ""),
        last_name=data.get("last_name", ""),
        handler=data.get("handler"),
        co_handlers=tuple(data.get("co_handlers", ())),
        protected_identity=data.get("protected_identity"),
    )


def _conflict_error(conflict: CaseConflict) -> ValidationError:
    messages = {
        "personnummer": _("The case belongs to another citizen; a case's citizen cannot be changed."),
        "eservice": _("The case belongs to another e-service; a case's e-service cannot be changed."),
    }
    return ValidationError({conflict.field: [messages[conflict.field]]})


def _case_response(external_id: str, *, status_code: int = status.HTTP_200_OK) -> Response:
    # Re-read after the write, so the answer shows the committed state with its relations.
    return Response(CaseSerializer(_case_or_404(external_id)).data, status=status_code)


class CaseDetailView(ApiView):
    required_scopes = {"GET": (READ,), "PUT": (WRITE,), "PATCH": (WRITE,)}

    @extend_schema(
        operation_id="case_retrieve",
        summary="Read a case",
        parameters=[EXTERNAL_ID_PARAM],
        responses={200: CaseSerializer, **ERRORS, **NOT_FOUND},
    )
    def get(self, request, external_id: str) -> Response:
        return Response(CaseSerializer(_case_or_404(external_id)).data)

    @extend_schema(
        operation_id="case_put",
        summary="Create or update a case by its external id",
        description=(
            "Idempotent: creates the case (201) or brings it to exactly this state (200). Handler and "
            "co-handlers take effect at once for routing and for the right to write to the citizen. "
            "A case's citizen and e-service cannot change."
        ),
        parameters=[EXTERNAL_ID_PARAM],
        request=CaseWriteSerializer,
        examples=[CASE_EXAMPLE],
        responses={200: CaseSerializer, 201: CaseSerializer, **BAD_INPUT, **ERRORS},
    )
    def put(self, request, external_id: str) -> Response:
        serializer = CaseWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            _case, created = case_put(
                external_id=external_id, data=_case_input(serializer.validated_data), actor=request.user
            )
        except CaseConflict as conflict:
            raise _conflict_error(conflict)
        return _case_response(external_id, status_code=201 if created else 200)

    @extend_schema(
        operation_id="case_patch",
        summary="Change some fields of a case",
        parameters=[EXTERNAL_ID_PARAM],
        request=CaseWriteSerializer(partial=True),
        examples=[
            OpenApiExample(
                "Change handler", value={"handler": "hassan.haddad", "co_handlers": []}, request_only=True
            )
        ],
        responses={200: CaseSerializer, **BAD_INPUT, **ERRORS, **NOT_FOUND},
    )
    def patch(self, request, external_id: str) -> Response:
        case = _case_or_404(external_id)
        serializer = CaseWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        current = {
            "personnummer": case.citizen.personnummer,
            "eservice": case.eservice,
            "subject": case.thread.subject,
            "unit": case.unit,
            "handler": case.handler,
            "co_handlers": list(case.co_handlers.all()),
        }
        try:
            case_put(
                external_id=external_id,
                data=_case_input({**current, **serializer.validated_data}),
                actor=request.user,
            )
        except CaseConflict as conflict:
            raise _conflict_error(conflict)
        return _case_response(external_id)


class CaseCloseView(ApiView):
    required_scopes = {"POST": (WRITE,)}

    @extend_schema(
        operation_id="case_close",
        summary="Close a case",
        description="Closing a closed case changes nothing.",
        parameters=[EXTERNAL_ID_PARAM],
        request=None,
        responses={200: CaseSerializer, **ERRORS, **NOT_FOUND},
    )
    def post(self, request, external_id: str) -> Response:
        case_close(case=_case_or_404(external_id), actor=request.user)
        return _case_response(external_id)


class CaseThreadView(ApiView):
    required_scopes = {"GET": (READ,)}

    @extend_schema(
        operation_id="case_thread",
        summary="Read a case's thread: message metadata and read state",
        description=(
            "Ids, times, sender kind and read state of each message, and the thread's state in each "
            "mailbox. With content=true (scope messages:content) also each message's text and the "
            "names of its attachments; such reads are in the access log."
        ),
        parameters=[EXTERNAL_ID_PARAM, ThreadQuerySerializer],
        responses={200: ThreadSerializer, **BAD_INPUT, **ERRORS, **NOT_FOUND},
    )
    def get(self, request, external_id: str) -> Response:
        query = ThreadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        with_content = query.validated_data["content"]
        client: ApiClient = request.auth
        if with_content and not client.has_scope(CONTENT):
            raise PermissionDenied(_("Message content needs the scope messages:content."))
        case = _case_or_404(external_id)
        messages = list(api_thread_messages(case=case, with_attachments=with_content))
        if with_content:
            case_content_read_record(client=client, case=case, message_ids=[m.pk for m in messages])
        data = {
            "external_id": case.external_id,
            "reference": case.reference,
            "thread_id": case.thread_id,
            "subject": case.thread.subject,
            "last_message_at": case.thread.last_message_at,
            "mailboxes": [
                {
                    "mailbox_kind": s.mailbox.kind,
                    "unit": s.mailbox.unit.slug if s.mailbox.unit_id else None,
                    "unread_count": s.unread_count,
                    "handled_at": s.handled_at,
                    "handled_by": s.handled_by.username if s.handled_by_id else None,
                }
                for s in api_thread_mailboxes(case=case)
            ],
            "messages": [_message_data(m, with_content) for m in messages],
        }
        return Response(ThreadSerializer(data).data)


def _message_data(message, with_content: bool) -> dict:
    data = {
        "id": message.pk,
        "created_at": message.created_at,
        "kind": message.kind,
        "sender_kind": sender_kind(message),
        "first_read_at": message.first_read_at,
        "first_handled_at": message.first_handled_at,
        "attachment_count": message.attachment_count,
    }
    if with_content:
        data["body"] = message.body
        data["attachments"] = list(message.attachments.all())
    return data
