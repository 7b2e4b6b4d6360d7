"""The embedded default's cron commands for the monthly report and the credit ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from escalations.models import Notification
from metrics.models import CreditEntry
from slagov.models import Membership
from tests.conftest import World


def test_send_monthly_reports_queues_the_month_once_however_often_cron_runs(world: World):
    Membership.objects.filter(user=world.lena, organization=world.org).update(monthly_report=True)
    out = StringIO()
    with time_machine.travel(datetime(2026, 12, 2, 6, 0, tzinfo=UTC), tick=False):
        call_command("send_monthly_reports", stdout=out)
        call_command("send_monthly_reports", stdout=out)
    with scopes_disabled():
        rows = list(Notification.objects.filter(kind=Notification.Kind.REPORT))
    assert [(r.email, r.key) for r in rows] == [(world.lena.email, "report:2026-11")]
    assert out.getvalue().splitlines() == [
        "1 report e-mail(s) queued.",
        "0 report e-mail(s) queued.",
    ]


def test_sync_credit_ledger_brings_the_ledger_in_step_with_the_engine(world: World):
    # The world's ledger entry (Dec 2025) has no credit behind it in the engine.
    out = StringIO()
    call_command("sync_credit_ledger", stdout=out)
    with scopes_disabled():
        assert not CreditEntry.objects.filter(pk=world.mine.credit_entry.pk).exists()
    assert "changed." in out.getvalue()


def test_a_failing_organisation_fails_the_command_after_the_others(world: World, monkeypatch):
    from metrics import ledger

    real = ledger.ledger_expire

    def broken(*, organization_id, **kwargs):
        if organization_id == world.other_org.pk:
            raise RuntimeError("disk full")
        return real(organization_id=organization_id, **kwargs)

    monkeypatch.setattr(ledger, "ledger_expire", broken)
    with pytest.raises(CommandError, match="1 failure"):
        call_command("sync_credit_ledger", stdout=StringIO())
    with scopes_disabled():  # the organisation before it was still done
        assert not CreditEntry.objects.filter(pk=world.mine.credit_entry.pk).exists()
