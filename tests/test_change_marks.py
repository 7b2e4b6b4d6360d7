"""
The organisation's change stamp beyond governance health: the status engine
marks what it recomputed (and nothing when nothing was due), the tables the
quarter outcomes and the heatmap read move it, and the leadership view's cached
outcomes and heatmap equal a fresh computation after a recompute.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from escalations import leadership
from escalations.models import EscalationEvent
from metrics import engine
from reviews.outcomes_data import outcomes_by_quarter
from slagov import change_marks
from slagov.models import ChangeMark
from tests import factories
from tests.conftest import World

TODAY = date(2026, 12, 7)

pytestmark = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the change marks are kept on PostgreSQL"
)


def _marks(org) -> int:
    return ChangeMark.objects.filter(organization_id=org.pk).count()


def _recompute(world: World) -> int:
    return engine.recompute(
        organization_id=world.org.pk, service_level_ids=[world.mine.sla.pk], today=TODAY
    )


def test_a_recompute_marks_its_organisation_and_a_repeat_with_nothing_to_do_does_not(
    world: World,
):
    _recompute(world)
    before, other = _marks(world.org), _marks(world.other_org)
    with scopes_disabled():
        factories.ReadingFactory(organization=world.org, service_level=world.mine.sla,
                                 period_start=date(2026, 11, 1), value=Decimal("90"))  # fmt: skip
    after_reading = _marks(world.org)
    assert after_reading > before  # the reading's own trigger
    assert _recompute(world) > 0
    assert _marks(world.org) > after_reading
    assert _marks(world.other_org) == other
    settled = _marks(world.org)
    assert _recompute(world) == 0
    assert _marks(world.org) == settled


def test_events_episodes_and_the_credit_ledger_move_the_stamp(world: World):
    before = change_marks.stamp(world.org.pk)
    with scopes_disabled():
        EscalationEvent.objects.create(
            organization=world.org, escalation=world.mine.escalation,
            kind=EscalationEvent.Kind.ACKNOWLEDGED, at=timezone.now(), level=1, message="Seen",
        )  # fmt: skip
    assert change_marks.stamp(world.org.pk) != before
    for table in ("escalations_escalationevent", "metrics_creditentry"):
        before = change_marks.stamp(world.org.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET organization_id = organization_id "  # noqa: S608
                "WHERE organization_id = %s RETURNING id",
                [world.org.pk],
            )
            assert cursor.fetchall(), f"the world has no {table} row"
        assert change_marks.stamp(world.org.pk) != before, table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = "
            "'escalations_forecastepisode'::regclass AND tgname LIKE '%%_mark_%%'"
        )
        assert cursor.fetchone()[0] == 3


def _heatmap(response) -> str:
    text = response.content.decode()
    start = text.index('id="heatmap"')
    return text[start : text.index("</table>", start)]


def _fresh(world: World):
    with scopes_disabled():
        return (
            outcomes_by_quarter(organization=world.org, today=TODAY, quarters=2),
            leadership.vendor_heatmap(organization=world.org, today=TODAY),
        )


def test_the_leadership_views_outcomes_and_heatmap_follow_a_recompute(client, world: World):
    import time_machine

    _recompute(world)
    client.force_login(world.lena)
    url = reverse("escalations:leadership", args=[world.org.slug])
    with time_machine.travel(TODAY, tick=False):
        first = _heatmap(client.get(url))
        assert _heatmap(client.get(url)) == first  # served again, the same
        with scopes_disabled():
            factories.ReadingFactory(
                organization=world.org, service_level=world.mine.sla,
                period_start=date(2026, 11, 1), value=Decimal("1"),
            )  # fmt: skip
        assert _recompute(world) > 0
        assert _heatmap(client.get(url)) != first
        cached = change_marks.cached(
            "leadership:v1", world.org.pk, TODAY, lambda: pytest.fail("not cached")
        )
        fresh = _fresh(world)
        assert cached == fresh
        heat = {row.vendor: [c.colour for c in row.cells] for row in fresh[1][1]}
        assert heat[world.mine.vendor.name][-1] == "red"
