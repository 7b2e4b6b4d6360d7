"""
The production path. Docker can't run here, so these tests take the commands
from docker-compose.yml and run them for real: gunicorn serves the app, a
Celery worker consumes tasks from Redis, beat starts its schedule, migrate
succeeds. A command in the compose file that the tests don't run fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection
from django_scopes import scopes_disabled

from metrics.models import PeriodStatus
from slagov.celery import app as celery_app
from tests import factories
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = {"migrate", "web", "worker", "beat"}
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.integration


def _command(service: str) -> list[str]:
    return list(COMPOSE["services"][service]["command"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    """The test database, for processes started by the tests."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_TASK_ALWAYS_EAGER"}}
    env.update(
        DATABASE_URL=_database_url(),
        VAR_DIR=str(settings.VAR_DIR),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        **extra,
    )
    return env


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.25)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def test_compose_runs_postgres_redis_mailpit_and_one_beat():
    services = COMPOSE["services"]
    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert "8025:8025" in services["mailpit"]["ports"]
    beats = [name for name, s in services.items() if "beat" in s.get("command", [])]
    assert beats == ["beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    assert {name for name, s in services.items() if "build" in s} == APP_SERVICES
    env = services["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://")
    assert env["EMAIL_URL"] == "smtp://mailpit:1025"


def test_every_app_command_is_one_these_tests_run():
    assert _command("web")[:2] == ["gunicorn", "slagov.wsgi:application"]
    assert _command("worker")[:4] == ["celery", "-A", "slagov", "worker"]
    assert _command("beat")[:4] == ["celery", "-A", "slagov", "beat"]
    assert _command("migrate") == ["python", "manage.py", "migrate", "--noinput"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"gunicorn", "slagov.wsgi:application"' in dockerfile


def test_beat_schedule_names_registered_tasks():
    celery_app.loader.import_default_modules()
    for name, entry in celery_app.conf.beat_schedule.items():
        assert entry["task"] in celery_app.tasks, name


@pytest.mark.django_db(transaction=True)
def test_migrate_command_succeeds(tmp_path):
    argv = [sys.executable if a == "python" else a for a in _command("migrate")]
    result = subprocess.run(
        argv, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_app_from_the_compose_command(tmp_path):
    port = _free_port()
    argv = _command("web")
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "2"
    log = tmp_path / "gunicorn.log"
    process = _start(argv, _env(), log)
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            with urllib.request.urlopen(f"{base}/healthz/", timeout=2) as r:  # noqa: S310
                return r.read()
        except OSError:
            return None

    try:
        body = _wait_for(healthy, 60, "gunicorn /healthz/", log)
        health = json.loads(body)
        # No worker runs here: the database and Redis answer, the heartbeat is stale.
        assert health["database"] == "ok"
        assert health["redis"] in {"ok", "not used"}
        with urllib.request.urlopen(f"{base}/login/", timeout=5) as r:  # noqa: S310
            assert b"Sign in to slagov" in r.read()
        with urllib.request.urlopen(f"{base}/static/js/charts.js", timeout=5) as r:  # noqa: S310
            assert r.status == 200
            assert b"Plotly.newPlot" in r.read()
    finally:
        _stop(process)


@pytest.mark.django_db(transaction=True)
def test_celery_worker_from_compose_computes_statuses_through_redis(tmp_path):
    require_service("REDIS_URL", bool(os.environ.get("REDIS_URL")))
    sla = factories.ServiceLevelFactory()
    factories.TermsFactory(service_level=sla, organization=sla.organization)
    factories.ReadingFactory(
        service_level=sla,
        organization=sla.organization,
        period_start=date(2025, 3, 1),
        value=Decimal("99.0"),
    )
    argv = _command("worker")
    argv = [a for a in argv if not a.startswith("--concurrency")] + ["--concurrency=1"]
    log = tmp_path / "worker.log"
    process = _start(argv, _env(), log)
    celery_app.conf.task_always_eager = False
    try:
        _wait_for(lambda: "ready." in log.read_text(), 60, "worker ready", log)
        from metrics.tasks import recompute_statuses

        recompute_statuses.delay(sla.organization_id, [sla.pk])

        def computed():
            with scopes_disabled():
                return PeriodStatus.objects.filter(
                    service_level=sla, period_start=date(2025, 3, 1), colour="red"
                ).exists()

        _wait_for(computed, 60, "the worker to compute the status", log)
    finally:
        celery_app.conf.task_always_eager = True
        _stop(process)


@pytest.mark.django_db(transaction=True)
def test_celery_beat_from_compose_starts_its_schedule(tmp_path):
    require_service("REDIS_URL", bool(os.environ.get("REDIS_URL")))
    argv = [
        f"--schedule={tmp_path / 'beat-schedule'}" if a.startswith("--schedule") else a
        for a in _command("beat")
    ]
    log = tmp_path / "beat.log"
    process = _start(argv, _env(), log)
    try:
        _wait_for(lambda: "beat: Starting..." in log.read_text(), 60, "beat to start", log)
        time.sleep(2)
        assert process.poll() is None, log.read_text()
    finally:
        _stop(process)


CONTRACT_PAGE_SCRIPT_BUDGET = 400 * 1024  # bytes on the wire, every script of the page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_contract_page_scripts_stay_under_400_kb_on_the_wire_in_production(tmp_path):
    """
    Production serves the collected, compressed static files (the Dockerfile's
    collectstatic, STATIC_MANIFEST): a real browser opening a contract page with
    its charts transfers at most 400 KB of script, charts drawn.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from playwright.sync_api import sync_playwright

    from slagov.demo import DEMO_PASSWORD, seed
    from tests.conftest import CHROMIUM
    from tests.test_browser import CHROMIUM_ARGS

    User = get_user_model()  # noqa: N806

    seed()
    # The tests hash passwords with a fast hasher gunicorn's settings don't know.
    User.objects.filter(username="bob").update(
        password=PBKDF2PasswordHasher().encode(DEMO_PASSWORD, PBKDF2PasswordHasher().salt())
    )
    static_root = tmp_path / "static"
    env = _env(STATIC_MANIFEST="true", STATIC_ROOT=str(static_root))
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert not list(static_root.rglob("plotly.min.js*")), "the full Plotly bundle is collected"
    port = _free_port()
    argv = _command("web")
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "2"
    log = tmp_path / "gunicorn.log"
    process = _start(argv, env, log)
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            with urllib.request.urlopen(f"{base}/healthz/", timeout=2) as r:  # noqa: S310
                return r.status == 200
        except OSError:
            return False

    executable = CHROMIUM if os.path.exists(CHROMIUM) else "chromium"
    try:
        _wait_for(healthy, 60, "gunicorn /healthz/", log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            login = browser.new_page()
            login.goto(f"{base}/login/")
            login.fill("#id_login", "bob")
            login.fill("#id_password", DEMO_PASSWORD)
            login.click("button[type=submit]")
            login.wait_for_url(f"{base}/o/**")
            portfolio_scripts = [s.get_attribute("src") for s in login.locator("script[src]").all()]
            assert not any("plotly" in src for src in portfolio_scripts), "no chart, no Plotly"
            contract_url = base + login.locator(
                "#portfolio a:has-text('NW-FLT-001')"
            ).first.get_attribute("href")
            # A first visit: a new context with the session but nothing cached.
            context = browser.new_context(storage_state=login.context.storage_state())
            page = context.new_page()
            scripts = []
            page.on(
                "requestfinished",
                lambda request: request.resource_type == "script" and scripts.append(request),
            )
            page.goto(contract_url)
            page.wait_for_selector(".chart .main-svg")
            sizes = {r.url.rsplit("/", 1)[-1]: r.sizes()["responseBodySize"] for r in scripts}
            encodings = {
                r.url.rsplit("/", 1)[-1]: r.response().headers.get("content-encoding")
                for r in scripts
            }
            browser.close()
    finally:
        _stop(process)
    plotly = [name for name in sizes if name.startswith("plotly-basic.")]
    assert len(plotly) == 1, sizes  # the hashed name of the basic bundle, nothing bigger
    assert all(size > 0 for size in sizes.values()), sizes  # nothing came from a cache
    assert encodings[plotly[0]] in {"gzip", "br"}, encodings
    assert sum(sizes.values()) <= CONTRACT_PAGE_SCRIPT_BUDGET, sizes
