"""What /healthz/ reports: each part in a word, the reasons only in the log."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)
HEARTBEAT_STALE_SECONDS = 150  # the heartbeat runs every 30 s


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("healthz: the database did not answer")
        return "error"
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not used"
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
    except Exception:
        logger.exception("healthz: Redis did not answer")
        return "error"
    return "ok"


def _worker(redis_state: str) -> str:
    """ "ok" when a worker ran the heartbeat lately; "stale" when none has."""
    from slagov.tasks import HEARTBEAT_KEY

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    if redis_state == "error":
        return "unknown"
    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception:
        logger.exception("healthz: the heartbeat could not be read")
        return "unknown"
    if beat is None or time.time() - float(beat) > HEARTBEAT_STALE_SECONDS:
        return "stale"
    return "ok"


def check() -> dict[str, str]:
    redis_state = _redis()
    return {"database": _database(), "redis": redis_state, "worker": _worker(redis_state)}
