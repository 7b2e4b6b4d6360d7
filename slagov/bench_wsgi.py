"""
WSGI entry point of the site `manage.py bench_pages` starts under gunicorn:
slagov's application routed by slagov.bench_urls (every URL of slagov and a
bare baseline page). Never used in production (the compose file serves
slagov.wsgi).
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slagov.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 (configured by the line above)

settings.ROOT_URLCONF = "slagov.bench_urls"
