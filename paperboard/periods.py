"""Day / ISO week / month periods as inclusive date ranges, parsed from user input."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # "day" | "week" | "month"
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            y, w, _ = self.start.isocalendar()
            return f"{y}-W{w:02d}"
        return self.start.strftime("%Y-%m")

    def previous(self) -> Period:
        if self.kind == "day":
            return day(self.start - timedelta(days=1))
        if self.kind == "week":
            return week_of(self.start - timedelta(days=7))
        return month_of(self.start - timedelta(days=1))

    def next(self) -> Period:
        if self.kind == "day":
            return day(self.start + timedelta(days=1))
        if self.kind == "week":
            return week_of(self.start + timedelta(days=7))
        return month_of(self.end + timedelta(days=1))


def day(d: date) -> Period:
    return Period("day", d, d)


def week_of(d: date) -> Period:
    monday = d - timedelta(days=d.weekday())
    return Period("week", monday, monday + timedelta(days=6))


def month_of(d: date) -> Period:
    last = calendar.monthrange(d.year, d.month)[1]
    return Period("month", d.replace(day=1), d.replace(day=last))


def parse_day(text: str) -> Period:
    try:
        return day(date.fromisoformat(text.strip()))
    except ValueError:
        raise PeriodError(f"invalid date {text[:40]!r}: expected YYYY-MM-DD") from None


def parse_week(text: str) -> Period:
    m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), re.IGNORECASE)
    if not m:
        raise PeriodError(f"invalid week {text[:40]!r}: expected YYYY-Www, e.g. 2025-W23")
    try:
        return week_of(date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1))
    except ValueError:
        raise PeriodError(f"invalid week {text[:40]!r}: no such ISO week") from None


def parse_month(text: str) -> Period:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise PeriodError(f"invalid month {text[:40]!r}: expected YYYY-MM")
    return month_of(date(int(m.group(1)), int(m.group(2)), 1))
