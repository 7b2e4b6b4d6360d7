"""
Headroom: how far the latest value is from yellow and from red, in the SLA's
unit and as a share of the band between target and minimum; for availability
measured as a percentage of time, the period's downtime budget in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts import periods
from contracts.rules import Direction

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Downtime:
    minutes_in_period: int
    allowed_at_target: Decimal  # green as long as downtime stays within this
    allowed_at_minimum: Decimal  # red beyond this
    used: Decimal

    @property
    def share_used(self) -> Decimal:
        if not self.allowed_at_target:
            return Decimal(0)
        return self.used / self.allowed_at_target


@dataclass(frozen=True)
class Headroom:
    to_yellow: Decimal  # positive: room before yellow; negative: already past the target
    to_red: Decimal  # positive: room before red; negative: past the minimum
    band: Decimal
    share_to_yellow: Decimal | None  # to_yellow as a share of the band
    share_to_red: Decimal | None
    downtime: Downtime | None = None


def headroom_of(health) -> Headroom | None:
    """The headroom of an SLA's latest value (`SlaHealth`, its SLA loaded), if it has one."""
    if health is None or health.value is None or health.target is None:
        return None
    sla = health.service_level
    return headroom(
        value=health.value, target=health.target, minimum=health.minimum,
        direction=sla.direction, measures_time=sla.measures_time,
        period_start=health.latest_period, period_kind=sla.period,
    )  # fmt: skip


def headroom(
    *,
    value: Decimal,
    target: Decimal,
    minimum: Decimal,
    direction: str,
    measures_time: bool = False,
    period_start: date | None = None,
    period_kind: str = periods.Period.MONTHLY,
) -> Headroom:
    sign = 1 if direction == Direction.HIGHER else -1
    to_yellow = (value - target) * sign
    to_red = (value - minimum) * sign
    band = abs(target - minimum)
    downtime = None
    if measures_time and period_start is not None:
        minutes = periods.period_days(period_start, period_kind) * MINUTES_PER_DAY
        downtime = Downtime(
            minutes_in_period=minutes,
            allowed_at_target=(minutes * (100 - target) / 100).quantize(Decimal("0.1")),
            allowed_at_minimum=(minutes * (100 - minimum) / 100).quantize(Decimal("0.1")),
            used=(minutes * (100 - value) / 100).quantize(Decimal("0.1")),
        )
    return Headroom(
        to_yellow=to_yellow,
        to_red=to_red,
        band=band,
        share_to_yellow=(to_yellow / band) if band else None,
        share_to_red=(to_red / band) if band else None,
        downtime=downtime,
    )


@dataclass(frozen=True)
class HeadroomWords:
    yellow: str
    red: str
    share: str = ""  # the room before yellow against the band: "(40 % of the band)"


def headroom_words(room: Headroom, unit: str) -> HeadroomWords:
    """The headroom worded for each side of the line: room left, or how far past it is."""
    from slagov.formatting import with_unit

    def side(amount: Decimal, before: str, past: str, on: str) -> str:
        text = with_unit(abs(amount), unit)
        if text.split(" ")[0] in {"0", "0.0", "0.00"} or amount == 0:
            return on  # nothing either way at the data's precision
        return f"{text} {before}" if amount > 0 else f"{text} {past}"

    return HeadroomWords(
        yellow=side(
            room.to_yellow,
            "of room before yellow",
            "past the target (yellow)",
            "on the target: no room before yellow",
        ),
        red=side(
            room.to_red,
            "of room before red",
            "past the minimum (red)",
            "on the minimum: no room before red",
        ),
        share=_share_words(room),
    )


def _share_words(room: Headroom) -> str:
    """
    The room before yellow measured in yellow bands, worded for its size: `40 % of
    the yellow band`, `5.8 times the yellow band`; nothing when past the target.
    """
    from slagov.formatting import number

    if room.share_to_yellow is None or room.to_yellow <= 0:
        return ""
    percent = number(room.share_to_yellow * 100, 0)
    if percent == "0":
        return ""
    if room.share_to_yellow <= 1 or number(room.share_to_yellow, 1) == "1.0":
        return f"{percent} % of the yellow band"
    return f"{number(room.share_to_yellow, 1)} times the yellow band"
