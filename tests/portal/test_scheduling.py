"""The label's schedule and the warnings before saving. Expected dates are worked out by hand
from tvec-facts section 1 (second treatment 3 weeks after the first, then every 2 weeks) and
from the published 2027 clock changes."""

from datetime import UTC, date, datetime, time

import pytest

from portal.scheduling import (
    MAX_VISITS,
    Slot,
    TimeProblem,
    WarningKind,
    check_schedule,
    local_time_problem,
    propose_dates,
)

NOW = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)


def test_a_new_course_has_its_second_treatment_after_three_weeks_then_every_two():
    assert propose_dates(date(2027, 1, 4), count=5) == [
        date(2027, 1, 4),
        date(2027, 1, 25),
        date(2027, 2, 8),
        date(2027, 2, 22),
        date(2027, 3, 8),
    ]


def test_a_restart_goes_every_two_weeks_from_the_start():
    assert propose_dates(date(2027, 1, 4), count=3, restart=True) == [
        date(2027, 1, 4),
        date(2027, 1, 18),
        date(2027, 2, 1),
    ]


def test_until_a_date_includes_a_visit_on_that_date_and_none_after():
    assert propose_dates(date(2027, 1, 4), until=date(2027, 2, 8)) == [
        date(2027, 1, 4),
        date(2027, 1, 25),
        date(2027, 2, 8),
    ]
    assert propose_dates(date(2027, 1, 4), until=date(2027, 2, 7)) == [date(2027, 1, 4), date(2027, 1, 25)]


def test_six_months_of_treatment_is_thirteen_visits():
    # 182 days from Jan 4 is Jul 5. Jan 25, then every 14 days: the 11th after it is Jun 28
    # (25 + 154 days); the 12th, Jul 12, is past the end.
    dates = propose_dates(date(2027, 1, 4), until=date(2027, 7, 5))
    assert len(dates) == 13 and dates[-1] == date(2027, 6, 28)


def test_the_proposal_is_bounded():
    assert len(propose_dates(date(2027, 1, 4), until=date(2099, 1, 1))) == MAX_VISITS
    with pytest.raises(ValueError):
        propose_dates(date(2027, 1, 4), count=MAX_VISITS + 1)
    with pytest.raises(ValueError):
        propose_dates(date(2027, 1, 4))


@pytest.mark.parametrize(
    ("zone", "day", "at", "problem"),
    [
        ("America/New_York", date(2027, 3, 14), time(2, 30), TimeProblem.NONEXISTENT),
        ("America/New_York", date(2027, 11, 7), time(1, 30), TimeProblem.AMBIGUOUS),
        ("America/New_York", date(2027, 11, 7), time(2, 30), None),
        ("Europe/Berlin", date(2027, 3, 28), time(2, 0), TimeProblem.NONEXISTENT),
        ("Europe/Berlin", date(2027, 10, 31), time(2, 59), TimeProblem.AMBIGUOUS),
        ("Europe/Berlin", date(2027, 10, 31), time(3, 0), None),
        # Lord Howe Island moves its clocks by half an hour.
        ("Australia/Lord_Howe", date(2027, 10, 3), time(2, 15), TimeProblem.NONEXISTENT),
        ("Asia/Tokyo", date(2027, 3, 14), time(2, 30), None),
    ],
)
def test_local_times_that_do_not_exist_or_happen_twice(zone, day, at, problem):
    assert local_time_problem(day, at, zone) == problem


def kinds(warnings):
    return [(w.kind, w.local_date) for w in warnings]


def test_a_past_date_is_a_warning():
    slots = [Slot("a", date(2026, 12, 31), time(10)), Slot("b", date(2027, 1, 1), time(13))]
    assert kinds(check_schedule(slots, now=NOW, zone="UTC")) == [
        (WarningKind.PAST, date(2026, 12, 31)),
        (WarningKind.TOO_CLOSE, date(2027, 1, 1)),
    ]


def test_duplicates_and_visits_closer_than_the_schedule_allows():
    existing = [
        Slot("first", date(2027, 1, 4), time(10), first_of_course=True, checked=False),
        Slot("second", date(2027, 1, 25), time(10), checked=False),
    ]
    # 20 days after the first treatment (the label says 21), then a second visit on Feb 8.
    new = [
        Slot("x", date(2027, 1, 24), time(10)),
        Slot("y", date(2027, 2, 8), time(9)),
        Slot("z", date(2027, 2, 8), time(15)),
    ]
    warnings = check_schedule(existing + new, now=NOW, zone="UTC")
    assert [(w.kind, w.key, w.other_date, w.required_days) for w in warnings] == [
        (WarningKind.TOO_CLOSE, "x", date(2027, 1, 4), 21),
        # Jan 25 is history: the warning belongs to the visit being added.
        (WarningKind.TOO_CLOSE, "x", date(2027, 1, 25), 14),
        (WarningKind.DUPLICATE, "z", date(2027, 2, 8), None),
    ]


def test_a_schedule_that_follows_the_label_has_no_warning():
    dates = propose_dates(date(2027, 1, 4), count=12)
    slots = [Slot(str(i), day, time(10), first_of_course=i == 0) for i, day in enumerate(dates)]
    assert check_schedule(slots, now=NOW, zone="Europe/Berlin") == []


def test_history_alone_gives_no_warning():
    slots = [
        Slot("old", date(2026, 6, 1), time(10), checked=False),
        Slot("older", date(2026, 6, 2), time(10), checked=False),
    ]
    assert check_schedule(slots, now=NOW, zone="UTC") == []


def test_clock_change_warnings_use_the_clinic_zone():
    slots = [Slot("a", date(2027, 3, 14), time(2, 30)), Slot("b", date(2027, 11, 7), time(1, 30))]
    assert kinds(check_schedule(slots, now=NOW, zone="America/New_York")) == [
        (WarningKind.NONEXISTENT_TIME, date(2027, 3, 14)),
        (WarningKind.AMBIGUOUS_TIME, date(2027, 11, 7)),
    ]
