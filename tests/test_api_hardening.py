"""
The API under hostile query strings, methods and retries: capped pages, numbers
in ASCII digits or a 400, OPTIONS scoped like every method, the browsable API,
idempotency that reads what a request means, and throttled tokens.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.test.client import encode_multipart
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from metrics.models import IdempotencyKey, Submission
from tests.conftest import World, token_client

LISTS = [
    "vendor",
    "contract",
    "sla",
    "reading",
    "submission",
    "status",
    "trend",
    "credit",
    "escalation",
    "policy",
]

# Every id or number a list takes in its query string.
NUMBER_PARAMETERS = [
    ("contract", "vendor"),
    ("sla", "contract"),
    ("reading", "contract"),
    ("reading", "service_level"),
    ("status", "contract"),
    ("status", "service_level"),
    ("trend", "contract"),
    ("credit", "contract"),
    ("escalation", "contract"),
    ("escalation", "vendor"),
    ("escalation", "level"),
    *((name, "limit") for name in LISTS),
    *((name, "offset") for name in LISTS),
]


def list_url(world: World, name: str) -> str:
    return reverse(f"api:{name}-list", kwargs={"org_slug": world.org.slug})


# --- Pages and limits -----------------------------------------------------------------


@pytest.mark.parametrize("name", LISTS)
def test_a_huge_limit_or_offset_is_capped_not_a_server_error(world: World, name):
    api = token_client(world.org, world.alice)
    for query in ({"limit": 2**63}, {"limit": 10**30}, {"offset": 2**63}, {"offset": 10**30}):
        response = api.get(list_url(world, name), query)
        assert response.status_code == 200, (query, response.content[:300])
        body = response.json()
        assert len(body["results"]) <= 1000
        assert body["count"] >= len(body["results"])


def test_a_page_holds_at_most_a_thousand_rows(world: World):
    from tests import factories

    factories.VendorFactory.create_batch(1001, organization=world.org)
    body = token_client(world.org, world.alice).get(list_url(world, "vendor"), {"limit": 5000})
    assert len(body.json()["results"]) == 1000
    assert "limit=1000" in body.json()["next"]


def test_credits_are_paginated_like_every_list(world: World):
    body = token_client(world.org, world.alice).get(list_url(world, "credit"), {"limit": 1}).json()
    assert body["count"] == 2
    assert [c["reference"] for c in body["results"]] == [world.mine.contract.reference]
    assert "offset=1" in body["next"]


# --- Numbers in query strings ---------------------------------------------------------


@pytest.mark.parametrize(("name", "parameter"), NUMBER_PARAMETERS, ids=str)
def test_a_number_in_a_query_string_is_ascii_digits_or_a_400(world: World, name, parameter):
    api = token_client(world.org, world.alice)
    for text in ("²", "٣", "१", "3.0", "-1", "1e3", " 1", "0x1", "1_0"):
        response = api.get(list_url(world, name), {parameter: text})
        assert response.status_code == 400, (parameter, text, response.content[:300])
        assert response["Content-Type"] == "application/json"
        assert parameter in response.json(), response.json()
    assert api.get(list_url(world, name), {parameter: "1"}).status_code == 200


def test_an_eastern_arabic_digit_does_not_select_a_contract(world: World):
    # ٣ once read as 3: another row than the one the client named.
    api = token_client(world.org, world.alice)
    pk = world.mine.contract.pk
    eastern = str(pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for name in ("reading", "status", "credit", "sla"):
        assert api.get(list_url(world, name), {"contract": eastern}).status_code == 400
        assert api.get(list_url(world, name), {"contract": pk}).status_code == 200
    detail = reverse("api:contract-detail", kwargs={"org_slug": world.org.slug, "pk": eastern})
    assert api.get(detail).status_code == 404


def test_an_id_beyond_the_database_range_finds_nothing(world: World):
    api = token_client(world.org, world.alice)
    for name in ("reading", "status", "credit", "escalation"):
        response = api.get(list_url(world, name), {"contract": 2**70})
        assert response.status_code in {200, 400}, (name, response.content[:300])
        if response.status_code == 200:
            assert response.json()["results"] == []


# --- OPTIONS --------------------------------------------------------------------------

DETAILS = [
    ("vendor", "vendor"),
    ("contract", "contract"),
    ("sla", "sla"),
    ("reading", "reading"),
    ("submission", "submission"),
    ("trend", "sla"),
    ("escalation", "escalation"),
    ("policy", "policy"),
]


@pytest.mark.parametrize(("name", "attribute"), DETAILS)
def test_options_on_an_object_one_cannot_see_is_404(world: World, name, attribute):
    def url(side):
        obj = getattr(side, attribute)
        return reverse(f"api:{name}-detail", kwargs={"org_slug": world.org.slug, "pk": obj.pk})

    vendor = token_client(world.org, world.vic)
    assert vendor.options(url(world.theirs)).status_code == 404  # another vendor's
    admin = token_client(world.org, world.alice)
    assert admin.options(url(world.foreign)).status_code == 404  # another organisation's
    if name != "policy":  # customer-side configuration: a vendor sees none
        assert vendor.options(url(world.mine)).status_code == 200


# --- The browsable API ----------------------------------------------------------------

BROWSABLE = ["contract", "submission", "sla", "escalation", "vendor", "reading", "status"]


@pytest.mark.parametrize("name", BROWSABLE)
@pytest.mark.parametrize("how", ["accept", "format"])
def test_browsable_api_renders_and_shows_only_what_the_member_sees(client, world: World, name, how):
    client.force_login(world.vic)
    url = list_url(world, name)
    options = {"HTTP_ACCEPT": "text/html"} if how == "accept" else {}
    query = {"format": "api"} if how == "format" else {}
    listing = client.get(url, query, **options)
    assert listing.status_code == 200, listing.content[:500]
    assert listing["Content-Type"].startswith("text/html")
    page = listing.content.decode()
    for hidden in ("Vendor Theirs", "Vendor Foreign", world.theirs.contract.reference):
        assert hidden not in page
    detail_object = {
        "contract": world.mine.contract,
        "submission": world.mine.submission,
        "sla": world.mine.sla,
        "escalation": world.mine.escalation,
        "vendor": world.mine.vendor,
        "reading": world.mine.reading,
    }.get(name)
    if detail_object is None:
        return
    kwargs = {"org_slug": world.org.slug, "pk": detail_object.pk}
    detail = reverse(f"api:{name}-detail", kwargs=kwargs)
    shown = client.get(detail, query, **options)
    assert shown.status_code == 200, shown.content[:500]
    for hidden in ("Vendor Theirs", "Vendor Foreign", world.theirs.contract.reference):
        assert hidden not in shown.content.decode()


@pytest.mark.parametrize("name", LISTS)
def test_browsable_api_for_an_outsider_is_an_error_page_not_a_crash(client, world: World, name):
    assert client.get(list_url(world, name), HTTP_ACCEPT="text/html").status_code in {401, 403}
    client.force_login(world.charlie)  # a member of another organisation
    response = client.get(list_url(world, name), {"format": "api"})
    assert response.status_code == 404
    assert "Vendor Mine" not in response.content.decode()
    detail = reverse(
        "api:contract-detail", kwargs={"org_slug": world.org.slug, "pk": world.mine.contract.pk}
    )
    response = client.get(detail, HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert world.mine.contract.reference not in response.content.decode()


def test_browsable_api_as_an_admin_offers_only_this_organisations_vendors(client, world: World):
    client.force_login(world.alice)
    page = client.get(list_url(world, "contract"), HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Vendor Mine" in html
    assert "Vendor Theirs" in html
    assert "Vendor Foreign" not in html


# --- Idempotency ----------------------------------------------------------------------

CSV = b"contract;sla;period;value\nCORP-1;avail;2026-10;99,91%\n"


def _multipart(api, w, boundary: str, key: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = encode_multipart(boundary, {"file": SimpleUploadedFile("october.csv", CSV)})
    return api.generic(
        "POST",
        reverse("api:submission-list", kwargs={"org_slug": w.org.slug}),
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.mark.usefixtures("ingest_today")
def test_the_same_file_with_another_multipart_boundary_replays_the_stored_response(w):
    api = token_client(w.org, w.uploader)
    first = _multipart(api, w, "------------------------a1b2c3", "october-1")
    again = _multipart(api, w, "------------------------9f8e7d6c5b", "october-1")
    assert first.status_code == 201, first.json()
    assert again.status_code == 201, again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    with scopes_disabled():
        assert Submission.objects.filter(organization=w.org).count() == 1


@pytest.mark.usefixtures("ingest_today")
def test_the_same_key_with_another_file_is_still_refused(w):
    api = token_client(w.org, w.uploader)
    _multipart(api, w, "b1", "october-2")
    from django.core.files.uploadedfile import SimpleUploadedFile

    other = SimpleUploadedFile("october.csv", CSV.replace(b"99,91", b"99,92"))
    response = api.post(
        reverse("api:submission-list", kwargs={"org_slug": w.org.slug}),
        {"file": other},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="october-2",
    )
    assert response.status_code == 422
    assert "different request" in response.json()["detail"]


@pytest.mark.usefixtures("ingest_today")
def test_json_fields_in_another_order_are_the_same_request(w):
    api = token_client(w.org, w.uploader)
    url = reverse("api:submission-list", kwargs={"org_slug": w.org.slug})
    row = {"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": "99.9"}
    first = api.generic(
        "POST", url, json.dumps({"rows": [row], "dry_run": True}),
        content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-order",
    )  # fmt: skip
    reordered = {"dry_run": True, "rows": [dict(reversed(list(row.items())))]}
    again = api.generic(
        "POST", url, json.dumps(reordered, indent=2),
        content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-order",
    )  # fmt: skip
    assert first.status_code == 201, first.json()
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.usefixtures("ingest_today")
def test_a_key_left_in_flight_by_a_dead_worker_expires(w, settings):
    api = token_client(w.org, w.uploader)
    fingerprint = hashlib.sha256(b"whatever the dead worker saw").hexdigest()
    stale = IdempotencyKey.objects.create(
        organization=w.org, user=w.uploader, key="october-3", request_hash=fingerprint
    )
    minutes = settings.IDEMPOTENCY_IN_FLIGHT_SECONDS / 60
    IdempotencyKey.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes + 1)
    )
    response = _multipart(api, w, "b2", "october-3")
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "applied"
    again = _multipart(api, w, "b3", "october-3")
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.usefixtures("ingest_today")
def test_a_key_in_flight_for_less_than_the_expiry_is_still_409(w, settings):
    api = token_client(w.org, w.uploader)
    assert _multipart(api, w, "b4", "october-4").status_code == 201
    # As if the first request were still running, for a minute less than the expiry.
    seconds = settings.IDEMPOTENCY_IN_FLIGHT_SECONDS - 60
    IdempotencyKey.objects.filter(key="october-4").update(
        state=IdempotencyKey.State.IN_FLIGHT, created_at=timezone.now() - timedelta(seconds=seconds)
    )
    assert _multipart(api, w, "b5", "october-4").status_code == 409


# --- Throttles ------------------------------------------------------------------------


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_a_token_past_its_read_rate_gets_429_with_retry_after(world: World, settings):
    _rates(settings, token_read="3/minute")
    api = token_client(world.org, world.vic)
    url = list_url(world, "contract")
    assert [api.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get(url)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "detail" in refused.json()
    # Per token: another member's token is not slowed down.
    assert token_client(world.org, world.bob).get(url).status_code == 200


@pytest.mark.usefixtures("ingest_today")
def test_a_token_past_its_upload_rate_gets_429(w, settings):
    _rates(settings, token_write="2/hour")
    api = token_client(w.org, w.uploader)
    url = reverse("api:submission-list", kwargs={"org_slug": w.org.slug})
    rows = {"rows": [{"contract": "CORP-1", "sla": "avail", "period": "2026-10", "value": 1}]}
    codes = [api.post(url, {**rows, "dry_run": True}, format="json").status_code for _ in range(3)]
    assert codes[:2] != [429, 429]
    assert codes[2] == 429
    # Reads have their own budget.
    assert api.get(url).status_code == 200


@pytest.mark.usefixtures("ingest_today")
def test_confirm_ignores_reasons_that_name_no_row_in_ascii_digits(w):
    api = token_client(w.org, w.uploader)
    url = reverse("api:submission-list", kwargs={"org_slug": w.org.slug})
    row = {"contract": "CORP-1", "sla": "avail", "period": "2026-10"}
    assert api.post(url, {"rows": [{**row, "value": "99.9"}]}, format="json").status_code == 201
    preview = api.post(url, {"rows": [{**row, "value": "99.1"}], "dry_run": True}, format="json")
    assert preview.json()["rows"][0]["action"] == "changed"
    confirm = reverse(
        "api:submission-confirm", kwargs={"org_slug": w.org.slug, "pk": preview.json()["id"]}
    )
    reasons = {"²": "no", "\u0661": "no", "9" * 30: "no", str(2**40): "no", "1": "Recounted."}
    response = api.post(confirm, {"reasons": reasons}, format="json")
    assert response.status_code == 200, (response.json()["message"], response.json()["rows"])
    assert response.json()["state"] == "applied"


def test_every_filterset_reads_numbers_strictly():
    import django_filters
    from django.urls import get_resolver

    from slagov.filters import FilterSet

    get_resolver().url_patterns  # noqa: B018 (imports every view module, and so its filtersets)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [
        cls
        for cls in subclasses(django_filters.FilterSet)
        if cls.__module__.split(".")[0] in {"slagov", "contracts", "metrics", "escalations"}
    ]
    assert len(ours) >= 9
    loose = [f"{c.__module__}.{c.__name__}" for c in ours if not issubclass(c, FilterSet)]
    assert loose == []


def test_pages_filters_take_ascii_digits_only(client, world: World):
    client.force_login(world.alice)
    eastern = str(world.mine.vendor.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    page = client.get(reverse("escalations:list", args=[world.org.slug]), {"vendor": eastern})
    assert page.status_code == 200
    assert page.context["filter"].errors["vendor"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("API_THROTTLE_READ", "lots", "API_THROTTLE_READ='lots' is not a rate"),
        ("API_THROTTLE_WRITE", "0/minute", "is not a rate"),
        ("API_THROTTLE_WRITE", "10/fortnight", "is not a rate"),
        ("IDEMPOTENCY_IN_FLIGHT_SECONDS", "5", "must be at least 60"),
    ],
)
def test_bad_api_settings_fail_at_start_up_with_a_message(tmp_path, name, value, message):
    from tests.test_settings import _settings

    result = _settings(tmp_path, **{name: value})
    assert result.returncode != 0
    assert message in result.stderr
