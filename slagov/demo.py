"""
Demo data: two organisations whose readings tell the stories of the seeds.

- Fleetfix's fleet maintenance: mean time to repair creeping up for three
  months while still green (drifting).
- Datastream's network: availability dips into yellow, then red (credits).
- Bluebird's service desk: a backlog surge (weekly KPI) precedes a breach of
  the P1 resolution time.
- Acme Cloud: consistently green, with an improvement clause that tightens
  availability each contract year.

Everything is placed relative to today, so the demo always looks current.
`seed_demo` is idempotent: existing rows are left as they are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import (
    Contract,
    ContractContact,
    CreditTier,
    ServiceLevel,
    ServiceLevelTerms,
    Vendor,
    VendorContact,
)
from escalations import evaluate
from metrics import engine
from metrics.demo_ledger import seed_ledger
from metrics.models import Reading
from reviews.services import reviews_plan_all
from slagov import demo_story
from slagov.accounts import address_verified
from slagov.models import Membership, Organization
from slagov.tenancy import tenant_scope

DEMO_PASSWORD = "slagov-demo-2026"  # noqa: S105 (printed for the demo; not a secret)
# Max signs in with two factors: the password, then a code an authenticator app makes
# from this secret (or one of his recovery codes, printed when seeding).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105 (published for the demo)

Role = Membership.Role
Cat = Contract.Category
Unit = ServiceLevel.Unit
D = Decimal


@dataclass
class SlaSpec:
    code: str
    name: str
    unit: str
    direction: str
    target: str
    minimum: str
    base: float
    noise: float
    kind: str = ServiceLevel.Kind.SLA
    period: str = periods.Period.MONTHLY
    tail: list[float] = field(default_factory=list)  # the last values, newest last
    credits: list[tuple[str, str]] = field(default_factory=list)
    improvement: str = "none"
    rate: str = "0"
    bound: str | None = None
    missing_latest: bool = False
    later: list[float] = field(default_factory=list)  # values that arrive after the story
    decimals: int = 2
    measures_time: bool = False
    counts: str = ""  # what a count counts: "5,700 tickets"


@dataclass
class ContractSpec:
    reference: str
    title: str
    vendor: str
    category: str
    annual_value: int
    months_ago: int  # contract start, in months before the current month
    term_months: int
    owner: str
    cadence: str = Contract.Cadence.MONTHLY
    adversarial: bool = False
    improvement_clause: bool = False
    slas: list[SlaSpec] = field(default_factory=list)


def sla(code, name, unit, direction, target, minimum, base, noise, **kw) -> SlaSpec:
    return SlaSpec(code, name, unit, direction, target, minimum, base, noise, **kw)


# What each demo count counts, by code (one contract's "tickets" counts incidents).
COUNTED = {
    "tickets": "tickets", "defects": "defects", "parts-bo": "parts", "returns": "items",
    "complaints": "complaints", "backlog": "tickets", "changes": "changes",
    "temp": "excursions", "billing": "disputes", "cold": "breaches",
}  # fmt: skip


def kpi(code, name, unit, direction, target, minimum, base, noise, **kw) -> SlaSpec:
    if unit == ServiceLevel.Unit.COUNT:
        kw.setdefault("counts", COUNTED.get(code, ""))
    return SlaSpec(code, name, unit, direction, target, minimum, base, noise, kind="kpi", **kw)


def avail(target="99.9", minimum="99.5", base=99.96, noise=0.025, **kw) -> SlaSpec:
    credits = [("99.9", "5"), ("99.5", "10"), ("99.0", "15")]
    return sla(
        "avail",
        "Service availability",
        Unit.PERCENT,
        "higher",
        target,
        minimum,
        base,
        noise,
        credits=credits,
        decimals=3,
        measures_time=True,
        **kw,
    )


H, M, PCT, N, S, DAYS = Unit.HOURS, Unit.MINUTES, Unit.PERCENT, Unit.COUNT, Unit.SCORE, Unit.DAYS
UP, DOWN = "higher", "lower"

# fmt: off
NORTHWIND_CONTRACTS = [
    ContractSpec("NW-CLD-001", "Cloud hosting platform", "Acme Cloud", Cat.CLOUD,
                 480_000, 26, 48, "bob", improvement_clause=True, slas=[
        # Consistently green; availability tightens 0.1 points a contract year.
        avail("99.7", "99.3", 99.975, 0.012, improvement="absolute", rate="0.1", bound="99.95"),
        sla("p1-res", "P1 resolution time", H, DOWN, "4", "8", 2.4, 0.35),
        sla("first-resp", "First response time", M, DOWN, "30", "60", 14, 3),
        kpi("csat", "Customer satisfaction", S, UP, "4.2", "3.8", 4.55, 0.08),
        kpi("tickets", "Ticket volume", N, DOWN, "900", "1200", 610, 45, decimals=0),
    ]),
    ContractSpec("NW-CLD-002", "Backup and recovery service", "Acme Cloud", Cat.CLOUD,
                 95_000, 14, 36, "carol", slas=[
        avail("99.5", "99.0", 99.92, 0.04),
        sla("restore", "Restore time (P1)", H, DOWN, "6", "12", 3.1, 0.5),
        sla("backup-ok", "Successful backups", PCT, UP, "99", "97", 99.6, 0.2),
        kpi("tickets", "Ticket volume", N, DOWN, "120", "180", 64, 9, decimals=0),
    ]),
    ContractSpec("NW-CLD-003", "E-mail migration support", "Acme Cloud",
                 Cat.PROFESSIONAL_SERVICES, 60_000, 3, 5, "carol", slas=[
        sla("milestones", "Milestones on time", PCT, UP, "95", "85", 97, 1.5),
        kpi("defects", "Open migration defects", N, DOWN, "10", "25", 6, 2, decimals=0),
        sla("first-resp", "First response time", M, DOWN, "60", "120", 35, 6),
        kpi("csat", "User satisfaction", S, UP, "4.0", "3.5", 4.3, 0.1),
    ]),
    ContractSpec("NW-FLT-001", "Fleet maintenance and repair", "Fleetfix Services",
                 Cat.LOGISTICS, 650_000, 17, 48, "bob", slas=[
        # The creeping mean time to repair: three months toward breach while green, an
        # early warning, a joint review, a second parts supplier: it stays green.
        sla("mttr", "Mean time to repair", H, DOWN, "24", "25", 15.2, 0.8,
            tail=[17.0, 19.4, 21.7, 23.9], later=[21.4, 18.2]),
        sla("veh-avail", "Vehicle availability", PCT, UP, "95", "92", 97.1, 0.5,
            tail=[96.6, 96.2, 95.8], credits=[("95", "4"), ("92", "8")]),
        sla("ftf", "First-time fix rate", PCT, UP, "85", "75", 89, 1.6),
        kpi("parts-bo", "Parts on back-order", N, DOWN, "40", "70", 22, 4, tail=[31, 38, 44],
            decimals=0),
        kpi("csat", "Driver satisfaction", S, UP, "4.0", "3.6", 4.3, 0.08),
    ]),
    ContractSpec("NW-FLT-002", "Tyre supply", "Fleetfix Services", Cat.COMMODITY,
                 38_000, 10, 24, "carol", slas=[
        sla("otd", "On-time delivery", PCT, UP, "95", "90", 96.5, 1.4),
        sla("fill", "Order fill rate", PCT, UP, "98", "95", 98.7, 0.6),
        sla("lead", "Delivery lead time", DAYS, DOWN, "3", "5", 2.1, 0.3),
        kpi("returns", "Returned items", N, DOWN, "15", "30", 7, 3, decimals=0),
    ]),
    ContractSpec("NW-FAC-001", "Depot cleaning", "Fleetfix Services", Cat.FACILITIES,
                 45_000, 12, 24, "carol", slas=[
        sla("audit", "Cleaning audit score", PCT, UP, "90", "80", 91, 2.5),
        sla("resp", "Response to spills", H, DOWN, "2", "4", 1.3, 0.3),
        kpi("complaints", "Complaints", N, DOWN, "5", "10", 2, 1.2, decimals=0),
        kpi("csat", "Staff satisfaction", S, UP, "3.8", "3.4", 3.95, 0.1),
    ]),
    ContractSpec("NW-ITO-001", "Service desk outsourcing", "Bluebird IT Outsourcing",
                 Cat.IT_OUTSOURCING, 1_200_000, 20, 60, "bob", improvement_clause=True, slas=[
        # A backlog surge (weekly) precedes the P1 resolution-time breach.
        kpi("backlog", "Open ticket backlog", N, DOWN, "150", "250", 118, 12,
            period=periods.Period.WEEKLY, decimals=0,
            tail=[142, 151, 166, 178, 193, 211, 224, 238, 249, 262, 271, 268, 274]),
        sla("p1-res", "P1 resolution time", H, DOWN, "4", "8", 2.9, 0.3,
            tail=[3.3, 4.4, 6.2, 9.1], improvement="relative", rate="5", bound="2",
            credits=[("8", "5"), ("12", "10")]),
        sla("first-resp", "First response time", M, DOWN, "15", "30", 9.5, 1.2,
            tail=[11.5, 13.8, 16.4]),
        kpi("csat", "Customer satisfaction", S, UP, "4.2", "3.8", 4.4, 0.06,
            tail=[4.25, 4.1, 3.95]),
        kpi("tickets", "Ticket volume", N, DOWN, "5200", "6000", 4300, 180,
            tail=[4900, 5350, 5700], decimals=0),
    ]),
    ContractSpec("NW-ITO-002", "End-user device support", "Bluebird IT Outsourcing",
                 Cat.IT_OUTSOURCING, 220_000, 15, 36, "carol", slas=[
        sla("fix-time", "Device fix time", H, DOWN, "8", "16", 6.2, 0.9, tail=[8.4, 7.1]),
        sla("first-resp", "First response time", M, DOWN, "30", "60", 18, 4),
        sla("imac", "IMAC requests on time", PCT, UP, "95", "90", 96.2, 1),
        kpi("csat", "User satisfaction", S, UP, "4.0", "3.6", 4.2, 0.08),
    ]),
    ContractSpec("NW-PS-001", "ERP consulting retainer", "Bluebird IT Outsourcing",
                 Cat.PROFESSIONAL_SERVICES, 140_000, 9, 24, "bob",
                 cadence=Contract.Cadence.QUARTERLY, slas=[
        sla("milestones", "Milestones on time", PCT, UP, "90", "80", 92, 3),
        kpi("defects", "Defects found in UAT", N, DOWN, "12", "20", 8, 2.5, decimals=0),
        kpi("util", "Consultant utilisation", PCT, UP, "85", "75", 88, 2.5),
        kpi("csat", "Stakeholder satisfaction", S, UP, "4.0", "3.5", 4.1, 0.12),
    ]),
    ContractSpec("NW-NET-001", "WAN and data-centre network", "Datastream Networks",
                 Cat.TELECOM, 380_000, 16, 36, "bob", slas=[
        # The availability dip: yellow last month, red this month (credits).
        avail(base=99.965, noise=0.02, tail=[99.93, 99.71, 99.2]),
        sla("latency", "Core latency (p95)", M, DOWN, "0.05", "0.1", 0.031, 0.004, decimals=4,
            tail=[0.036, 0.047, 0.071]),
        sla("p1-res", "P1 resolution time", H, DOWN, "4", "8", 2.6, 0.5, tail=[3.2, 5.4]),
        kpi("changes", "Failed changes", N, DOWN, "3", "6", 1, 0.8, tail=[2, 4, 5], decimals=0),
        kpi("tickets", "Incident volume", N, DOWN, "60", "90", 34, 5, tail=[41, 52, 66],
            counts="incidents", decimals=0),
    ]),
    ContractSpec("NW-NET-002", "Colocation facility", "Datastream Networks", Cat.FACILITIES,
                 160_000, 18, 36, "carol", slas=[
        sla("power", "Power availability", PCT, UP, "99.99", "99.9", 99.998, 0.002,
            decimals=4, credits=[("99.99", "5"), ("99.9", "15")], measures_time=True),
        sla("cooling", "Cooling availability", PCT, UP, "99.95", "99.8", 99.985, 0.01,
            decimals=3, measures_time=True),
        sla("access", "Access requests on time", PCT, UP, "98", "95", 99, 0.6),
        # The vendor has not sent last month's figure: late.
        kpi("temp", "Temperature excursions", N, DOWN, "2", "5", 0.6, 0.7, decimals=0,
            missing_latest=True),
    ]),
    ContractSpec("NW-NET-003", "Mobile fleet connectivity", "Datastream Networks", Cat.TELECOM,
                 72_000, 11, 24, "bob", adversarial=True, slas=[
        sla("coverage", "Route coverage", PCT, UP, "97", "94", 97.4, 0.7, tail=[96.5, 95.9]),
        sla("sim-act", "SIM activation time", H, DOWN, "24", "48", 20, 4),
        kpi("billing", "Billing disputes", N, DOWN, "3", "8", 3, 1.5, decimals=0),
        sla("p1-res", "P1 resolution time", H, DOWN, "8", "16", 7, 1.5),
    ]),
]

GLOBEX_CONTRACTS = [
    ContractSpec("GX-CLD-001", "Patient portal hosting", "Acme Cloud", Cat.CLOUD,
                 310_000, 13, 36, "gus", slas=[
        avail("99.95", "99.8", 99.985, 0.01),
        sla("p1-res", "P1 resolution time", H, DOWN, "2", "4", 1.4, 0.25),
        sla("first-resp", "First response time", M, DOWN, "15", "30", 8, 2),
        kpi("tickets", "Ticket volume", N, DOWN, "400", "550", 260, 30, decimals=0),
    ]),
    ContractSpec("GX-LOG-001", "Medical supplies logistics", "MedLogix", Cat.LOGISTICS,
                 540_000, 15, 48, "gus", slas=[
        sla("otd", "On-time delivery", PCT, UP, "97", "93", 98.1, 0.8, tail=[97.2, 96.1]),
        kpi("cold", "Cold-chain breaches", N, DOWN, "1", "3", 0.3, 0.5, decimals=0),
        sla("lead", "Emergency delivery time", H, DOWN, "4", "6", 2.9, 0.4),
        kpi("csat", "Ward satisfaction", S, UP, "4.0", "3.6", 4.25, 0.1),
    ]),
]
# fmt: on


@dataclass(frozen=True)
class Person:
    username: str
    first: str
    last: str
    role: str
    vendor: str | None = None


NORTHWIND_PEOPLE = [
    Person("alice", "Alice", "Adler", Role.ADMIN),
    Person("max", "Max", "Mertens", Role.ADMIN),  # two-factor sign-in on
    Person("dora", "Dora", "Dietz", Role.ACCOUNT_MANAGER),  # deactivated: she left
    Person("bob", "Bob", "Brennan", Role.ACCOUNT_MANAGER),
    Person("carol", "Carol", "Chen", Role.ACCOUNT_MANAGER),
    Person("lena", "Lena", "Lindqvist", Role.LEADERSHIP),
    Person("vera", "Vera", "Vance", Role.VENDOR, "Fleetfix Services"),
    Person("victor", "Victor", "Vogel", Role.VENDOR, "Bluebird IT Outsourcing"),
    Person("dana", "Dana", "Diaz", Role.VENDOR, "Datastream Networks"),
    Person("sam", "Sam", "Sato", Role.VENDOR, "Acme Cloud"),
]
GLOBEX_PEOPLE = [
    Person("gina", "Gina", "Grant", Role.ADMIN),
    Person("gus", "Gus", "Green", Role.ACCOUNT_MANAGER),
    Person("glen", "Glen", "Gray", Role.LEADERSHIP),
    Person("sam", "Sam", "Sato", Role.VENDOR, "Acme Cloud"),  # one login, two customers
    Person("mia", "Mia", "Moss", Role.VENDOR, "MedLogix"),
]
VENDOR_CONTACTS = {
    "Acme Cloud": ("Sam Sato", "sam@acme-cloud.example"),
    "Fleetfix Services": ("Vera Vance", "vera@fleetfix.example"),
    "Bluebird IT Outsourcing": ("Victor Vogel", "victor@bluebird-it.example"),
    "Datastream Networks": ("Dana Diaz", "dana@datastream.example"),
    "MedLogix": ("Mia Moss", "mia@medlogix.example"),
}


def _user(person: Person):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=person.username,
        defaults={
            "first_name": person.first,
            "last_name": person.last,
            "email": f"{person.username}@example.com",
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        address_verified(user, user.email)  # demo addresses count as proven
    return user


def _months_back(today: date, months: int) -> date:
    return periods.add_periods(today.replace(day=1), periods.Period.MONTHLY, -months)


def _values(spec: SlaSpec, count: int, rng: random.Random) -> list[Decimal]:
    values = [spec.base + rng.gauss(0, spec.noise) for _ in range(count)]
    story = [*spec.tail, *spec.later][-count:]
    if story:
        values[-len(story) :] = story
    result = []
    for value in values:
        if spec.unit == Unit.PERCENT:
            value = min(value, 100.0)
        value = max(value, 0.0)
        result.append(D(str(round(value, spec.decimals))))
    return result


def _org(slug: str, name: str, people: list[Person], contracts: list[ContractSpec], today: date):
    org, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
    vendors: dict[str, Vendor] = {}
    for spec in contracts:
        if spec.vendor not in vendors:
            vendors[spec.vendor], _ = Vendor.objects.get_or_create(
                organization=org, name=spec.vendor
            )
    for vendor in vendors.values():
        contact_name, email = VENDOR_CONTACTS[vendor.name]
        VendorContact.objects.get_or_create(
            organization=org, vendor=vendor, email=email, defaults={"name": contact_name}
        )
    users = {}
    for person in people:
        user = _user(person)
        users[person.username] = user
        Membership.objects.get_or_create(
            organization=org,
            user=user,
            defaults={
                "role": person.role,
                "vendor": vendors[person.vendor] if person.vendor else None,
            },
        )
    sla_ids: list[int] = []
    for spec in contracts:
        sla_ids.extend(_contract(org, spec, vendors[spec.vendor], users[spec.owner], today))
    return org, sla_ids


def _contract(org, spec: ContractSpec, vendor: Vendor, owner, today: date) -> list[int]:
    start = _months_back(today, spec.months_ago)
    contract, created = Contract.objects.get_or_create(
        organization=org,
        reference=spec.reference,
        defaults={
            "title": spec.title,
            "vendor": vendor,
            "category": spec.category,
            "annual_value": D(spec.annual_value),
            "currency": "EUR",
            "start_date": start,
            "end_date": periods.add_periods(start, periods.Period.MONTHLY, spec.term_months)
            - timedelta(days=1),
            "owner": owner,
            "review_cadence": spec.cadence,
            "adversarial": spec.adversarial,
            "clause_continuous_improvement": spec.improvement_clause,
        },
    )
    if created:
        for contact in vendor.contacts.all():
            ContractContact.objects.create(organization=org, contract=contract, contact=contact)
    last_closed = periods.last_closed_period(today, periods.Period.MONTHLY)
    ids = []
    for sla_spec in spec.slas:
        sla, _ = ServiceLevel.objects.get_or_create(
            organization=org,
            contract=contract,
            code=sla_spec.code,
            defaults={
                "name": sla_spec.name,
                "kind": sla_spec.kind,
                "unit": sla_spec.unit,
                "counts": sla_spec.counts,
                "direction": sla_spec.direction,
                "period": sla_spec.period,
                "measures_time": sla_spec.measures_time,
                "relevance_reviewed_at": today - timedelta(days=40),
                # A simulated history: the vendors have owed data since the contract began.
                "data_start": periods.first_period_of_term(contract.start_date, sla_spec.period),
            },
        )
        ids.append(sla.pk)
        if not ServiceLevelTerms.objects.filter(service_level=sla).exists():
            terms = ServiceLevelTerms.objects.create(
                organization=org,
                service_level=sla,
                effective_from=contract.start_date,
                direction=sla.direction,
                target=D(sla_spec.target),
                minimum=D(sla_spec.minimum),
                improvement=sla_spec.improvement,
                improvement_rate=D(sla_spec.rate),
                improvement_bound=D(sla_spec.bound) if sla_spec.bound else None,
                note="As signed",
            )
            if sla.kind == ServiceLevel.Kind.SLA:
                for level, pct in sla_spec.credits:
                    CreditTier.objects.create(
                        organization=org, terms=terms, worse_than=D(level), percent=D(pct)
                    )
        _readings(org, contract, sla, sla_spec, today, last_closed)
    return ids


def _readings(org, contract, sla, spec: SlaSpec, today: date, last_closed_month: date) -> None:
    if Reading.objects.filter(service_level=sla).exists():
        return
    kind = sla.period
    last = periods.last_closed_period(today, kind)
    if kind == periods.Period.MONTHLY:
        last = last_closed_month
    starts = list(periods.iter_periods(contract.start_date, last, kind))
    if not starts:
        return
    rng = random.Random(f"{org.slug}:{contract.reference}:{sla.code}")
    values = _values(spec, len(starts), rng)
    if spec.missing_latest:
        starts, values = starts[:-1], values[:-1]
    if spec.later:  # these arrive after the story (see `_fleet_story`)
        starts, values = starts[: -len(spec.later)], values[: -len(spec.later)]
    Reading.objects.bulk_create(
        Reading(
            organization=org,
            service_level=sla,
            period_start=start,
            value=value,
            source=Reading.Source.DEMO,
            submitted_at=_on_time(start, kind),
        )
        for start, value in zip(starts, values, strict=True)
    )


def _on_time(start: date, kind: str) -> datetime:
    """Two days after the period ended: inside every contract's deadline."""
    day = periods.period_end(start, kind) + timedelta(days=1)
    return datetime.combine(day, time(8, 0), tzinfo=UTC)


def _people_story(org) -> str:
    """
    The people side of Northwind: Max has two-factor sign-in, Dora has left (her
    membership deactivated by Alice), and a Fleetfix colleague's invitation is
    pending. Returns one of Max's unused recovery codes.
    """
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    from contracts.models import Vendor
    from slagov import members
    from slagov.models import Invitation

    max_user = get_user_model().objects.get(username="max")
    if not Authenticator.objects.filter(user=max_user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(max_user, DEMO_TOTP_SECRET)
        RecoveryCodes.activate(max_user)
    codes = Authenticator.objects.get(user=max_user, type=Authenticator.Type.RECOVERY_CODES)
    alice = Membership.objects.get(organization=org, user__username="alice")
    dora = Membership.objects.get(organization=org, user__username="dora")
    with tenant_scope(org):
        if dora.is_active:
            members.member_deactivate(organization=org, actor=alice, membership=dora)
        fleetfix = Vendor.objects.get(name="Fleetfix Services")
        if not Invitation.objects.filter(organization=org, email="nina@fleetfix.example").exists():
            members.invitation_create(
                organization=org, inviter=alice, email="nina@fleetfix.example",
                role=Role.VENDOR, vendor=fleetfix,
            )  # fmt: skip
    return codes.wrap().get_unused_codes()[0]


@scopes_disabled()
def seed(today: date | None = None, *, superuser: bool = False) -> list[tuple[str, str, str]]:
    """
    Create the demo organisations (once) and return the logins to print. The
    `operator` superuser (published password) only when asked: seed_demo asks
    for it on a development server alone.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        northwind, nw_ids = _org(
            "northwind", "Northwind Logistics", NORTHWIND_PEOPLE, NORTHWIND_CONTRACTS, today
        )
        globex, gx_ids = _org("globex", "Globex Health", GLOBEX_PEOPLE, GLOBEX_CONTRACTS, today)
        user_model = get_user_model()
        if superuser and not user_model.objects.filter(username="operator").exists():
            user_model.objects.create_superuser("operator", "operator@example.com", DEMO_PASSWORD)
    # The governance loop, played as it happened: the fleet contract's joint review and
    # its actions, an overdue action, a vendor's warning (slagov/demo_story.py).
    later = next(
        s.later for c in NORTHWIND_CONTRACTS if c.reference == "NW-FLT-001"
        for s in c.slas if s.code == "mttr"
    )  # fmt: skip
    with transaction.atomic():
        demo_story.play(northwind, today, later)
        recovery = _people_story(northwind)
    for org, ids in ((northwind, nw_ids), (globex, gx_ids)):
        engine.recompute_service_levels(organization_id=org.pk, service_level_ids=ids, today=today)
        # The stories escalate: the availability dip reaches leadership, the backlog surge
        # breaches; the creeping repair time was caught early and stays green.
        evaluate.evaluate(organization_id=org.pk, service_level_ids=ids, today=today)
    with time_machine.travel(datetime.combine(today, time(5, 10), tzinfo=UTC), tick=False):
        reviews_plan_all()  # every proactive contract has its next review planned
    for org in (northwind, globex):  # the credits: claimed, applied, waived, expired, waiting
        seed_ledger(org, today)
    demo_story.monthly_report(northwind, today)  # Lena's, once a month
    logins = []
    for org_name, people in (
        ("Northwind Logistics", NORTHWIND_PEOPLE),
        ("Globex Health", GLOBEX_PEOPLE),
    ):
        for person in people:
            what = Role(person.role).label + (f" ({person.vendor})" if person.vendor else "")
            if person.username == "max":
                what += f" · two-factor: app secret {DEMO_TOTP_SECRET}, or recovery code {recovery}"
            if person.username == "dora":
                what += " · deactivated (cannot sign in)"
            logins.append((person.username, org_name, what))
    if superuser:
        logins.append(("operator", "—", "Django admin (superuser)"))
    return logins
