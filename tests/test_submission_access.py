"""Who may upload and apply data: vendor users and account managers, not leadership."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from metrics.ingest import pipeline
from metrics.models import Submission
from slagov.models import Membership
from slagov.services import api_token_create
from slagov.tenancy import resolve_tenant
from tests import factories
from tests.ingest_world import TODAY, build

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]
ROWS = [{"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 99.95}]
CSV = b"contract,sla,period,value\nCORP-1,avail,2026-10,99.95\n"


@pytest.fixture
def w():
    world = build()
    world.leader = factories.UserFactory(username="lena-access")
    factories.MembershipFactory(organization=world.org, user=world.leader, role="leadership")
    return world


def _api(w, user) -> APIClient:
    membership = Membership.objects.get(user=user, organization=w.org)
    _, key = api_token_create(organization=w.org, actor=user, membership=membership, name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _ready(w) -> Submission:
    submission = pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, data=CSV,
        filename="data.csv", enqueue=False,
    )  # fmt: skip
    return pipeline.submission_validate(submission_id=submission.pk, today=TODAY)


def test_who_can_upload(w):
    assert resolve_tenant(w.uploader, w.org.slug).can_upload
    assert resolve_tenant(w.manager, w.org.slug).can_upload
    assert not resolve_tenant(w.leader, w.org.slug).can_upload


def test_leadership_cannot_submit_or_apply_over_the_api(w):
    api = _api(w, w.leader)
    created = api.post(
        reverse("api:submission-list", kwargs={"org_slug": w.org.slug}),
        {"rows": ROWS, "vendor": w.vendor.pk},
        format="json",
    )
    assert created.status_code == 403
    assert created.json() == {"detail": "Only vendor users and account managers submit data."}
    submission = _ready(w)
    confirmed = api.post(
        reverse("api:submission-confirm", kwargs={"org_slug": w.org.slug, "pk": submission.pk}),
        {},
        format="json",
    )
    assert confirmed.status_code == 403
    assert confirmed.json() == {"detail": "Only vendor users and account managers apply data."}
    with scopes_disabled():
        assert Submission.objects.get(pk=submission.pk).state == Submission.State.READY


def test_leadership_sees_the_upload_page_without_the_form_and_cannot_post(client, w):
    client.force_login(w.leader)
    url = reverse("metrics:submissions", args=[w.org.slug])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["can_upload"] is False
    posted = client.post(url, {"vendor": w.vendor.pk, "file": SimpleUploadedFile("d.csv", CSV)})
    assert posted.status_code == 403
    submission = _ready(w)
    detail = reverse("metrics:submission", args=[w.org.slug, submission.pk])
    assert client.post(detail + "confirm/").status_code == 403
    assert client.post(detail + "revalidate/").status_code == 403
    client.force_login(w.uploader)
    assert client.get(url).context["can_upload"] is True


def test_a_vendor_user_names_no_other_vendor_and_may_name_their_own(w):
    api = _api(w, w.uploader)
    url = reverse("api:submission-list", kwargs={"org_slug": w.org.slug})
    other = api.post(url, {"rows": ROWS, "vendor": w.other_vendor.pk}, format="json")
    assert other.status_code == 400
    assert other.json() == {
        "vendor": [f'Invalid pk "{w.other_vendor.pk}" - object does not exist.']
    }
    own = api.post(url, {"rows": ROWS, "vendor": w.vendor.pk, "dry_run": True}, format="json")
    assert own.status_code == 201
    unnamed = api.post(url, {"rows": ROWS}, format="json")
    assert unnamed.status_code == 201
    assert own.json()["vendor"] == unnamed.json()["vendor"] == w.vendor.pk
    with scopes_disabled():
        assert not Submission.objects.filter(vendor=w.other_vendor).exists()
