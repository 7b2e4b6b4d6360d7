"""Serve plotly.min.js from the installed plotly package, nothing else from it."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_DIR = Path(plotly.__file__).resolve().parent / "package_data"
PUBLIC_PATH = "plotly/plotly.min.js"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(PLOTLY_DIR))
        self.storage.prefix = "plotly"

    def check(self, **kwargs):
        if not (PLOTLY_DIR / "plotly.min.js").exists():
            from django.core.checks import Error

            return [Error(f"plotly.min.js is missing from {PLOTLY_DIR}", id="slagov.E001")]
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PUBLIC_PATH:
            return [] if find_all or kwargs.get("all") else None
        match = str(PLOTLY_DIR / "plotly.min.js")
        return [match] if find_all or kwargs.get("all") else match

    def list(self, ignore_patterns):
        yield "plotly.min.js", self.storage
