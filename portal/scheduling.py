"""Treatment-course arithmetic: the label's schedule and the warnings a nurse sees before saving.

Pure on purpose (stdlib only, no Django), like ``portal.reminders.planning``: the caller loads visits,
asks here, and writes.

The schedule (shared/clinical/tvec-facts.md section 1, [R1, R4, R10]): the second treatment
3 weeks after the first; every later treatment, and the first one after a pause, 2 weeks
after the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

SECOND_TREATMENT_AFTER = timedelta(weeks=3)
LATER_TREATMENT_AFTER = timedelta(weeks=2)
# A course runs at least 6 months and may go on to 18 (OPTiM); 60 visits at 2 weeks is
# more than 2 years, so a longer list is a typing mistake.
MAX_VISITS = 60
# How far ahead a proposal may reach ("until"); the window for each visit date is
# portal.models.visit_date_error's.
LATEST = timedelta(days=2 * 366)
MAX_SHIFT_DAYS = 90


def propose_dates(
    first: date, *, count: int | None = None, until: date | None = None, restart: bool = False
) -> list[date]:
    """Treatment dates from ``first``: ``count`` of them, or every one up to ``until``.

    A new course has its second treatment 3 weeks after the first and then one every 2
    weeks; a restart goes every 2 weeks from the start. Never more than MAX_VISITS."""
    if (count is None) == (until is None):
        raise ValueError("give either count or until")
    if count is not None and not 1 <= count <= MAX_VISITS:
        raise ValueError(f"count must be between 1 and {MAX_VISITS}")
    dates = [first]
    while len(dates) < MAX_VISITS:
        gap = SECOND_TREATMENT_AFTER if len(dates) == 1 and not restart else LATER_TREATMENT_AFTER
        following = dates[-1] + gap
        if count is not None and len(dates) >= count:
            break
        if until is not None and following > until:
            break
        dates.append(following)
    return dates


class TimeProblem(StrEnum):
    NONEXISTENT = "nonexistent"  # skipped when clocks go forward
    AMBIGUOUS = "ambiguous"  # happens twice when clocks go back


def local_time_problem(day: date, at: time, zone: str) -> TimeProblem | None:
    """Whether a wall time does not exist, or happens twice, on that day in ``zone``."""
    tz = ZoneInfo(zone)
    wall = datetime.combine(day, at.replace(fold=0, tzinfo=None))
    earlier, later = wall.replace(tzinfo=tz), wall.replace(tzinfo=tz, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return None
    # The offsets differ: either the time is in a gap (it does not round-trip) or in an overlap.
    back = earlier.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return TimeProblem.AMBIGUOUS if back == wall else TimeProblem.NONEXISTENT


@dataclass(frozen=True)
class Slot:
    """One visit as the checks see it. ``first_of_course`` marks a course's first treatment
    (the next one is due 3 weeks later, not 2); ``checked`` marks the visits being added or
    changed now: only they get warnings, so old history does not nag on every change."""

    key: str
    local_date: date
    local_time: time
    first_of_course: bool = False
    checked: bool = True


class WarningKind(StrEnum):
    PAST = "past"
    DUPLICATE = "duplicate"
    TOO_CLOSE = "too_close"
    NONEXISTENT_TIME = "nonexistent_time"
    AMBIGUOUS_TIME = "ambiguous_time"


@dataclass(frozen=True)
class ScheduleWarning:
    kind: WarningKind
    key: str
    local_date: date
    local_time: time
    other_date: date | None = None  # the neighbour of a duplicate or too-close visit
    required_days: int | None = None  # what the schedule asks between the two


def check_schedule(slots: list[Slot], *, now: datetime, zone: str) -> list[ScheduleWarning]:
    """Warnings for the checked slots among all of a patient's active visits, in date order."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    local_now = now.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    ordered = sorted(slots, key=lambda s: (s.local_date, s.local_time, s.key))
    found: list[ScheduleWarning] = []
    for slot in ordered:
        if not slot.checked:
            continue
        if datetime.combine(slot.local_date, slot.local_time) < local_now:
            found.append(ScheduleWarning(WarningKind.PAST, slot.key, slot.local_date, slot.local_time))
        match local_time_problem(slot.local_date, slot.local_time, zone):
            case TimeProblem.NONEXISTENT:
                found.append(
                    ScheduleWarning(WarningKind.NONEXISTENT_TIME, slot.key, slot.local_date, slot.local_time)
                )
            case TimeProblem.AMBIGUOUS:
                found.append(
                    ScheduleWarning(WarningKind.AMBIGUOUS_TIME, slot.key, slot.local_date, slot.local_time)
                )
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if not (earlier.checked or later.checked):
            continue
        days = (later.local_date - earlier.local_date).days
        gap = SECOND_TREATMENT_AFTER if earlier.first_of_course else LATER_TREATMENT_AFTER
        shown = later if later.checked else earlier
        other = earlier if shown is later else later
        if days == 0:
            found.append(
                ScheduleWarning(
                    WarningKind.DUPLICATE, shown.key, shown.local_date, shown.local_time, other.local_date
                )
            )
        elif days < gap.days:
            found.append(
                ScheduleWarning(
                    WarningKind.TOO_CLOSE,
                    shown.key,
                    shown.local_date,
                    shown.local_time,
                    other.local_date,
                    gap.days,
                )
            )
    found.sort(key=lambda w: (w.local_date, w.local_time, w.key, list(WarningKind).index(w.kind)))
    return found
