"""
The world the scorecard and report tests share: Vendor Mine's history over the
first months of 2026 (exact statuses, credits, a vendor warning a month ahead of
a breach), read on 15 May 2026.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from django_scopes import scopes_disabled

from contracts.models import Contract, ServiceLevel
from metrics import engine
from reviews.vendor_warnings import warnings_note_breaches
from tests import factories
from tests.conftest import World

TODAY = date(2026, 5, 15)
NOW = datetime(2026, 5, 15, 9, 0, tzinfo=UTC)


def build_history(world: World):
    """
    Vendor Mine's availability: Jan 99.95 green (the world's), Feb 99.7 yellow,
    Mar 99.2 red, Apr 99.95 green; a backlog KPI (lower is better, target 100,
    minimum 150): Jan 90, Feb 120, Mar 130, Apr 160 (red now). The vendor's
    warning, raised on 10 Feb for February on, came a month ahead of March's red.
    """
    org, sla = world.org, world.mine.sla
    with scopes_disabled():
        Contract.objects.filter(pk=world.mine.contract.pk).update(owner=world.bob)
    for month, value in ((2, "99.7"), (3, "99.2"), (4, "99.95")):
        factories.ReadingFactory(
            service_level=sla, organization=org, period_start=date(2026, month, 1),
            value=Decimal(value),
        )  # fmt: skip
    kpi = factories.ServiceLevelFactory(
        contract=world.mine.contract, organization=org, code="backlog", name="Ticket backlog",
        kind=ServiceLevel.Kind.KPI, unit=ServiceLevel.Unit.COUNT, direction="lower",
    )  # fmt: skip
    factories.TermsFactory(
        service_level=kpi, organization=org, target=Decimal("100"), minimum=Decimal("150")
    )
    for month, value in ((1, 90), (2, 120), (3, 130), (4, 160)):
        factories.ReadingFactory(
            service_level=kpi, organization=org, period_start=date(2026, month, 1),
            value=Decimal(value),
        )  # fmt: skip
    # The other vendor is red in March too: none of it may show on Vendor Mine's page.
    factories.ReadingFactory(
        service_level=world.theirs.sla, organization=org, period_start=date(2026, 3, 1),
        value=Decimal("98.1"),
    )  # fmt: skip
    ids = [sla.pk, kpi.pk, world.theirs.sla.pk]
    engine.recompute_service_levels(organization_id=org.pk, service_level_ids=ids, today=TODAY)
    warnings_note_breaches(organization_id=org.pk, service_level_ids=ids, today=TODAY)
    return kpi
