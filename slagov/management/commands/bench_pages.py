"""
Benchmark the pages and the main API lists under load.

    manage.py bench_pages [--size small|large|both] [--seconds 20] [--requests 2000]

For each size (small: 200 contracts / 1,000 SLAs; large: 2,000 / 10,000) it
builds a throwaway tenant with 24 months of readings (statuses and trends by the
engine, escalations by the sweep, reviews and action items), starts gunicorn as
the compose file does (2 workers here, on 127.0.0.1 and a free port, with this
process's settings environment and DEBUG off), signs in as an account manager
through the sign-in form, and drives every page with 4 concurrent clients for
`--seconds` (at most `--requests` requests a page). The baseline is a bare page
served by the same gunicorn (slagov.bench_urls: one query, a 50-row template).

Prints the load average at the start and the end, then per page: requests/s,
p50/p95 latency, queries per request (counted once in-process with the test
client, not in gunicorn), bytes on the wire (gzip accepted), and
`ratio_<page>: X` = the page's requests/s / the baseline's. PostgreSQL only.
"""

from __future__ import annotations

import http.client
import io
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from django_scopes import scopes_disabled

SIZES = {"small": (200, 1_000), "large": (2_000, 10_000)}
MONTHS = 24
CONTRACTS_PER_VENDOR = 10
CLIENTS = 4
EVALUATED = 1_000


@dataclass
class Tenant:
    org: object
    manager: object
    users: list
    password: str
    contract_id: int
    sla_id: int


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    bytes: int
    queries: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


class Command(BaseCommand):
    help = "Requests/s of every page and API list against a bare one-query page, under gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=["small", "large", "both"], default="both")
        parser.add_argument("--seconds", type=float, default=20.0, help="Per page, at most 60.")
        parser.add_argument("--requests", type=int, default=2000, help="Per page, at most.")
        parser.add_argument("--keep", action="store_true", help="Keep the throwaway tenants.")

    def handle(self, *args, size: str, seconds: float, requests: int, keep: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_pages measures PostgreSQL: set DATABASE_URL=postgres://…")
        if not 0 < seconds <= 60 or requests < 1:
            raise CommandError("--seconds must be within (0, 60], --requests at least 1")
        sizes = ["small", "large"] if size == "both" else [size]
        self.stdout.write(f"load average at start: {_loadavg()}")
        for name in sizes:
            contracts, slas = SIZES[name]
            started = time.perf_counter()
            tenant = self._tenant(contracts, slas)
            self.stdout.write(
                f"\n[{name}] tenant: {contracts:,} contracts, {slas:,} SLAs x {MONTHS} months "
                f"(built in {time.perf_counter() - started:.1f} s)"
            )
            try:
                self._measure(name, tenant, seconds, requests)
            finally:
                if not keep:
                    self._drop(tenant)
        self.stdout.write(f"\nload average at end: {_loadavg()}")

    # --- measuring -----------------------------------------------------------------

    def _pages(self, tenant: Tenant) -> list[tuple[str, str]]:
        slug = tenant.org.slug
        return [
            ("baseline", f"/o/{slug}/bench-baseline/"),
            ("portfolio", f"/o/{slug}/"),
            ("contract", f"/o/{slug}/contracts/{tenant.contract_id}/"),
            ("sla", f"/o/{slug}/slas/{tenant.sla_id}/"),
            ("leadership", f"/o/{slug}/leadership/"),
            ("escalations", f"/o/{slug}/escalations/"),
            ("reviews", f"/o/{slug}/reviews/"),
            ("api_contracts", f"/api/v1/o/{slug}/contracts/"),
            ("api_slas", f"/api/v1/o/{slug}/slas/"),
            ("api_statuses", f"/api/v1/o/{slug}/statuses/"),
            ("api_escalations", f"/api/v1/o/{slug}/escalations/"),
        ]

    def _measure(self, size: str, tenant: Tenant, seconds: float, budget: int) -> None:
        pages = self._pages(tenant)
        queries = {name: self._queries(tenant, url) for name, url in pages}
        port = _free_port()
        log = Path(settings.VAR_DIR) / f"bench_pages-gunicorn-{port}.log"
        server = self._gunicorn(port, log)
        try:
            _wait_for_server(server, port, log)
            cookie = _sign_in(port, tenant.manager.username, tenant.password)
            results = []
            for name, url in pages:
                status, _ = _get(port, url, cookie)
                if status != 200:
                    raise CommandError(f"{name}: {url} answered {status}")
                result = _drive(port, url, cookie, seconds, budget)
                results.append(Result(name=name, queries=queries[name], **result))
        finally:
            _stop(server)
        log.unlink(missing_ok=True)
        baseline = results[0].rate
        self.stdout.write(f"[{size}] load average after the run: {_loadavg()}")
        self.stdout.write(
            f"{'page':<16} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'bytes':>9}"
        )
        for r in results:
            self.stdout.write(
                f"{r.name:<16} {r.rate:>8.1f} {r.quantile(0.5):>8.0f} {r.quantile(0.95):>8.0f} "
                f"{r.queries:>8} {r.bytes:>9,}"
            )
        for r in results[1:]:
            self.stdout.write(f"[{size}] ratio_{r.name}: {r.rate / baseline:.2f}")

    def _queries(self, tenant: Tenant, url: str) -> int:
        """Queries of one request, counted in this process (after one request to warm up)."""
        client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_ENCODING="gzip")
        client.force_login(tenant.manager)
        with override_settings(ROOT_URLCONF="slagov.bench_urls"):
            client.get(url)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code} in-process")
        return len(captured.captured_queries)

    def _gunicorn(self, port: int, log: Path) -> subprocess.Popen:
        bin_dir = Path(sys.executable).parent
        env = {**os.environ, "DEBUG": "false", "VAR_DIR": str(settings.VAR_DIR)}
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        argv = [str(bin_dir / "gunicorn"), "slagov.bench_wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", "2"]  # fmt: skip
        return subprocess.Popen(  # noqa: S603 (our own gunicorn, argv built here)
            argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    # --- the tenant ----------------------------------------------------------------

    @scopes_disabled()
    def _tenant(self, n_contracts: int, n_slas: int) -> Tenant:
        from django.contrib.auth import get_user_model

        from contracts import periods
        from contracts.models import Contract, CreditTier, ServiceLevel, ServiceLevelTerms, Vendor
        from escalations import evaluate
        from metrics import engine
        from metrics.models import Reading
        from reviews.models import ActionItem, Review
        from slagov.models import Membership, Organization

        today = timezone.localdate()
        now = timezone.now()
        tag = uuid.uuid4().hex[:8]
        password = secrets.token_urlsafe(16)
        org = Organization.objects.create(name=f"bench {tag}", slug=f"bench-{tag}")
        last = periods.last_closed_period(today, "monthly")
        months = [periods.add_periods(last, "monthly", -i) for i in range(MONTHS - 1, -1, -1)]
        start = months[0]
        per_contract = n_slas // n_contracts
        rng = random.Random(7)
        with transaction.atomic():
            users = []
            for role in ("account_manager", "leadership"):
                user = get_user_model().objects.create_user(
                    username=f"{role}-{tag}", email=f"{role}-{tag}@example.com",
                    password=password,
                )  # fmt: skip
                Membership.objects.create(organization=org, user=user, role=role)
                users.append(user)
            manager = users[0]
            vendors = Vendor.objects.bulk_create(
                Vendor(organization=org, name=f"Vendor {v:04d}")
                for v in range(-(-n_contracts // CONTRACTS_PER_VENDOR))
            )
            contracts = Contract.objects.bulk_create(
                Contract(organization=org, vendor=vendors[c // CONTRACTS_PER_VENDOR],
                         reference=f"P-{c:05d}", title=f"Service {c}",
                         category=("cloud", "network", "support")[c % 3],
                         annual_value=Decimal(120000 + 1000 * (c % 50)), start_date=start,
                         end_date=date(today.year + 1 + c % 3, 12, 31), owner=manager)
                for c in range(n_contracts)
            )  # fmt: skip
            slas = ServiceLevel.objects.bulk_create(
                ServiceLevel(organization=org, contract=contract, code=f"s{s:02d}",
                             name=f"Availability {s}", unit="percent", direction="higher",
                             kind="kpi" if s % 5 == 4 else "sla", data_start=start)
                for contract in contracts for s in range(per_contract)
            )  # fmt: skip
            terms = ServiceLevelTerms.objects.bulk_create(
                ServiceLevelTerms(organization=org, service_level=sla, effective_from=start,
                                  direction="higher", target=Decimal("99.9"),
                                  minimum=Decimal("99.5"),
                                  improvement="absolute" if i % 3 == 0 else "none",
                                  improvement_rate=Decimal("0.01") if i % 3 == 0 else 0,
                                  improvement_bound=Decimal("99.95") if i % 3 == 0 else None)
                for i, sla in enumerate(slas)
            )  # fmt: skip
            CreditTier.objects.bulk_create(
                CreditTier(organization=org, terms=t, worse_than=Decimal(level),
                           percent=Decimal(pct))
                for t, sla in zip(terms, slas, strict=True) if sla.kind == "sla"
                for level, pct in (("99.9", "5"), ("99.5", "10"))
            )  # fmt: skip
            buffer = io.StringIO()
            stamp = now.isoformat()
            for sla in slas:
                # Most SLAs meet their target; one in ten declines into yellow or red.
                drift = rng.choice((0.0,) * 18 + (-0.005, -0.02))
                for i, month in enumerate(months):
                    value = min(100.0, round(rng.gauss(99.97 + drift * i, 0.03), 3))
                    buffer.write(f"{org.pk}\t{sla.pk}\t{month}\t{value}\tdemo\t\t{stamp}\t1\n")
            columns = ("organization_id, service_level_id, period_start, value, source, note, "
                       "submitted_at, revision")  # fmt: skip
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {Reading._meta.db_table} ({columns}) FROM STDIN") as copy,
            ):
                copy.write(buffer.getvalue())
            # Statistics for what was just written, as autovacuum would gather them (and
            # does not, where it is off): a never-analysed table can make the engine's
            # plans collapse (its digest of 1,000 SLAs took 11 minutes so).
            with connection.cursor() as cursor:
                for model in (Contract, ServiceLevel, ServiceLevelTerms, CreditTier, Reading):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        ids = [sla.pk for sla in slas]
        engine.recompute(organization_id=org.pk, service_level_ids=ids, today=today)
        # The sweep opens escalations and drafts their meetings (slow per escalation):
        # over at most EVALUATED SLAs, spread over the tenant.
        step = -(-len(ids) // EVALUATED)
        evaluate.evaluate(organization_id=org.pk, service_level_ids=ids[::step], today=today)
        with transaction.atomic():
            reviews = []
            for i, contract in enumerate(contracts):
                held_at = now - timedelta(days=30 + i % 60)
                reviews.append(
                    Review(
                        organization=org,
                        contract=contract,
                        state=Review.State.HELD,
                        scheduled_at=held_at,
                        held_at=held_at,
                        covers_from=months[-3],
                        notes="Reviewed the quarter.",
                        created_by=manager,
                    )
                )
                if i % 4 == 0:
                    reviews.append(
                        Review(
                            organization=org,
                            contract=contract,
                            scheduled_at=now + timedelta(days=5 + i % 80),
                            covers_from=months[-1],
                            created_by=manager,
                        )
                    )
            reviews = Review.objects.bulk_create(reviews)
            ActionItem.objects.bulk_create(
                ActionItem(organization=org, contract=review.contract, review=review,
                           title=f"Follow up {n}", owner=manager, owner_side="customer",
                           due_date=today + timedelta(days=(k * 7 + n * 11) % 90 - 30),
                           state=ActionItem.State.OPEN if n else ActionItem.State.DONE,
                           created_by=manager, created_at=now)
                for k, review in enumerate(r for r in reviews if r.state == Review.State.HELD)
                for n in range(2)
            )  # fmt: skip
        with connection.cursor() as cursor:  # and for what the pages read
            cursor.execute("ANALYZE")
        return Tenant(
            org=org, manager=manager, users=users, password=password,
            contract_id=contracts[len(contracts) // 2].pk, sla_id=slas[len(slas) // 2].pk,
        )  # fmt: skip

    @scopes_disabled()
    def _drop(self, tenant: Tenant) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.sessions.models import Session

        from contracts import models as c
        from escalations import models as e
        from metrics import models as m
        from reviews import models as r
        from slagov import models as s
        from slagov.bench import drop_tenant

        drop_tenant(
            tenant.org,
            [
                e.Notification,
                r.ActionItemEvent,
                r.ActionItem,
                r.RelevanceCheck,
                r.AgendaItem,
                r.ReviewAttendee,
                r.ReviewEvent,
                r.ReviewSignature,
                r.Review,
                r.VendorWarning,
                e.ForecastEpisode,
                e.EscalationEvent,
                e.Escalation,
                e.EscalationStep,
                e.EscalationPolicy,
                m.CreditEntryEvent,
                m.CreditEntry,
                m.PeriodStatus,
                m.SlaHealth,
                m.ReadingRevision,
                m.Reading,
                c.CreditTier,
                c.ServiceLevelTerms,
                c.ServiceLevel,
                c.ContractContact,
                c.Contract,
                c.VendorContact,
                c.Vendor,
                s.AuditEvent,
                s.Membership,
            ],
        )
        user_ids = [u.pk for u in tenant.users]
        for session in Session.objects.all().iterator():
            if session.get_decoded().get("_auth_user_id") in {str(pk) for pk in user_ids}:
                session.delete()
        get_user_model().objects.filter(pk__in=user_ids).delete()


# --- HTTP ------------------------------------------------------------------------


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, url: str, cookie: str, timeout: float = 60) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", url, headers={"Cookie": cookie, "Accept-Encoding": "gzip"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_for_server(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            if _get(port, "/healthz/", "", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise CommandError(f"gunicorn did not answer in 60 s:\n{log.read_text()[-3000:]}")


def _sign_in(port: int, username: str, password: str) -> str:
    """Sign in through the sign-in form; returns the Cookie header of the session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login/")
    response = conn.getresponse()
    page = response.read().decode()
    cookies = _cookies(response)
    conn.close()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None:
        raise CommandError("the sign-in page has no CSRF token")
    body = urlencode({"csrfmiddlewaretoken": token.group(1), "login": username,
                      "password": password})  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "Referer": f"http://127.0.0.1:{port}/login/",
    })  # fmt: skip
    response = conn.getresponse()
    response.read()
    cookies.update(_cookies(response))
    conn.close()
    if response.status != 302 or "sessionid" not in cookies:
        raise CommandError(f"signing in failed ({response.status})")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _cookies(response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def _drive(port: int, url: str, cookie: str, seconds: float, budget: int) -> dict:
    """CLIENTS threads request `url` back to back until `seconds` pass or `budget` is spent."""
    latencies: list[float] = []
    sizes: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    issued = [0]
    deadline = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < deadline:
            with lock:
                if issued[0] >= budget:
                    return
                issued[0] += 1
            started = time.perf_counter()
            try:
                status, body = _get(port, url, cookie)
            except OSError as exc:
                failures.append(str(exc))
                return
            elapsed = time.perf_counter() - started
            if status != 200:
                failures.append(f"{url} answered {status}")
                return
            with lock:
                latencies.append(elapsed)
                sizes.append(len(body))

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = time.perf_counter() - started
    if failures:
        raise CommandError(f"{url}: {failures[0]}")
    return {
        "requests": len(latencies),
        "seconds": total,
        "latencies": latencies,
        "bytes": int(statistics.median(sizes)) if sizes else 0,
    }


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
