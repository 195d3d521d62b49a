"""A campaign's pace and hours: each queued message gets its own send time (`next_attempt_at`), one every
60/rate seconds, only within the campaign's days and hours in the display time zone. The times are written into the
rows, so the pace survives restarts and holds however many worker processes claim them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ..errors import InvalidInput

DEFAULT_DAYS = (0, 1, 2, 3, 4, 5)  # Monday to Saturday, as an Argentine shop opens
DEFAULT_HOURS = (9, 20)


@dataclass(frozen=True)
class SendHours:
    days: frozenset[int]  # Monday = 0
    from_hour: int
    to_hour: int  # exclusive: 20 means the last message goes before 20:00
    zone: ZoneInfo

    @classmethod
    def of(cls, *, days: Collection[int], from_hour: int, to_hour: int, zone: ZoneInfo) -> SendHours:
        if not days or any(day not in range(7) for day in days):
            raise InvalidInput('pick at least one day (Monday = 0 … Sunday = 6)')
        if not 0 <= from_hour < to_hour <= 24:
            raise InvalidInput(f'the sending hours must be a range within the day, {from_hour}-{to_hour} given')
        return cls(frozenset(days), from_hour, to_hour, zone)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.from_hour <= local.hour < self.to_hour

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself when it is within the hours, else when they open next."""
        local = moment.astimezone(self.zone)
        for _ in range(8):
            if local.weekday() in self.days:
                if self.from_hour <= local.hour < self.to_hour:
                    return local.astimezone(UTC)
                if local.hour < self.from_hour:
                    return local.replace(hour=self.from_hour, minute=0, second=0, microsecond=0).astimezone(UTC)
            local = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        raise AssertionError('a week always has an open day')  # `of` refuses an empty week


class Pacer:
    """Hands out send times: the first at `start` (or when the hours open), then one every `interval`, skipping
    the closed hours. `cursor` is the next free slot (stored on the campaign, so a resumed start keeps the pace)."""

    def __init__(self, *, start: datetime, per_minute: float, hours: SendHours) -> None:
        if per_minute <= 0:
            raise InvalidInput('the pace must be above 0 messages per minute')
        self.interval = timedelta(seconds=60.0 / per_minute)
        self.hours = hours
        self.cursor = start

    def __call__(self) -> datetime:
        slot = self.hours.next_open(self.cursor)
        self.cursor = slot + self.interval
        return slot
