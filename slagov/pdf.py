"""
HTML to PDF with WeasyPrint, fetching nothing: every URL the document asks
for (file:, data:, http: alike) is refused, so what is printed is only the
HTML given, with its styles and SVG charts inline, and the system's fonts.
The review pack, the scorecards and the monthly report print through here.

WeasyPrint needs Pango from the system; it is imported only when a PDF is
made, so a machine without Pango runs everything else and says what to install.
"""

from __future__ import annotations

from importlib import import_module
from typing import NoReturn

PANGO_HINT = "install Pango (apt-get install libpango-1.0-0 libpangoft2-1.0-0)"


class PdfUnavailable(RuntimeError):  # noqa: N818 (what callers catch: a state, not a fault)
    """The PDF can't be made on this machine (WeasyPrint or Pango is missing)."""


class ResourceRefusedError(ValueError):
    """The documents load nothing: every resource is inline."""


def refuse_url(url: str) -> NoReturn:
    """What the URL fetcher does with every URL it is asked for."""
    raise ResourceRefusedError(f"slagov's PDFs load no resources ({url[:80]})")


def no_network_fetcher(urls_module):
    """A WeasyPrint URL fetcher that refuses every URL."""
    base = getattr(urls_module, "URLFetcher", None)
    if base is None:  # WeasyPrint before the URLFetcher class: a plain function
        return lambda url, *args, **kwargs: refuse_url(url)

    class RefuseAll(base):
        def fetch(self, url, headers=None):
            return refuse_url(url)

    return RefuseAll()


def _weasyprint(what: str):
    try:
        return import_module("weasyprint")
    except OSError as exc:  # cffi could not load Pango
        raise PdfUnavailable(f"{what} can't be made here: {PANGO_HINT}. ({exc})") from exc
    except ImportError as exc:
        raise PdfUnavailable(
            f"{what} needs WeasyPrint (pip install weasyprint); {PANGO_HINT}."
        ) from exc


def html_to_pdf(html: str, *, what: str = "This PDF") -> bytes:
    """
    The PDF of `html`, with no resource fetched. Raises PdfUnavailable (naming
    `what`, e.g. "The review pack") when this machine can't make PDFs.
    """
    weasyprint = _weasyprint(what)
    fetcher = no_network_fetcher(import_module("weasyprint.urls"))
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
    return document.write_pdf()
