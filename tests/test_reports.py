"""
The monthly leadership report: who may ask for it (customer-side members, in
their own settings), what it says about a month (exact figures on a built
world), its page and PDF (customer side only, scoped, fixed queries), and its
e-mail: queued once per organisation and month to the members who opted in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts.models import Contract
from escalations.models import Escalation, Notification
from metrics.ledger import unclaimed_summary
from reviews import report_mail
from reviews.health_data import health_histories
from reviews.models import ActionItem, Side, VendorWarning
from reviews.outcomes_data import outcomes_by_quarter
from reviews.reports import monthly_report
from slagov import members
from slagov.models import Membership
from slagov.services import membership_preferences_save
from slagov.tenancy import tenant_scope
from tests import factories
from tests.conftest import World
from tests.scorecard_world import NOW, TODAY, build_history
from tests.test_escalation_workers import Inbox, smtp  # noqa: F401 (the loopback SMTP server)

APRIL = date(2026, 4, 1)


@pytest.fixture
def at_today():
    with time_machine.travel(NOW, tick=False):
        yield


def _at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 4, day, hour, 0, tzinfo=UTC)


def april_happenings(world: World) -> None:
    """
    April 2026: Vendor Mine's escalation opened on the 3rd and resolved before red on the
    20th; Vendor Theirs' (opened in March) resolved on the 5th after turning red; four
    action items due (one done on time, one done late, one open, one cancelled); one
    vendor warning raised.
    """
    org, mine, theirs = world.org, world.mine, world.theirs
    with scopes_disabled():
        Escalation.objects.filter(pk=mine.escalation.pk).update(
            opened_at=_at(3), state="resolved", resolved_at=_at(20), resolution="back_to_green"
        )
        Escalation.objects.filter(pk=theirs.escalation.pk).update(
            opened_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC), state="resolved",
            resolved_at=_at(5), resolution="back_to_green", reached_red=True,
        )  # fmt: skip
        for title, state, due, closed in (
            ("On time", "done", 10, _at(9)),
            ("Late", "done", 10, _at(12)),
            ("Still open", "open", 20, None),
            ("Dropped", "cancelled", 25, _at(22)),
        ):
            ActionItem.objects.create(
                organization=org, contract=mine.contract, title=title, owner=world.bob,
                owner_side=Side.CUSTOMER, due_date=date(2026, 4, due), state=state,
                created_at=_at(1), closed_at=closed,
            )  # fmt: skip
        VendorWarning.objects.create(
            organization=org, contract=theirs.contract, service_level=theirs.sla,
            title="Staff strike", impact="Slower answers", period_from=APRIL,
            raised_by=world.olly, raised_at=_at(2),
        )  # fmt: skip


def opt_in(*users) -> None:
    for user in users:
        membership = Membership.objects.get(user=user)
        membership_preferences_save(membership=membership, actor=user,
                                    data={"monthly_report": True})  # fmt: skip


# --- Asking for it ---------------------------------------------------------------------------


def test_a_customer_side_member_opts_in_in_their_own_settings(client, world: World):
    client.force_login(world.lena)
    url = reverse("preferences", args=[world.org.slug])
    assert 'name="monthly_report"' in client.get(url).content.decode()
    response = client.post(
        url, {"escalation_delivery": "immediate", "monthly_report": "on", "title": "COO"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=world.lena)
    assert (membership.monthly_report, membership.title) == (True, "COO")
    change = membership.history.order_by("-history_date").first()
    assert (change.monthly_report, change.history_user) == (True, world.lena)
    client.post(url, {"escalation_delivery": "immediate", "title": "COO"})  # unticked
    assert Membership.objects.get(user=world.lena).monthly_report is False


def test_ticking_it_twice_is_one_opt_in_and_one_e_mail_a_month(client, world: World):
    client.force_login(world.bob)
    url = reverse("preferences", args=[world.org.slug])
    form = {"escalation_delivery": "immediate", "monthly_report": "on"}
    assert [client.post(url, form).status_code for _ in range(2)] == [302, 302]
    assert Membership.objects.get(user=world.bob).monthly_report is True
    assert _run(datetime(2026, 6, 1, 5, 45, tzinfo=UTC)).done == 1
    assert _rows(world.org) == [("report:2026-05", "bob@example.com", "bob")]


def test_a_vendor_user_is_not_offered_the_report_and_a_forged_post_changes_nothing(
    client, world: World
):
    client.force_login(world.vic)
    url = reverse("preferences", args=[world.org.slug])
    assert 'name="monthly_report"' not in client.get(url).content.decode()
    response = client.post(url, {"escalation_delivery": "digest", "monthly_report": "on"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=world.vic)
    assert (membership.escalation_delivery, membership.monthly_report) == ("digest", False)


def test_the_service_refuses_a_vendor_user_naming_the_field(world: World):
    membership = Membership.objects.get(user=world.vic)
    with pytest.raises(ValidationError) as caught:
        membership_preferences_save(
            membership=membership, actor=world.vic, data={"monthly_report": True}
        )
    assert list(caught.value.message_dict) == ["monthly_report"]
    membership.refresh_from_db()
    assert membership.monthly_report is False


def test_the_database_refuses_a_vendor_user_with_the_report(world: World):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=world.vic).update(monthly_report=True)


def test_a_member_made_a_vendor_user_no_longer_receives_it(world: World):
    opt_in(world.bob)
    admin = Membership.objects.get(user=world.alice)
    bob = Membership.objects.get(user=world.bob)
    members.member_change(
        organization=world.org, actor=admin, membership=bob, role="vendor",
        vendor=world.mine.vendor,
    )  # fmt: skip
    bob.refresh_from_db()
    assert (bob.role, bob.monthly_report) == ("vendor", False)


# --- What it says ------------------------------------------------------------------------------


def _report(world: World, month: date = APRIL) -> dict:
    with tenant_scope(world.org):
        return monthly_report(organization=world.org, month=month, today=TODAY)


@pytest.mark.django_db
def test_the_month_counts_escalations_actions_and_warnings_of_that_month(world, at_today):
    build_history(world)
    april_happenings(world)
    report = _report(world)
    month = report["the_month"]
    assert [e.pk for e in month["opened"]] == [world.mine.escalation.pk]
    assert [e.pk for e in month["resolved"]] == [world.theirs.escalation.pk,
                                                 world.mine.escalation.pk]  # fmt: skip
    assert month["levels"] == [(1, 1)]
    assert month["actions"] == {"due": 4, "on_time": 1, "late": 1, "open": 1, "cancelled": 1}
    assert [w.title for w in month["warnings"]] == ["Staff strike"]
    march = _report(world, date(2026, 3, 1))["the_month"]
    assert [e.pk for e in march["opened"]] == [world.theirs.escalation.pk]
    assert march["resolved"] == []
    assert march["actions"]["due"] == 2  # the world's two items due on 1 March


@pytest.mark.django_db
def test_what_needs_attention_and_the_money_at_risk(world, at_today):
    kpi = build_history(world)
    report = _report(world)
    assert report["latest"] is True
    attention = report["attention"]
    assert [h.service_level_id for h in attention["reds"]] == [kpi.pk]
    # The contract with a red SLA, once, at its annual value.
    assert attention["money_at_risk"] == [("EUR", 240000)]
    assert [i.pk for i in attention["overdue_actions"]] == sorted(
        [world.mine.action_item.pk, world.theirs.action_item.pk]
    )
    assert attention["open_escalations"] == 2
    # Credits of the month and the two before, per contract, from the one rule.
    assert [(line.month, line.contract.pk, line.entry.credited)
            for line in report["credit_lines"]] == [
        (date(2026, 2, 1), world.mine.contract.pk, 1000),
        (date(2026, 3, 1), world.mine.contract.pk, 1000),
        (date(2026, 3, 1), world.theirs.contract.pk, 1000),
    ]  # fmt: skip
    assert report["credit_totals"] == [("EUR", 3000)]
    # Governance health, outcomes and unclaimed credits as their own selectors give them.
    with scopes_disabled():
        contracts = list(Contract.objects.filter(organization=world.org).select_related(
            "organization", "owner"))  # fmt: skip
        histories = health_histories(contracts, today=TODAY)
        quarters = outcomes_by_quarter(organization=world.org, today=TODAY)
        unclaimed = unclaimed_summary(organization_id=world.org.pk, today=TODAY)
    assert {pk: h.current for pk, h in attention["health"].items()} == {
        pk: h.current for pk, h in histories.items()
    }
    assert [h.contract.pk for h in attention["weak_health"]] == [
        h.contract.pk for h in sorted(histories.values(),
                                      key=lambda h: (h.current.score, h.contract.reference))
        if h.current.band != "good"
    ]  # fmt: skip
    assert [(q["label"], q["avoided"], q["breaches"]) for q in report["outcomes"]] == [
        (q.label, q.breaches_avoided, q.breaches) for q in quarters
    ]
    assert [q["label"] for q in report["outcomes"]] == ["2025 Q3", "2025 Q4", "2026 Q1", "2026 Q2"]
    assert (attention["unclaimed"].count, attention["unclaimed"].totals) == (
        unclaimed.count, unclaimed.totals,
    )  # fmt: skip
    assert unclaimed.count == 2  # the world's two sides' entries here, not the other tenant's


@pytest.mark.django_db
def test_an_older_months_report_keeps_its_history_and_says_nothing_of_now(world, at_today):
    build_history(world)
    report = _report(world, date(2026, 2, 1))
    assert (report["latest"], report["attention"]) == (False, None)
    assert [line.month for line in report["credit_lines"]] == [date(2026, 2, 1)]


# --- The page and the PDF ----------------------------------------------------------------------


def _page(world: World, month: str | None = None, pdf: bool = False) -> str:
    if month is None:
        return reverse("reviews:monthly_report", args=[world.org.slug])
    name = "reviews:monthly_report_pdf" if pdf else "reviews:monthly_report_month"
    return reverse(name, args=[world.org.slug, month])


@pytest.mark.django_db
def test_the_latest_report_page_is_the_month_just_ended(client, world, at_today):
    build_history(world)
    april_happenings(world)
    client.force_login(world.lena)
    html = client.get(_page(world)).content.decode()
    assert "Monthly report: Apr 2026" in html
    assert 'id="attention"' in html
    assert "Red now: <strong>1</strong>" in html
    assert "240,000 EUR" in html
    assert 'Escalations resolved</th><td class="right num">2</td>' in html
    assert "1 done on time, 1 done late, 1 still open, 1 cancelled" in html
    assert 'id="unclaimed-credits"' in html  # the credit ledger's own partial
    assert 'id="report-outcomes"' in html
    assert client.get(_page(world, "2026-04")).content.decode().count('id="attention"') == 1


@pytest.mark.django_db
def test_an_older_month_links_to_the_latest_and_a_month_not_ended_is_not_found(
    client, world, at_today
):
    client.force_login(world.bob)
    html = client.get(_page(world, "2026-01")).content.decode()
    assert 'id="not-latest"' in html
    assert 'id="attention"' not in html
    for month in ("2026-05", "2026-06", "2026-13", "2026-00", "0000-01"):
        assert client.get(_page(world, month)).status_code == 404, month
        assert client.get(_page(world, month, pdf=True)).status_code == 404, month


@pytest.mark.django_db
def test_the_report_as_a_pdf(client, world, at_today):
    build_history(world)
    client.force_login(world.alice)
    response = client.get(_page(world, "2026-04", pdf=True))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    assert response["Content-Disposition"] == (
        'attachment; filename="monthly-report-acme-2026-04.pdf"'
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "status"),
    [("lena", 200), ("bob", 200), ("vic", 403), ("olly", 403), ("charlie", 404)],
)
def test_the_report_is_the_customer_sides_own(client, world, at_today, persona, status):
    client.force_login(getattr(world, persona))
    assert client.get(_page(world)).status_code == status
    assert client.get(_page(world, "2026-03")).status_code == status
    assert client.get(_page(world, "2026-03", pdf=True)).status_code == status


@pytest.mark.django_db
def test_another_tenants_report_shows_nothing_of_this_one(client, world, at_today):
    build_history(world)
    client.force_login(world.charlie)
    html = client.get(reverse("reviews:monthly_report", args=[world.other_org.slug]))
    text = html.content.decode()
    assert world.foreign.contract.reference in text  # its own credits
    for side in (world.mine, world.theirs):
        assert side.contract.reference not in text


@pytest.mark.django_db
@pytest.mark.parametrize("pdf", [False, True])
@pytest.mark.parametrize("contracts", [1, 6])
def test_the_report_page_costs_the_same_queries_whatever_the_organisation(
    client, world, at_today, contracts, pdf, django_assert_num_queries
):
    from tests.test_vendor_scorecard import _fill

    build_history(world)
    _fill(world, contracts, 2)
    client.force_login(world.lena)
    # 1 session, 2 user, 3 membership (tenant), 4 contracts, 5 credits, 6 the month's
    # escalations, 7 action items due in it, 8 vendor warnings raised in it, 9 open
    # escalations, 10 red or coming SLAs, 11-18 governance health (reviews, action items,
    # escalations, vendor warnings, SLAs, relevance checks, readings' arrival, owners still
    # here), 19 overdue action items, 20 unclaimed credits, 21-29 outcomes (contracts,
    # credits, escalations, early warnings, red periods, early warnings and vendor warnings
    # as flags, timelines, action items), 30 switcher memberships (the page's menu; the
    # PDF has none)
    with django_assert_num_queries(29 if pdf else 30):
        response = client.get(_page(world, "2026-04", pdf=pdf))
    assert response.status_code == 200


# --- The e-mail, once a month --------------------------------------------------------------


def _rows(org) -> list[tuple[str, str, str]]:
    with scopes_disabled():
        return sorted(
            Notification.objects.filter(
                organization=org, kind=Notification.Kind.REPORT
            ).values_list("key", "email", "user__username")
        )


def _run(when: datetime):
    with time_machine.travel(when, tick=False):
        return report_mail.send_monthly_reports(now=when)


@pytest.mark.django_db
def test_the_report_is_queued_once_a_month_to_the_members_who_opted_in(world: World):
    opt_in(world.lena, world.bob, world.charlie)  # alice never did; vic can't
    dora = factories.UserFactory(username="dora")
    factories.MembershipFactory(organization=world.org, user=dora, role="leadership",
                                monthly_report=True, is_active=False)  # fmt: skip
    gone = factories.UserFactory(username="gone")
    gone.is_active = False
    gone.save()
    factories.MembershipFactory(organization=world.org, user=gone, role="leadership",
                                monthly_report=True)  # fmt: skip
    june_1st = datetime(2026, 6, 1, 5, 45, tzinfo=UTC)
    assert _run(june_1st).as_dict() == {"done": 3, "failed": 0, "failures": []}
    assert _rows(world.org) == [
        ("report:2026-05", "bob@example.com", "bob"),
        ("report:2026-05", "lena@example.com", "lena"),
    ]
    assert _rows(world.other_org) == [("report:2026-05", "charlie@example.com", "charlie")]
    # A second run in the same month (a redelivered task, a rerun by hand): nothing new.
    assert _run(datetime(2026, 6, 20, 12, 0, tzinfo=UTC)).done == 0
    assert len(_rows(world.org)) == 2
    # Next month: next month's report.
    assert _run(datetime(2026, 7, 1, 5, 45, tzinfo=UTC)).done == 3
    assert [key for key, _, _ in _rows(world.org)] == ["report:2026-05"] * 2 + [
        "report:2026-06"
    ] * 2


@pytest.mark.django_db
def test_the_e_mail_is_prerendered_with_its_links_and_this_tenants_figures_only(
    world: World, settings
):
    settings.SITE_URL = "https://slagov.example"
    opt_in(world.lena, world.charlie)
    _run(datetime(2026, 6, 1, 5, 45, tzinfo=UTC))
    with scopes_disabled():
        mine = Notification.objects.get(organization=world.org, kind="report")
        other = Notification.objects.get(organization=world.other_org, kind="report")
    payload = mine.payload
    assert payload["subject"] == "[slagov] Acme Corp: the monthly report for May 2026"
    page = "https://slagov.example/o/acme/reports/monthly/2026-05/"
    assert f"The whole report: {page}" in payload["text"]
    assert "As a PDF: https://slagov.example/o/acme/reports/monthly/2026-05.pdf" in payload["text"]
    assert f'href="{page}"' in payload["html"]
    assert "Money at risk" in payload["html"]
    assert "Credits not claimed yet: 1,000 EUR" in payload["text"]
    assert world.foreign.contract.reference not in payload["text"] + payload["html"]
    assert other.payload["subject"] == "[slagov] Other Inc: the monthly report for May 2026"


@pytest.mark.django_db
def test_one_organisations_failure_does_not_stop_the_others(world: World, monkeypatch):
    opt_in(world.lena, world.charlie)
    real = report_mail.monthly_report

    def broken_for_acme(*, organization, **kwargs):
        if organization.pk == world.org.pk:
            raise RuntimeError("a bad row")
        return real(organization=organization, **kwargs)

    monkeypatch.setattr(report_mail, "monthly_report", broken_for_acme)
    result = _run(datetime(2026, 6, 1, 5, 45, tzinfo=UTC))
    assert (result.done, result.failed) == (1, 1)
    assert result.failures == [f"acme (#{world.org.pk}): monthly report"]
    assert _rows(world.org) == []
    assert len(_rows(world.other_org)) == 1
    monkeypatch.setattr(report_mail, "monthly_report", real)
    assert _run(datetime(2026, 6, 2, 5, 45, tzinfo=UTC)).done == 1  # caught up, once


def test_the_beat_sends_it_early_on_the_first_of_the_month():
    from slagov.celery import app

    entry = app.conf.beat_schedule["monthly-report"]
    assert entry["task"] == "reviews.tasks.send_monthly_reports"
    schedule = entry["schedule"]
    assert (schedule.day_of_month, schedule.hour, schedule.minute) == ({1}, {5}, {45})


@pytest.mark.django_db
def test_the_demos_leadership_member_gets_the_monthly_report_once(mailoutbox):
    from escalations import notify
    from slagov.demo import seed

    today = date(2026, 11, 25)
    seed(today=today)
    seed(today=today)  # loaded twice: still one report
    with scopes_disabled():
        lena = Membership.objects.get(organization__slug="northwind", user__username="lena")
        rows = list(Notification.objects.filter(kind=Notification.Kind.REPORT))
    assert lena.monthly_report is True
    assert [(n.key, n.email) for n in rows] == [("report:2026-10", lena.user.email)]
    notify.send_pending()
    (message,) = [m for m in mailoutbox if "monthly report" in m.subject]
    assert message.subject == "[slagov] Northwind Logistics: the monthly report for Oct 2026"
    assert message.alternatives[0][1] == "text/html"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_report_arrives_once_with_an_html_part_through_a_real_smtp_server(
    world: World,
    settings,
    smtp: Inbox,  # noqa: F811
):
    """
    The outbox, its worker (in-process here) and a real SMTP server on loopback: the
    report counts as delivered once the server has answered 250.
    """
    from django.utils import timezone

    from escalations import notify

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp.port, 5
    opt_in(world.lena)
    now = timezone.now()
    # Queued and committed: the outbox asks its worker to send once the transaction commits.
    assert report_mail.send_monthly_reports(now=now).done == 1
    (message,) = smtp.to("lena@example.com")
    assert message["Subject"].startswith("[slagov] Acme Corp: the monthly report for ")
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    assert html.get_content_type() == "text/html"
    assert "Read the whole report" in html.get_content()
    assert "NEEDS ATTENTION" in text.get_content()
    # Run again, send again: the month's report was queued and delivered once.
    assert report_mail.send_monthly_reports(now=now).done == 0
    assert notify.send_pending() == 0
    assert smtp.count() == 1
