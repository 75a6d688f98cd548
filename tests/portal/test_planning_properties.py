"""Properties of reminder planning over random visits, zones, reminder times, quiet hours and
clocks (hypothesis). The expectations are the rules themselves, checked with zoneinfo, never
with the planner's own helpers: one reminder per recipient, rule and local day; none inside
quiet hours; each on its own local day; the visit reminder before the visit, the day before
(or on the visit day, saying "today"); planning twice gives the same plan, and re-planning
the rows twice changes nothing."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.models import ClinicReminderSettings, Reminder
from portal.reminders import replan_patient
from portal.reminders.planning import (
    Audience,
    DressingReport,
    Recipient,
    Rule,
    RuleSettings,
    VisitSlot,
    plan_reminders,
)

# Daylight saving in both hemispheres, half- and quarter-hour offsets, changes at midnight, and
# a zone that skipped a whole day (Samoa, 30 December 2011).
ZONES = [
    "UTC",
    "America/New_York",
    "America/St_Johns",
    "America/Havana",
    "America/Santiago",
    "America/Sao_Paulo",
    "Europe/Berlin",
    "Europe/London",
    "Africa/Casablanca",
    "Asia/Tehran",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Apia",
]
# Days around clock changes (and Samoa's missing day), and quiet days.
AROUND = [
    date(2011, 12, 29),
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 4, 5),
    date(2026, 6, 15),
    date(2026, 9, 6),
    date(2026, 9, 27),
    date(2026, 10, 4),
    date(2026, 10, 25),
    date(2026, 11, 1),
]

days = st.builds(
    lambda base, shift: base + timedelta(days=shift), st.sampled_from(AROUND), st.integers(-12, 12)
)
times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 29, 30, 45, 59]))
quiet = st.one_of(st.none(), st.tuples(times, times))
zones = st.sampled_from(ZONES)


@st.composite
def visits(draw):
    zone = draw(zones)
    found = []
    for key in range(draw(st.integers(1, 4))):
        found.append(VisitSlot(str(key), draw(days), draw(times), zone, draw(st.booleans() | st.just(True))))
    return found


@st.composite
def recipients(draw):
    window = draw(quiet)
    return Recipient(
        audience=draw(st.sampled_from(list(Audience))),
        time_zone=draw(zones),
        reminder_time=draw(times),
        quiet_start=window[0] if window else None,
        quiet_end=window[1] if window else None,
    )


rule_settings = st.builds(
    RuleSettings,
    enabled=st.frozensets(st.sampled_from(list(Rule))),
    dressing_days=st.integers(7, 10),
    symptom_days=st.integers(1, 4),
    visit_reminder_time=st.one_of(st.none(), times),
)


@st.composite
def clocks(draw):
    day = draw(days)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 24 * 60 - 1))
    )


@st.composite
def reports(draw):
    found = []
    for _ in range(draw(st.integers(0, 3))):
        at = draw(clocks())
        found.append(DressingReport(at=at, weeping=draw(st.booleans())))
    return found


def quiet_at(wall: time, recipient: Recipient) -> bool:
    start, end = recipient.quiet_start, recipient.quiet_end
    if start is None or end is None or start == end:
        return False
    return start <= wall < end if start < end else wall >= start or wall < end


def instant(slot: VisitSlot) -> datetime:
    """The visit's UTC instant, worked out with zoneinfo alone (first occurrence in a fold; a
    wall time in a gap moves forward by the gap)."""
    zone = ZoneInfo(slot.time_zone)
    wall = datetime.combine(slot.local_date, slot.local_time)
    first = wall.replace(tzinfo=zone)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)
    gap = first.replace(fold=1).utcoffset() - first.utcoffset()
    return (wall + gap).replace(tzinfo=zone).astimezone(UTC)


@settings(max_examples=300, deadline=None)
@given(visits(), recipients(), rule_settings, clocks(), reports())
def test_plan_properties(slots, recipient, rules, now, dressing_reports):
    plan = plan_reminders(slots, recipient, rules, now=now, reports=dressing_reports)
    zone = ZoneInfo(recipient.time_zone)

    # Deterministic, whatever the order of the inputs.
    shuffled = list(slots)
    random.Random(0).shuffle(shuffled)
    assert plan == plan_reminders(
        shuffled, recipient, rules, now=now, reports=list(reversed(dressing_reports))
    )

    # One per rule and local day.
    keys = [(p.rule, p.day) for p in plan]
    assert len(keys) == len(set(keys))

    by_key = {s.key: s for s in slots}
    for p in plan:
        local = p.due_at.astimezone(zone)
        assert local.date() == p.day, p  # on its own local day
        assert not quiet_at(local.time(), recipient), p  # never inside quiet hours
        assert p.rule in rules.enabled
        slot = by_key[p.visit_key]
        assert slot.active
        visit_at = instant(slot)
        visit_day = visit_at.astimezone(zone).date()
        if p.rule is Rule.VISIT_REMINDER:
            assert p.due_at < visit_at, p
            if p.instead_of is None:
                assert p.day == visit_day - timedelta(days=1), p
            else:
                assert (p.day, p.instead_of) == (visit_day, visit_day - timedelta(days=1)), p
        else:
            assert p.instead_of is None
            assert p.day >= visit_day
            if p.day == visit_day:
                assert p.due_at >= visit_at + timedelta(hours=1), p  # after the injection
        # Caught up at most to now: a reminder is never due before it was planned for its day
        # unless its time passed (then it stays where it was).
        assert p.due_at >= now or p.day <= now.astimezone(zone).date()


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(visits(), recipients(), rule_settings, clocks(), st.integers(1, 48))
def test_replanning_twice_changes_nothing(
    make_clinic, make_patient, make_visit, link_caregiver, slots, recipient, rules, now, hours
):
    with transaction.atomic():
        clinic = make_clinic("Property Clinic", time_zone=slots[0].time_zone)
        if rules.enabled != frozenset(Rule) or rules.visit_reminder_time or rules.dressing_days != 7:
            ClinicReminderSettings.objects.create(
                clinic=clinic,
                visit_reminder_on=Rule.VISIT_REMINDER in rules.enabled,
                dressing_check_on=Rule.DRESSING_CHECK in rules.enabled,
                dressing_review_on=Rule.DRESSING_REVIEW in rules.enabled,
                symptom_watch_on=Rule.SYMPTOM_WATCH in rules.enabled,
                dressing_days=rules.dressing_days,
                symptom_days=rules.symptom_days,
                visit_reminder_time=rules.visit_reminder_time,
            )
        patient = make_patient(
            clinic,
            "property@example.test",
            time_zone=recipient.time_zone,
            reminder_time=recipient.reminder_time,
            quiet_start=recipient.quiet_start,
            quiet_end=recipient.quiet_end,
        )
        link_caregiver(patient, "helper@example.test")
        taken = set()
        for slot in slots:
            # The database holds one live visit per patient and local time (issue 8).
            if slot.active and (slot.local_date, slot.local_time) in taken:
                continue
            if slot.active:
                taken.add((slot.local_date, slot.local_time))
            make_visit(
                patient, slot.local_date, slot.local_time, status="scheduled" if slot.active else "cancelled"
            )
        replan_patient(patient, now=now)
        before = list(
            Reminder.objects.order_by("pk").values_list(
                "pk", "rule", "day", "due_at", "status", "withdrawn_at"
            )
        )
        assert replan_patient(patient, now=now).changed == 0
        # Later the same way (nothing else changed): rows that came due are the worker's, the
        # others stay as they are.
        assert replan_patient(patient, now=now + timedelta(hours=hours)).changed == 0
        after = list(
            Reminder.objects.order_by("pk").values_list(
                "pk", "rule", "day", "due_at", "status", "withdrawn_at"
            )
        )
        assert after == before
        transaction.set_rollback(True)
