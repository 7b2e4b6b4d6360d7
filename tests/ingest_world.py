"""The world the ingestion tests and the upload corpus assume (tests/corpus/README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.models import ServiceLevel
from tests import factories

TODAY = date(2026, 11, 25)


@dataclass
class IngestWorld:
    org: object
    vendor: object
    other_vendor: object
    contract: object
    slas: dict
    uploader: object  # vendor user of `vendor`
    manager: object  # account manager of the organisation


def build(org=None) -> IngestWorld:
    org = org or factories.OrganizationFactory(name="Corpus Org", slug="corpus")
    vendor = factories.VendorFactory(organization=org, name="Corpus Vendor")
    other_vendor = factories.VendorFactory(organization=org, name="Other Vendor")
    contract = factories.ContractFactory(
        organization=org,
        vendor=vendor,
        reference="CORP-1",
        start_date=date(2025, 1, 1),
        end_date=date(2027, 12, 31),
    )
    other = factories.ContractFactory(
        organization=org,
        vendor=other_vendor,
        reference="OTHER-1",
        start_date=date(2025, 1, 1),
        end_date=date(2027, 12, 31),
    )
    specs = {
        "avail": (ServiceLevel.Unit.PERCENT, "higher", "monthly", "99.9", "99.5"),
        "p1-res": (ServiceLevel.Unit.HOURS, "lower", "monthly", "4", "8"),
        "backlog": (ServiceLevel.Unit.COUNT, "lower", "weekly", "150", "250"),
        "csat": (ServiceLevel.Unit.SCORE, "higher", "monthly", "4.2", "3.8"),
    }
    slas = {}
    for code, (unit, direction, period, target, minimum) in specs.items():
        sla = factories.ServiceLevelFactory(
            organization=org,
            contract=contract,
            code=code,
            unit=unit,
            direction=direction,
            period=period,
            kind="kpi" if code in {"backlog", "csat"} else "sla",
        )
        factories.TermsFactory(
            organization=org, service_level=sla, target=Decimal(target), minimum=Decimal(minimum)
        )
        slas[code] = sla
    other_sla = factories.ServiceLevelFactory(organization=org, contract=other, code="avail")
    factories.TermsFactory(organization=org, service_level=other_sla)
    uploader = factories.UserFactory(username="uploader")
    factories.MembershipFactory(organization=org, user=uploader, role="vendor", vendor=vendor)
    manager = factories.UserFactory(username="manager")
    factories.MembershipFactory(organization=org, user=manager, role="account_manager")
    return IngestWorld(org, vendor, other_vendor, contract, slas, uploader, manager)
