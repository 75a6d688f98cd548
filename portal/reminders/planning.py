"""Reminder planning: which reminders one recipient gets, and when (in UTC).

Pure on purpose (stdlib only, no Django): ``rows.replan_patient`` loads visits, dressing reports and
the recipient from the database, calls ``plan_reminders`` and makes the rows match (DESIGN.md §4,
guarantee 1). Planning is deterministic, so planning twice gives the same answer.

The rules of a slot (guarantee 2):
- one reminder per recipient, rule and local day, however many visits that day: the first visit of
  a day owns its appointment reminder, the last one owns the dressing and symptom days;
- a reminder is due at the recipient's local time on its own local day, never inside quiet hours;
  quiet hours move it later that day, or earlier when later would be the next day, and when neither
  fits that day it is not sent (the next day's reminder follows);
- "the day before" never moves onto the visit day; only when the day before has no time left at all
  (a visit entered late at night) is it sent on the visit day, before the visit, saying "today";
- a slot that passed earlier today (a visit entered late, a move east) is due now, not lost.

Clinical defaults (clinical/tvec-facts.md): dressings stay on for at least 1 week after *each*
treatment, longer if the site weeps or oozes (§2); flu-like symptoms mostly settle within 72 hours
(§5); the dressing period starts again on each injection day (§1). A site that still weeps or oozes
after the dressing period keeps a daily check and review going until it is reported dry, for at most
FOLLOW_UP_DAYS; the last review says to call the care team (a site that oozes or does not heal, §6).

Callers must pass every active visit whose dressing period may still reach the future, including
past ones: an earlier visit's reminders are only truncated by visits the planner can see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The label says "at least 1 week"; clinics may lengthen the period, never shorten it.
MIN_DRESSING_DAYS = 7
# A site still weeping after the dressing period is looked at daily for at most this many days.
FOLLOW_UP_DAYS = 14
# A day-0 reminder about the dressing or symptoms makes no sense before the injection happened.
AFTER_INJECTION = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


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
# What continues daily while a site still weeps after the dressing period.
FOLLOW_UP_RULES = (Rule.DRESSING_CHECK, Rule.DRESSING_SAFETY, Rule.DRESSING_REVIEW)


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
class DressingReport:
    """What someone saw at ``at``: a site still weeping or oozing, or every site dry."""

    at: datetime
    weeping: bool


@dataclass(frozen=True)
class Planned:
    rule: Rule
    visit_key: str
    day: date
    due_at: datetime
    # A visit reminder sent on the visit day ("today") stands in for the one of this day.
    instead_of: date | None = None


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


def local_date_of(instant: datetime, zone: str) -> date:
    return instant.astimezone(get_zone(zone)).date()


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next day) of a local day; empty when a zone skipped it."""
    return to_utc(day, time(0), zone), to_utc(day + timedelta(days=1), time(0), zone)


class _Day:
    """Where reminders may go on one local day of one recipient."""

    def __init__(self, recipient: Recipient, day: date) -> None:
        self.recipient = recipient
        self.day = day
        self.zone = recipient.time_zone
        self.start, self.end = day_bounds(day, self.zone)

    def quiet(self, instant: datetime) -> bool:
        wall = instant.astimezone(get_zone(self.zone)).time()
        return in_quiet_hours(wall, self.recipient.quiet_start, self.recipient.quiet_end)

    def place(
        self, at: time | None, *, earliest: datetime | None = None, latest: datetime | None = None
    ) -> datetime | None:
        """The instant on this day for a reminder wanted at local time ``at`` (None: as early as
        allowed), not before ``earliest``, strictly before ``latest``, outside quiet hours; None
        when this day has no such instant."""
        low = max(self.start, earliest) if earliest else self.start
        high = min(self.end, latest) if latest else self.end
        if low >= high:
            return None
        due = low if at is None else to_utc(self.day, at, self.zone)
        if due < low:
            due = low
        elif due >= high:
            # A gap at the end of the day pushed it past midnight: just before the gap instead.
            due = max(low, high - MINUTE)
        if not self.quiet(due):
            return due
        start, end = self.recipient.quiet_start, self.recipient.quiet_end
        assert start is not None and end is not None
        local = due.astimezone(get_zone(self.zone))
        crosses = start > end
        # Later: the end of this quiet window, if that is still this day and allowed.
        end_day = local.date() + timedelta(days=1) if crosses and local.time() >= start else local.date()
        later = to_utc(end_day, end, self.zone)
        if low <= later < high and not self.quiet(later):
            return later
        # Earlier: just before the window started (a few steps back when a clock change ate the
        # minutes before it).
        start_day = local.date() - timedelta(days=1) if crosses and local.time() < end else local.date()
        earlier = to_utc(start_day, start, self.zone) - MINUTE
        for _step in range(180):
            if earlier < low:
                break
            if earlier < high and not self.quiet(earlier):
                return earlier
            earlier -= MINUTE
        return None


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


def still_weeping(reports: Sequence[DressingReport], *, since: datetime, before: datetime) -> bool:
    """Whether the latest report in [since, before) says a site still weeps or oozes."""
    latest = None
    for report in reports:
        if since <= report.at < before and (latest is None or report.at >= latest.at):
            latest = report
    return latest is not None and latest.weeping


def plan_reminders(
    visits: Iterable[VisitSlot],
    recipient: Recipient,
    settings: RuleSettings = RuleSettings(),
    *,
    now: datetime,
    reports: Iterable[DressingReport] = (),
) -> list[Planned]:
    """Every reminder of ``recipient``'s plan as seen at ``now``, sorted by (due_at, rule, visit_key).

    Slots that passed keep their planned time (the caller only uses them to recognise rows that
    exist); a slot that passed earlier today is due at ``now`` instead."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    zone = recipient.time_zone
    tz = get_zone(zone)
    today = now.astimezone(tz).date()
    # At one instant, "still weeping" wins over "dry": the safer reading keeps the reminders.
    reports = sorted(reports, key=lambda report: (report.at, report.weeping))
    rules = [r for r in Rule if r in settings.enabled and recipient.audience in RULE_AUDIENCES[r]]
    slots = sorted(
        ((to_utc(v.local_date, v.local_time, v.time_zone), v) for v in visits if v.active),
        key=lambda slot: (slot[0], slot[1].key),
    )
    day_zeros = [injection.astimezone(tz).date() for injection, _ in slots]
    planned: list[Planned] = []

    def fit(
        rule: Rule,
        key: str,
        day: date,
        at: time | None,
        instead_of: date | None = None,
        **bounds: datetime | None,
    ) -> Planned | None:
        """Plan ``rule`` on ``day``: caught up to now when its time passed earlier today; a slot
        that passed is kept with its planned time."""
        where = _Day(recipient, day)
        due = where.place(at, **bounds)
        if due is None:
            return None
        if due < now and day == today:
            earliest = bounds.get("earliest")
            latest = bounds.get("latest")
            due = where.place(at, earliest=max(now, earliest) if earliest else now, latest=latest) or due
        planned.append(Planned(rule, key, day, due, instead_of))
        return planned[-1]

    for i, (injection, visit) in enumerate(slots):
        day0 = day_zeros[i]
        first_of_day = i == 0 or day_zeros[i - 1] != day0
        # Overlapping periods: the last visit of a day owns its day 0 onwards, so nothing is doubled.
        owned_until = day_zeros[i + 1] if i + 1 < len(slots) else date.max
        owns_days = owned_until > day0
        for rule in rules:
            at = recipient.reminder_time
            if rule is Rule.VISIT_REMINDER:
                if not first_of_day:
                    continue
                at = settings.visit_reminder_time or at
                day_before = day0 - timedelta(days=1)
                slot = fit(rule, visit.key, day_before, at, latest=injection)
                if slot is None or slot.due_at < now:
                    # No time left the day before: on the visit day, as early as allowed,
                    # before the visit, saying "today".
                    fit(rule, visit.key, day0, None, instead_of=day_before, latest=injection)
                continue
            if not owns_days:
                continue
            for offset in _day_offsets(rule, settings):
                day = day0 + timedelta(days=offset)
                if day >= owned_until:
                    break
                fit(rule, visit.key, day, at, earliest=injection + AFTER_INJECTION if offset == 0 else None)
        if not owns_days:
            continue
        # A site still weeping on or after the review day: a check and a review every day until it
        # is reported dry, for at most FOLLOW_UP_DAYS.
        review_day = day0 + timedelta(days=settings.dressing_days)
        since = day_bounds(review_day, zone)[0]
        for extra in range(1, FOLLOW_UP_DAYS + 1):
            day = review_day + timedelta(days=extra)
            if day >= owned_until:
                break
            for rule in rules:
                if rule not in FOLLOW_UP_RULES:
                    continue
                item = fit(rule, visit.key, day, recipient.reminder_time)
                if item and not still_weeping(reports, since=since, before=item.due_at):
                    planned.pop()
    # A "today" visit reminder never doubles the regular one of the next visit on that day.
    regular = {(p.rule, p.day) for p in planned if p.instead_of is None}
    planned = [p for p in planned if p.instead_of is None or (p.rule, p.day) not in regular]
    planned.sort(key=lambda p: (p.due_at, p.rule, p.visit_key))
    return planned


def visit_day_zero(visit_date: date, visit_time: time, visit_zone: str, recipient_zone: str) -> date:
    """The recipient's local date of a visit: day 0 of its dressing period for them."""
    return local_date_of(to_utc(visit_date, visit_time, visit_zone), recipient_zone)


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
