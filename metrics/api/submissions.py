"""API: submissions of readings (rows or a file), their preview, confirmation and discard."""

from __future__ import annotations

import json

from django.db.models import Prefetch
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from contracts.models import Vendor
from metrics import exports
from metrics.api.common import ERROR_LIMIT, IDEMPOTENCY_KEY, ROW_LIMIT
from metrics.ingest import files, pipeline
from metrics.models import Submission, SubmissionError, SubmissionRow
from slagov.api import ExportableList, ScopedPrimaryKeyRelatedField, TenantViewSet
from slagov.idempotency import idempotent
from slagov.schema import ErrorSerializer, SometimesAbsent


class SubmissionErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(source="row_number", allow_null=True)
    contract = serializers.CharField(
        source="service_level.contract.reference",
        default=None,
        allow_null=True,
        help_text="The row's contract, when the row names one that exists.",
    )
    sla = serializers.CharField(
        source="service_level.code",
        default=None,
        allow_null=True,
        help_text="The row's SLA code, when the row names one that exists.",
    )
    sla_name = serializers.CharField(source="service_level.name", default=None, allow_null=True)
    column = serializers.CharField()
    value = serializers.CharField()
    message = serializers.CharField()


class StagedRowSerializer(serializers.ModelSerializer):
    contract = serializers.CharField(source="service_level.contract.reference")
    sla = serializers.CharField(source="service_level.code")
    period = serializers.CharField(source="period_label")
    row = serializers.IntegerField(source="row_number")

    class Meta:
        model = SubmissionRow
        fields = [
            "row",
            "contract",
            "sla",
            "period",
            "value",
            "old_value",
            "action",
            "colour",
            "note",
        ]


class SubmissionSerializer(serializers.ModelSerializer):
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    errors = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id", "vendor", "vendor_name", "source", "state", "original_name", "size", "sha256",
            "created_by", "created_at", "rows_total", "rows_new", "rows_changed",
            "rows_unchanged", "rows_with_errors", "error_count", "warnings", "duplicate_of",
            "validated_at", "applied_at", "errors",
        ]  # fmt: skip

    @extend_schema_field(SubmissionErrorSerializer(many=True))
    def get_errors(self, submission: Submission) -> list[dict]:
        errors = getattr(submission, "first_errors", None)  # prefetched for lists
        if errors is None:
            errors = submission.errors.select_related("service_level__contract")[
                : self.context.get("error_limit", ERROR_LIMIT)
            ]
        return SubmissionErrorSerializer(errors, many=True).data


class SubmissionDetailSerializer(SometimesAbsent, SubmissionSerializer):
    rows = serializers.SerializerMethodField()
    message = serializers.CharField(
        read_only=True, help_text="Why nothing was applied, or what a duplicate repeats."
    )
    SOMETIMES_ABSENT = ("message",)  # only when there is something to say

    class Meta(SubmissionSerializer.Meta):
        fields = [*SubmissionSerializer.Meta.fields, "rows", "message"]

    @extend_schema_field(StagedRowSerializer(many=True))
    def get_rows(self, submission: Submission) -> list[dict]:
        rows = submission.rows.select_related("service_level__contract")[:ROW_LIMIT]
        return StagedRowSerializer(rows, many=True).data


ROW_SCHEMA = {
    "type": "object",
    "description": (
        "One reading, with the columns of an upload (README, the upload format). "
        "Other keys are reported as unknown columns and ignored."
    ),
    "properties": {
        "contract": {"type": "string", "description": "The contract reference."},
        "sla": {"type": "string", "description": "The SLA or KPI code within the contract."},
        "period": {
            "type": "string",
            "description": "`2026-10` (monthly), `2026-W42` (weekly), or a date inside it.",
        },
        "value": {
            "oneOf": [{"type": "string"}, {"type": "number"}],
            "description": "A number; a decimal comma or a trailing `%` are read as in files.",
        },
        "note": {"type": "string", "description": "For a corrected value, the reason."},
    },
    "required": ["contract", "sla", "period", "value"],
    "additionalProperties": True,
}


@extend_schema_field(ROW_SCHEMA)
class SubmittedRowField(serializers.DictField):
    """A row as sent: checked by the upload pipeline, which reports every problem by row."""


class SubmissionCreateSerializer(serializers.Serializer):
    """Either `rows` (JSON) or `file` (multipart), for one vendor."""

    vendor = ScopedPrimaryKeyRelatedField(
        Vendor, required=False, help_text="Not needed with a vendor's token."
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Validate and preview; apply nothing."
    )
    rows = serializers.ListField(child=SubmittedRowField(), required=False, max_length=100_000)
    file = serializers.FileField(required=False, help_text="A .csv or .xlsx file, at most 10 MB.")

    def validate(self, attrs):
        if bool(attrs.get("rows") is not None) == bool(attrs.get("file")):
            raise serializers.ValidationError("Send either `rows` or a `file`.")
        tenant = self.context["tenant"]
        if tenant.is_vendor:
            # The vendor field only offers what the scope shows: their own vendor.
            attrs.setdefault("vendor", tenant.membership.vendor)
        elif not attrs.get("vendor"):
            raise serializers.ValidationError({"vendor": "Say which vendor the data is for."})
        upload = attrs.get("file")
        if upload is not None and upload.size > files.MAX_BYTES:
            raise serializers.ValidationError({"file": "The file is larger than 10 MB."})
        return attrs


class SubmissionRows(SubmissionCreateSerializer):
    """The JSON body (schema only: SubmissionCreateSerializer reads both)."""

    rows = serializers.ListField(child=SubmittedRowField(), max_length=100_000)
    file = None


class SubmissionFile(SubmissionCreateSerializer):
    """The multipart body (schema only)."""

    rows = None
    file = serializers.FileField(help_text="A .csv or .xlsx file, at most 10 MB.")


class ConfirmSerializer(serializers.Serializer):
    reasons = serializers.DictField(
        child=serializers.CharField(max_length=500), required=False,
        help_text="Reason per changed row number, where the note column doesn't give one.",
    )  # fmt: skip


# A refused batch is the submission with its errors; a refused Idempotency-Key
# (another request, or one still running) is a `detail`.
SUBMISSION_REFUSED = PolymorphicProxySerializer(
    component_name="SubmissionRefused",
    serializers=[SubmissionDetailSerializer, ErrorSerializer],
    resource_type_field_name=None,
)


# An API batch up to this size is validated (and applied) within the request; a larger
# one answers 202 Accepted and is validated by a worker (README, "Using the API").
SYNC_MAX_ROWS = 2_000


SYNC_MAX_BYTES = 256 * 1024


class SubmissionViewSet(
    ExportableList, mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet
):
    """
    Submit readings (JSON rows or a CSV/XLSX file) through the same pipeline as
    uploads. With `dry_run` nothing is applied: the response is the preview.
    Otherwise a valid batch is applied at once, all or nothing; an invalid one
    returns 422 with its first 50 errors and `error_count`, the number of all of
    them (GET the submission for up to 10,000). A batch of more than 2,000 rows
    (or 256 KB) answers 202 Accepted at once, with the submission's URL in
    `Location`: a worker validates and applies it; poll that URL. Send an
    `Idempotency-Key` header to retry safely. `?format=csv|xlsx` on the list:
    the Data page's export of submissions.
    """

    queryset = Submission.objects.none()
    export = exports.SUBMISSIONS

    def get_queryset(self):
        submissions = Submission.objects.select_related("vendor", "created_by").order_by(
            "-created_at"
        )
        if self.action == "list":
            first_errors = SubmissionError.objects.select_related("service_level__contract")[
                :ERROR_LIMIT
            ]
            submissions = submissions.prefetch_related(
                Prefetch("errors", queryset=first_errors, to_attr="first_errors")
            )
        return submissions

    def export_queryset(self):
        return Submission.objects.order_by("-created_at", "-pk")

    def get_serializer_class(self):
        if self.action == "create":
            return SubmissionCreateSerializer
        if self.action == "confirm":
            return ConfirmSerializer
        return SubmissionDetailSerializer if self.action == "retrieve" else SubmissionSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["error_limit"] = 10_000 if self.action == "retrieve" else ERROR_LIMIT
        return context

    def _detail(self, submission: Submission, code: int, message: str = "") -> Response:
        submission = self.get_queryset().get(pk=submission.pk)  # as stored now, with its vendor
        data = SubmissionDetailSerializer(submission, context=self.get_serializer_context()).data
        if message:
            data = {**data, "message": message}
        return Response(data, status=code)

    @extend_schema(
        request={"application/json": SubmissionRows,
                 "multipart/form-data": SubmissionFile},
        parameters=[IDEMPOTENCY_KEY],
        responses={201: SubmissionDetailSerializer, 200: SubmissionDetailSerializer,
                   202: SubmissionDetailSerializer, 409: ErrorSerializer,
                   422: SUBMISSION_REFUSED},
    )  # fmt: skip
    def create(self, request, *args, **kwargs):
        return idempotent(request, self.tenant.organization, lambda: self._create(request))

    def _create(self, request) -> Response:
        tenant = self.tenant
        tenant.require_uploader(message="Only vendor users and account managers submit data.")
        serializer = SubmissionCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("file") is not None:
            payload, name = data["file"].read(), data["file"].name
            large = len(payload) > SYNC_MAX_BYTES
        else:
            payload = json.dumps({"rows": data["rows"]}, sort_keys=True).encode()
            name = "rows.json"
            large = len(data["rows"]) > SYNC_MAX_ROWS or len(payload) > SYNC_MAX_BYTES
        submission = pipeline.submission_receive(
            organization=tenant.organization, actor=request.user, vendor=data["vendor"],
            data=payload, filename=name, source=Submission.Source.API,
            apply_when_valid=not data["dry_run"], enqueue=large,
        )  # fmt: skip
        if submission.state == Submission.State.DUPLICATE:
            return self._detail(
                submission, 200,
                f"Identical to submission #{submission.duplicate_of_id}: nothing to apply.",
            )  # fmt: skip
        if large:
            # Validated by a worker, never past the web worker's timeout: poll the submission.
            url = reverse(
                "api:submission-detail",
                kwargs={"org_slug": tenant.slug, "pk": submission.pk},
                request=request,
            )
            response = self._detail(
                submission, 202,
                f"Accepted: the batch is checked in the background. Poll {url} until its state "
                "is applied, ready (a dry run: the preview) or invalid (with its errors).",
            )  # fmt: skip
            response["Location"] = url
            return response
        submission = pipeline.submission_validate(submission_id=submission.pk)
        if submission.state == Submission.State.INVALID:
            return self._detail(submission, 422, "Nothing was applied: fix the errors and resend.")
        outcome = getattr(submission, "apply_outcome", None)
        if outcome is not None and not outcome.ok:
            # Valid but not applied (a correction without a reason): say why.
            return self._detail(submission, 422, f"Nothing was applied: {outcome.message}")
        return self._detail(submission, 201)

    @extend_schema(
        request=ConfirmSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: SubmissionDetailSerializer, 409: SUBMISSION_REFUSED, 422: ErrorSerializer},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def confirm(self, request, *args, **kwargs):
        submission = self.get_object()
        return idempotent(
            request, self.tenant.organization, lambda: self._confirm(request, submission)
        )

    def _confirm(self, request, submission: Submission) -> Response:
        self.tenant.require_uploader(message="Only vendor users and account managers apply data.")
        serializer = ConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reasons = pipeline.reasons_by_row(serializer.validated_data.get("reasons", {}).items())
        outcome = pipeline.submission_confirm(
            organization=self.tenant.organization, actor=request.user, submission=submission,
            reasons=reasons,
        )  # fmt: skip
        return self._detail(submission, 200 if outcome.ok else 409, outcome.message)

    @extend_schema(request=None, responses={200: SubmissionDetailSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def discard(self, request, *args, **kwargs):
        """
        Discard a submission that was not applied (a dry run, a refused batch, one
        waiting to be confirmed): nothing in it is applied. Discarding one already
        discarded answers 200 again; an applied one answers 409.
        """
        submission = self.get_object()
        self.tenant.require_uploader(message="Only vendor users and account managers discard data.")
        outcome = pipeline.submission_discard(
            organization=self.tenant.organization, actor=request.user, submission=submission
        )
        if not outcome.ok:
            return Response({"detail": outcome.message}, status=409)
        return self._detail(submission, 200, outcome.message)
