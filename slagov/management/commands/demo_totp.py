"""The code an authenticator app would show now for the demo's published secret (max)."""

from __future__ import annotations

from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
)
from django.core.management.base import BaseCommand

from slagov.accounts import current_counter
from slagov.demo import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current two-factor code of the demo user max (a published secret)."

    def handle(self, *args, **options) -> None:
        counter = current_counter()
        self.stdout.write(format_hotp_value(hotp_value(DEMO_TOTP_SECRET, counter)))
