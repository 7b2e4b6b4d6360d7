"""The benchmark commands run at a small size and leave nothing of their throwaway tenant."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from slagov.models import Organization
from tests.conftest import require_service

pytestmark = pytest.mark.django_db(transaction=True)


def _run(*args: str) -> str:
    out = io.StringIO()
    before = set(Organization.objects.values_list("pk", flat=True))
    call_command(*args, stdout=out)
    assert set(Organization.objects.values_list("pk", flat=True)) == before  # dropped
    return out.getvalue()


def test_bench_ingest_measures_and_drops_its_tenant():
    printed = _run("bench_ingest", "--rows", "400")
    names = {line.split(":")[0] for line in printed.splitlines()}
    assert {"load_start", "parse_s", "validate_s", "stage_s", "apply_s", "pipeline_s",
            "load_end"} <= names  # fmt: skip
    if connection.vendor == "postgresql":
        assert {"write_floor_s", "ratio_to_write_floor"} <= names


def test_bench_status_and_bench_escalations_measure_and_drop_their_tenants():
    require_service("PostgreSQL", connection.vendor == "postgresql")
    assert "ratio" in _run("bench_status", "--slas", "50", "--periods", "12").lower()
    assert _run("bench_escalations", "--slas", "50")
