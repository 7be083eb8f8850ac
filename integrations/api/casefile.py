"""Journalled documents (integrations.casefile) for the case system: the PDF/A to pull when the
webhook carries only its path (CASE_FILE_DELIVERY=pull), and the receipt when the case system files
the document after answering the delivery rather than in its answer."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from ..casefile import ReceiptRefused, case_file_acknowledge, case_file_document_read
from ..models import ApiClient, CaseFileEntry
from .views import ERRORS, ApiView, ErrorSerializer


class ReceiptSerializer(serializers.Serializer):
    document_id = serializers.CharField(
        max_length=128, help_text="The case system's id of the filed document."
    )
    sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        allow_blank=True,
        help_text="SHA-256 (hex) of the PDF as received; refused when it differs from the PDF sent.",
    )


class EntrySerializer(serializers.Serializer):
    entry_id = serializers.UUIDField(source="pk")
    status = serializers.ChoiceField(choices=CaseFileEntry.Status.choices)
    document_id = serializers.CharField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    sha256 = serializers.CharField()


ENTRY_PARAM = OpenApiParameter(
    "entry_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="The delivery's `entry_id` (also its `webhook-id` header).",
)


class CaseFileReceiptView(ApiView):
    required_scopes = {"POST": (ApiClient.Scope.CASE_FILE,)}

    @extend_schema(
        operation_id="case_file_receipt",
        summary="Acknowledge a journalled document",
        description=(
            "The case system's receipt for a document it was sent (event case_file.document): only "
            "then is the thread shown as journalled. The same receipt again changes nothing; another "
            "document id for an acknowledged document is a conflict."
        ),
        parameters=[ENTRY_PARAM],
        request=ReceiptSerializer,
        responses={
            200: EntrySerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="Invalid receipt, or the checksum differs."
            ),
            **ERRORS,
            404: OpenApiResponse(ErrorSerializer, description="No document with this id for this client."),
            409: OpenApiResponse(ErrorSerializer, description="Already acknowledged with another id."),
        },
    )
    def post(self, request, entry_id) -> Response:
        receipt = ReceiptSerializer(data=request.data)
        receipt.is_valid(raise_exception=True)
        try:
            entry = case_file_acknowledge(
                entry_id=entry_id,
                client=request.auth,
                document_id=receipt.validated_data["document_id"],
                sha256=receipt.validated_data.get("sha256", ""),
            )
        except CaseFileEntry.DoesNotExist:
            raise NotFound(_("There is no document with this id for this client."))
        except ReceiptRefused as refused:
            if refused.code == "conflict":
                return Response(
                    {"detail": _("The document was acknowledged with another document id.")},
                    status=status.HTTP_409_CONFLICT,
                )
            messages = {"sha256": _("The checksum differs from the document sent.")}
            raise ValidationError({refused.code: [messages.get(refused.code, refused.message)]})
        return Response(EntrySerializer(entry).data)


class CaseFileDocumentView(ApiView):
    required_scopes = {"GET": (ApiClient.Scope.CASE_FILE,)}

    def perform_content_negotiation(self, request, force=False):
        # The answer is a PDF (an HttpResponse of its own) or a JSON error: an Accept header asking
        # for application/pdf must not make the errors a 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="case_file_document",
        summary="Fetch a journalled document (PDF/A)",
        description=(
            "The PDF/A of a document sent with event case_file.document, while it waits for its "
            "receipt. Reading it is in the access log. 410 once it has been acknowledged or its "
            "delivery has failed: lifemsg keeps it no longer."
        ),
        parameters=[ENTRY_PARAM],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF/A-3b."),
            **ERRORS,
            404: OpenApiResponse(ErrorSerializer, description="No document with this id for this client."),
            410: OpenApiResponse(ErrorSerializer, description="Acknowledged or failed: no longer kept."),
        },
    )
    def get(self, request, entry_id):
        try:
            entry = case_file_document_read(entry_id=entry_id, client=request.auth)
        except CaseFileEntry.DoesNotExist:
            raise NotFound(_("There is no document with this id for this client."))
        if entry.pdf is None:
            return Response(
                {"detail": _("The document is no longer kept here.")}, status=status.HTTP_410_GONE
            )
        response = HttpResponse(bytes(entry.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{entry.case.reference}.pdf"'
        return response
