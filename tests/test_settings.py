"""Settings come from the environment and fail loudly on values they can't read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'db': settings.DATABASES['default']['ENGINE'],"
    " 'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'email': settings.EMAIL_BACKEND,"
    " 'cache': settings.CACHES['default']['BACKEND'], 'debug': settings.DEBUG}))"
)


def _settings(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "slagov.settings",
        "VAR_DIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_nothing_set_is_the_embedded_default(tmp_path):
    result = _settings(tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {
        "db": "django.db.backends.sqlite3",
        "eager": True,
        "email": "django.core.mail.backends.console.EmailBackend",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "debug": False,
    }
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # generated, private


def test_production_urls_select_postgres_redis_and_smtp(tmp_path):
    result = _settings(
        tmp_path,
        DATABASE_URL="postgres://u:p@db:5432/slagov",
        REDIS_URL="redis://redis:6379/0",
        EMAIL_URL="smtp://mailpit:1025",
        SECRET_KEY="x" * 50,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["db"] == "django.db.backends.postgresql"
    assert loaded["eager"] is False
    assert loaded["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert loaded["cache"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("CONN_MAX_AGE", "soon", "CONN_MAX_AGE='soon' is not an integer"),
        ("DATABASE_URL", "mysql://x@y/z", "is not supported"),
        ("REDIS_URL", "http://redis:6379", "must start with redis://"),
        ("SECRET_KEY", "short", "at least 32 characters"),
        ("LOG_LEVEL", "LOUD", "must be one of"),
        ("SITE_URL", "example.com", "must start with http"),
    ],
)
def test_bad_values_fail_at_start_up_with_a_message(tmp_path, name, value, message):
    env = {name: value}
    if name == "CONN_MAX_AGE":
        env["DATABASE_URL"] = "postgres://u@db/x"
    result = _settings(tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr
