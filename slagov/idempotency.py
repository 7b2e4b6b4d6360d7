"""
`Idempotency-Key` for API writes: the same key with the same request returns
the stored response; with a different request it is a 422; while the first
request is still running it is a 409. The key row is committed before the
work starts, so a concurrent retry sees it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response

from metrics.models import IdempotencyKey

HEADER = "Idempotency-Key"


def request_fingerprint(request) -> str:
    raw = request._request
    digest = hashlib.sha256()
    digest.update(f"{raw.method} {raw.path}\n".encode())
    digest.update(raw.body)  # read before DRF parses it; Django keeps it for the parsers
    return digest.hexdigest()


def idempotent(request, organization, handler: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return handler()
    if len(key) > 200:
        return Response({"detail": f"{HEADER} is at most 200 characters."}, status=400)
    fingerprint = request_fingerprint(request)
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                organization=organization, user=request.user, key=key, request_hash=fingerprint
            )
    except IntegrityError:
        record = IdempotencyKey.objects.get(organization=organization, user=request.user, key=key)
        if record.request_hash != fingerprint:
            return Response(
                {"detail": f"This {HEADER} was used with a different request."},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if record.state == IdempotencyKey.State.IN_FLIGHT:
            return Response(
                {"detail": f"A request with this {HEADER} is still being processed."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            record.response_body,
            status=record.response_status,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = handler()
    except Exception:
        IdempotencyKey.objects.filter(pk=record.pk).delete()  # let the client retry
        raise
    if response.status_code >= 500:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
        return response
    IdempotencyKey.objects.filter(pk=record.pk).update(
        state=IdempotencyKey.State.DONE,
        response_status=response.status_code,
        response_body=response.data,
        completed_at=timezone.now(),
    )
    return response
