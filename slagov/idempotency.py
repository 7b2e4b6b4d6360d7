"""
`Idempotency-Key` for API writes: the same key with the same request returns
the stored response; with a different request it is a 422; while the first
request is still running it is a 409. The key row is committed before the
work starts, so a concurrent retry sees it.

"The same request" is what the request means, not its bytes: the method, the
path, the fields (JSON or form, canonicalised) and each uploaded file's
SHA-256. Every `curl -F` run picks a new multipart boundary, and a JSON body
can be re-serialised with its keys in another order: still the same request.

A key still in flight after IDEMPOTENCY_IN_FLIGHT_SECONDS (well past the
worker timeout) belonged to a worker that died: a retry claims it and is
processed afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response

from metrics.models import IdempotencyKey

HEADER = "Idempotency-Key"


def _file_sha256(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)  # the view reads it next
    return digest.hexdigest()


def request_fingerprint(request) -> str:
    """SHA-256 of what the request means (see the module docstring)."""
    data = request.data  # parsed by DRF: a 400 here for an unreadable body
    files = request.FILES
    if hasattr(data, "lists"):  # a form or multipart body: every value is a list
        fields = {name: values for name, values in data.lists() if name not in files}
    else:
        fields = data
    meaning = {
        "method": request.method,
        "path": request._request.path,
        "fields": fields,
        "files": {
            name: [_file_sha256(upload) for upload in uploads] for name, uploads in files.lists()
        },
    }
    canonical = json.dumps(meaning, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim_abandoned(record: IdempotencyKey, fingerprint: str) -> bool:
    """Take over a key whose request died in flight; False if it is not abandoned (or taken)."""
    now = timezone.now()
    expiry = timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS)
    if record.state != IdempotencyKey.State.IN_FLIGHT or record.created_at > now - expiry:
        return False
    # Conditional on the row as we read it: of two retries racing, one wins.
    claimed = IdempotencyKey.objects.filter(
        pk=record.pk, state=IdempotencyKey.State.IN_FLIGHT, created_at=record.created_at
    ).update(created_at=now, request_hash=fingerprint)
    return claimed == 1


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
        record = IdempotencyKey.objects.filter(
            organization=organization, user=request.user, key=key
        ).first()
        if record is None:  # the first request failed just now and released its key
            return Response(
                {"detail": f"The first request with this {HEADER} failed: send it again."},
                status=status.HTTP_409_CONFLICT,
            )
        if _claim_abandoned(record, fingerprint):
            return _run(record, handler)
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
    return _run(record, handler)


def _run(record: IdempotencyKey, handler: Callable[[], Response]) -> Response:
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
