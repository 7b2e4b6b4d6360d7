"""Submitting readings over the API: same pipeline, dry run, idempotency keys."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from metrics.models import IdempotencyKey, Reading, Submission
from tests.conftest import token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ingest_today")]
ROWS = [
    {"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 99.95},
    {"contract": "CORP-1", "sla": "p1-res", "period": "2026-10", "value": "9,5"},
]


def client_for(w, user) -> APIClient:
    return token_client(w.org, user)


def url(w, name="submission-list", **kwargs):
    return reverse(f"api:{name}", kwargs={"org_slug": w.org.slug, **kwargs})


def stored(w) -> dict:
    with scopes_disabled():
        readings = Reading.objects.filter(organization=w.org).select_related("service_level")
        return {(r.service_level.code, r.period_start): r.value for r in readings}


def test_dry_run_previews_and_confirm_applies(w):
    api = client_for(w, w.uploader)
    response = api.post(url(w), {"rows": ROWS, "dry_run": True}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "ready"
    assert [(r["sla"], r["action"], r["colour"]) for r in body["rows"]] == [
        ("avail", "new", "green"),
        ("p1-res", "new", "red"),
    ]
    assert stored(w) == {}
    confirmed = api.post(url(w, "submission-confirm", pk=body["id"]), {}, format="json")
    assert confirmed.json()["state"] == "applied"
    assert stored(w)[("p1-res", date(2026, 10, 1))] == Decimal("9.5")


def test_valid_batch_is_applied_at_once_and_invalid_one_not_at_all(w):
    api = client_for(w, w.uploader)
    other = {"contract": "OTHER-1", "sla": "avail", "period": "2026-10", "value": 1}
    bad = api.post(url(w), {"rows": [*ROWS, other]}, format="json")
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {
            "row": 3,
            "contract": None,  # names no contract that exists
            "sla": None,
            "sla_name": None,
            "column": "contract",
            "value": "OTHER-1",
            "message": "Unknown contract 'OTHER-1' for this vendor.",
        },
    ]
    assert stored(w) == {}
    good = api.post(url(w), {"rows": ROWS}, format="json")
    assert good.status_code == 201
    assert good.json()["state"] == "applied"
    assert len(stored(w)) == 2


def test_file_upload_goes_through_the_same_pipeline(w):
    api = client_for(w, w.uploader)
    upload = SimpleUploadedFile(
        "october.csv", b"contract;sla;period;value\nCORP-1;avail;2026-10;99,91%\n"
    )
    response = api.post(url(w), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert stored(w) == {("avail", date(2026, 10, 1)): Decimal("99.91")}
    with scopes_disabled():
        assert Submission.objects.get().original_name == "october.csv"


def test_vendor_token_cannot_submit_for_another_vendor(w):
    api = client_for(w, w.uploader)
    response = api.post(url(w), {"rows": ROWS, "vendor": w.other_vendor.pk}, format="json")
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["vendor"])


def test_account_manager_names_the_vendor(w):
    api = client_for(w, w.manager)
    assert api.post(url(w), {"rows": ROWS}, format="json").status_code == 400
    response = api.post(url(w), {"rows": ROWS, "vendor": w.vendor.pk}, format="json")
    assert response.json()["state"] == "applied"


def test_same_idempotency_key_and_body_replays_the_stored_response(w):
    api = client_for(w, w.uploader)
    first = api.post(url(w), {"rows": ROWS}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(url(w), {"rows": ROWS}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    with scopes_disabled():
        assert Submission.objects.count() == 1


def test_same_key_with_another_body_is_422(w):
    api = client_for(w, w.uploader)
    api.post(url(w), {"rows": ROWS}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = api.post(url(w), {"rows": ROWS[:1]}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]


def test_same_key_while_the_first_is_in_flight_is_409(w):
    api = client_for(w, w.uploader)
    request = api.post(url(w), {"rows": ROWS}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert request.status_code == 201
    IdempotencyKey.objects.filter(key="k-3").update(state=IdempotencyKey.State.IN_FLIGHT)
    busy = api.post(url(w), {"rows": ROWS}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert busy.status_code == 409


def test_submission_list_shows_errors(w):
    api = client_for(w, w.uploader)
    api.post(
        url(w),
        {"rows": [{"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": "lots"}]},
        format="json",
    )
    listing = api.get(url(w)).json()["results"]
    assert listing[0]["state"] == "invalid"
    error = listing[0]["errors"][0]
    assert error["message"] == "'lots' is not a number."
    # The row is named by its SLA, as on the page, in the list and in the detail.
    assert (error["contract"], error["sla"]) == ("CORP-1", "avail")
    assert error["sla_name"] == w.slas["avail"].name
    detail = api.get(url(w, "submission-detail", pk=listing[0]["id"])).json()
    assert detail["errors"][0]["sla"] == "avail"


def test_a_dry_run_or_a_refused_batch_is_discarded_over_the_api_an_applied_one_is_not(w):
    api = client_for(w, w.uploader)
    preview = api.post(url(w), {"rows": ROWS, "dry_run": True}, format="json").json()
    discard = url(w, "submission-discard", pk=preview["id"])
    first = api.post(discard)
    assert first.status_code == 200
    assert first.json()["state"] == "discarded"
    assert "nothing from it was or will be stored" in first.json()["message"]
    again = api.post(discard)  # a retry: no error, says so
    assert again.status_code == 200
    assert "already discarded" in again.json()["message"]
    confirmed = api.post(url(w, "submission-confirm", pk=preview["id"]), {}, format="json")
    assert confirmed.status_code == 409
    assert stored(w) == {}
    applied = api.post(url(w), {"rows": ROWS}, format="json").json()
    refused = api.post(url(w, "submission-discard", pk=applied["id"]))
    assert refused.status_code == 409
    assert "it was applied" in refused.json()["detail"]
    assert len(stored(w)) == 2


def test_dry_run_then_the_same_rows_for_real_applies_them(w):
    api = client_for(w, w.uploader)
    assert api.post(url(w), {"rows": ROWS, "dry_run": True}, format="json").status_code == 201
    real = api.post(url(w), {"rows": ROWS}, format="json")
    assert real.json()["state"] == "applied"
    assert len(stored(w)) == 2


def test_a_correction_without_a_reason_is_not_applied_and_says_why(w):
    api = client_for(w, w.uploader)
    api.post(url(w), {"rows": ROWS}, format="json")
    changed = [{**ROWS[0], "value": "99.1"}]
    response = api.post(url(w), {"rows": changed}, format="json")
    assert response.status_code == 422
    assert "Give a reason" in response.json()["message"]
    assert stored(w)[("avail", date(2026, 10, 1))] == Decimal("99.95")


def test_vendor_token_does_not_see_the_customers_own_notes(w):
    with scopes_disabled():
        from contracts.models import Contract

        Contract.objects.filter(pk=w.contract.pk).update(adversarial=True, notes="watch them")
    body = (
        client_for(w, w.uploader)
        .get(reverse("api:contract-detail", kwargs={"org_slug": w.org.slug, "pk": w.contract.pk}))
        .json()
    )
    assert "adversarial" not in body
    assert "notes" not in body
    manager = (
        client_for(w, w.manager)
        .get(reverse("api:contract-detail", kwargs={"org_slug": w.org.slug, "pk": w.contract.pk}))
        .json()
    )
    assert manager["notes"] == "watch them"


def test_rows_with_a_nul_or_a_lone_surrogate_answer_422_naming_row_and_field(w):
    api = client_for(w, w.uploader)
    body = (
        b'{"rows": [{"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 1,'
        b' "note": "a\\u0000b"}, {"contract": "CORP-\\ud800", "sla": "avail",'
        b' "period": "2026-09", "value": 2}]}'
    )
    response = api.post(url(w), body, content_type="application/json")
    assert response.status_code == 422
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [
        (1, "note"),
        (2, "contract"),
    ]
    assert stored(w) == {}


def _distinct_rows(count: int) -> list[dict]:
    """`count` rows for distinct SLAs and ended periods of CORP-1 (weekly backlog first)."""
    from contracts import periods

    rows = [
        {"contract": "CORP-1", "sla": "backlog", "value": 120,
         "period": periods.add_periods(date(2025, 1, 6), "weekly", i).isoformat()}
        for i in range(90)
    ]  # fmt: skip
    rows += [
        {"contract": "CORP-1", "sla": code, "value": value, "period": f"{y}-{m:02d}"}
        for code, value in (("avail", 99.95), ("p1-res", 3), ("csat", 4.5))
        for y in (2025, 2026)
        for m in range(1, 13)
        if (y, m) <= (2026, 10)
    ]
    assert count <= len(rows)
    return rows[:count]


@pytest.fixture
def small_sync_size(monkeypatch):
    """Batches past 40 rows are large here (2,000 in the product): the world has 156 periods."""
    import metrics.api.submissions

    monkeypatch.setattr(metrics.api.submissions, "SYNC_MAX_ROWS", 40)
    return 40


def test_a_large_batch_answers_202_at_once_and_a_worker_applies_it(
    w, small_sync_size, django_capture_on_commit_callbacks
):
    api = client_for(w, w.uploader)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post(url(w), {"rows": _distinct_rows(small_sync_size + 1)}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "received"
    assert response["Location"].endswith(url(w, "submission-detail", pk=body["id"]))
    assert "Poll" in body["message"]
    assert stored(w) == {}
    assert api.get(response["Location"]).json()["state"] == "received"
    for callback in queued:  # the worker's turn
        callback()
    polled = api.get(response["Location"]).json()
    assert polled["state"] == "applied", polled.get("errors")
    assert len(stored(w)) == small_sync_size + 1


def test_a_large_dry_run_is_previewed_by_the_worker(
    w, small_sync_size, django_capture_on_commit_callbacks
):
    api = client_for(w, w.uploader)
    rows = _distinct_rows(small_sync_size * 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url(w), {"rows": rows, "dry_run": True}, format="json")
    assert response.status_code == 202
    polled = api.get(response["Location"]).json()
    assert (polled["state"], polled["rows_new"]) == ("ready", small_sync_size * 2)
    assert stored(w) == {}


def test_a_batch_at_the_synchronous_size_is_answered_in_the_request(w, small_sync_size):
    api = client_for(w, w.uploader)
    response = api.post(url(w), {"rows": _distinct_rows(small_sync_size)}, format="json")
    assert response.status_code == 201
    assert response.json()["state"] == "applied"


@pytest.mark.parametrize(
    "row",
    [
        {"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": "9\\u00009"},
        {"contract": "CORP-1", "sla": "av\\u0000ail", "period": "2026-10", "value": 1},
        {"contract": "CORP-1", "sla": "avail", "period": "2026-\\u000010", "value": 1},
        {"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 1, "x\\u0000": 1},
        {"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 1, "x": "\\u0000"},
        {"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": "\\udfff"},
    ],
)
def test_a_nul_or_a_lone_surrogate_anywhere_in_a_batch_is_refused_not_a_server_error(w, row):
    import json as _json

    api = client_for(w, w.uploader)
    body = _json.dumps({"rows": [row]}).replace("\\\\u", "\\u").encode()
    response = api.post(url(w), body, content_type="application/json")
    assert response.status_code in {201, 422}, response.content[:300]
    assert stored(w) == {} or response.status_code == 201
