"""
The governance loop in real Chromium, as both sides live it: plan a review →
its agenda is drafted → the vendor adds a topic → it is held with minutes and
two action items (one per side) → the vendor marks its item done → the pack is
downloaded and signed by both.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from reviews.models import ActionItem, Review
from slagov.demo import seed
from tests.test_browser import browser, login, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def logout(page) -> None:  # noqa: F811 (the fixture, as an argument)
    page.context.clear_cookies()


@pytest.mark.django_db(transaction=True)
def test_plan_agenda_topic_hold_actions_done_and_the_pack_signed_by_both_sides(page):  # noqa: F811
    seed()
    with scopes_disabled():
        contract_id = Review.objects.filter(contract__reference="NW-FLT-001").first().contract_id
    when = timezone.localtime() + timedelta(hours=2)

    # Bob plans an extra review of the fleet contract.
    login(page, "bob")
    page.goto(f"{page.base}/o/northwind/contracts/{contract_id}/reviews/new/")
    page.fill("#id_scheduled_at", when.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_location", "https://meet.example/fleet")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#agenda")
    review_url = page.url
    review_id = int(re.search(r"/reviews/(\d+)/", review_url).group(1))
    sections = page.eval_on_selector_all(
        "#agenda-items > li", "items => items.map(i => i.dataset.section)"
    )
    assert sections == ["performance", "risks", "actions", "improvement", "credits",
                        "timeliness"]  # fmt: skip
    assert "Mean time to repair" in page.inner_text("#agenda")
    logout(page)

    # Vera, on the vendor side, adds a topic: the agenda is swapped in place.
    login(page, "vera")
    page.goto(review_url)
    page.evaluate("() => { window.samePage = true; }")
    page.fill("#id_title", "Parts supplier lead times")
    page.click("#topic-form button[type=submit]")
    page.wait_for_selector("#agenda-items > li[data-section=topic]")
    assert page.evaluate("() => window.samePage === true")
    assert "added by Vera Vance (vendor side)" in page.inner_text("#agenda")
    logout(page)

    # Bob holds it: both sides came, minutes, decisions, one action for each side.
    login(page, "bob")
    page.goto(f"{review_url}hold/")
    page.fill("#id_held_at", timezone.localtime().strftime("%Y-%m-%dT%H:%M"))
    first_minutes = page.query_selector("textarea[id^=id_minutes_]")
    first_minutes.fill("The repair time came back down: the second supplier works.")
    page.fill("#id_decisions", "Keep both parts suppliers.")
    page.fill("#id_actions-0-title", "Report parts lead times monthly")
    page.select_option("#id_actions-0-owner", label="Vera Vance (Fleetfix Services)")
    page.fill("#id_actions-0-due_date", (timezone.localdate() + timedelta(days=14)).isoformat())
    page.fill("#id_actions-1-title", "Send the Q1 fleet plan")
    page.select_option("#id_actions-1-owner", label="Bob Brennan (customer)")
    page.fill("#id_actions-1-due_date", (timezone.localdate() + timedelta(days=7)).isoformat())
    page.click("#save-minutes")
    page.wait_for_selector("#review-state:has-text('Held')")
    assert "Keep both parts suppliers." in page.inner_text("#decisions")
    assert page.locator("#review-actions li").count() == 2
    # The pack, as a file.
    with page.expect_download() as download:
        page.click("#pack")
    pack = download.value.path().read_bytes()
    assert pack.startswith(b"%PDF")
    page.click("#sign")
    page.wait_for_selector("#signatures:has-text('Customer: signed by Bob Brennan')")
    logout(page)

    # Vera marks her item done from "my action items", then signs the same pack.
    login(page, "vera")
    with scopes_disabled():
        item = ActionItem.objects.get(review_id=review_id, owner__username="vera")
    page.goto(f"{page.base}/o/northwind/actions/")
    page.click(f"#action-{item.pk} button[data-move=done]")
    page.wait_for_selector(f"#action-{item.pk} .state-done")
    page.goto(review_url)
    with page.expect_download() as download:
        page.click("#pack")
    assert download.value.path().read_bytes() == pack  # the same bytes for both sides
    page.click("#sign")
    page.wait_for_selector("#review-state:has-text('Signed off')")
    with scopes_disabled():
        review = Review.objects.get(pk=review_id)
        digests = {s.sha256 for s in review.signatures.all()}
        item.refresh_from_db()
    assert digests == {hashlib.sha256(pack).hexdigest()}
    assert item.state == "done"
