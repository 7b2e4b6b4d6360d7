"""
Hostile probes of breach forecasts, early warnings, quiet periods, relapses,
the e-mails they send, the back-test command and number formatting: what a
careless user, a curious vendor or a strange series does to them.

Each defect the probe found has its test here, named for what a user sees.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import periods
from escalations import evaluate, notify, services
from escalations.models import Escalation, EscalationEvent, ForecastEpisode, Notification
from metrics import engine, forecast, trends
from metrics.models import SlaHealth
from slagov import formatting
from slagov.models import Membership, Organization
from tests import factories
from tests.conftest import World as AccessWorld
from tests.conftest import token_client

MONTHLY, WEEKLY = periods.Period.MONTHLY, periods.Period.WEEKLY
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


# --- 1. The pure forecast with hostile series -------------------------------------------


def _points(values, kind=MONTHLY, start=date(2023, 1, 1), skip=()):
    return [
        (periods.add_periods(start, kind, i), float(v))
        for i, v in enumerate(values)
        if i not in skip
    ]


def _check(points, *, kind=MONTHLY, minimum=25.0, target=24.0, higher=False):
    """Both entry points, and the invariants every caller relies on."""
    f = forecast.forecast(
        points, kind=kind, minimum=minimum, target=target, higher_is_better=higher
    )
    t = trends.trend_for(points, kind=kind, minimum=minimum, target=target, higher_is_better=higher)
    for p in f.risk:
        assert math.isfinite(p)
        assert 0.0 <= p <= 1.0
    assert len(f.risk) == (forecast.RISK_HORIZON if f.enough and minimum is not None else 0)
    for low, value, high in zip(t.low, t.forecast, t.high, strict=True):
        assert all(math.isfinite(x) for x in (low, value, high))
        assert low <= value <= high
    assert t.periods_to_breach is None or 0 <= t.periods_to_breach <= forecast.PATH_HORIZON
    assert all(math.isfinite(x) for x in f.path)
    return f, t


HOSTILE = {
    "all equal": [15] * 12,
    "all zero": [0] * 12,
    "all at the largest storable value": [999999999999] * 12,
    "zero and the largest value alternating": [0, 999999999999] * 6,
    "one-millionth steps": [15 + i * 1e-6 for i in range(12)],
    "a single huge spike last": [15] * 11 + [999999999999],
    "a single huge spike in the middle": [15] * 5 + [999999999999] + [15] * 6,
    "four points exactly": [15, 16, 17, 18],
    "two hundred points": [15 + (i % 7) * 0.1 for i in range(200)],
    "negative and positive extremes": [-999999999999, 999999999999, 0, 5, -3, 999999999999],
}


@pytest.mark.parametrize("values", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("higher", [False, True], ids=["lower is better", "higher is better"])
def test_hostile_series_never_break_the_forecast(values, higher):
    _check(_points(values), higher=higher)
    _check(_points(values), higher=higher, minimum=None, target=None)
    _check(_points(values, kind=WEEKLY, start=date(2023, 1, 2)), kind=WEEKLY, higher=higher)


def test_a_flat_series_is_certain_of_nothing_and_forecasts_its_level():
    f, t = _check(_points([15] * 12))
    assert f.path[:3] == pytest.approx([15.0] * 3)
    assert f.risk == [0.0, 0.0, 0.0]
    assert t.periods_to_breach is None
    assert not t.drifting
    assert not t.anomaly


def test_minimum_none_gives_a_forecast_but_no_risk_and_no_breach():
    f, t = _check(_points([15, 16, 17, 18, 19]), minimum=None, target=None)
    assert f.enough
    assert f.risk == []
    assert t.periods_to_breach is None
    assert not forecast.warns(f.risk, 3)


def test_a_minimum_equal_to_the_target_is_no_division_by_zero():
    _f, t = _check(_points([15, 16, 17, 18, 19]), minimum=20.0, target=20.0)
    assert t.periods_to_breach == 2  # 20 next month is not worse than 20; 21 is


def test_a_series_sitting_exactly_on_the_minimum_warns_at_one_in_two():
    # Not red (worse is strict), but any move the wrong way is: a coin toss, and the
    # rule warns at 50 % ("more likely than not" is read as "at least as likely").
    f, _ = _check(_points([25] * 12))
    assert f.risk[0] == pytest.approx(0.5)


def test_fewer_than_four_points_say_not_enough_data():
    for n in range(4):
        f, t = _check(_points([15] * n))
        assert not f.enough
        assert not t.enough
        assert f.risk == []


def test_weekly_series_with_missing_weeks_forecast_from_what_is_there():
    points = _points([15 + 0.1 * i for i in range(80)], WEEKLY, date(2024, 1, 1),
                     skip=set(range(0, 80, 5)))  # fmt: skip
    f, _ = _check(points, kind=WEEKLY)
    assert f.enough


def test_seasonal_series_with_last_years_periods_missing_falls_back_to_the_trend():
    values = [15 + 3 * math.sin(i / 12 * 2 * math.pi) for i in range(30)]
    full, _ = _check(_points(values, start=date(2022, 1, 1)))
    assert full.seasonal
    gap, _ = _check(_points(values, start=date(2022, 1, 1), skip={19, 20, 21}))
    assert not gap.seasonal
    assert gap.method == "trend since the last change"


def test_moves_of_a_millionth_far_from_the_minimum_are_not_a_drift():
    t = trends.trend_for(
        _points([15 + i * 1e-6 for i in range(12)]), kind=MONTHLY, higher_is_better=False,
        minimum=25.0, target=24.0,
    )  # fmt: skip
    assert not t.drifting, t.drift_note


def test_availability_a_thousandth_below_100_percent_is_not_a_drift():
    t = trends.trend_for(
        _points([100.0] * 9 + [99.999, 99.998, 99.997]), kind=MONTHLY, higher_is_better=True,
        minimum=99.5, target=99.9,
    )  # fmt: skip
    assert max(t.risk) < 0.01
    assert t.periods_to_breach is None
    assert not t.drifting, t.drift_note


values_6dp = st.decimals(
    min_value=-(10**12) + 1, max_value=10**12 - 1, places=6, allow_nan=False,
    allow_infinity=False,
).map(float)  # fmt: skip
values_near = st.decimals(min_value=-1000, max_value=1000, places=3).map(float)
values_edge = st.sampled_from(
    [0.0, 999999999999.0, -999999999999.0, 25.0, 24.999999, 25.000001, 1e-6, 99.5, 100.0]
)
any_value = st.one_of(values_6dp, values_near, values_edge)


@st.composite
def hostile_series(draw):
    kind = draw(st.sampled_from([MONTHLY, WEEKLY]))
    values = draw(st.lists(any_value, max_size=90))
    start = date(2020, 1, 1) if kind == MONTHLY else date(2019, 12, 30)
    points, index = [], 0
    for value in values:
        index += draw(st.integers(1, 2))  # missing periods now and then
        points.append((periods.add_periods(start, kind, index), value))
    minimum = draw(st.one_of(st.none(), any_value))
    target = draw(st.one_of(st.none(), any_value)) if minimum is not None else None
    return kind, points, minimum, target, draw(st.booleans())


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_series())
def test_property_the_forecast_never_raises_and_its_numbers_are_sane(case):
    kind, points, minimum, target, higher = case
    _check(points, kind=kind, minimum=minimum, target=target, higher=higher)


def test_one_forecast_of_80_weekly_points_is_fast():
    values = [15 + 3 * math.sin(i / 52 * 2 * math.pi) + (i % 3) * 0.1 for i in range(80)]
    points = _points(values, WEEKLY, date(2024, 1, 1))
    trends.trend_for(points, kind=WEEKLY, higher_is_better=False, minimum=25.0, target=24.0)
    started = time.perf_counter()
    for _ in range(20):
        trends.trend_for(points, kind=WEEKLY, higher_is_better=False, minimum=25.0, target=24.0)
    per_call = (time.perf_counter() - started) / 20
    assert per_call < 0.02  # about 1 ms here: 20,000 SLAs an hour stay cheap


# --- 2. Resolving by hand with a quiet period: page and API -----------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _page_resolve(client, world: AccessWorld, user, escalation, **data):
    client.force_login(user)
    url = reverse("escalations:resolve", args=[world.org.slug, escalation.pk])
    return client.post(url, data)


def _api_resolve(world: AccessWorld, user, escalation, body, org=None):
    org = org or world.org
    url = f"/api/v1/o/{org.slug}/escalations/{escalation.pk}/resolve/"
    return token_client(org, user).post(url, body, format="json")


def _reload(escalation) -> Escalation:
    with scopes_disabled():
        return Escalation.objects.get(pk=escalation.pk)


ACCEPTED_DAYS = {"today": 0, "a year ahead (366 days)": 366}
REFUSED_DAYS = {
    "yesterday": (-1, "Choose a day from today on"),
    "a year and a day ahead (367 days)": (367, "at most a year"),
}


@pytest.mark.parametrize("days", ACCEPTED_DAYS.values(), ids=ACCEPTED_DAYS.keys())
def test_page_resolve_accepts_a_quiet_day_from_today_to_a_year_ahead(world, client, frozen, days):
    escalation = world.mine.escalation
    day = TODAY + timedelta(days=days)
    response = _page_resolve(client, world, world.bob, escalation, note="accepted",
                             quiet_until=day.isoformat())  # fmt: skip
    assert response.status_code == 302
    stored = _reload(escalation)
    assert (stored.state, stored.quiet_until, stored.quiet_level) == ("resolved", day, 1)


@pytest.mark.parametrize(("days", "words"), REFUSED_DAYS.values(), ids=REFUSED_DAYS.keys())
def test_page_resolve_refuses_a_quiet_day_out_of_range_naming_the_field(
    world, client, frozen, days, words
):
    escalation = world.mine.escalation
    day = TODAY + timedelta(days=days)
    response = _page_resolve(client, world, world.bob, escalation, note="accepted",
                             quiet_until=day.isoformat())  # fmt: skip
    assert response.status_code == 400
    assert words in " ".join(response.context["resolve_form"].errors["quiet_until"])
    assert _reload(escalation).state == "open"


@pytest.mark.parametrize("text", ["2026-02-30", "tomorrow", "5", "10/03/2026", "2026-13-01"])
def test_page_resolve_refuses_a_quiet_day_that_is_no_date(world, client, frozen, text):
    escalation = world.mine.escalation
    response = _page_resolve(client, world, world.bob, escalation, note="x", quiet_until=text)
    assert response.status_code == 400
    assert response.context["resolve_form"].errors["quiet_until"] == ["Enter a valid date."]
    assert _reload(escalation).state == "open"


def test_page_resolve_without_a_quiet_day_is_quiet_until_worse(world, client, frozen):
    escalation = world.mine.escalation
    response = _page_resolve(client, world, world.bob, escalation, note="ok", quiet_until="")
    assert response.status_code == 302
    stored = _reload(escalation)
    assert (stored.state, stored.quiet_until, stored.quiet_level) == ("resolved", None, 1)
    with scopes_disabled():
        message = stored.events.get(kind="resolved").message
    assert message == "Resolved by hand: ok Quiet until it gets worse or is back to green."


def test_page_resolve_without_a_reason_names_the_note(world, client, frozen):
    response = _page_resolve(client, world, world.bob, world.mine.escalation, note="   ")
    assert response.status_code == 400
    assert "note" in response.context["resolve_form"].errors


@pytest.mark.parametrize("days", ACCEPTED_DAYS.values(), ids=ACCEPTED_DAYS.keys())
def test_api_resolve_accepts_a_quiet_day_from_today_to_a_year_ahead(world, frozen, days):
    escalation = world.mine.escalation
    day = TODAY + timedelta(days=days)
    response = _api_resolve(world, world.bob, escalation, {"note": "ok", "quiet_until": str(day)})
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["quiet_until"]) == ("resolved", str(day))


@pytest.mark.parametrize(("days", "words"), REFUSED_DAYS.values(), ids=REFUSED_DAYS.keys())
def test_api_resolve_refuses_a_quiet_day_out_of_range_naming_the_field(world, frozen, days, words):
    escalation = world.mine.escalation
    day = TODAY + timedelta(days=days)
    response = _api_resolve(world, world.bob, escalation, {"note": "ok", "quiet_until": str(day)})
    assert response.status_code == 400
    assert words in " ".join(response.json()["quiet_until"])
    assert _reload(escalation).state == "open"


@pytest.mark.parametrize(
    "value", ["2026-02-30", "tomorrow", 5, 20260310, True, [], {}, "2026-03-10T00:00:00Z"]
)
def test_api_resolve_refuses_a_quiet_day_that_is_no_date(world, frozen, value):
    escalation = world.mine.escalation
    response = _api_resolve(world, world.bob, escalation, {"note": "ok", "quiet_until": value})
    assert response.status_code == 400
    assert "quiet_until" in response.json()
    assert _reload(escalation).state == "open"


def test_api_resolve_with_a_null_quiet_day_is_quiet_until_worse(world, frozen):
    escalation = world.mine.escalation
    response = _api_resolve(world, world.bob, escalation, {"note": "ok", "quiet_until": None})
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["quiet_until"], body["quiet_level"]) == ("resolved", None, 1)


@pytest.mark.parametrize("note", ["", "   ", None])
def test_api_resolve_without_a_reason_names_the_note(world, frozen, note):
    response = _api_resolve(world, world.bob, world.mine.escalation, {"note": note})
    assert response.status_code == 400
    assert "note" in response.json()


def test_another_tenants_escalation_is_404_on_the_page_and_in_the_api(world, client):
    foreign = world.foreign.escalation
    assert _page_resolve(client, world, world.bob, foreign, note="x").status_code == 404
    assert _api_resolve(world, world.bob, foreign, {"note": "x"}).status_code == 404
    # An admin of the other tenant, through this tenant's URL, and their own.
    client.force_login(world.charlie)
    url = reverse("escalations:resolve", args=[world.org.slug, world.mine.escalation.pk])
    assert client.post(url, {"note": "x"}).status_code == 404
    url = reverse("escalations:resolve", args=[world.other_org.slug, world.mine.escalation.pk])
    assert client.post(url, {"note": "x"}).status_code == 404
    api = f"/api/v1/o/{world.other_org.slug}/escalations/{world.mine.escalation.pk}/resolve/"
    assert (
        token_client(world.other_org, world.charlie)
        .post(api, {"note": "x"}, format="json")
        .status_code
        == 404
    )
    assert _reload(world.mine.escalation).state == "open"
    assert _reload(foreign).state == "open"


def test_a_vendor_user_cannot_resolve_their_own_and_never_sees_another_vendors(world, client):
    own, other = world.mine.escalation, world.theirs.escalation
    assert _page_resolve(client, world, world.vic, own, note="x").status_code == 403
    assert _api_resolve(world, world.vic, own, {"note": "x"}).status_code == 403
    assert _page_resolve(client, world, world.vic, other, note="x").status_code == 404
    assert _api_resolve(world, world.vic, other, {"note": "x"}).status_code == 404
    assert _reload(own).state == _reload(other).state == "open"


def test_leadership_cannot_resolve(world, client):
    assert (
        _page_resolve(client, world, world.lena, world.mine.escalation, note="x").status_code == 403
    )
    assert _api_resolve(world, world.lena, world.mine.escalation, {"note": "x"}).status_code == 403


def test_resolving_twice_says_so_and_keeps_the_first_resolution(world, client, frozen):
    escalation = world.mine.escalation
    assert _page_resolve(client, world, world.bob, escalation, note="first").status_code == 302
    again = _page_resolve(client, world, world.alice, escalation, note="second",
                          quiet_until=str(TODAY + timedelta(days=30)))  # fmt: skip
    assert again.status_code == 302  # back to the escalation with a message
    shown = [str(m) for m in again.wsgi_request._messages]
    assert shown[-1] == "This escalation is already resolved."
    api = _api_resolve(world, world.alice, escalation, {"note": "third"})
    assert api.status_code in (400, 409)
    assert "already resolved" in str(api.json())
    stored = _reload(escalation)
    assert (stored.resolution_note, stored.resolved_by, stored.quiet_until) == (
        "first", world.bob, None,
    )  # fmt: skip
    with scopes_disabled():
        assert stored.events.filter(kind="resolved").count() == 1


# --- 2b. Escalation flows through the hourly rules ---------------------------------------

FLAT = ["15.2", "15.0", "15.4", "14.9", "15.3", "15.1", "14.8", "15.6", "15.3"]
AVAIL_FLAT = ["99.95", "99.96", "99.94", "99.95", "99.97", "99.95", "99.94", "99.96", "99.95"]


def at(year, month, day=3, hour=6):
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


class Flow:
    """One contract, one SLA; a month's value goes in and the rules run on the 3rd after."""

    def __init__(self, *, target="24", minimum="25", direction="lower", unit="hours",
                 annual_value=Decimal("650000"), start=date(2025, 1, 1), terms=True,
                 slug="probe"):  # fmt: skip
        self.org = factories.OrganizationFactory(slug=slug)
        self.bob = self.member("bob", Membership.Role.ACCOUNT_MANAGER)
        self.lena = self.member("lena", Membership.Role.LEADERSHIP)
        vendor = factories.VendorFactory(organization=self.org)
        self.contact = factories.VendorContactFactory(
            organization=self.org, vendor=vendor, email="ops@vendor.example"
        )
        self.contract = factories.ContractFactory(
            organization=self.org, vendor=vendor, owner=self.bob, annual_value=annual_value,
            start_date=start, end_date=date(2029, 12, 31),
        )  # fmt: skip
        with scopes_disabled():
            self.contract.vendor_contacts.add(
                self.contact, through_defaults={"organization": self.org}
            )
        self.sla = factories.ServiceLevelFactory(
            organization=self.org, contract=self.contract, code="mttr", name="Mean time to repair",
            direction=direction, unit=unit,
        )  # fmt: skip
        if terms:
            factories.TermsFactory(
                organization=self.org, service_level=self.sla, target=Decimal(target),
                minimum=Decimal(minimum), effective_from=start,
            )  # fmt: skip
        self.month = start

    def member(self, username, role):
        user = factories.UserFactory(username=username)
        factories.MembershipFactory(organization=self.org, user=user, role=role)
        return user

    def month_of(self, value: str) -> dict:
        factories.ReadingFactory(
            organization=self.org, service_level=self.sla, period_start=self.month,
            value=Decimal(value),
        )  # fmt: skip
        self.month = periods.add_periods(self.month, MONTHLY, 1)
        return self.evaluate(at(self.month.year, self.month.month))

    def evaluate(self, now, ids=None):
        ids = ids or [self.sla.pk]
        with time_machine.travel(now, tick=False):
            engine.recompute(organization_id=self.org.pk, service_level_ids=ids, today=now.date())
            return evaluate.evaluate(
                organization_id=self.org.pk, service_level_ids=ids, today=now.date(), now=now
            )

    def now(self):
        return at(self.month.year, self.month.month)

    def escalations(self) -> list[Escalation]:
        with scopes_disabled():
            return list(Escalation.objects.filter(organization=self.org).order_by("pk"))

    def episodes(self) -> list[ForecastEpisode]:
        with scopes_disabled():
            return list(ForecastEpisode.objects.filter(organization=self.org).order_by("pk"))

    def kinds(self, escalation) -> list[str]:
        with scopes_disabled():
            return list(escalation.events.values_list("kind", flat=True))

    def events(self, escalation) -> list[EscalationEvent]:
        with scopes_disabled():
            return list(escalation.events.all())

    def tenant(self, user=None):
        from slagov.tenancy import Tenant

        with scopes_disabled():
            membership = Membership.objects.get(organization=self.org, user=user or self.bob)
        return Tenant(organization=self.org, membership=membership)

    def resolve(self, escalation, *, note="Accepted", quiet_until=None, now=None):
        with scopes_disabled(), time_machine.travel(now or self.now(), tick=False):
            services.escalation_resolve(
                escalation=escalation, actor=self.bob, note=note, quiet_until=quiet_until,
                tenant=self.tenant(),
            )  # fmt: skip


def sent() -> list:
    with scopes_disabled():
        notify.send_pending()
    messages = list(mail.outbox)
    mail.outbox.clear()
    return messages


def _yellow_flow(**kw) -> tuple[Flow, Escalation]:
    """Availability yellow (99.7 %) in its tenth month: level 1 opens."""
    f = Flow(target="99.9", minimum="99.5", direction="higher", unit="percent", **kw)
    for value in AVAIL_FLAT:
        f.month_of(value)
    f.month_of("99.7")
    (escalation,) = f.escalations()
    assert escalation.level == 1
    sent()
    return f, escalation


def _open_escalation(f: Flow, level=1, now=None) -> Escalation:
    with scopes_disabled():
        return Escalation.objects.create(
            organization=f.org, contract=f.contract, service_level=f.sla,
            kind=Escalation.Kind.PERFORMANCE, level=level, reason="yellow for a month",
            opened_at=now or f.now(),
        )  # fmt: skip


# --- 3. E-mail rendering for every event kind ---------------------------------------------

EVENT_KINDS = ["opened", "raised", "due_missed", "forecast", "reopened"]
MINUS_ZERO = r"(?<![\w.])[-\u2212]0(?:[.,]0+)?(?![\d.,]*[1-9])"


def _email(f: Flow, kind: str, *, level=1, recompute=True) -> tuple[str, str, str]:
    """(subject, text, html) of the e-mail an event of `kind` sends for the flow's SLA."""
    if recompute:
        with time_machine.travel(f.now(), tick=False):
            engine.recompute(
                organization_id=f.org.pk, service_level_ids=[f.sla.pk], today=f.now().date()
            )
    with scopes_disabled():
        escalation = Escalation.objects.create(
            organization=f.org, contract=f.contract, service_level=f.sla,
            kind=Escalation.Kind.PERFORMANCE, level=level, reason="r", opened_at=f.now(),
            due_by=f.now() + timedelta(hours=48),
        )  # fmt: skip
        event = EscalationEvent.objects.create(
            organization=f.org, escalation=escalation, kind=kind, at=f.now(), level=level,
            message=f"{kind} happened", due_by=escalation.due_by if kind != "forecast" else None,
        )  # fmt: skip
        notification = Notification.objects.create(
            organization=f.org, event=event, escalation=escalation, email="bob@example.com",
            user=f.bob, next_attempt_at=f.now(),
        )  # fmt: skip
        notification = Notification.objects.select_related(
            "event", "escalation__service_level__health", "escalation__contract__organization",
            "escalation__contract__vendor",
        ).get(pk=notification.pk)  # fmt: skip
        message = notify.render(notification)
    html = message.alternatives[0][0] if hasattr(message.alternatives[0], "__getitem__") else ""
    return message.subject, message.body, html


def _clean(text: str) -> None:
    import re

    # Links carry signed tokens of random letters ("…wv--0he…"): what the reader reads is the rest.
    text = re.sub(r"https?://\S+", "<link>", text)
    assert "None" not in text
    assert not re.search(MINUS_ZERO, text), re.search(MINUS_ZERO, text)
    assert "nan" not in text.lower().split()
    assert "inf" not in text.lower().split()


def _hours_flow(values, **kw) -> Flow:
    f = Flow(**kw)
    for value in values:
        factories.ReadingFactory(
            organization=f.org, service_level=f.sla, period_start=f.month, value=Decimal(value)
        )
        f.month = periods.add_periods(f.month, MONTHLY, 1)
    return f


@pytest.mark.django_db
@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_email_without_a_health_row_renders(kind):
    f = _hours_flow(["15.2", "15.0"])
    subject, text, html = _email(f, kind, recompute=False)
    with scopes_disabled():
        assert not SlaHealth.objects.filter(service_level=f.sla).exists()
    _clean(text)
    _clean(html)
    assert "Not enough data for a trend yet (0 of 4 periods)." in text
    assert "Mean time to repair" in subject


@pytest.mark.django_db
@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_email_for_an_sla_without_terms_renders(kind):
    f = _hours_flow([*FLAT, "17.0", "19.4"], terms=False)
    _subject, text, html = _email(f, kind)
    _clean(text)
    _clean(html)
    assert "Target" not in text  # no band to show
    assert "Nov 2025  19.4 h" in text
    assert "minimum —" in text  # a dash, not "None"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_email_for_a_red_sla_says_how_far_past_the_minimum(kind):
    f = _hours_flow([*FLAT, "17.0", "19.4", "26.25"])
    _subject, text, html = _email(f, kind, level=2)
    _clean(text)
    _clean(html)
    assert "Red now: 26.25 h is 1.25 h past the minimum (25 h)." in text
    assert "Target 24 h (green at or below), minimum 25 h (red when above)" in text


@pytest.mark.django_db
@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_email_for_a_count_shows_whole_numbers_grouped(kind):
    values = ["5120", "5080", "5150", "5110", "5090", "5300", "5520", "5760", "5910"]
    f = _hours_flow(values, target="5200", minimum="6000", unit="count")
    _subject, text, html = _email(f, kind)
    _clean(text)
    _clean(html)
    assert "Target 5,200 (green at or below), minimum 6,000 (red when above)" in text
    assert "5,910  Yellow" in text
    if kind == "forecast":
        assert "Forecast (expected value, 80 % band):" in text
        forecast_lines = text.split("80 % band):")[1].split("Last periods")[0]
        assert "." not in forecast_lines  # counts are whole numbers


@pytest.mark.django_db
@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_email_for_a_percentage_carries_the_unit(kind):
    f = _hours_flow([*AVAIL_FLAT, "99.82", "99.71"], target="99.9", minimum="99.5",
                    direction="higher", unit="percent")  # fmt: skip
    _subject, text, html = _email(f, kind)
    _clean(text)
    _clean(html)
    assert "Target 99.9 % (green at or above), minimum 99.5 % (red when below)" in text
    assert "99.71 %  Yellow" in text
    if kind == "forecast":
        forecast_lines = text.split("80 % band):")[1].split("Last periods")[0]
        assert forecast_lines.count(" %") == 9  # value, low, high on three lines


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["opened", "forecast"])
def test_email_trend_of_a_tiny_negative_slope_is_not_minus_zero(kind):
    f = _hours_flow(["15.1", "15.2", "14.8", "14.9", "15.1", "15.0"])
    _subject, text, _html = _email(f, kind)
    with scopes_disabled():
        assert SlaHealth.objects.get(service_level=f.sla).slope < 0
    assert "Trend: -0.0 h a month." not in text
    _clean(text)


@pytest.mark.django_db
def test_email_forecast_is_rounded_like_the_data_not_like_the_latest_value():
    f = _hours_flow(["15.1", "15.2", "14.8", "14.9", "15.1", "15.0"])
    _, text, _ = _email(f, "forecast")
    rows = text.split("80 % band):")[1].split("Last periods")[0].strip().splitlines()
    assert len(rows) == 3
    for row in rows:
        assert "15 h to 15 h" not in row, row
        assert "." in row, row  # one decimal, like the data


def _warned_flow(**kw) -> Flow:
    """The creeping repair time: green at 23.9 h, red next month more likely than not."""
    f = Flow(**kw)
    for value in [*FLAT, "17.0", "19.4", "21.7"]:
        f.month_of(value)
    assert f.month_of("23.9")["warned"] == 1
    return f


@pytest.mark.django_db
def test_an_early_warning_on_a_green_sla_stays_open_while_the_forecast_warns():
    f = _warned_flow()
    (escalation,) = f.escalations()
    assert (escalation.level, escalation.state) == (0, "open")
    counts = f.evaluate(f.now() + timedelta(hours=1))  # the next hourly run, nothing new
    (episode,) = f.episodes()
    assert episode.cleared_at is None  # the forecast still warns
    (same,) = f.escalations()
    assert counts["resolved"] == 0
    assert (same.state, f.kinds(same)) == ("open", ["forecast"])


@pytest.mark.django_db
def test_a_green_early_warning_resolved_by_hand_keeps_its_quiet_period():
    f = _warned_flow()
    (escalation,) = f.escalations()
    f.resolve(escalation, note="Vendor is fixing it", quiet_until=date(2026, 4, 30),
              now=f.now() + timedelta(minutes=5))  # fmt: skip
    f.evaluate(f.now() + timedelta(hours=1))
    (same,) = f.escalations()
    assert same.quiet
    assert "quiet_ended" not in f.kinds(same)


@pytest.mark.django_db
def test_a_new_level_is_a_new_step_unacknowledged_with_only_its_own_due_by():
    f, escalation = _yellow_flow()
    with scopes_disabled():
        services.escalation_acknowledge(escalation=escalation, actor=f.bob, now=f.now())
    assert f.month_of("99.2")["raised"] == 1  # red for a month: level 2, no due-by of its own
    (same,) = f.escalations()
    assert (same.level, same.state, same.acknowledged_by, same.due_by) == (2, "open", None, None)
    messages = sent()
    assert sorted(m.to[0] for m in messages) == ["bob@example.com", "lena@example.com"]
    for message in messages:
        assert message.subject.startswith("[slagov] Escalated to level 2")
        assert "Due by" not in message.body
        _clean(message.body)


@pytest.mark.django_db
def test_a_quiet_day_of_today_holds_today_and_reopens_with_an_email_tomorrow():
    f, escalation = _yellow_flow()
    today = f.now().date()
    f.resolve(escalation, quiet_until=today)
    for hour in (1, 10, 17):
        counts = f.evaluate(f.now() + timedelta(hours=hour))
        assert counts["reopened"] == counts["opened"] == 0
    assert f.escalations()[0].quiet
    assert sent() == []
    assert f.evaluate(f.now() + timedelta(days=1))["reopened"] == 1
    (same,) = f.escalations()
    assert (same.state, same.level, same.quiet) == ("open", 1, False)
    reopened = f.events(same)[-1]
    assert reopened.message.startswith(
        f"The quiet period until {today.day} {today:%b %Y} has ended and it still holds"
    )
    assert sorted(m.to[0] for m in sent()) == ["bob@example.com", "ops@vendor.example"]


@pytest.mark.django_db
def test_resolve_then_the_hourly_run_at_once_keeps_quiet_and_sends_nothing():
    f, escalation = _yellow_flow()
    f.resolve(escalation, note="Accepted", quiet_until=None)
    counts = f.evaluate(f.now())  # the same minute
    assert counts == dict.fromkeys(evaluate.COUNTS, 0)
    assert f.kinds(f.escalations()[0]) == ["opened", "resolved"]
    assert sent() == []


@pytest.mark.django_db
def test_a_forecast_while_quiet_tells_the_owner_on_the_resolved_escalation():
    f, escalation = _yellow_flow()
    f.resolve(escalation, note="Accepted")
    f.month_of("99.8")
    f.month_of("99.68")
    assert f.month_of("99.57")["warned"] == 1  # sliding toward 99.5 while quiet
    (same,) = f.escalations()
    assert (same.state, same.quiet) == ("resolved", True)
    (episode,) = f.episodes()
    assert episode.escalation_id == same.pk
    (message,) = sent()
    assert message.to == ["bob@example.com"]
    assert message.subject.startswith("[slagov] Early warning, breach forecast")
    assert "The escalation stays resolved: a known risk, accepted by hand" in message.body
    assert "None" not in message.body


@pytest.mark.django_db
def test_switching_to_compliance_mode_while_an_episode_is_open_ends_it_quietly():
    f = _warned_flow()
    sent()
    with scopes_disabled():
        type(f.contract).objects.filter(pk=f.contract.pk).update(governance_mode="compliance")
    f.evaluate(f.now() + timedelta(hours=1))
    (episode,) = f.episodes()
    assert episode.cleared_at is not None
    assert [e.state for e in f.escalations()] == ["resolved"]
    for value in ["24.6", "24.9"]:  # yellow and sliding: still no early warning
        assert f.month_of(value)["warned"] == 0
    assert len(f.episodes()) == 1
    assert [m for m in sent() if "Early warning" in m.subject] == []


@pytest.mark.django_db
def test_an_sla_without_terms_is_evaluated_without_error_or_warning():
    f = Flow(terms=False)
    for value in [*FLAT, "17.0", "19.4", "21.7", "23.9", "30"]:
        counts = f.month_of(value)
        assert counts == dict.fromkeys(evaluate.COUNTS, 0)
    with scopes_disabled():
        health = SlaHealth.objects.get(service_level=f.sla)
    assert health.risk == []
    assert health.periods_to_breach is None
    assert f.escalations() == []
    assert f.episodes() == []


@pytest.mark.django_db
def test_an_inactive_sla_gets_no_new_warning_from_the_hourly_sweep():
    from escalations import tasks

    f = Flow()
    for value in [*FLAT, "17.0", "19.4", "21.7"]:
        f.month_of(value)
    with scopes_disabled():
        type(f.sla).objects.filter(pk=f.sla.pk).update(is_active=False)
    factories.ReadingFactory(
        organization=f.org, service_level=f.sla, period_start=f.month, value=Decimal("23.9")
    )
    with time_machine.travel(at(2026, 2, 3), tick=False), scopes_disabled():
        engine.recompute(organization_id=f.org.pk, service_level_ids=[f.sla.pk])
        assert tasks.sweep()["failed"] == 0
    assert f.episodes() == []
    assert f.escalations() == []
    assert sent() == []


@pytest.mark.django_db
def test_deleting_an_sla_with_an_open_episode_takes_its_pending_mail_with_it():
    f = _warned_flow()
    with scopes_disabled():
        assert Notification.objects.filter(organization=f.org, state="pending").count() == 1
        f.sla.delete()
        assert not ForecastEpisode.objects.filter(organization=f.org).exists()
        assert not Escalation.objects.filter(organization=f.org).exists()
        assert not Notification.objects.filter(organization=f.org).exists()
    assert sent() == []
    f.evaluate(f.now() + timedelta(hours=1), ids=[f.sla.pk or 0])  # a stale id: no error


# --- 4. The back-test command --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--months", "0"], "at least 18 periods"),
        (["--weeks", "17"], "at least 18 periods"),
        (["--months", "-5"], "at least 18 periods"),
        (["--months", "abc"], "invalid int value: 'abc'"),
        (["--seed", "x"], "invalid int value: 'x'"),
    ],
)
def test_backtest_refuses_bad_arguments_with_a_message(args, words):
    from io import StringIO

    with pytest.raises(CommandError, match=words):
        call_command("backtest_warnings", *args, stdout=StringIO(), stderr=StringIO())


def test_the_same_seed_gives_the_same_portfolio():
    from escalations.backtest import portfolio

    def values(seed):
        return [s.values for s in portfolio.build(seed=seed, months=18, weeks=18)]

    assert values(-1) == values(-1)
    assert values(2) != values(3)


def test_a_negative_seed_is_not_silently_the_positive_one():
    from io import StringIO

    from escalations.backtest import portfolio

    def values(seed):
        return [s.values for s in portfolio.build(seed=seed, months=18, weeks=18)]

    try:
        call_command("backtest_warnings", "--seed", "-1", "--months", "0", stdout=StringIO())
    except CommandError as error:
        if "seed" in str(error):
            return  # refused, naming the seed: fine
    assert values(-1) != values(1)


@pytest.mark.django_db
def test_backtest_refuses_more_months_than_the_calendar_holds():
    from io import StringIO

    with pytest.raises(CommandError):
        call_command("backtest_warnings", "--months", "30000", stdout=StringIO(), stderr=StringIO())
    assert not Organization.objects.filter(slug__startswith="backtest-").exists()


@pytest.mark.django_db
def test_backtest_contracts_cover_every_period_they_replay():
    from escalations.backtest import portfolio, replay

    series = portfolio.build(seed=1, months=130, weeks=18)
    with scopes_disabled(), time_machine.travel(NOW, tick=False):
        world = replay._build(series, TODAY)
        for item in series:
            last = world.starts[item.key][-1]
            contract = world.contracts[item.key]
            assert contract.start_date <= world.starts[item.key][0]
            assert periods.period_end(last, item.period) <= contract.end_date, item.key


def test_backtest_stopped_with_sigterm_leaves_no_organisation_behind(tmp_path):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CI", "DATABASE_URL"}}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'bt.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media"),
        DJANGO_SETTINGS_MODULE="slagov.settings",
    )  # fmt: skip
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=300)
    command = [*manage, "backtest_warnings", "--months", "18", "--weeks", "18"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        for line in process.stderr:  # the replay is under way
            if "days replayed" in line:
                break
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    with sqlite3.connect(tmp_path / "bt.sqlite3") as db:
        left = db.execute(
            "SELECT slug FROM slagov_organization WHERE slug LIKE 'backtest-%'"
        ).fetchall()
    assert left == []


# --- 5. Number formatting on the SLA page and in general ------------------------------------


def _sla_page(client, f: Flow) -> str:
    with time_machine.travel(f.now(), tick=False):
        engine.recompute(
            organization_id=f.org.pk, service_level_ids=[f.sla.pk], today=f.now().date()
        )
    client.force_login(f.bob)
    response = client.get(reverse("metrics:sla", args=[f.org.slug, f.sla.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_sla_page_trend_of_a_tiny_negative_slope_is_not_minus_zero(client):
    f = _hours_flow(["15.1", "15.2", "14.8", "14.9", "15.1", "15.0"])
    html = _sla_page(client, f)
    assert "\u22120.0 h a month" not in html
    assert "-0.0 h a month" not in html


@pytest.mark.django_db
def test_sla_page_forecast_band_is_rounded_like_the_data(client):
    f = _hours_flow(["15.1", "15.2", "14.8", "14.9", "15.1", "15.0"])
    html = _sla_page(client, f)
    assert "80 % band next month" in html
    assert "15 h to 15 h" not in html


@pytest.mark.parametrize(
    ("value", "unit", "places", "text"),
    [
        (Decimal("-0.000000"), "hours", None, "0 h"),
        (-0.0, "percent", None, "0 %"),
        (Decimal("-0.004"), "hours", 2, "0.00 h"),
        (Decimal("-0.005"), "hours", 2, "-0.01 h"),
        (Decimal("999999999999.999999"), "count", None, "1,000,000,000,000"),
        (Decimal("999999999999.999999"), "hours", None, "999,999,999,999.999999 h"),
        (Decimal("1E+3"), "minutes", None, "1,000 min"),
        (float("inf"), "hours", None, "—"),
        (float("nan"), "hours", 1, "—"),
        ("abc", "percent", None, "—"),
        ("", "percent", None, "—"),
        (Decimal("1.000000"), "days", None, "1 day"),
        (Decimal("0.6"), "days", 0, "1 day"),
        (Decimal("-1"), "days", None, "-1 day"),
        (2.675, "hours", 2, "2.68 h"),  # half up on the written digits, not the binary float
        (Decimal("5"), None, None, "5"),
        (Decimal("5"), "furlongs", None, "5 furlongs"),
    ],
)
def test_hostile_values_read_with_their_unit(value, unit, places, text):
    assert formatting.with_unit(value, unit, places) == text


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.decimals(min_value=-(10**13), max_value=10**13, places=6),
        st.floats(min_value=-1e13, max_value=1e13),
        st.none(),
    ),
    st.sampled_from([None, "percent", "hours", "minutes", "days", "count", "score"]),
    st.one_of(st.none(), st.integers(0, 4)),
)
def test_property_with_unit_never_shows_an_exponent_none_or_minus_zero(value, unit, places):
    import re

    text = formatting.with_unit(value, unit, places)
    assert "None" not in text
    assert "E" not in text
    assert "e" not in text.replace("day", "")
    assert not re.search(MINUS_ZERO, text), text


def test_a_float_reads_like_its_shortest_repr():
    assert formatting.number(0.1 + 0.2) == "0.3"
    assert formatting.number(1e-7) == "0"


# --- 6. Data start typed by a clumsy user --------------------------------------------------


def _sla_form(**fields) -> dict:
    return {
        "code": "resp", "name": "Response time", "kind": "sla", "unit": "hours",
        "direction": "lower", "period": "monthly", "weight": "1", "is_active": "on",
        "effective_from": "2025-01-01", "target": "4", "minimum": "8", "improvement": "none",
        "tiers-TOTAL_FORMS": "0", "tiers-INITIAL_FORMS": "0", **fields,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("period", "typed"),
    [
        ("monthly", "2026-02-30"),
        ("monthly", "2026-13"),
        ("monthly", "2026-00"),
        ("monthly", "1999-12"),
        ("monthly", "9999-12"),
        ("monthly", "2030-01"),  # after the contract's end
        ("monthly", "next month"),
        ("weekly", "2025-W53"),  # 2025 has 52 ISO weeks
        ("weekly", "2026-W00"),
        ("weekly", "2026-W54"),
        ("weekly", "W12"),
    ],
)
def test_a_hostile_data_start_is_a_field_error_not_a_crash(client, world, period, typed):
    client.force_login(world.bob)
    url = reverse("contracts:sla_create", args=[world.org.slug, world.mine.contract.pk])
    with time_machine.travel(datetime(2026, 11, 25, 9, tzinfo=UTC), tick=False):
        response = client.post(url, _sla_form(period=period, data_start=typed))
    assert response.status_code in (200, 400)
    assert response.context["form"].errors.get("data_start"), response.context["form"].errors
    with scopes_disabled():
        assert not world.mine.contract.service_levels.filter(code="resp").exists()


@pytest.mark.django_db
def test_late_data_does_not_clear_the_forecast_nor_warn_twice():
    f = _warned_flow()  # January's 23.9 h: warned on 3 Feb
    assert len([m for m in sent() if "Early warning" in m.subject]) == 1
    f.evaluate(at(2026, 3, 10))  # February's data is late (due 5 March)
    (episode,) = f.episodes()
    assert episode.cleared_at is None
    performance = [e for e in f.escalations() if e.kind == "performance"]
    assert [e.resolution for e in performance] != ["forecast_cleared"]
    factories.ReadingFactory(
        organization=f.org, service_level=f.sla, period_start=date(2026, 2, 1),
        value=Decimal("24.3"),
    )  # fmt: skip
    f.evaluate(at(2026, 3, 11))  # in at last, still creeping toward 25 h
    assert len(f.episodes()) == 1
    assert [m for m in sent() if "Early warning" in m.subject] == []


@pytest.mark.parametrize("body", [{"note": ""}, {"note": "x", "quiet_until": "2026-02-30"}])
def test_a_vendor_user_is_refused_before_their_input_is_judged(world, client, body):
    own = world.mine.escalation
    page = _page_resolve(client, world, world.vic, own, **body)
    api = _api_resolve(world, world.vic, own, body)
    assert (page.status_code, api.status_code) == (403, 403)
    assert _reload(own).state == "open"


@pytest.mark.django_db
def test_the_forecast_knows_the_minimum_tightens_next_contract_year():
    f = Flow(terms=False, direction="higher", unit="percent")
    factories.TermsFactory(
        organization=f.org, service_level=f.sla, target=Decimal("99.9"),
        minimum=Decimal("99.5"), effective_from=date(2025, 1, 1), improvement="absolute",
        improvement_rate=Decimal("0.2"), improvement_bound=Decimal("100"),
    )  # fmt: skip
    for value in ["99.66", "99.64", "99.65", "99.67", "99.63", "99.65"] * 2:  # 2025: yellow
        f.month_of(value)
    with scopes_disabled():
        health = SlaHealth.objects.get(service_level=f.sla)
    assert health.forecast[0]["period"] == "2026-01-01"
    assert health.forecast[0]["high"] < 99.7  # below January's minimum, surely
    assert health.periods_to_breach == 1
    assert health.risk[0] > 0.5
    assert len(f.episodes()) == 1
