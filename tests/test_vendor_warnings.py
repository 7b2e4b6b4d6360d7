"""
Vendor early warnings: a vendor user raises a risk on its SLA before the
numbers show it; the customer side answers it; it shows on the contract and
SLA pages, the portfolio and the leadership view; an attachment reaches only
those who can see the warning; a later breach keeps it as raised so many
periods ahead.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from metrics import engine
from metrics.models import Reading
from reviews import vendor_warnings
from reviews.models import ActionItem, VendorWarning
from tests import factories
from tests.conftest import World, token_client
from tests.test_api_schema import assert_conforms

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)  # the world's warning was raised on 10 Feb
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _clock(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(scope="module")
def openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _html(response) -> str:
    return html.unescape(response.content.decode())


def _url(world: World, name: str, **kwargs) -> str:
    return reverse(f"reviews:{name}", kwargs={"org_slug": world.org.slug, **kwargs})


def _api(world: World, name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"org_slug": world.org.slug, **kwargs})


def _raise_form(**overrides) -> dict:
    return {
        "title": "Parts shortage at the depot",
        "impact": "Repairs may take two days longer.",
        "period_from": "2026-03",
        "period_to": "2026-04",
        "mitigation": "A second supplier from April.",
        **overrides,
    }


def _warning(pk: int) -> VendorWarning:
    with scopes_disabled():
        return VendorWarning.objects.select_related("service_level").get(pk=pk)


# --- Raising -------------------------------------------------------------------------------


def test_a_vendor_user_raises_a_warning_and_the_customer_side_sees_it_where_it_looks(
    client, world: World
):
    client.force_login(world.vic)
    response = client.post(_url(world, "warning_raise", sla_id=world.mine.sla.pk), _raise_form())
    assert response.status_code == 302
    with scopes_disabled():
        warning = VendorWarning.objects.get(title="Parts shortage at the depot")
    assert (warning.period_from, warning.period_to) == (date(2026, 3, 1), date(2026, 4, 1))
    assert (warning.raised_by, warning.raised_at, warning.state) == (world.vic, NOW, "open")
    client.force_login(world.bob)
    for url in (
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk]),
        reverse("metrics:sla", args=[world.org.slug, world.mine.sla.pk]),
        reverse("contracts:portfolio", args=[world.org.slug]),
        reverse("escalations:leadership", args=[world.org.slug]),
        _url(world, "warnings"),
    ):
        assert "Parts shortage at the depot" in _html(client.get(url)), url
    page = _html(client.get(response["Location"]))
    assert "Mar 2026 to Apr 2026" in page
    assert "Repairs may take two days longer." in page


def test_the_sla_page_offers_the_vendor_to_raise_one_and_nobody_else(client, world: World):
    sla_page = reverse("metrics:sla", args=[world.org.slug, world.mine.sla.pk])
    client.force_login(world.vic)
    assert 'id="raise-warning"' in _html(client.get(sla_page))
    client.force_login(world.bob)
    assert 'id="raise-warning"' not in _html(client.get(sla_page))


def test_the_customer_side_does_not_raise_vendor_warnings(client, world: World):
    url = _url(world, "warning_raise", sla_id=world.mine.sla.pk)
    client.force_login(world.bob)
    response = client.get(url, follow=True)
    assert "raised by Vendor Mine's users" in _html(response)
    assert client.post(url, _raise_form()).status_code == 403
    api = token_client(world.org, world.bob)
    body = {**_raise_form(), "service_level": world.mine.sla.pk}
    assert api.post(_api(world, "vendor-warning-list"), body).status_code == 403
    with scopes_disabled():
        assert VendorWarning.objects.count() == 3


def test_a_vendor_cannot_raise_one_on_another_vendors_sla(client, world: World):
    client.force_login(world.vic)
    url = _url(world, "warning_raise", sla_id=world.theirs.sla.pk)
    assert client.get(url).status_code == 404
    assert client.post(url, _raise_form()).status_code == 404
    api = token_client(world.org, world.vic)
    body = {**_raise_form(), "service_level": world.theirs.sla.pk}
    refused = api.post(_api(world, "vendor-warning-list"), body)
    assert refused.status_code == 400
    assert "service_level" in refused.json()


@pytest.mark.parametrize(
    ("period_from", "period_to", "field", "message"),
    [
        ("2026-W10", "", "period_from",
         "'2026-W10' is not a period (this SLA is measured monthly)"),
        ("2026-13", "", "period_from", "'2026-13' is not a period: a year has no month 13"),
        ("1999-12", "", "period_from", "the year must be from 2000 to 2999"),
        ("2025-11", "", "period_from", "the period just ended or a coming one of the contract: "
                                       "from 2026-01 to 2028-12"),
        ("2030-01", "", "period_from", "from 2026-01 to 2028-12"),
        ("2026-04", "2026-03", "period_to", "The last period comes after the first."),
        ("2026-04", "3000-01", "period_to", "the year must be from 2000 to 2999"),
    ],
)  # fmt: skip
def test_periods_are_read_as_the_sla_counts_them_and_checked(
    client, world: World, period_from, period_to, field, message
):
    client.force_login(world.vic)
    response = client.post(
        _url(world, "warning_raise", sla_id=world.mine.sla.pk),
        _raise_form(period_from=period_from, period_to=period_to),
    )
    assert response.status_code == 400
    assert message in _html(response)
    api = token_client(world.org, world.vic)
    body = {**_raise_form(period_from=period_from, period_to=period_to),
            "service_level": world.mine.sla.pk}  # fmt: skip
    refused = api.post(_api(world, "vendor-warning-list"), body, format="json")
    assert refused.status_code == 400
    assert message in refused.json()[field][0]


def test_a_date_inside_a_period_names_that_period(client, world: World):
    client.force_login(world.vic)
    client.post(
        _url(world, "warning_raise", sla_id=world.mine.sla.pk),
        _raise_form(period_from="2026-03-17", period_to=""),
    )
    with scopes_disabled():
        warning = VendorWarning.objects.get(title="Parts shortage at the depot")
    assert (warning.period_from, warning.period_to) == (date(2026, 3, 1), None)


# --- Attachments ---------------------------------------------------------------------------


def _upload(client, world: World, name: str, content: bytes):
    return client.post(
        _url(world, "warning_raise", sla_id=world.mine.sla.pk),
        {**_raise_form(), "attachment": SimpleUploadedFile(name, content)},
    )


def test_an_attachment_is_stored_unguessably_and_served_only_to_who_sees_the_warning(
    client, world: World
):
    client.force_login(world.vic)
    response = _upload(client, world, "depot report.pdf", PDF)
    assert response.status_code == 302
    with scopes_disabled():
        warning = VendorWarning.objects.get(title="Parts shortage at the depot")
    assert re.fullmatch(
        r"warnings/2026/02/[A-Za-z0-9_-]{16}/depot_report\.pdf", warning.attachment.name
    )
    page = _html(client.get(response["Location"]))
    assert "/media/" not in page
    download = _url(world, "warning_attachment", warning_id=warning.pk)
    assert download in page
    for user in (world.vic, world.bob, world.lena):
        client.force_login(user)
        answer = client.get(download)
        assert answer.status_code == 200
        assert answer["Content-Disposition"] == 'attachment; filename="depot_report.pdf"'
        assert answer["Content-Type"] == "application/octet-stream"
        assert b"".join(answer.streaming_content) == PDF
    for user in (world.olly, world.charlie):
        client.force_login(user)
        assert client.get(download).status_code == 404
    api = token_client(world.org, world.bob)
    shown = api.get(_api(world, "vendor-warning-detail", pk=warning.pk)).json()
    assert shown["attachment"] == "depot_report.pdf"
    assert shown["attachment_url"] == f"http://testserver{download}"


def test_a_warning_without_an_attachment_says_so(client, world: World):
    client.force_login(world.bob)
    url = _url(world, "warning_attachment", warning_id=world.mine.warning.pk)
    assert "This warning has no attachment." in _html(client.get(url, follow=True))
    api = token_client(world.org, world.bob)
    shown = api.get(_api(world, "vendor-warning-detail", pk=world.mine.warning.pk)).json()
    assert (shown["attachment"], shown["attachment_url"]) == (None, None)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100,
         "setup.exe: attach a PDF, PNG, JPG, XLSX, DOCX or TXT file (this is .exe)."),
        ("report.pdf", b"MZ\x90\x00" + b"\x00" * 100, "report.pdf is not a PDF file."),
        ("notes.txt", b"plain\x00binary", "notes.txt is not a text file."),
        ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024 + 200 * 1024),
         "The file is 5.2 MB; the limit is 5 MB."),
        ("huge.pdf", b"%PDF-" + b"0" * (6 * 1024 * 1024),
         "The upload is larger than 5 MB: attach a smaller file."),
        ("empty.txt", b"", "The submitted file is empty."),
    ],
)  # fmt: skip
def test_a_hostile_or_oversized_attachment_is_refused_and_nothing_is_stored(
    client, world: World, settings, name, content, message
):
    client.force_login(world.vic)
    response = _upload(client, world, name, content)
    assert response.status_code == 400
    assert message in _html(response)
    with scopes_disabled():
        assert not VendorWarning.objects.filter(title="Parts shortage at the depot").exists()
    stored = settings.MEDIA_ROOT / "warnings"
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))


def test_the_api_takes_an_attachment_and_refuses_an_executable(world: World, openapi):
    api = token_client(world.org, world.vic)
    plan = SimpleUploadedFile("plan.txt", b"Order spares by 1 March.\n")
    body = {**_raise_form(), "service_level": world.mine.sla.pk, "attachment": plan}
    created = api.post(_api(world, "vendor-warning-list"), body, format="multipart")
    assert created.status_code == 201, created.json()
    assert_conforms(openapi, "/vendor-warnings/", "post", created)
    assert created.json()["attachment"] == "plan.txt"
    body["attachment"] = SimpleUploadedFile("plan.exe", b"MZ\x90\x00")
    refused = api.post(_api(world, "vendor-warning-list"), body, format="multipart")
    assert refused.status_code == 400
    assert refused.json()["attachment"] == [
        "plan.exe: attach a PDF, PNG, JPG, XLSX, DOCX or TXT file (this is .exe)."
    ]


# --- Answering and closing -----------------------------------------------------------------


def test_the_customer_side_acknowledges_with_an_answer_the_vendor_reads(client, world: World):
    warning = world.mine.warning
    client.force_login(world.bob)
    url = _url(world, "warning_acknowledge", warning_id=warning.pk)
    assert client.post(url, {"answer": " "}).status_code == 400
    client.post(url, {"answer": "Thanks: let's look at it in the March review."})
    again = client.post(url, {"answer": "Second try"}, follow=True)
    assert "It was already acknowledged." in _html(again)
    stored = _warning(warning.pk)
    assert (stored.state, stored.acknowledged_by, stored.acknowledged_at) == (
        "acknowledged",
        world.bob,
        NOW,
    )
    assert stored.answer == "Thanks: let's look at it in the March review."
    client.force_login(world.vic)
    assert "let's look at it in the March review" in _html(
        client.get(_url(world, "warning", warning_id=warning.pk))
    )
    assert client.post(url, {"answer": "we ack ourselves"}).status_code == 403
    client.force_login(world.lena)
    assert client.post(url, {"answer": "leadership"}).status_code == 403


def test_the_vendor_closes_its_own_warning_and_nobody_answers_a_closed_one(client, world: World):
    warning = world.mine.warning
    client.force_login(world.vic)
    assert client.post(_url(world, "warning_close", warning_id=warning.pk)).status_code == 302
    assert _warning(warning.pk).state == "closed"
    assert "It was already closed." in _html(
        client.post(_url(world, "warning_close", warning_id=warning.pk), follow=True)
    )
    client.force_login(world.bob)
    refused = client.post(
        _url(world, "warning_acknowledge", warning_id=warning.pk), {"answer": "late"}, follow=True
    )
    assert "This warning is closed: it can't be acknowledged any more." in _html(refused)
    api = token_client(world.org, world.bob)
    conflict = api.post(_api(world, "vendor-warning-acknowledge", pk=warning.pk), {"answer": "x"})
    assert conflict.status_code == 409


def test_leadership_and_other_vendors_do_not_close_a_warning(client, world: World):
    warning = world.mine.warning
    client.force_login(world.lena)
    assert client.post(_url(world, "warning_close", warning_id=warning.pk)).status_code == 403
    client.force_login(world.olly)
    assert client.post(_url(world, "warning_close", warning_id=warning.pk)).status_code == 404
    assert client.get(_url(world, "warning", warning_id=warning.pk)).status_code == 404
    assert _warning(warning.pk).state == "open"


def test_a_warning_spawns_a_prefilled_linked_action_item(client, world: World):
    warning = world.mine.warning
    client.force_login(world.bob)
    page = _html(client.get(_url(world, "warning", warning_id=warning.pk)))
    create = _url(world, "action_create", contract_id=world.mine.contract.pk)
    assert f"{create}?warning={warning.pk}" in page
    form = client.get(create, {"warning": warning.pk}).context["form"]
    assert form.initial["title"] == "Follow up: Parts shortage"
    assert form.initial["service_level"] == world.mine.sla.pk
    assert form.initial["warning"] == warning.pk
    response = client.post(create, {
        "title": form.initial["title"], "description": "Slower repairs", "owner": str(world.vic.pk),
        "due_date": "2026-03-10", "service_level": str(world.mine.sla.pk),
        "warning": str(warning.pk),
    })  # fmt: skip
    assert response.status_code == 302
    with scopes_disabled():
        item = ActionItem.objects.get(title="Follow up: Parts shortage")
    assert item.warning == warning
    assert "Follow up: Parts shortage" in _html(
        client.get(_url(world, "warning", warning_id=warning.pk))
    )
    # Another vendor's warning prefills nothing on this contract.
    other = client.get(create, {"warning": world.theirs.warning.pk}).context["form"]
    assert "title" not in other.initial


# --- Breaches and notice given -------------------------------------------------------------


def _statuses(world: World, values: dict[date, str], today=date(2026, 6, 10)):
    for month, value in values.items():
        with scopes_disabled():
            if Reading.objects.filter(service_level=world.mine.sla, period_start=month).update(
                value=Decimal(value)
            ):
                continue
        factories.ReadingFactory(service_level=world.mine.sla, organization=world.org,
                                 period_start=month, value=Decimal(value))  # fmt: skip
    engine.recompute_service_levels(
        organization_id=world.org.pk, service_level_ids=[world.mine.sla.pk], today=today
    )


def _note(world: World, today=date(2026, 6, 10)) -> int:
    return vendor_warnings.warnings_note_breaches(
        organization_id=world.org.pk, service_level_ids=[world.mine.sla.pk], today=today
    )


def test_a_breach_after_the_warning_keeps_it_as_raised_so_many_periods_ahead(
    world: World, django_assert_max_num_queries
):
    # Raised on 10 February, from February on; green until April, red in April.
    _statuses(world, {date(2026, 2, 1): "99.95", date(2026, 3, 1): "99.95",
                      date(2026, 4, 1): "99.1", date(2026, 5, 1): "99.0"})  # fmt: skip
    with django_assert_max_num_queries(2):  # the warnings with their first red, the update
        assert _note(world) == 1
    warning = _warning(world.mine.warning.pk)
    assert (warning.breached_period, warning.periods_ahead) == (date(2026, 4, 1), 2)
    with django_assert_max_num_queries(1):
        assert _note(world) == 0  # kept, not noted again
    assert _warning(world.mine.warning.pk).breached_period == date(2026, 4, 1)


def test_a_breach_in_the_period_it_was_raised_in_is_zero_periods_ahead(world: World):
    _statuses(world, {date(2026, 2, 1): "99.1"})
    assert _note(world) == 1
    assert _warning(world.mine.warning.pk).periods_ahead == 0


def test_a_breach_already_known_when_raised_or_before_its_first_period_is_not_foretold(
    world: World,
):
    _statuses(world, {date(2026, 1, 1): "99.1", date(2026, 2, 1): "99.95"})
    with scopes_disabled():  # raised in March about February, which was green... then red
        VendorWarning.objects.filter(pk=world.mine.warning.pk).update(
            raised_at=datetime(2026, 3, 5, tzinfo=UTC)
        )
    _statuses(world, {date(2026, 3, 1): "99.95"})
    assert _note(world) == 0  # January's red came before its first period
    with scopes_disabled():
        VendorWarning.objects.filter(pk=world.mine.warning.pk).update(period_from=date(2026, 1, 1))
    assert _note(world) == 0  # and was known before it was raised


def test_closed_warnings_and_other_slas_are_left_alone(world: World):
    _statuses(world, {date(2026, 3, 1): "99.1"})
    with scopes_disabled():
        VendorWarning.objects.filter(pk=world.mine.warning.pk).update(state="closed")
    assert _note(world) == 0
    assert (
        vendor_warnings.warnings_note_breaches(
            organization_id=world.org.pk,
            service_level_ids=[world.theirs.sla.pk],
            today=date(2026, 6, 10),
        )
        == 0
    )
    assert _warning(world.mine.warning.pk).breached_period is None


def test_notice_given_per_vendor_counts_warnings_ahead_of_a_breach(client, world: World):
    with scopes_disabled():
        for ahead, breached in ((1, date(2026, 3, 1)), (3, date(2026, 5, 1)), (None, None)):
            VendorWarning.objects.create(
                organization=world.org, contract=world.mine.contract, service_level=world.mine.sla,
                title="x", impact="y", period_from=date(2026, 2, 1), raised_by=world.vic,
                raised_at=NOW, breached_period=breached, periods_ahead=ahead, state="closed",
            )  # fmt: skip
    with scopes_disabled():
        notices = vendor_warnings.warning_honesty(world.org)
    assert [(n.vendor, n.raised, n.ahead, n.median_ahead) for n in notices] == [
        ("Vendor Mine", 4, 2, 2),
        ("Vendor Theirs", 1, 0, None),
    ]
    client.force_login(world.bob)
    table = _html(client.get(_url(world, "warnings")))
    table = table[table.index('id="notice"') :]
    assert '<td>Vendor Mine</td><td class="right">4</td><td class="right">2</td>' in table
    client.force_login(world.vic)
    assert "Vendor Theirs" not in _html(client.get(_url(world, "warnings")))


# --- Lists, API, query counts --------------------------------------------------------------


def test_the_warnings_list_shows_open_ones_and_closed_on_request(client, world: World):
    with scopes_disabled():
        VendorWarning.objects.filter(pk=world.theirs.warning.pk).update(state="closed")
    client.force_login(world.bob)
    shown = client.get(_url(world, "warnings")).context["warnings"]
    assert [w.pk for w in shown] == [world.mine.warning.pk]
    closed = client.get(_url(world, "warnings"), {"state": "closed"}).context["warnings"]
    assert [w.pk for w in closed] == [world.theirs.warning.pk]
    partial = _html(client.get(_url(world, "warnings"), {"state": "all"}, HTTP_HX_REQUEST="true"))
    assert partial.strip().startswith('<section id="warnings">')


@pytest.mark.parametrize("count", [1, 6])
def test_warnings_list_query_count_does_not_grow(
    client, world: World, count, django_assert_num_queries
):
    with scopes_disabled():
        for n in range(count):
            VendorWarning.objects.create(
                organization=world.org, contract=world.mine.contract, service_level=world.mine.sla,
                title=f"risk {n}", impact="y", period_from=date(2026, 3, 1), raised_by=world.vic,
                raised_at=NOW,
            )  # fmt: skip
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership (tenant), 4 the warnings with contract, vendor, SLA
    # and people, 5 notice given per vendor, 6 switcher memberships, 7 the contracts to
    # filter by
    with django_assert_num_queries(7):
        response = client.get(_url(world, "warnings"))
    assert len(response.context["warnings"]) == count + 2


def test_the_api_raises_acknowledges_and_closes_like_the_pages(world: World, openapi):
    vic = token_client(world.org, world.vic)
    body = {**_raise_form(), "service_level": world.mine.sla.pk}
    created = vic.post(_api(world, "vendor-warning-list"), body, format="json")
    assert created.status_code == 201, created.json()
    warning = created.json()
    assert (warning["period_from"], warning["period_to"], warning["attachment"]) == (
        "2026-03-01",
        "2026-04-01",
        None,
    )
    bob = token_client(world.org, world.bob)
    ack = bob.post(_api(world, "vendor-warning-acknowledge", pk=warning["id"]), {"answer": "Noted"})
    assert_conforms(openapi, "/vendor-warnings/{id}/acknowledge/", "post", ack)
    assert (ack.json()["state"], ack.json()["acknowledged_by"]) == ("acknowledged", "bob")
    again = bob.post(_api(world, "vendor-warning-acknowledge", pk=warning["id"]), {"answer": "x"})
    assert again.status_code == 409
    assert_conforms(openapi, "/vendor-warnings/{id}/acknowledge/", "post", again)
    assert (
        vic.post(
            _api(world, "vendor-warning-acknowledge", pk=warning["id"]), {"answer": "x"}
        ).status_code
        == 403
    )
    closed = vic.post(_api(world, "vendor-warning-close", pk=warning["id"]))
    assert_conforms(openapi, "/vendor-warnings/{id}/close/", "post", closed)
    assert closed.json()["state"] == "closed"
    assert vic.post(_api(world, "vendor-warning-close", pk=warning["id"])).status_code == 409
    listing = vic.get(_api(world, "vendor-warning-list"), {"state": "closed"})
    assert_conforms(openapi, "/vendor-warnings/", "get", listing)
    assert [w["id"] for w in listing.json()["results"]] == [warning["id"]]
    shown = vic.get(_api(world, "vendor-warning-detail", pk=warning["id"]))
    assert_conforms(openapi, "/vendor-warnings/{id}/", "get", shown)
    assert (
        token_client(world.org, world.olly)
        .get(_api(world, "vendor-warning-detail", pk=warning["id"]))
        .status_code
        == 404
    )


@pytest.mark.parametrize("count", [1, 6])
def test_api_list_query_count_is_constant(world: World, count, django_assert_num_queries):
    with scopes_disabled():
        for n in range(count):
            VendorWarning.objects.create(
                organization=world.org, contract=world.mine.contract, service_level=world.mine.sla,
                title=f"risk {n}", impact="y", period_from=date(2026, 3, 1), raised_by=world.vic,
                raised_at=NOW,
            )  # fmt: skip
    api = APIClient()
    api.force_authenticate(world.bob)
    # 1 membership (tenant), 2 count for pagination, 3 the warnings with contract, vendor,
    # SLA, organisation and people
    with django_assert_num_queries(3):
        response = api.get(_api(world, "vendor-warning-list"))
    assert response.json()["count"] == count + 2
