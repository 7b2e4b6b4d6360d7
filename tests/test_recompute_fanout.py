"""`recompute_statuses --workers`: one task per chunk of an organisation's SLAs."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.management import call_command

from metrics import services
from slagov.models import PendingWork
from tests import factories

pytestmark = pytest.mark.django_db


def test_full_recompute_fans_out_one_task_per_chunk_of_slas(django_capture_on_commit_callbacks):
    org = factories.OrganizationFactory(slug="fanout")
    other = factories.OrganizationFactory(slug="fanout-other")
    contract = factories.ContractFactory(vendor__organization=org)
    slas = [
        factories.ServiceLevelFactory(organization=org, contract=contract, code=f"s{n}")
        for n in range(5)
    ]
    factories.ServiceLevelFactory(contract__vendor__organization=other)
    with (
        mock.patch("slagov.tasks.run_work.delay") as delay,
        mock.patch.object(services, "RECOMPUTE_CHUNK", 2),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("recompute_statuses", "--workers", "--org", "fanout", stdout=mock.Mock())
    ids = sorted(s.pk for s in slas)
    # Recorded as work, each chunk asked for once.
    recorded = _recorded(org)
    assert [r.arguments["service_level_ids"] for r in recorded] == [ids[0:2], ids[2:4], ids[4:]]
    assert delay.call_args_list == [mock.call(r.pk) for r in recorded]
    PendingWork.objects.all().delete()
    with (
        mock.patch("slagov.tasks.run_work.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.statuses_recompute_all(organization_id=org.pk) == 1
    (recorded,) = _recorded(org)
    assert recorded.arguments == {"service_level_ids": ids}
    delay.assert_called_once_with(recorded.pk)


def _recorded(org) -> list[PendingWork]:
    return list(PendingWork.objects.filter(organization=org, kind="recompute").order_by("pk"))
