"""Submission pages and API: the number of queries doesn't grow with rows or submissions."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from metrics.ingest import pipeline
from metrics.models import Submission, SubmissionError
from slagov.models import Membership
from slagov.services import api_token_create
from tests import factories
from tests.ingest_world import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


def _csv(lines: list[str]) -> bytes:
    return ("contract,sla,period,value,note\n" + "\n".join(lines) + "\n").encode()


def _submit(w, data: bytes, *, apply: bool = False) -> Submission:
    submission = pipeline.submission_receive(
        organization=w.org, actor=w.uploader, vendor=w.vendor, data=data,
        filename="data.csv", enqueue=False,
    )  # fmt: skip
    submission = pipeline.submission_validate(submission_id=submission.pk, today=TODAY)
    if apply:
        outcome = pipeline.submission_confirm(
            organization=w.org, actor=w.uploader, submission=submission
        )
        assert outcome.ok, outcome.message
    return submission


def _preview(w, months: list[str]) -> Submission:
    """A ready submission with a changed and a new value per month, on two contracts."""
    _submit(w, _csv([f"CORP-1,avail,{m},99.95," for m in months]), apply=True)
    lines = [f"CORP-1,avail,{m},99.2,recalibrated" for m in months]
    lines += [f"CORP-1,p1-res,{m},3," for m in months]
    lines += [f"CORP-2,avail,{m},99.99," for m in months]
    submission = _submit(w, _csv(lines))
    assert submission.state == Submission.State.READY
    return submission


def _second_contract(w):
    contract = factories.ContractFactory(
        organization=w.org, vendor=w.vendor, reference="CORP-2",
        start_date=w.contract.start_date, end_date=w.contract.end_date,
    )  # fmt: skip
    sla = factories.ServiceLevelFactory(organization=w.org, contract=contract, code="avail")
    factories.TermsFactory(organization=w.org, service_level=sla)


def _page_queries(client, w, submission: Submission) -> tuple[int, str]:
    url = reverse("metrics:submission", args=[w.org.slug, submission.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_submission_preview_reads_each_rows_contract_without_a_query_per_row(client, w):
    _second_contract(w)
    client.force_login(w.uploader)
    small = _preview(w, MONTHS[:1])
    small_count, _ = _page_queries(client, w, small)
    large = _preview(w, MONTHS[1:])
    large_count, page = _page_queries(client, w, large)
    assert "CORP-2 · avail" in page
    assert "CORP-1 · p1-res" in page
    assert large_count == small_count


def test_submission_preview_query_count(client, w, django_assert_max_num_queries):
    _second_contract(w)
    client.force_login(w.uploader)
    submission = _preview(w, MONTHS)
    url = reverse("metrics:submission", args=[w.org.slug, submission.pk])
    # 45 when each row read its contract; the rows of each action and the stale check are one each
    with django_assert_max_num_queries(9):
        page = client.get(url).content.decode()
    assert page.count("CORP-2 · avail") == len(MONTHS)


def _api(w, user) -> APIClient:
    membership = Membership.objects.get(user=user, organization=w.org)
    _, key = api_token_create(organization=w.org, actor=user, membership=membership, name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _invalid(w, count: int) -> None:
    for n in range(count):
        bad = [f"CORP-1,avail,{m},lots {n}," for m in MONTHS]
        assert _submit(w, _csv(bad)).state == Submission.State.INVALID


def _errors_of(submission_id: int, limit: int) -> list[dict]:
    with scopes_disabled():
        errors = SubmissionError.objects.filter(submission_id=submission_id).select_related(
            "service_level__contract"
        )[:limit]
        return [
            {"row": e.row_number,
             "contract": e.service_level.contract.reference if e.service_level else None,
             "sla": e.service_level.code if e.service_level else None,
             "sla_name": e.service_level.name if e.service_level else None,
             "column": e.column, "value": e.value, "message": e.message}
            for e in errors
        ]  # fmt: skip


def test_submission_list_api_reads_errors_in_one_query(w):
    api = _api(w, w.uploader)
    url = reverse("api:submission-list", kwargs={"org_slug": w.org.slug})
    _invalid(w, 1)
    api.get(url)  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        one = api.get(url).json()["results"]
    _invalid(w, 5)
    with CaptureQueriesContext(connection) as many:
        six = api.get(url).json()["results"]
    assert len(one) == 1
    assert len(six) == 6
    assert len(many) == len(few)  # one more query per submission before
    for submission in six:
        assert submission["errors"] == _errors_of(submission["id"], 50)
        assert [e["row"] for e in submission["errors"]] == list(range(2, 14))


def test_submission_list_api_caps_errors_per_submission(w, django_assert_max_num_queries):
    many = [f"CORP-1,avail,{m},x," for m in MONTHS] * 5  # 60 rows, each an error
    _submit(w, _csv(many))
    _invalid(w, 2)
    api = _api(w, w.manager)
    url = reverse("api:submission-list", kwargs={"org_slug": w.org.slug})
    with django_assert_max_num_queries(6):
        results = api.get(url).json()["results"]
    assert sorted(len(s["errors"]) for s in results) == [12, 12, 50]
    assert sorted(s["error_count"] for s in results) == [12, 12, 60]
    for submission in results:
        assert submission["errors"] == _errors_of(submission["id"], 50)


def test_preview_says_how_many_rows_change_nothing(client, w):
    client.force_login(w.uploader)
    _submit(w, _csv(["CORP-1,avail,2025-01,99.95,"]), apply=True)
    same = _submit(w, _csv(["CORP-1,avail,2025-01,99.95,", "CORP-1,avail,2025-02,99.9,"]))
    _, page = _page_queries(client, w, same)
    assert "1 row gives the value already stored" in page
    assert 'id="unchanged-rows"' in page
    fresh = _submit(w, _csv(["CORP-1,avail,2025-03,99.9,"]))
    _, page = _page_queries(client, w, fresh)
    assert "the value already stored" not in page


def test_submission_create_api_reads_the_submission_once_for_its_response(
    w, django_assert_max_num_queries
):
    api = _api(w, w.uploader)
    url = reverse("api:submission-list", kwargs={"org_slug": w.org.slug})
    rows = [{"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 99.95}]
    first = api.post(url, {"rows": rows}, format="json")
    assert first.status_code == 201
    # 11 when the response re-read vendor and user; one is the check that the earlier
    # file's values are still the stored ones (else it is a preview, not a duplicate).
    with django_assert_max_num_queries(10):
        again = api.post(url, {"rows": rows}, format="json")
    assert again.status_code == 200
    body = again.json()
    assert (body["state"], body["duplicate_of"]) == ("duplicate", first.json()["id"])
    assert (body["vendor_name"], body["created_by"]) == ("Corpus Vendor", "uploader")
    assert body["message"] == f"Identical to submission #{first.json()['id']}: nothing to apply."
