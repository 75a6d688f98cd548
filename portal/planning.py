"""Reminder planning: which reminders one recipient gets, and when (in UTC).

Pure on purpose (stdlib only, no Django): the caller loads visits and the recipient from the
database, calls ``plan_reminders`` and replaces that recipient's future unsent reminder rows with the
result (DESIGN.md §4, guarantee 1). Planning is deterministic, so re-planning is idempotent.

Clinical defaults (clinical/tvec-facts.md): dressings stay on for at least 1 week after *each*
treatment, longer if the site weeps or oozes (§2); flu-like symptoms mostly settle within 72 hours
(§5); the dressing period starts again on each injection day (§1).

Callers must pass every active visit whose dressing period may still reach the future, including
past ones: an earlier visit's reminders are only truncated by visits the planner can see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The label says "at least 1 week"; clinics may lengthen the period, never shorten it.
MIN_DRESSING_DAYS = 7
# A day-0 reminder about the dressing or symptoms makes no sense before the injection happened.
AFTER_INJECTION = timedelta(hours=1)


class Rule(StrEnum):
    VISIT_REMINDER = "visit_reminder"
    DRESSING_CHECK = "dressing_check"
    DRESSING_SAFETY = "dressing_safety"
    DRESSING_REVIEW = "dressing_review"
    SYMPTOM_WATCH = "symptom_watch"


class Audience(StrEnum):
    PATIENT = "patient"
    CAREGIVER_HANDLER = "caregiver_handler"
    # Pregnant or immunocompromised caregivers must not touch sites or dressings (tvec-facts §2, §3),
    # so they get the safety variant instead of the "check/replace the dressing" reminder.
    CAREGIVER_NON_HANDLER = "caregiver_non_handler"


RULE_AUDIENCES: dict[Rule, frozenset[Audience]] = {
    Rule.VISIT_REMINDER: frozenset({Audience.PATIENT}),
    Rule.DRESSING_CHECK: frozenset({Audience.PATIENT, Audience.CAREGIVER_HANDLER}),
    Rule.DRESSING_SAFETY: frozenset({Audience.CAREGIVER_NON_HANDLER}),
    Rule.DRESSING_REVIEW: frozenset({Audience.PATIENT, Audience.CAREGIVER_HANDLER}),
    Rule.SYMPTOM_WATCH: frozenset({Audience.PATIENT}),
}


@dataclass(frozen=True)
class VisitSlot:
    key: str
    local_date: date
    local_time: time
    time_zone: str
    active: bool


@dataclass(frozen=True)
class Recipient:
    audience: Audience
    time_zone: str
    reminder_time: time
    quiet_start: time | None
    quiet_end: time | None

    def __post_init__(self) -> None:
        # Half a quiet window is a data error; silently ignoring it would wake people up.
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet_start and quiet_end must both be set or both be None")


@dataclass(frozen=True)
class RuleSettings:
    enabled: frozenset[Rule] = frozenset(Rule)
    dressing_days: int = MIN_DRESSING_DAYS
    symptom_days: int = 3
    visit_reminder_time: time | None = None

    def __post_init__(self) -> None:
        if self.dressing_days < MIN_DRESSING_DAYS:
            raise ValueError(f"dressing_days must be at least {MIN_DRESSING_DAYS} (label minimum)")
        if self.symptom_days < 1:
            raise ValueError("symptom_days must be at least 1; disable SYMPTOM_WATCH instead")


@dataclass(frozen=True)
class Planned:
    rule: Rule
    visit_key: str
    day: date
    due_at: datetime


def get_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; any unusable name is a ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone: {name!r}") from exc


def _wall_clock(aware: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall time that an aware instant really shows in ``tz``."""
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)


def to_utc(local_date: date, local_time: time, zone: str) -> datetime:
    """Local wall time in ``zone`` → aware UTC datetime.

    - ambiguous (fall-back overlap): the first occurrence (fold=0), so a reminder is sent once;
    - nonexistent (spring-forward gap): moved forward by the gap (02:30 → 03:30 on a 1-hour jump).
    """
    if local_time.tzinfo is not None:
        raise ValueError("local_time must be a naive wall time")
    tz = get_zone(zone)
    wall = datetime.combine(local_date, local_time.replace(fold=0))
    first = wall.replace(tzinfo=tz)
    if _wall_clock(first, tz) == wall:
        return first.astimezone(UTC)
    # The wall time does not round-trip, so it lies in a gap. PEP 495: inside a gap fold=0 uses the
    # offset before the jump and fold=1 the offset after; their difference is the gap's length.
    before, after = first.utcoffset(), first.replace(fold=1).utcoffset()
    if before is None or after is None or after <= before:
        raise ValueError(f"cannot resolve {wall} in {zone}")
    moved = wall + (after - before)
    if _wall_clock(moved.replace(tzinfo=tz), tz) != moved:
        raise ValueError(f"cannot resolve {wall} in {zone}")
    return moved.replace(tzinfo=tz).astimezone(UTC)


def in_quiet_hours(t: time, start: time | None, end: time | None) -> bool:
    """Whether wall time ``t`` is inside [start, end); the window may cross midnight."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def out_of_quiet_hours(due: datetime, recipient: Recipient) -> datetime:
    """``due`` unchanged, or moved forward to the end of the quiet window it falls in."""
    start, end = recipient.quiet_start, recipient.quiet_end
    local = due.astimezone(get_zone(recipient.time_zone))
    if start is None or end is None or not in_quiet_hours(local.time(), start, end):
        return due
    # In the evening part of a window that crosses midnight, the window ends tomorrow.
    end_date = local.date() + timedelta(days=1) if start > end and local.time() >= start else local.date()
    return to_utc(end_date, end, recipient.time_zone)


def _day_offsets(rule: Rule, settings: RuleSettings) -> range:
    """Days relative to the recipient's injection day (day 0) on which ``rule`` fires."""
    match rule:
        case Rule.VISIT_REMINDER:
            return range(-1, 0)
        case Rule.DRESSING_CHECK | Rule.DRESSING_SAFETY:
            return range(settings.dressing_days)
        case Rule.DRESSING_REVIEW:
            return range(settings.dressing_days, settings.dressing_days + 1)
        case Rule.SYMPTOM_WATCH:
            return range(settings.symptom_days)


def plan_reminders(
    visits: Iterable[VisitSlot],
    recipient: Recipient,
    settings: RuleSettings = RuleSettings(),
    *,
    after: datetime,
) -> list[Planned]:
    """All reminders for ``recipient`` due strictly after ``after``, sorted by (due_at, rule, visit_key)."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be an aware datetime")
    tz = get_zone(recipient.time_zone)
    rules = [r for r in Rule if r in settings.enabled and recipient.audience in RULE_AUDIENCES[r]]
    slots = sorted(
        ((to_utc(v.local_date, v.local_time, v.time_zone), v) for v in visits if v.active),
        key=lambda slot: (slot[0], slot[1].key),
    )
    day_zeros = [injection.astimezone(tz).date() for injection, _ in slots]
    planned: list[Planned] = []
    for i, (injection, visit) in enumerate(slots):
        day0 = day_zeros[i]
        # Overlapping periods: the later visit owns its day 0 onwards, so nothing is doubled.
        owned_until = day_zeros[i + 1] if i + 1 < len(slots) else date.max
        for rule in rules:
            local_time = recipient.reminder_time
            if rule is Rule.VISIT_REMINDER and settings.visit_reminder_time is not None:
                local_time = settings.visit_reminder_time
            for offset in _day_offsets(rule, settings):
                day = day0 + timedelta(days=offset)
                if day >= owned_until:
                    break
                due = to_utc(day, local_time, recipient.time_zone)
                if offset == 0:
                    due = max(due, injection + AFTER_INJECTION)
                due = out_of_quiet_hours(due, recipient)
                # Quiet hours can push a visit reminder past the visit; then it is useless.
                if rule is Rule.VISIT_REMINDER and due >= injection:
                    continue
                if due > after:
                    planned.append(Planned(rule, visit.key, day, due))
    planned.sort(key=lambda p: (p.due_at, p.rule, p.visit_key))
    return planned


@dataclass(frozen=True)
class DressingStatus:
    """Where a patient is in the dressing period of their latest treatment, today."""

    last_treatment: date | None
    days_since: int | None  # 0 on the treatment day
    dressing_days: int

    @property
    def in_dressing_period(self) -> bool:
        return self.days_since is not None and self.days_since < self.dressing_days


def dressing_status(treatment_dates: Iterable[date], today: date, dressing_days: int = 7) -> DressingStatus:
    """The latest treatment on or before ``today`` (the patient's local date) and the days since."""
    past = [day for day in treatment_dates if day <= today]
    if not past:
        return DressingStatus(None, None, dressing_days)
    last = max(past)
    return DressingStatus(last, (today - last).days, dressing_days)
