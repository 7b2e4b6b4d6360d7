"""
Action items: owned by one person of either side, with a due date, moved
through their states by the people who may, every change on the item's
timeline; "my action items", the item page, the contract page; the API.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from reviews.models import ActionItem, ActionItemEvent, Side
from tests import factories
from tests.conftest import World, token_client
from tests.test_api_schema import assert_conforms
from tests.test_browser import browser, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
DUE = date(2026, 3, 1)  # the world's item (owned by vic) is due then


@pytest.fixture(autouse=True)
def _clock(request):
    if request.node.get_closest_marker("browser"):  # a live server and a browser: real time
        yield
        return
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(scope="module")
def openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _html(response) -> str:
    """The page's text as a person reads it (entities decoded)."""
    return html.unescape(response.content.decode())


def _url(world: World, name: str, **kwargs) -> str:
    return reverse(f"reviews:{name}", kwargs={"org_slug": world.org.slug, **kwargs})


def _api(world: World, name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"org_slug": world.org.slug, **kwargs})


def make_item(world: World, *, owner, side=Side.CUSTOMER, due=DUE, state="open", sla=None,
              contract=None, title="Agree a spare-parts buffer") -> ActionItem:  # fmt: skip
    with scopes_disabled():
        return ActionItem.objects.create(
            organization=world.org, contract=contract or world.mine.contract, title=title,
            owner=owner, owner_side=side, due_date=due, state=state, service_level=sla,
            created_by=world.bob, created_at=NOW,
        )  # fmt: skip


def events(item: ActionItem, kind: str | None = None) -> list[ActionItemEvent]:
    with scopes_disabled():
        rows = ActionItemEvent.objects.filter(item=item).order_by("at", "pk")
        if kind:
            rows = rows.filter(kind=kind)
        return list(rows.select_related("actor"))


def state_of(item: ActionItem) -> str:
    with scopes_disabled():
        return ActionItem.objects.get(pk=item.pk).state


def _move(client, world: World, item: ActionItem, to: str, **extra):
    return client.post(_url(world, "action_transition", item_id=item.pk), {"to": to}, **extra)


# --- Creating ------------------------------------------------------------------------------


def _create_form(world: World, **overrides) -> dict:
    return {
        "title": "Agree a spare-parts buffer",
        "description": "Two weeks of the parts that fail most.",
        "owner": str(world.vic.pk),
        "due_date": "2026-03-15",
        "service_level": str(world.mine.sla.pk),
        **overrides,
    }


def test_an_account_manager_creates_an_item_owned_by_the_vendor_and_its_history_says_so(
    client, world: World
):
    client.force_login(world.bob)
    url = _url(world, "action_create", contract_id=world.mine.contract.pk)
    response = client.post(url, _create_form(world))
    assert response.status_code == 302
    with scopes_disabled():
        item = ActionItem.objects.get(title="Agree a spare-parts buffer")
    assert (item.owner, item.owner_side, item.due_date) == (world.vic, "vendor", date(2026, 3, 15))
    assert item.service_level == world.mine.sla
    (created,) = events(item)
    assert (created.kind, created.actor, created.side) == ("created", world.bob, "customer")
    assert created.message == "Created for Vic (vendor side), due 15 Mar 2026."
    shown = _html(client.get(response["Location"]))
    assert "Agree a spare-parts buffer" in shown
    assert "Created for Vic (vendor side)" in shown


def test_a_customer_side_owner_is_on_the_customer_side(client, world: World):
    client.force_login(world.alice)
    url = _url(world, "action_create", contract_id=world.mine.contract.pk)
    client.post(url, _create_form(world, owner=str(world.lena.pk)))
    with scopes_disabled():
        item = ActionItem.objects.get(owner=world.lena)
    assert item.owner_side == "customer"


@pytest.mark.parametrize(
    ("due", "message"),
    [
        ("1999-12-31", "A due date from today (20 Feb 2026) on."),
        ("3000-01-01", "A due date at most 2 years ahead: by 20 Feb 2028."),
        ("2026-02-19", "A due date from today (20 Feb 2026) on."),
    ],
)
def test_a_due_date_in_the_past_or_far_ahead_is_a_field_error(client, world: World, due, message):
    client.force_login(world.bob)
    url = _url(world, "action_create", contract_id=world.mine.contract.pk)
    response = client.post(url, _create_form(world, due_date=due))
    assert response.status_code == 400
    assert message in _html(response)
    with scopes_disabled():
        assert ActionItem.objects.count() == 3  # the world's three, nothing new


@pytest.mark.parametrize("who", ["charlie", "olly"])
def test_an_owner_from_another_organisation_or_vendor_is_a_field_error(client, world: World, who):
    client.force_login(world.bob)
    url = _url(world, "action_create", contract_id=world.mine.contract.pk)
    response = client.post(url, _create_form(world, owner=str(getattr(world, who).pk)))
    assert response.status_code == 400
    assert "Select a valid choice" in _html(response)
    api = token_client(world.org, world.bob)
    body = {
        "contract": world.mine.contract.pk,
        "title": "x",
        "owner": who,
        "due_date": "2026-03-15",
    }
    refused = api.post(_api(world, "action-item-list"), body, format="json")
    assert refused.status_code == 400
    assert "user of the contract's vendor (Vendor Mine)" in refused.json()["owner"][0]


def test_an_sla_of_another_contract_is_a_field_error(client, world: World):
    client.force_login(world.bob)
    url = _url(world, "action_create", contract_id=world.mine.contract.pk)
    response = client.post(url, _create_form(world, service_level=str(world.theirs.sla.pk)))
    assert response.status_code == 400
    assert "Select a valid choice" in _html(response)
    api = token_client(world.org, world.bob)
    body = {"contract": world.mine.contract.pk, "title": "x", "owner": "vic",
            "due_date": "2026-03-15", "service_level": world.theirs.sla.pk}  # fmt: skip
    refused = api.post(_api(world, "action-item-list"), body, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "service_level": [f"Link an SLA of this contract ({world.mine.contract.reference})."]
    }
    body["service_level"] = world.foreign.sla.pk  # another organisation's: no such SLA here
    assert api.post(_api(world, "action-item-list"), body, format="json").status_code == 400


def test_vendor_users_and_leadership_do_not_create_or_edit_items(client, world: World):
    for user in (world.vic, world.lena):
        client.force_login(user)
        url = _url(world, "action_create", contract_id=world.mine.contract.pk)
        assert client.get(url).status_code == 403
        assert client.post(url, _create_form(world)).status_code == 403
        edit = _url(world, "action_edit", item_id=world.mine.action_item.pk)
        assert client.post(edit, {"title": "mine now"}).status_code == 403
    with scopes_disabled():
        assert ActionItem.objects.count() == 3


def test_moving_the_due_date_and_the_owner_is_on_the_timeline(client, world: World):
    item = world.mine.action_item
    client.force_login(world.bob)
    response = client.post(
        _url(world, "action_edit", item_id=item.pk),
        {"title": item.title, "description": "", "owner": str(world.bob.pk),
         "due_date": "2026-03-20"},
    )  # fmt: skip
    assert response.status_code == 302
    (changed,) = events(item, "changed")
    assert changed.message == "Owner Vic → Bob; due 1 Mar 2026 → 20 Mar 2026."
    with scopes_disabled():
        item.refresh_from_db()
    assert (item.owner, item.owner_side) == (world.bob, "customer")


# --- States --------------------------------------------------------------------------------

ALLOWED = [
    ("open", "in_progress", "Open → In progress."),
    ("open", "done", "Open → Done."),
    ("open", "cancelled", "Open → Cancelled."),
    ("in_progress", "open", "In progress → Open."),
    ("in_progress", "done", "In progress → Done."),
    ("in_progress", "cancelled", "In progress → Cancelled."),
]


@pytest.mark.parametrize(("start", "to", "message"), ALLOWED)
def test_every_allowed_transition_is_applied_with_an_event(
    client, world: World, start, to, message
):
    item = make_item(world, owner=world.vic, side=Side.VENDOR, state=start)
    client.force_login(world.vic)
    response = _move(client, world, item, to)
    assert response.status_code == 302
    assert state_of(item) == to
    (event,) = events(item, "state")
    assert (event.message, event.actor, event.side, event.at) == (message, world.vic, "vendor", NOW)
    with scopes_disabled():
        item.refresh_from_db()
    assert item.closed_at == (NOW if to in {"done", "cancelled"} else None)


@pytest.mark.parametrize("start", ["done", "cancelled"])
@pytest.mark.parametrize("to", ["open", "in_progress", "done", "cancelled"])
def test_a_closed_item_refuses_any_other_state_with_a_clear_message(
    client, world: World, start, to
):
    item = make_item(world, owner=world.vic, side=Side.VENDOR, state=start)
    client.force_login(world.bob)
    response = _move(client, world, item, to, follow=True)
    text = _html(response)
    assert state_of(item) == start
    assert events(item) == []
    if to == start:
        assert f"was already {start}" in text  # a repeated click, not a mistake
    else:
        assert f"This item is {start}: a closed item can't be reopened or changed." in text
    api = token_client(world.org, world.bob)
    answer = api.post(_api(world, "action-item-transition", pk=item.pk), {"state": to})
    if to == start:
        assert answer.status_code == 200
    else:
        assert answer.status_code == 409
        assert answer.json()["detail"].startswith(f"This item is {start}")
    assert events(item) == []


def test_a_double_submitted_state_change_is_applied_once(client, world: World):
    item = world.mine.action_item
    client.force_login(world.vic)
    _move(client, world, item, "done")
    second = _move(client, world, item, "done", follow=True)
    assert "was already done" in _html(second)
    assert len(events(item, "state")) == 1
    api = token_client(world.org, world.vic)
    assert (
        api.post(_api(world, "action-item-transition", pk=item.pk), {"state": "done"}).json()[
            "state"
        ]
        == "done"
    )
    assert len(events(item, "state")) == 1


def test_an_unknown_state_changes_nothing(client, world: World):
    item = world.mine.action_item
    client.force_login(world.bob)
    response = _move(client, world, item, "closed", follow=True)
    assert "'closed' is not a state of an action item." in _html(response)
    assert state_of(item) == "open"


def test_htmx_state_change_answers_with_the_row_only(client, world: World):
    item = world.mine.action_item
    client.force_login(world.vic)
    response = _move(client, world, item, "in_progress", HTTP_HX_REQUEST="true")
    text = _html(response)
    assert response.status_code == 200
    assert "<html" not in text
    assert text.strip().startswith(f'<tr id="action-{item.pk}"')
    assert "In progress" in text
    assert 'data-move="open"' in text  # its buttons are now those of an item in progress
    refused = _move(client, world, make_item(world, owner=world.vic, state="done"), "open",
                    HTTP_HX_REQUEST="true")  # fmt: skip
    assert "a closed item can't be reopened" in _html(refused)


def test_a_plain_form_goes_back_to_the_page_it_was_pressed_on_and_never_elsewhere(
    client, world: World
):
    item = world.mine.action_item
    client.force_login(world.vic)
    back = _url(world, "my_actions") + "?show=all"
    response = client.post(
        _url(world, "action_transition", item_id=item.pk), {"to": "in_progress", "next": back}
    )
    assert response["Location"] == back
    response = client.post(
        _url(world, "action_transition", item_id=item.pk),
        {"to": "open", "next": "https://evil.example/"},
    )
    assert response["Location"] == _url(world, "action", item_id=item.pk)


def test_the_state_change_is_a_post(client, world: World):
    client.force_login(world.vic)
    url = _url(world, "action_transition", item_id=world.mine.action_item.pk)
    assert client.get(url, {"to": "done"}).status_code == 405
    assert state_of(world.mine.action_item) == "open"


# --- Who may -------------------------------------------------------------------------------


def test_comments_from_both_sides_show_on_the_item_page(client, world: World):
    item = world.mine.action_item
    client.force_login(world.vic)
    client.post(_url(world, "action_comment", item_id=item.pk), {"text": "Supplier found."})
    client.force_login(world.bob)
    client.post(_url(world, "action_comment", item_id=item.pk), {"text": "Thanks: send the PO."})
    comments = [(e.actor, e.side, e.message) for e in events(item, "comment")]
    assert comments == [
        (world.vic, "vendor", "Supplier found."),
        (world.bob, "customer", "Thanks: send the PO."),
    ]
    text = _html(client.get(_url(world, "action", item_id=item.pk)))
    assert "Supplier found." in text
    assert "(vendor)" in text
    assert "(customer)" in text


def test_an_empty_comment_is_refused(client, world: World):
    client.force_login(world.vic)
    response = client.post(
        _url(world, "action_comment", item_id=world.mine.action_item.pk), {"text": "  "}
    )
    assert response.status_code == 400
    assert events(world.mine.action_item, "comment") == []


def test_leadership_reads_but_does_not_change_or_comment(client, world: World):
    item = world.mine.action_item
    client.force_login(world.lena)
    shown = _html(client.get(_url(world, "action", item_id=item.pk)))
    assert item.title in shown
    assert "data-move=" not in shown
    assert 'id="comment-form"' not in shown
    assert _move(client, world, item, "done").status_code == 403
    comment = client.post(_url(world, "action_comment", item_id=item.pk), {"text": "Hurry"})
    assert comment.status_code == 403
    assert state_of(item) == "open"
    assert events(item) == []


def test_a_leadership_member_who_owns_an_item_moves_it_and_comments(client, world: World):
    item = make_item(world, owner=world.lena)
    client.force_login(world.lena)
    assert _move(client, world, item, "in_progress").status_code == 302
    client.post(_url(world, "action_comment", item_id=item.pk), {"text": "On it."})
    assert state_of(item) == "in_progress"
    assert [e.kind for e in events(item)] == ["state", "comment"]


def test_the_vendor_moves_a_customer_owned_item_of_its_contract(client, world: World):
    item = make_item(world, owner=world.bob)
    client.force_login(world.vic)
    assert _move(client, world, item, "done").status_code == 302
    assert state_of(item) == "done"


def test_another_vendors_item_does_not_exist_for_a_vendor_user(client, world: World):
    theirs = world.theirs.action_item
    client.force_login(world.vic)
    assert client.get(_url(world, "action", item_id=theirs.pk)).status_code == 404
    assert _move(client, world, theirs, "done").status_code == 404
    assert (
        client.post(_url(world, "action_comment", item_id=theirs.pk), {"text": "x"}).status_code
        == 404
    )
    api = token_client(world.org, world.vic)
    assert api.get(_api(world, "action-item-detail", pk=theirs.pk)).status_code == 404
    assert (
        api.post(_api(world, "action-item-transition", pk=theirs.pk), {"state": "done"}).status_code
        == 404
    )
    listed = api.get(_api(world, "action-item-list")).json()["results"]
    assert [row["id"] for row in listed] == [world.mine.action_item.pk]
    assert state_of(theirs) == "open"


def test_another_organisations_item_does_not_exist(client, world: World):
    client.force_login(world.charlie)
    url = reverse(
        "reviews:action", kwargs={"org_slug": world.other_org.slug,
                                  "item_id": world.mine.action_item.pk},
    )  # fmt: skip
    assert client.get(url).status_code == 404


# --- Lists and pages -----------------------------------------------------------------------


def test_my_action_items_lists_mine_with_the_overdue_first_and_everyones_on_request(
    client, world: World
):
    late = make_item(world, owner=world.bob, due=date(2026, 2, 10), title="Send the minutes")
    soon = make_item(world, owner=world.bob, due=date(2026, 2, 25), title="Book the room")
    make_item(world, owner=world.bob, due=date(2026, 2, 12), state="done", title="Old one")
    client.force_login(world.bob)
    response = client.get(_url(world, "my_actions"))
    listed = [item.pk for item in response.context["items"]]
    assert listed == [late.pk, soon.pk]
    text = _html(response)
    assert "Overdue: <strong>1</strong>" in text
    everyone = client.get(_url(world, "my_actions"), {"show": "all"}).context["items"]
    assert [item.pk for item in everyone] == [late.pk, soon.pk, world.mine.action_item.pk,
                                              world.theirs.action_item.pk]  # fmt: skip
    closed = client.get(_url(world, "my_actions"), {"state": "closed"}).context["items"]
    assert [item.title for item in closed] == ["Old one"]


def test_a_vendor_user_sees_their_own_and_their_vendors_items_only(client, world: World):
    client.force_login(world.vic)
    mine = client.get(_url(world, "my_actions")).context["items"]
    assert [item.pk for item in mine] == [world.mine.action_item.pk]
    everyone = client.get(_url(world, "my_actions"), {"show": "all"}).content.decode()
    assert world.theirs.contract.reference not in everyone


def test_the_filter_answers_htmx_with_the_table_only(client, world: World):
    client.force_login(world.bob)
    response = client.get(_url(world, "my_actions"), {"show": "all"}, HTTP_HX_REQUEST="true")
    text = _html(response)
    assert "<html" not in text
    assert text.strip().startswith('<section id="actions">')


def test_the_contract_and_sla_pages_flag_overdue_items(client, world: World):
    make_item(world, owner=world.bob, due=date(2026, 2, 10), sla=world.mine.sla,
              title="Send the minutes")  # fmt: skip
    client.force_login(world.alice)
    contract = client.get(
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk])
    ).content.decode()
    panel = contract[contract.index('id="action-items"') :]
    assert "Send the minutes" in panel
    assert '<span class="pill pill-red">1 overdue</span>' in panel
    assert 'id="new-action"' in panel
    sla = client.get(reverse("metrics:sla", args=[world.org.slug, world.mine.sla.pk]))
    assert "Send the minutes" in _html(sla)
    client.force_login(world.vic)
    as_vendor = client.get(
        reverse("contracts:contract", args=[world.org.slug, world.mine.contract.pk])
    ).content.decode()
    assert "Send the minutes" in as_vendor  # the vendor sees the items of its contract
    assert 'id="new-action"' not in as_vendor


@pytest.mark.parametrize("count", [1, 8])
def test_my_actions_query_count_does_not_grow_with_items(
    client, world: World, count, django_assert_num_queries
):
    for n in range(count):
        make_item(world, owner=world.bob, due=date(2026, 2, 1 + n), sla=world.mine.sla)
    client.force_login(world.bob)
    # 1 session, 2 user, 3 membership (tenant), 4 the items with contract, vendor, owner
    # and SLA, 5 switcher memberships, 6 the contracts to filter by
    with django_assert_num_queries(6):
        response = client.get(_url(world, "my_actions"), {"show": "all"})
    assert len(response.context["items"]) == count + 2


@pytest.mark.parametrize("comments", [1, 6])
def test_item_page_query_count_does_not_grow_with_its_history(
    client, world: World, comments, django_assert_num_queries
):
    item = world.mine.action_item
    client.force_login(world.vic)
    for n in range(comments):
        client.post(_url(world, "action_comment", item_id=item.pk), {"text": f"note {n}"})
    # 1 session, 2 user, 3 membership, 4 the item with its contract, vendor, owner, SLA,
    # review, escalation, warning and creator, 5 its events with their actors,
    # 6 switcher memberships
    with django_assert_num_queries(6):
        response = client.get(_url(world, "action", item_id=item.pk))
    assert _html(response).count('data-kind="comment"') == comments


# --- API -----------------------------------------------------------------------------------


def test_the_api_creates_edits_moves_and_comments_like_the_pages(openapi, world: World):
    bob = token_client(world.org, world.bob)
    body = {"contract": world.mine.contract.pk, "title": "Agree a buffer", "owner": "vic",
            "due_date": "2026-03-15", "service_level": world.mine.sla.pk,
            "warning": world.mine.warning.pk}  # fmt: skip
    created = bob.post(_api(world, "action-item-list"), body, format="json")
    assert created.status_code == 201, created.json()
    assert_conforms(openapi, "/action-items/", "post", created)
    item = created.json()
    assert (item["owner"], item["owner_side"], item["sla"]) == ("vic", "vendor", "avail")
    assert [e["kind"] for e in item["events"]] == ["created"]
    detail = _api(world, "action-item-detail", pk=item["id"])
    edited = bob.patch(detail, {"due_date": "2026-03-20"}, format="json")
    assert_conforms(openapi, "/action-items/{id}/", "patch", edited)
    assert edited.json()["due_date"] == "2026-03-20"
    vic = token_client(world.org, world.vic)
    moved = vic.post(_api(world, "action-item-transition", pk=item["id"]), {"state": "in_progress"})
    assert_conforms(openapi, "/action-items/{id}/transition/", "post", moved)
    comment = vic.post(_api(world, "action-item-comments", pk=item["id"]), {"text": "On it"})
    assert comment.status_code == 201
    assert_conforms(openapi, "/action-items/{id}/comments/", "post", comment)
    assert (comment.json()["side"], comment.json()["actor"]) == ("vendor", "vic")
    shown = vic.get(detail)
    assert_conforms(openapi, "/action-items/{id}/", "get", shown)
    assert [e["kind"] for e in shown.json()["events"]] == ["created", "changed", "state", "comment"]
    assert vic.patch(detail, {"title": "mine"}, format="json").status_code == 403
    assert vic.post(_api(world, "action-item-list"), body, format="json").status_code == 403
    lena = token_client(world.org, world.lena)
    assert (
        lena.post(
            _api(world, "action-item-transition", pk=item["id"]), {"state": "done"}
        ).status_code
        == 403
    )


def test_the_api_list_filters_and_conforms(openapi, world: World):
    make_item(world, owner=world.bob, due=date(2026, 2, 10), title="Late one")
    bob = token_client(world.org, world.bob)
    url = _api(world, "action-item-list")
    everything = bob.get(url)
    assert_conforms(openapi, "/action-items/", "get", everything)
    assert "events" not in everything.json()["results"][0]
    titles = [r["title"] for r in bob.get(url, {"owner": "me"}).json()["results"]]
    assert titles == ["Late one"]
    overdue = bob.get(url, {"overdue": "true"}).json()["results"]
    assert [(r["title"], r["overdue"]) for r in overdue] == [("Late one", True)]
    by_contract = bob.get(url, {"contract": world.theirs.contract.pk}).json()["results"]
    assert [r["id"] for r in by_contract] == [world.theirs.action_item.pk]
    assert bob.get(url, {"state": "done"}).json()["results"] == []
    assert bob.get(url, {"owner": "alice"}).status_code == 400


def test_a_due_date_in_3000_over_the_api_is_a_field_error(world: World):
    bob = token_client(world.org, world.bob)
    refused = bob.patch(
        _api(world, "action-item-detail", pk=world.mine.action_item.pk),
        {"due_date": "3000-01-01"}, format="json",
    )  # fmt: skip
    assert refused.status_code == 400
    assert refused.json() == {"due_date": ["A due date at most 2 years ahead: by 20 Feb 2028."]}


@pytest.mark.parametrize("items", [1, 6])
def test_api_list_query_count_is_constant(world: World, items, django_assert_num_queries):
    for _ in range(items):
        make_item(world, owner=world.bob, sla=world.mine.sla)
    api = APIClient()
    api.force_authenticate(world.bob)
    # 1 membership (tenant), 2 count for pagination, 3 the items with contract, vendor,
    # owner, SLA and creator
    with django_assert_num_queries(3):
        response = api.get(_api(world, "action-item-list"))
    assert response.json()["count"] == items + 2


def test_an_item_of_a_removed_owner_still_shows(world: World, openapi):
    item = make_item(world, owner=factories.UserFactory(username="gone"))
    with scopes_disabled():
        ActionItem.objects.filter(pk=item.pk).update(owner=None)
    response = token_client(world.org, world.bob).get(_api(world, "action-item-detail", pk=item.pk))
    assert response.json()["owner"] is None
    assert_conforms(openapi, "/action-items/{id}/", "get", response)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_a_state_button_changes_its_row_in_place(
    page,  # noqa: F811 (fixture)
    world: World,
):
    item = world.mine.action_item
    page.goto(f"{page.base}/login/")
    page.fill("#id_login", "vic")
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{page.base}/o/**")
    page.goto(f"{page.base}{_url(world, 'my_actions')}")
    page.evaluate("() => { window.samePage = true; }")
    row = f"#action-{item.pk}"
    page.click(f"{row} button[data-move=in_progress]")
    page.wait_for_selector(f"{row} button[data-move=open]")
    assert page.inner_text(f"{row} .state") == "In progress"
    assert page.evaluate("() => window.samePage === true")  # no page load: the row was swapped
    assert state_of(item) == "in_progress"
    page.click(f"{row} button[data-move=done]")
    page.wait_for_selector(f"{row} .state-done")
    assert page.query_selector(f"{row} button") is None  # done is final: no more buttons
