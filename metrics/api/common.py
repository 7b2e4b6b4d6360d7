"""What the metrics API resources share."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter

ROW_LIMIT = 1000


ERROR_LIMIT = 50  # errors per submission in lists and in create/confirm responses


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description=(
        "Retry safely: the same key and request (its fields and file contents) "
        "return the stored response."
    ),
)  # fmt: skip
