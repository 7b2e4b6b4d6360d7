"""The help page that defines every number the leadership view shows."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from escalations.ahead import AHEAD
from escalations.leadership import HEATMAP_MONTHS


def help_numbers(request: HttpRequest, org_slug: str) -> HttpResponse:
    """How each figure is counted, in the words the code implements (any member may read it)."""
    return render(request, "help/numbers.html", {"ahead": AHEAD, "heatmap_months": HEATMAP_MONTHS})
