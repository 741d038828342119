"""Time for the synthetic data: epoch minutes <-> local ISO text and dates, with caches."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from frontdoor.clock import NonExistentLocalTime, localize
from frontdoor.synthetic_profile import DAY_MIN


def epoch_minute(instant: datetime) -> int:
    return int(instant.timestamp()) // 60


class LocalMinutes:
    """Epoch minutes <-> local ISO text and dates in ``tz``, with caches kept bounded."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._iso: dict[int, tuple[str, int, str]] = {}
        self._midnight: dict[date, int] = {}

    def iso(self, m: int) -> str:
        """``YYYY-MM-DDTHH:MM:00+HH:MM`` for epoch minute ``m``.

        Cached per quarter hour: every UTC offset in use is a multiple of 15 minutes, so the
        date, hour and offset are constant within an aligned quarter; only the minute varies.
        """
        q, r = divmod(m, 15)
        hit = self._iso.get(q)
        if hit is None:
            if len(self._iso) > 8192:  # ~85 days of quarter hours
                self._iso.clear()
            s = datetime.fromtimestamp(q * 900, self.tz).isoformat()
            hit = self._iso[q] = (s[:14], int(s[14:16]), s[16:])
        return f"{hit[0]}{hit[1] + r:02d}{hit[2]}"

    def day(self, m: int) -> date:
        """Local calendar date of epoch minute ``m``."""
        return date.fromisoformat(self.iso(m)[:10])

    def midnight(self, d: date) -> int:
        """Epoch minute of 00:00 local on ``d``."""
        hit = self._midnight.get(d)
        if hit is None:
            if len(self._midnight) > 4096:
                self._midnight.clear()
            hit = self._midnight[d] = epoch_minute(localize(datetime.combine(d, time()), self.tz))
        return hit

    def local_minutes(self, d: date, minutes: list[int]) -> list[int]:
        """Sorted epoch minutes of the sorted local minutes-of-day ``minutes`` on ``d``.

        On a DST change day a wall time in the spring gap moves forward an hour and a repeated
        autumn time is its first occurrence, so every result still has local date ``d``.
        """
        m0 = self.midnight(d)
        if self.midnight(d + timedelta(days=1)) - m0 == DAY_MIN:
            return [m0 + x for x in minutes]
        out: list[int] = []
        for x in minutes:
            naive = datetime.combine(d, time(x // 60, x % 60))
            try:
                out.append(epoch_minute(localize(naive, self.tz)))
            except NonExistentLocalTime:
                out.append(epoch_minute(localize(naive + timedelta(hours=1), self.tz)))
        return sorted(out)  # the gap shift can reorder a few
