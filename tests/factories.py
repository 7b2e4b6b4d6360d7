"""factory_boy factories. They write with scopes disabled: test set-up is not a request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_scopes import scopes_disabled

from contracts import periods
from contracts.models import (
    Contract,
    CreditTier,
    ServiceLevel,
    ServiceLevelTerms,
    Vendor,
    VendorContact,
)
from metrics.models import Reading, SlaHealth
from slagov.models import Membership, Organization

PASSWORD = "correct-horse-battery"


class ScopedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with scopes_disabled():
            return super()._create(model_class, *args, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.LazyAttribute(lambda u: u.username.capitalize())

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class VendorFactory(ScopedFactory):
    class Meta:
        model = Vendor

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Vendor {n}")


class VendorContactFactory(ScopedFactory):
    class Meta:
        model = VendorContact

    vendor = factory.SubFactory(VendorFactory)
    organization = factory.SelfAttribute("vendor.organization")
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@vendor.example")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ACCOUNT_MANAGER
    vendor = None


class ContractFactory(ScopedFactory):
    class Meta:
        model = Contract

    vendor = factory.SubFactory(VendorFactory)
    organization = factory.SelfAttribute("vendor.organization")
    reference = factory.Sequence(lambda n: f"C-{n:04d}")
    title = factory.Sequence(lambda n: f"Contract {n}")
    category = Contract.Category.IT_OUTSOURCING
    annual_value = Decimal("240000")
    start_date = date(2025, 1, 1)
    end_date = date(2028, 12, 31)


class ServiceLevelFactory(ScopedFactory):
    class Meta:
        model = ServiceLevel

    contract = factory.SubFactory(ContractFactory)
    organization = factory.SelfAttribute("contract.organization")
    code = factory.Sequence(lambda n: f"sla-{n}")
    name = factory.Sequence(lambda n: f"Service level {n}")
    kind = ServiceLevel.Kind.SLA
    unit = ServiceLevel.Unit.PERCENT
    direction = "higher"
    period = "monthly"
    # Test histories owe data from the contract's first period (as the demo does);
    # `data_start=None` gives the default a new SLA gets (`periods.default_data_start`).
    data_start = factory.LazyAttribute(
        lambda s: periods.first_period_of_term(s.contract.start_date, s.period)
    )


class TermsFactory(ScopedFactory):
    class Meta:
        model = ServiceLevelTerms

    service_level = factory.SubFactory(ServiceLevelFactory)
    organization = factory.SelfAttribute("service_level.organization")
    effective_from = factory.SelfAttribute("service_level.contract.start_date")
    direction = factory.SelfAttribute("service_level.direction")
    target = Decimal("99.9")
    minimum = Decimal("99.5")


class CreditTierFactory(ScopedFactory):
    class Meta:
        model = CreditTier

    terms = factory.SubFactory(TermsFactory)
    organization = factory.SelfAttribute("terms.organization")
    worse_than = Decimal("99.9")
    percent = Decimal("5")


class ReadingFactory(ScopedFactory):
    class Meta:
        model = Reading

    service_level = factory.SubFactory(ServiceLevelFactory)
    organization = factory.SelfAttribute("service_level.organization")
    period_start = date(2026, 1, 1)
    value = Decimal("99.95")
    source = Reading.Source.MANUAL
    submitted_at = factory.LazyFunction(timezone.now)


class SlaHealthFactory(ScopedFactory):
    class Meta:
        model = SlaHealth

    service_level = factory.SubFactory(ServiceLevelFactory)
    organization = factory.SelfAttribute("service_level.organization")
    colour = "green"
    computed_at = factory.LazyFunction(timezone.now)
