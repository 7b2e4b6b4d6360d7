"""`recompute_statuses --workers`: one task per chunk of an organisation's SLAs."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.management import call_command

from metrics import services
from tests import factories

pytestmark = pytest.mark.django_db


def test_full_recompute_fans_out_one_task_per_chunk_of_slas():
    org = factories.OrganizationFactory(slug="fanout")
    other = factories.OrganizationFactory(slug="fanout-other")
    contract = factories.ContractFactory(vendor__organization=org)
    slas = [
        factories.ServiceLevelFactory(organization=org, contract=contract, code=f"s{n}")
        for n in range(5)
    ]
    factories.ServiceLevelFactory(contract__vendor__organization=other)
    with (
        mock.patch("metrics.tasks.recompute_statuses.delay") as delay,
        mock.patch.object(services, "RECOMPUTE_CHUNK", 2),
    ):
        call_command("recompute_statuses", "--workers", "--org", "fanout", stdout=mock.Mock())
    ids = sorted(s.pk for s in slas)
    assert delay.call_args_list == [
        mock.call(org.pk, ids[0:2]), mock.call(org.pk, ids[2:4]), mock.call(org.pk, ids[4:]),
    ]  # fmt: skip
    with mock.patch("metrics.tasks.recompute_statuses.delay") as delay:
        assert services.statuses_recompute_all(organization_id=org.pk) == 1
    delay.assert_called_once_with(org.pk, ids)
