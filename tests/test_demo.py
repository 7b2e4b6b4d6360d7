"""The demo data tells the seeds' stories, and loading it twice changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from contracts.models import Contract, ServiceLevel
from metrics.models import PeriodStatus, Reading, SlaHealth
from slagov.demo import seed
from slagov.models import Membership

TODAY = date(2026, 11, 25)


@pytest.fixture
def demo(db):
    seed(today=TODAY)


def _sla(reference: str, code: str) -> ServiceLevel:
    return ServiceLevel.objects.get(contract__reference=reference, code=code)


def _last(sla, n: int) -> list[PeriodStatus]:
    return list(PeriodStatus.objects.filter(service_level=sla).order_by("-period_start")[:n])[::-1]


@scopes_disabled()
def test_seed_is_idempotent(demo):
    counts = (Contract.objects.count(), Reading.objects.count(), PeriodStatus.objects.count())
    seed(today=TODAY)
    assert (
        Contract.objects.count(),
        Reading.objects.count(),
        PeriodStatus.objects.count(),
    ) == counts


@scopes_disabled()
def test_northwind_has_twelve_contracts_some_in_compliance_mode(demo):
    contracts = list(
        Contract.objects.filter(organization__slug="northwind").select_related("organization")
    )
    assert len(contracts) == 12
    assert len({c.vendor_id for c in contracts}) == 4
    modes = {c.reference: c.effective_mode for c in contracts}
    assert modes["NW-FLT-002"] == "compliance"  # commodity, under 50,000
    assert modes["NW-NET-003"] == "compliance"  # adversarial
    assert modes["NW-ITO-001"] == "proactive"
    for contract in contracts:
        assert 4 <= ServiceLevel.objects.filter(contract=contract).count() <= 6


@scopes_disabled()
def test_the_creeping_repair_time_was_reviewed_jointly_and_stays_green(demo):
    from escalations.models import Escalation, ForecastEpisode
    from reviews.models import ActionItem, Review

    sla = _sla("NW-FLT-001", "mttr")
    values = [s.value for s in _last(sla, 6)]
    assert values[0] < values[1] < values[2] < values[3] > values[4] > values[5]  # up, then down
    assert {s.colour for s in _last(sla, 6)} == {"green"}
    # The forecast warned Bob before the review; it has cleared since.
    (episode,) = ForecastEpisode.objects.filter(service_level=sla)
    assert episode.cleared_at is not None
    assert episode.breached_period is None  # never red
    warning = Escalation.objects.get(service_level=sla, level=0)
    assert warning.resolution == "forecast_cleared"
    # The joint review: its agenda listed the creep, it gave two actions, both done, and
    # both sides signed the pack.
    review = Review.objects.get(contract__reference="NW-FLT-001", state="signed_off")
    risks = review.items.get(section="risks").data["rows"]
    assert {"forecast", "drifting"} <= {r["kind"] for r in risks if r["sla"] == "mttr"}
    assert review.items.filter(section="topic", added_by__username="vera").exists()
    items = ActionItem.objects.filter(review=review)
    assert {(i.owner.username, i.state) for i in items} == {("vera", "done"), ("bob", "done")}
    assert {s.side for s in review.signatures.all()} == {"customer", "vendor"}
    assert len({s.sha256 for s in review.signatures.all()}) == 1


@scopes_disabled()
def test_the_demo_has_an_overdue_action_a_vendor_warning_and_the_next_reviews(demo):
    from reviews.models import ActionItem, Review, VendorWarning

    (overdue,) = ActionItem.objects.filter(state="open", due_date__lt=TODAY).exclude(
        contract__reference="NW-NET-001"  # sliding back: see the test below
    )
    assert (overdue.contract.reference, overdue.owner.username) == ("NW-ITO-001", "victor")
    (warning,) = VendorWarning.objects.filter(state="open")
    assert (warning.service_level.code, warning.raised_by.username) == ("p1-res", "victor")
    planned = Review.objects.filter(state="planned", kind="scheduled")
    proactive = [c for c in Contract.objects.all() if c.effective_mode == "proactive"]
    assert {r.contract_id for r in planned} == {c.pk for c in proactive}
    missed = [r for r in planned if r.scheduled_at.date() < TODAY]
    assert [r.contract.reference for r in missed] == ["NW-NET-001"]  # planned, never held


@scopes_disabled()
def test_availability_dip_turns_red_with_credits(demo):
    sla = _sla("NW-NET-001", "avail")
    yellow, red = _last(sla, 2)
    assert (yellow.colour, red.colour) == ("yellow", "red")
    assert red.credit_percent == 10
    assert red.credit_amount > 0
    assert SlaHealth.objects.get(service_level=sla).colour == "red"


@scopes_disabled()
def test_backlog_surge_precedes_the_resolution_breach(demo):
    backlog = _last(_sla("NW-ITO-001", "backlog"), 6)
    assert backlog[-1].value > backlog[0].value
    assert backlog[-1].colour == "red"
    assert [s.colour for s in _last(_sla("NW-ITO-001", "p1-res"), 3)] == ["yellow", "yellow", "red"]


@scopes_disabled()
def test_one_vendor_login_serves_two_customers(demo):
    sam = get_user_model().objects.get(username="sam")
    orgs = set(Membership.objects.filter(user=sam).values_list("organization__slug", "role"))
    assert orgs == {("northwind", "vendor"), ("globex", "vendor")}
    roles = set(
        Membership.objects.filter(organization__slug="globex").values_list("role", flat=True)
    )
    assert roles == {"admin", "account_manager", "leadership", "vendor"}


@scopes_disabled()
def test_the_stories_escalate(demo):
    from escalations.models import Escalation

    def escalation(reference, code):
        return Escalation.objects.get(
            service_level__contract__reference=reference,
            service_level__code=code,
            state="open",
            kind="performance",
        )

    assert escalation("NW-NET-001", "avail").level == 2  # the dip reaches leadership
    assert escalation("NW-ITO-001", "backlog").level == 2  # the surge breached


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("NW-FLT-001", "mttr"),  # the creeping mean time to repair (monthly)
        ("NW-ITO-001", "backlog"),  # the backlog surge (weekly)
    ],
)
@scopes_disabled()
def test_replaying_the_demo_history_warns_the_owner_by_email_before_the_breach(
    demo, reference, code
):
    """
    The story replayed as it happened: each period's value arrives two days after the
    period ends, the statuses and the rules run with the clock set to that day. The
    owner's forecast e-mail must come from a day whose data shows no red yet.
    """
    import time_machine
    from django.core import mail

    from contracts import periods
    from escalations import evaluate, notify
    from escalations.models import Escalation, ForecastEpisode
    from metrics import engine

    sla = _sla(reference, code)
    owner = sla.contract.owner
    history = list(Reading.objects.filter(service_level=sla).order_by("period_start"))
    minimum = PeriodStatus.objects.filter(service_level=sla).latest("period_start").minimum
    first_red = next(
        (r.period_start for r in history if (r.value > minimum)), None
    )  # both stories are lower-is-better
    Escalation.objects.filter(service_level=sla).delete()
    ForecastEpisode.objects.filter(service_level=sla).delete()
    Reading.objects.filter(service_level=sla).delete()
    PeriodStatus.objects.filter(service_level=sla).delete()
    SlaHealth.objects.filter(service_level=sla).delete()
    mail.outbox.clear()
    warned_with = None
    for reading in history:
        arrives = periods.period_end(reading.period_start, sla.period)
        now = datetime.combine(arrives, time(6), tzinfo=UTC) + timedelta(days=1)
        with time_machine.travel(now, tick=False):
            if first_red is not None and reading.period_start >= first_red and warned_with:
                break
            Reading.objects.create(
                organization=sla.organization, service_level=sla,
                period_start=reading.period_start, value=reading.value,
                source=Reading.Source.UPLOAD, submitted_at=now,
            )  # fmt: skip
            engine.recompute(organization_id=sla.organization_id, service_level_ids=[sla.pk])
            evaluate.evaluate(organization_id=sla.organization_id, service_level_ids=[sla.pk])
            notify.send_pending()
            warnings = [
                m for m in mail.outbox
                if m.to == [owner.email] and m.subject.startswith("[slagov] Early warning")
                and f"{reference} {sla.name}" in m.subject
            ]  # fmt: skip
            if warnings and warned_with is None:
                warned_with = reading.period_start
                (message,) = warnings
                assert f"{reference} {sla.name}" in message.subject
                assert "is forecast to turn red in" in message.body
                assert "80 % band" in message.body
    assert warned_with is not None, "no forecast e-mail to the owner"
    if first_red is not None:
        assert warned_with < first_red  # told before the breach
    mail.outbox.clear()


@pytest.mark.django_db(transaction=True)  # the outbox sends after each commit
def test_seeding_prints_the_logins_and_keeps_the_story_emails_as_files(settings, tmp_path):
    from email import message_from_bytes
    from io import StringIO

    from django.core.management import call_command

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True
    out = StringIO()
    # Just after midnight (UTC), before the morning's report job would run: sent all the same.
    with time_machine.travel(datetime(2026, 12, 8, 0, 30, tzinfo=UTC), tick=True):
        call_command("seed_demo", stdout=out)
    printed, _, report = out.getvalue().partition("\nThe monthly leadership report, as sent to ")
    lines = printed.splitlines()
    files = sorted((tmp_path / "demo-mail").glob("*.eml"))
    # A screenful: the count and where the e-mails are, then the logins; no e-mail bodies
    # but one, after them: the monthly report leadership reads.
    assert len(lines) < 25
    assert report.startswith("lena@")
    assert "the monthly report for" in report
    assert "Sliding back into firefighting" in report
    assert "NW-NET-001" in report
    assert f"sent {len(files)} e-mails: read them in {tmp_path / 'demo-mail'}/" in lines[0]
    assert len(files) > 10
    assert any("  bob " in line for line in lines)
    assert not any(line.startswith(("Content-Type", "Subject:")) for line in lines)
    first = message_from_bytes(files[0].read_bytes())
    assert "@" in first["To"]
    assert "NW-FLT-001" in first["Subject"]  # the first story: the fleet contract
    # Dates in the house style (1 Oct 2026): no ISO date in any message's text.
    import re
    from email import policy

    for path in files:
        text = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = text.get_body(("plain",)).get_content()
        without_links = re.sub(r"https?://\S+", "", body)
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", without_links), (path.name, without_links)


def test_the_demo_people_sign_in_as_the_readme_says(demo, client):
    from io import StringIO

    from django.core.management import call_command
    from django.urls import reverse

    from slagov.demo import DEMO_PASSWORD
    from slagov.models import Invitation

    signed = client.post(reverse("login"), {"login": "max", "password": DEMO_PASSWORD})
    assert signed["Location"] == reverse("mfa_authenticate")  # the password is not enough
    code = StringIO()
    call_command("demo_totp", stdout=code)
    assert (
        client.post(reverse("mfa_authenticate"), {"code": code.getvalue().strip()}).status_code
        == 302
    )
    assert client.get(reverse("members", args=["northwind"])).status_code == 200
    client.logout()
    dora = client.post(reverse("login"), {"login": "dora", "password": DEMO_PASSWORD}, follow=True)
    assert "Your access has ended" in dora.content.decode()  # deactivated: no way in
    assert client.get(reverse("contracts:portfolio", args=["northwind"])).status_code == 302
    with scopes_disabled():
        pending = Invitation.objects.get(email="nina@fleetfix.example")
    assert pending.state == "pending"
    assert pending.vendor.name == "Fleetfix Services"


@scopes_disabled()
def test_the_demo_ledger_shows_credits_in_every_state(demo):
    from metrics.models import CreditEntry

    entries = CreditEntry.objects.filter(organization__slug="northwind")
    assert set(entries.values_list("state", flat=True)) == {
        "assessed", "claimed", "applied", "waived", "expired",
    }  # fmt: skip
    applied = entries.get(state="applied")
    assert applied.invoice_reference == f"INV-{applied.contract.reference}-{applied.month:%Y%m}"
    assert entries.get(state="waived").waive_reason
    states = sorted(entries.values_list("pk", "state"))
    seed(today=TODAY)  # a second load moves nothing
    assert sorted(entries.values_list("pk", "state")) == states


@scopes_disabled()
def test_the_network_contract_is_sliding_back_into_firefighting(demo):
    from reviews.health_data import health_histories, sliding_back

    contracts = Contract.objects.select_related("organization", "owner").filter(
        organization__slug="northwind"
    )
    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
        histories = health_histories(contracts, today=TODAY)
    network = next(h for h in histories.values() if h.contract.reference == "NW-NET-001")
    assert network.scores[-3:] == [95, 55, 50]
    assert [h.contract.reference for h in sliding_back(histories)] == ["NW-NET-001"]
