"""
/healthz/ says what is wrong in a word (never the error text); every
business change leaves who, when and what; a read never writes; saving a
policy keeps open escalations on the steps that raised them.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled

from contracts import services as contract_services
from escalations import policy_services
from escalations.models import Escalation, EscalationPolicy, EscalationStep
from escalations.policies import DEFAULT_STEPS
from slagov import health
from slagov.models import AuditEvent
from slagov.tasks import heartbeat
from tests import factories
from tests.conftest import token_client

pytestmark = pytest.mark.django_db


# --- /healthz/ -------------------------------------------------------------------------


def test_healthz_reports_each_part_in_a_word(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["worker"] == "in-process"  # the embedded default: tasks run in the request


def test_healthz_hides_the_database_error_and_answers_503(client, monkeypatch):
    def broken():
        raise RuntimeError("password authentication failed for user slagov at 10.0.0.7")

    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"] == "error"
    assert "10.0.0.7" not in response.content.decode()
    assert "password" not in response.content.decode()


def test_healthz_with_redis_unreachable_is_degraded_but_up(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get(reverse("healthz"))
    assert response.status_code == 200  # pages still work: keep it in the pool
    body = response.json()
    assert (body["status"], body["redis"], body["worker"]) == ("degraded", "error", "unknown")
    assert "Connection refused" not in response.content.decode()


def test_the_worker_heartbeat_goes_stale_when_no_worker_runs_it(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = ""  # (the cache holds the heartbeat)
    heartbeat()
    assert health.check()["worker"] == "ok"
    with time_machine.travel(time.time() + health.HEARTBEAT_STALE_SECONDS + 5):
        assert health.check()["worker"] == "stale"


# --- No writes on a read ------------------------------------------------------------------


def _writes(queries) -> list[str]:
    return [
        q["sql"] for q in queries if q["sql"].split(" ", 1)[0] in {"INSERT", "UPDATE", "DELETE"}
    ]


def test_a_new_organisation_has_its_default_policy_and_reading_it_writes_nothing(client, world):
    org = factories.OrganizationFactory(slug="fresh")
    with scopes_disabled():
        (policy,) = EscalationPolicy.objects.filter(organization=org)
        assert policy.steps.count() == len(DEFAULT_STEPS)
    admin = factories.UserFactory(username="fresh-admin")
    factories.MembershipFactory(organization=org, user=admin, role="admin")
    client.force_login(admin)
    api = token_client(org, admin)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("escalations:policy", args=[org.slug])).status_code == 200
        listed = api.get(f"/api/v1/o/{org.slug}/escalation-policies/")
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 1
    assert [sql for sql in _writes(queries) if "escalation" in sql] == []


# --- Policy saves keep open escalations on their steps -------------------------------------


def test_saving_a_policy_keeps_open_escalations_on_the_step_that_raised_them(world):
    org = world.org
    with scopes_disabled():
        policy = EscalationPolicy.objects.get(organization=org, contract__isnull=True)
        red = policy.steps.get(condition=EscalationStep.Condition.STATE, state="red")
        escalation = world.mine.escalation
        Escalation.objects.filter(pk=escalation.pk).update(step=red)
        steps = [
            {k: getattr(s, k) for k in ("condition", "state", "threshold", "level",
                                        "recipients", "due_hours", "action")}
            for s in policy.steps.order_by("order")
        ]  # fmt: skip
        position = [s["condition"] == "state" and s["state"] == "red" for s in steps].index(True)
        steps[position]["threshold"] = 10  # red for 10 days now, not 7
        policy_services.policy_save(organization=org, actor=world.alice, policy=policy, steps=steps)
        escalation.refresh_from_db()
        assert escalation.step_id == red.pk
        red.refresh_from_db()
        assert red.threshold == 10
        assert AuditEvent.objects.filter(organization=org, action="policy changed").count() == 1


# --- Every business change has an audit row ---------------------------------------------


def _audit(org, action: str) -> AuditEvent:
    return AuditEvent.objects.get(organization=org, action=action)


def test_contacts_added_edited_and_moved_on_a_contract_are_in_the_audit_log(world):
    org, vendor, contract = world.org, world.mine.vendor, world.mine.contract
    with scopes_disabled():
        contact = contract_services.vendor_contact_save(
            organization=org, actor=world.alice, vendor=vendor,
            data={"name": "Ola Ops", "email": "ola@vendor.example"},
        )  # fmt: skip
        added = _audit(org, "contact added")
        assert (added.actor, added.object_type, added.object_repr) == (
            world.alice,
            "contact",
            "Ola Ops <ola@vendor.example>",
        )
        contract_services.vendor_contact_save(
            organization=org, actor=world.bob, vendor=vendor, contact=contact,
            data={"name": "Ola Ops", "email": "ola.ops@vendor.example", "phone": "+44 1"},
        )  # fmt: skip
        edited = _audit(org, "contact edited")
        assert edited.actor == world.bob
        assert "email: ola@vendor.example → ola.ops@vendor.example" in edited.detail
        assert "phone: — → +44 1" in edited.detail
        contract_services.contract_save(
            organization=org, actor=world.alice, contract=contract, data={}, contacts=[contact]
        )
        moved = _audit(org, "contract contacts changed")
        assert moved.detail == "now: Ola Ops"
        # Saving the same contacts again is no change.
        contract_services.contract_save(
            organization=org, actor=world.alice, contract=contract, data={}, contacts=[contact]
        )
        assert AuditEvent.objects.filter(action="contract contacts changed").count() == 1


def test_credit_tiers_changed_with_the_terms_are_in_the_audit_log(world):
    org, sla = world.org, world.mine.sla
    with scopes_disabled():
        terms = sla.terms.get()
        contract_services.terms_agree(
            organization=org, actor=world.alice, service_level=sla,
            effective_from=terms.effective_from, target=terms.target, minimum=terms.minimum,
            tiers=[(Decimal("99.5"), Decimal("5")), (Decimal("99"), Decimal("10"))],
        )  # fmt: skip
        changed = _audit(org, "credit tiers changed")
        assert changed.actor == world.alice
        assert changed.object_type == "terms"
        assert changed.detail == "worse than 99.5 % → 5 %; worse than 99 % → 10 %"
        # The same tiers again: nothing new to say.
        contract_services.terms_agree(
            organization=org, actor=world.alice, service_level=sla,
            effective_from=terms.effective_from, target=terms.target, minimum=terms.minimum,
            tiers=[(Decimal("99"), Decimal("10")), (Decimal("99.5"), Decimal("5"))],
        )  # fmt: skip
        assert AuditEvent.objects.filter(action="credit tiers changed").count() == 1


# --- Delivery: failures visible to admins ----------------------------------------------


def test_an_admin_sees_a_failed_email_with_its_reason_and_sends_it_again(client, world):
    from django.core import mail

    from escalations import notify

    failed = world.mine.notification
    client.force_login(world.bob)  # an account manager: not theirs to run
    url = reverse("escalations:delivery", args=[world.org.slug])
    assert client.get(url).status_code == 403
    client.force_login(world.alice)
    page = client.get(url).content.decode()
    assert "refused@example.com" in page
    assert "SMTPRecipientsRefused: 550" in page
    again = reverse("escalations:delivery_send_again", args=[world.org.slug, failed.pk])
    assert client.get(again).status_code == 405
    response = client.post(again, follow=True)
    assert "The e-mail to refused@example.com goes out again." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == ("pending", 0)
    with scopes_disabled():
        said = _audit(world.org, "e-mail sent again")
    assert said.actor == world.alice
    assert "SMTPRecipientsRefused: 550" in said.detail
    # A second click (or a second admin) changes nothing.
    response = client.post(again, follow=True)
    assert "had not failed" in response.content.decode()
    notify.send_pending()
    assert "refused@example.com" in [m.to[0] for m in mail.outbox]


# --- The embedded default's cron command ------------------------------------------------


def test_sweep_work_from_cron_does_the_work_a_lost_ask_left(
    world, django_capture_on_commit_callbacks
):
    import io
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from metrics.models import PeriodStatus
    from slagov.models import PendingWork

    sla = world.mine.sla
    with scopes_disabled():
        PeriodStatus.objects.filter(service_level=sla).delete()
    # Recorded with its change, but the ask was lost (a worker died, the broker was away).
    PendingWork.objects.create(
        organization=world.org, kind="recompute", arguments={"service_level_ids": [sla.pk]},
        run_after=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # as when each commit is real
        call_command("sweep_work", stdout=out)
    assert out.getvalue().startswith("1 piece(s) of work asked for again")
    assert not PendingWork.objects.exists()  # the recompute and the rules after it: done
    with scopes_disabled():
        assert PeriodStatus.objects.filter(service_level=sla).exists()
