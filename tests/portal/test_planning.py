"""Tests for portal.planning. Every expected UTC instant below was worked out by hand from the zone's
offset on that date (2026: US DST 8 Mar / 1 Nov, EU 29 Mar / 25 Oct, NZ ends 5 Apr / starts 27 Sep)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.reminders.planning import (
    Audience,
    DressingReport,
    Planned,
    Recipient,
    Rule,
    RuleSettings,
    VisitSlot,
    in_quiet_hours,
    plan_reminders,
    to_utc,
)

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
NY, BERLIN, KOLKATA, AUCKLAND = "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland"
DC, DS, DR, SW, VR = (
    Rule.DRESSING_CHECK,
    Rule.DRESSING_SAFETY,
    Rule.DRESSING_REVIEW,
    Rule.SYMPTOM_WATCH,
    Rule.VISIT_REMINDER,
)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def visit(key: str, d: date, t: time, zone: str, active: bool = True) -> VisitSlot:
    return VisitSlot(key=key, local_date=d, local_time=t, time_zone=zone, active=active)


def person(
    zone: str,
    at: time,
    audience: Audience = Audience.PATIENT,
    quiet: tuple[time, time] | None = None,
) -> Recipient:
    start, end = quiet if quiet else (None, None)
    return Recipient(audience=audience, time_zone=zone, reminder_time=at, quiet_start=start, quiet_end=end)


def plan(visits, recipient, settings=RuleSettings(), now=LONG_AGO, reports=()) -> list[Planned]:
    return plan_reminders(visits, recipient, settings, now=now, reports=reports)


def of_rule(planned: list[Planned], rule: Rule) -> list[tuple[date, datetime]]:
    return [(p.day, p.due_at) for p in planned if p.rule is rule]


# --- to_utc: DST gaps and overlaps ---------------------------------------------------------------


def test_to_utc_new_york_gap_moves_forward_by_the_gap():
    due = to_utc(date(2026, 3, 8), time(2, 30), NY)  # 02:30 does not exist; 03:30 EDT (-4)
    assert due == utc(2026, 3, 8, 7, 30)
    assert due.tzinfo is UTC
    assert due.astimezone(ZoneInfo(NY)).time() == time(3, 30)


def test_to_utc_new_york_overlap_takes_first_occurrence():
    assert to_utc(date(2026, 11, 1), time(1, 30), NY) == utc(2026, 11, 1, 5, 30)  # EDT, not 06:30 EST


def test_to_utc_berlin_gap_and_overlap():
    assert to_utc(date(2026, 3, 29), time(2, 30), BERLIN) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert to_utc(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)  # first: CEST


def test_to_utc_kolkata_half_hour_offset():
    assert to_utc(date(2026, 4, 10), time(9, 0), KOLKATA) == utc(2026, 4, 10, 3, 30)


def test_to_utc_auckland_southern_hemisphere():
    assert to_utc(date(2026, 4, 5), time(2, 30), AUCKLAND) == utc(2026, 4, 4, 13, 30)  # first: NZDT +13
    assert to_utc(date(2026, 4, 6), time(2, 30), AUCKLAND) == utc(2026, 4, 5, 14, 30)  # NZST +12
    assert to_utc(date(2026, 9, 27), time(2, 30), AUCKLAND) == utc(2026, 9, 26, 14, 30)  # gap → 03:30 NZDT


def test_to_utc_rejects_unknown_zone_and_aware_time():
    with pytest.raises(ValueError):
        to_utc(date(2026, 1, 1), time(9), "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="naive"):
        to_utc(date(2026, 1, 1), time(9, tzinfo=UTC), NY)


# --- DST through plan_reminders -----------------------------------------------------------------


def test_new_york_reminder_time_inside_gap():
    planned = plan([visit("v", date(2026, 3, 5), time(10), NY)], person(NY, time(2, 30)))
    checks = dict(of_rule(planned, DC))
    assert checks[date(2026, 3, 7)] == utc(2026, 3, 7, 7, 30)  # EST
    assert checks[date(2026, 3, 8)] == utc(2026, 3, 8, 7, 30)  # gap → 03:30 EDT
    assert checks[date(2026, 3, 9)] == utc(2026, 3, 9, 6, 30)  # EDT


def test_new_york_reminder_time_inside_overlap_is_sent_once():
    planned = plan([visit("v", date(2026, 10, 29), time(12), NY)], person(NY, time(1, 30)))
    assert [p for p in planned if p.rule is DC and p.day == date(2026, 11, 1)] == [
        Planned(DC, "v", date(2026, 11, 1), utc(2026, 11, 1, 5, 30))
    ]
    checks = dict(of_rule(planned, DC))
    assert checks[date(2026, 10, 29)] == utc(2026, 10, 29, 17, 0)  # day 0: injection 16:00Z + 1 h
    assert checks[date(2026, 10, 31)] == utc(2026, 10, 31, 5, 30)
    assert checks[date(2026, 11, 2)] == utc(2026, 11, 2, 6, 30)


def test_berlin_reminder_time_inside_gap_and_overlap():
    patient = person(BERLIN, time(2, 30))
    spring = dict(of_rule(plan([visit("v", date(2026, 3, 26), time(11), BERLIN)], patient), DC))
    assert spring[date(2026, 3, 28)] == utc(2026, 3, 28, 1, 30)  # CET
    assert spring[date(2026, 3, 29)] == utc(2026, 3, 29, 1, 30)  # gap → 03:30 CEST
    assert spring[date(2026, 3, 30)] == utc(2026, 3, 30, 0, 30)  # CEST
    autumn = plan([visit("v", date(2026, 10, 22), time(11), BERLIN)], patient)
    assert of_rule([p for p in autumn if p.day == date(2026, 10, 25)], DC) == [
        (date(2026, 10, 25), utc(2026, 10, 25, 0, 30))
    ]
    assert dict(of_rule(autumn, DC))[date(2026, 10, 26)] == utc(2026, 10, 26, 1, 30)


def test_auckland_dressing_period_across_dst_end():
    # 2 Apr 10:00 NZDT = 1 Apr 21:00Z; 09:00 is 20:00Z the day before under NZDT, 21:00Z under NZST.
    planned = plan([visit("v", date(2026, 4, 2), time(10), AUCKLAND)], person(AUCKLAND, time(9)))
    assert of_rule(planned, DC) == [
        (date(2026, 4, 2), utc(2026, 4, 1, 22, 0)),  # day 0: injection + 1 h
        (date(2026, 4, 3), utc(2026, 4, 2, 20, 0)),
        (date(2026, 4, 4), utc(2026, 4, 3, 20, 0)),
        (date(2026, 4, 5), utc(2026, 4, 4, 21, 0)),
        (date(2026, 4, 6), utc(2026, 4, 5, 21, 0)),
        (date(2026, 4, 7), utc(2026, 4, 6, 21, 0)),
        (date(2026, 4, 8), utc(2026, 4, 7, 21, 0)),
    ]
    assert of_rule(planned, VR) == [(date(2026, 4, 1), utc(2026, 3, 31, 20, 0))]


def test_auckland_dst_start_in_september():
    planned = plan([visit("v", date(2026, 9, 24), time(10), AUCKLAND)], person(AUCKLAND, time(9)))
    checks = dict(of_rule(planned, DC))
    assert checks[date(2026, 9, 26)] == utc(2026, 9, 25, 21, 0)  # NZST +12
    assert checks[date(2026, 9, 27)] == utc(2026, 9, 26, 20, 0)  # NZDT +13
    gap = plan([visit("v", date(2026, 9, 24), time(10), AUCKLAND)], person(AUCKLAND, time(2, 30)))
    assert dict(of_rule(gap, DC))[date(2026, 9, 27)] == utc(2026, 9, 26, 14, 30)  # → 03:30 NZDT


def test_kolkata_patient():
    # 10 Apr 11:00 IST = 05:30Z; 09:00 IST = 03:30Z.
    planned = plan([visit("v", date(2026, 4, 10), time(11), KOLKATA)], person(KOLKATA, time(9)))
    assert of_rule(planned, VR) == [(date(2026, 4, 9), utc(2026, 4, 9, 3, 30))]
    assert of_rule(planned, SW) == [
        (date(2026, 4, 10), utc(2026, 4, 10, 6, 30)),
        (date(2026, 4, 11), utc(2026, 4, 11, 3, 30)),
        (date(2026, 4, 12), utc(2026, 4, 12, 3, 30)),
    ]
    assert of_rule(planned, DR) == [(date(2026, 4, 17), utc(2026, 4, 17, 3, 30))]


def test_visit_moved_across_dst_change():
    before = visit("v", date(2026, 3, 4), time(10), NY)  # EST: 15:00Z
    moved = visit("v", date(2026, 3, 11), time(10), NY)  # EDT: 14:00Z
    patient = person(NY, time(9))
    old = plan([before], patient, now=utc(2026, 3, 1))
    assert of_rule(old, VR) == [(date(2026, 3, 3), utc(2026, 3, 3, 14, 0))]
    assert of_rule(old, DC) == [
        (date(2026, 3, 4), utc(2026, 3, 4, 16, 0)),
        (date(2026, 3, 5), utc(2026, 3, 5, 14, 0)),
        (date(2026, 3, 6), utc(2026, 3, 6, 14, 0)),
        (date(2026, 3, 7), utc(2026, 3, 7, 14, 0)),
        (date(2026, 3, 8), utc(2026, 3, 8, 13, 0)),
        (date(2026, 3, 9), utc(2026, 3, 9, 13, 0)),
        (date(2026, 3, 10), utc(2026, 3, 10, 13, 0)),
    ]
    new = plan([moved], patient, now=utc(2026, 3, 1))
    assert of_rule(new, VR) == [(date(2026, 3, 10), utc(2026, 3, 10, 13, 0))]
    assert of_rule(new, DC)[0] == (date(2026, 3, 11), utc(2026, 3, 11, 15, 0))
    assert of_rule(new, DC)[1:] == [(date(2026, 3, d), utc(2026, 3, d, 13, 0)) for d in range(12, 18)]
    assert of_rule(new, DR) == [(date(2026, 3, 18), utc(2026, 3, 18, 13, 0))]
    assert min(p.day for p in new) == date(2026, 3, 10)


# --- recipients in different zones, audiences ---------------------------------------------------


def test_patient_in_new_york_and_caregiver_in_berlin_for_the_same_visit():
    # 10 Jun 19:00 EDT = 23:00Z = 11 Jun 01:00 CEST: the caregiver's day 0 is a day later.
    slot = visit("v", date(2026, 6, 10), time(19), NY)
    patient = plan([slot], person(NY, time(9)))
    assert of_rule(patient, VR) == [(date(2026, 6, 9), utc(2026, 6, 9, 13, 0))]
    assert of_rule(patient, DC) == [(date(2026, 6, 10), utc(2026, 6, 11, 0, 0))] + [
        (date(2026, 6, d), utc(2026, 6, d, 13, 0)) for d in range(11, 17)
    ]
    assert of_rule(patient, DR) == [(date(2026, 6, 17), utc(2026, 6, 17, 13, 0))]
    caregiver = plan([slot], person(BERLIN, time(8), Audience.CAREGIVER_HANDLER))
    assert of_rule(caregiver, DC) == [(date(2026, 6, d), utc(2026, 6, d, 6, 0)) for d in range(11, 18)]
    assert of_rule(caregiver, DR) == [(date(2026, 6, 18), utc(2026, 6, 18, 6, 0))]
    assert {p.rule for p in caregiver} == {DC, DR}


def test_audiences():
    slot = [visit("v", date(2026, 2, 2), time(10), BERLIN)]
    patient = plan(slot, person(BERLIN, time(9)))
    handler = plan(slot, person(BERLIN, time(9), Audience.CAREGIVER_HANDLER))
    non_handler = plan(slot, person(BERLIN, time(9), Audience.CAREGIVER_NON_HANDLER))
    assert [(r, len(of_rule(patient, r))) for r in Rule] == [(VR, 1), (DC, 7), (DS, 0), (DR, 1), (SW, 3)]
    assert [(r, len(of_rule(handler, r))) for r in Rule] == [(VR, 0), (DC, 7), (DS, 0), (DR, 1), (SW, 0)]
    assert {p.rule for p in non_handler} == {DS}
    assert of_rule(non_handler, DS) == of_rule(handler, DC)


def test_disabled_rules():
    slot = [visit("v", date(2026, 2, 2), time(10), BERLIN)]
    only_checks = plan(slot, person(BERLIN, time(9)), RuleSettings(enabled=frozenset({DC})))
    assert {p.rule for p in only_checks} == {DC} and len(only_checks) == 7
    no_safety = RuleSettings(enabled=frozenset(Rule) - {DS})
    assert plan(slot, person(BERLIN, time(9), Audience.CAREGIVER_NON_HANDLER), no_safety) == []
    assert plan(slot, person(BERLIN, time(9)), RuleSettings(enabled=frozenset())) == []


def test_visit_reminder_time_setting_and_longer_dressing_period():
    slot = [visit("v", date(2026, 2, 2), time(10), BERLIN)]  # CET +1
    settings = RuleSettings(visit_reminder_time=time(18), dressing_days=8)
    planned = plan(slot, person(BERLIN, time(9)), settings)
    assert of_rule(planned, VR) == [(date(2026, 2, 1), utc(2026, 2, 1, 17, 0))]
    assert len(of_rule(planned, DC)) == 8
    assert of_rule(planned, DR) == [(date(2026, 2, 10), utc(2026, 2, 10, 8, 0))]


# --- quiet hours and day 0 ----------------------------------------------------------------------


def test_in_quiet_hours_window_edges():
    night = (time(22), time(7))
    assert in_quiet_hours(time(22), *night) and in_quiet_hours(time(6, 59), *night)
    assert not in_quiet_hours(time(7), *night) and not in_quiet_hours(time(21, 59), *night)
    assert in_quiet_hours(time(12), time(12), time(14)) and not in_quiet_hours(time(14), time(12), time(14))
    assert not in_quiet_hours(time(3), time(5), time(5))
    assert not in_quiet_hours(time(3), None, None)


def test_quiet_hours_never_push_a_reminder_onto_the_next_day():
    # 1 Jun 10:00 CEST = 08:00Z. 23:00 is quiet (22:00-07:00); later would be 07:00 the next day,
    # so each reminder moves earlier, to 21:59 CEST (19:59Z) the same day.
    caregiver = person(BERLIN, time(23), Audience.CAREGIVER_HANDLER, quiet=(time(22), time(7)))
    planned = plan([visit("v", date(2026, 6, 1), time(10), BERLIN)], caregiver)
    assert of_rule(planned, DC) == [(date(2026, 6, d), utc(2026, 6, d, 19, 59)) for d in range(1, 8)]
    assert of_rule(planned, DR) == [(date(2026, 6, 8), utc(2026, 6, 8, 19, 59))]


def test_quiet_hours_same_day_windows_and_empty_window():
    slot = [visit("v", date(2026, 6, 1), time(10), BERLIN)]
    early = plan(slot, person(BERLIN, time(6), quiet=(time(22), time(7))))
    assert dict(of_rule(early, DC))[date(2026, 6, 2)] == utc(2026, 6, 2, 5, 0)  # 06:00 → 07:00 same day
    lunch = plan(slot, person(BERLIN, time(13), quiet=(time(12), time(14))))
    assert dict(of_rule(lunch, DC))[date(2026, 6, 2)] == utc(2026, 6, 2, 12, 0)  # 13:00 → 14:00 CEST
    none = plan(slot, person(BERLIN, time(23), quiet=(time(5), time(5))))
    assert dict(of_rule(none, DC))[date(2026, 6, 2)] == utc(2026, 6, 2, 21, 0)


def test_day_zero_not_before_injection_plus_one_hour():
    zone = "UTC"
    late = plan([visit("v", date(2026, 5, 4), time(10), zone)], person(zone, time(9)))
    assert of_rule(late, DC)[0] == (date(2026, 5, 4), utc(2026, 5, 4, 11, 0))
    assert of_rule(late, SW)[0] == (date(2026, 5, 4), utc(2026, 5, 4, 11, 0))
    early = plan([visit("v", date(2026, 5, 4), time(7), zone)], person(zone, time(9)))
    assert of_rule(early, DC)[0] == (date(2026, 5, 4), utc(2026, 5, 4, 9, 0))


def test_day_zero_with_no_time_left_is_not_doubled_the_next_morning():
    """B4: a 21:30 CEST injection with quiet hours 22:00-07:00. Day 0's reminders could only go
    out at 22:30 (injection + 1 h), which is quiet; they are not moved to 2 Jun 07:00, where
    day 1's reminders already are. Day 1 onwards: 09:00 CEST = 07:00Z."""
    patient = person(BERLIN, time(9), quiet=(time(22), time(7)))
    planned = plan([visit("v", date(2026, 6, 1), time(21, 30), BERLIN)], patient)
    assert of_rule(planned, DC) == [(date(2026, 6, d), utc(2026, 6, d, 7, 0)) for d in range(2, 8)]
    assert of_rule(planned, SW) == [
        (date(2026, 6, 2), utc(2026, 6, 2, 7, 0)),
        (date(2026, 6, 3), utc(2026, 6, 3, 7, 0)),
    ]
    assert len({p.due_at for p in planned if p.rule is DC}) == 6


def test_visit_reminder_in_quiet_hours_moves_earlier_not_onto_the_visit_day():
    # Visit 2 Feb 08:00 CET. 22:00 on 1 Feb is quiet (21:00-09:00); later would be 2 Feb 09:00,
    # the visit day, so it moves to 20:59 CET on 1 Feb = 19:59Z.
    slot = [visit("v", date(2026, 2, 2), time(8), BERLIN)]
    patient = person(BERLIN, time(22), quiet=(time(21), time(9)))
    assert of_rule(plan(slot, patient), VR) == [(date(2026, 2, 1), utc(2026, 2, 1, 19, 59))]
    kept = plan(slot, patient, RuleSettings(visit_reminder_time=time(20)))
    assert of_rule(kept, VR) == [(date(2026, 2, 1), utc(2026, 2, 1, 19, 0))]


def test_clinic_visit_reminder_time_inside_quiet_hours_stays_the_day_before():
    """B5: clinic time 19:00, quiet hours 18:00-08:00. Not 08:00 on the visit day: 17:59 CEST
    the day before (15:59Z)."""
    slot = [visit("v", date(2026, 6, 10), time(10), BERLIN)]
    patient = person(BERLIN, time(9), quiet=(time(18), time(8)))
    planned = plan(slot, patient, RuleSettings(visit_reminder_time=time(19)))
    assert of_rule(planned, VR) == [(date(2026, 6, 9), utc(2026, 6, 9, 15, 59))]


def test_two_visits_on_one_day_give_one_visit_reminder():
    """B4: visits at 10:00 and 14:00 EDT on 10 June: one "tomorrow" reminder, for the first,
    09:00 EDT on 9 June = 13:00Z; the later visit owns the dressing and symptom days."""
    visits = [visit("a", date(2026, 6, 10), time(10), NY), visit("b", date(2026, 6, 10), time(14), NY)]
    planned = plan(visits, person(NY, time(9)))
    assert [(p.visit_key, p.day, p.due_at) for p in planned if p.rule is VR] == [
        ("a", date(2026, 6, 9), utc(2026, 6, 9, 13, 0))
    ]
    # Day 0: 14:00 EDT + 1 h = 15:00 EDT = 19:00Z.
    assert [(p.visit_key, p.day, p.due_at) for p in planned if p.rule is SW] == [
        ("b", date(2026, 6, 10), utc(2026, 6, 10, 19, 0)),
        ("b", date(2026, 6, 11), utc(2026, 6, 11, 13, 0)),
        ("b", date(2026, 6, 12), utc(2026, 6, 12, 13, 0)),
    ]


def test_a_visit_entered_late_on_the_injection_day_gets_its_day_zero_check_now():
    """B6: visit 10 June 10:00 EDT, entered at 16:00 EDT (20:00Z) that day. The day-0 check and
    symptom reminder (planned 11:00 EDT) are due now, not lost; the visit reminder is long past."""
    now = utc(2026, 6, 10, 20, 0)
    planned = plan([visit("v", date(2026, 6, 10), time(10), NY)], person(NY, time(9)), now=now)
    assert of_rule(planned, DC)[0] == (date(2026, 6, 10), now)
    assert of_rule(planned, SW)[0] == (date(2026, 6, 10), now)
    # The visit reminder passed (kept at its time) and the visit itself too: nothing to send.
    assert [p for p in planned if p.rule is VR and p.due_at >= now] == []
    # The next day is planned as usual: 09:00 EDT = 13:00Z.
    assert of_rule(planned, DC)[1] == (date(2026, 6, 11), utc(2026, 6, 11, 13, 0))


def test_a_late_entry_inside_quiet_hours_waits_for_their_end_the_same_day_only():
    # Entered 11 June 05:00 CEST (03:00Z) for a visit on 10 June 10:00: day 0 is over, nothing
    # is caught up for it. Day 1's 09:00 CEST (07:00Z) is still ahead.
    planned = plan(
        [visit("v", date(2026, 6, 10), time(10), BERLIN)],
        person(BERLIN, time(9), quiet=(time(22), time(7))),
        now=utc(2026, 6, 11, 3, 0),
    )
    checks = dict(of_rule(planned, DC))
    assert checks[date(2026, 6, 10)] == utc(2026, 6, 10, 9, 0)  # passed, kept at its planned time
    assert checks[date(2026, 6, 11)] == utc(2026, 6, 11, 7, 0)


def test_moving_east_mid_day_keeps_that_days_reminder():
    """B6: 12:00Z on 12 June. In New York (EDT) it is 08:00, the 09:00 check is ahead (13:00Z).
    Now in Berlin (CEST) it is 14:00: 09:00 there (07:00Z) has passed, so it is due now."""
    slot = [visit("v", date(2026, 6, 10), time(10), NY)]
    now = utc(2026, 6, 12, 12, 0)
    assert dict(of_rule(plan(slot, person(NY, time(9)), now=now), DC))[date(2026, 6, 12)] == utc(
        2026, 6, 12, 13, 0
    )
    moved = dict(of_rule(plan(slot, person(BERLIN, time(9)), now=now), DC))
    assert moved[date(2026, 6, 12)] == now
    assert moved[date(2026, 6, 13)] == utc(2026, 6, 13, 7, 0)


def test_the_day_before_with_no_time_left_says_today_on_the_visit_day():
    # Visit 2 June 10:00 CEST, entered 1 June 23:30 CEST (21:30Z), quiet 22:00-07:00: nothing
    # more on 1 June, so the visit day at 07:00 CEST (05:00Z), before the visit.
    planned = plan(
        [visit("v", date(2026, 6, 2), time(10), BERLIN)],
        person(BERLIN, time(9), quiet=(time(22), time(7))),
        RuleSettings(enabled=frozenset({VR})),
        now=utc(2026, 6, 1, 21, 30),
    )
    today = [p for p in planned if p.instead_of is not None]
    assert [(p.day, p.due_at, p.instead_of) for p in today] == [
        (date(2026, 6, 2), utc(2026, 6, 2, 5, 0), date(2026, 6, 1))
    ]
    # Entered on the visit day at 08:00 CEST (06:00Z) for 10:00: "today", now.
    same_day = plan(
        [visit("v", date(2026, 6, 2), time(10), BERLIN)],
        person(BERLIN, time(9)),
        RuleSettings(enabled=frozenset({VR})),
        now=utc(2026, 6, 2, 6, 0),
    )
    assert [(p.day, p.due_at) for p in same_day if p.instead_of] == [
        (date(2026, 6, 2), utc(2026, 6, 2, 6, 0))
    ]
    # Entered after the visit: nothing left to send for it.
    after = plan(
        [visit("v", date(2026, 6, 2), time(10), BERLIN)],
        person(BERLIN, time(9)),
        RuleSettings(enabled=frozenset({VR})),
        now=utc(2026, 6, 2, 9, 0),
    )
    assert [p for p in after if p.due_at >= utc(2026, 6, 2, 9, 0)] == []


# --- overlaps, cancellation, filtering, determinism ---------------------------------------------


def test_overlapping_dressing_periods_later_visit_owns_the_days():
    zone = "UTC"
    visits = [visit("a", date(2026, 1, 1), time(10), zone), visit("b", date(2026, 1, 3), time(10), zone)]
    planned = plan(visits, person(zone, time(12)))
    by = {(r, k): [p.day.day for p in planned if (p.rule, p.visit_key) == (r, k)] for r in Rule for k in "ab"}
    assert by[(DC, "a")] == [1, 2] and by[(DC, "b")] == list(range(3, 10))
    assert by[(DR, "a")] == [] and by[(DR, "b")] == [10]
    assert by[(SW, "a")] == [1, 2] and by[(SW, "b")] == [3, 4, 5]
    assert by[(VR, "a")] == [31] and by[(VR, "b")] == [2]  # 31 Dec and 2 Jan
    dressing = [p.day for p in planned if p.rule in (DC, DR)]
    assert len(dressing) == len(set(dressing))


def test_visits_exactly_one_dressing_period_apart_drop_the_earlier_review():
    zone = "UTC"
    visits = [visit("a", date(2026, 1, 1), time(10), zone), visit("b", date(2026, 1, 8), time(10), zone)]
    planned = plan(visits, person(zone, time(12)))
    assert [(p.visit_key, p.day.day) for p in planned if p.rule is DR] == [("b", 15)]
    assert len(of_rule(planned, DC)) == 14


def test_cancelled_visit_yields_nothing_and_does_not_truncate():
    zone = "UTC"
    assert plan([visit("x", date(2026, 1, 3), time(10), zone, active=False)], person(zone, time(12))) == []
    cancelled = visit("x", date(2026, 1, 3), time(10), zone, active=False)
    visits = [visit("a", date(2026, 1, 1), time(10), zone), cancelled]
    planned = plan(visits, person(zone, time(12)))
    assert {p.visit_key for p in planned} == {"a"}
    assert len(of_rule(planned, DC)) == 7
    assert of_rule(planned, DR) == [(date(2026, 1, 8), utc(2026, 1, 8, 12, 0))]


def test_passed_slots_keep_their_times_and_now_may_be_in_any_zone():
    slot = [visit("v", date(2026, 6, 10), time(19), NY)]
    patient = person(NY, time(9))
    cut = plan(slot, patient, now=utc(2026, 6, 12, 13, 0))  # exactly day 2's reminders
    everything = plan(slot, patient)
    # Nothing caught up: each slot is exactly where it was planned (a "today" visit reminder
    # now stands in for the passed one, in the past too, so nothing will send it).
    assert [p for p in cut if p.instead_of is None] == everything
    assert [p.due_at < utc(2026, 6, 12, 13, 0) for p in cut if p.instead_of] == [True]
    assert [(p.rule, p.day.day) for p in cut if p.due_at > utc(2026, 6, 12, 13, 0)] == [
        (DC, 13),
        (DC, 14),
        (DC, 15),
        (DC, 16),
        (DR, 17),
    ]
    same_instant = datetime(2026, 6, 12, 15, 0, tzinfo=ZoneInfo(BERLIN))
    assert plan(slot, patient, now=same_instant) == cut


def test_output_sorted_by_due_then_rule_then_visit_key():
    slot = [visit("v", date(2026, 6, 10), time(19), NY)]
    planned = plan(slot, person(NY, time(9)))
    assert [(p.rule, p.due_at) for p in planned[:3]] == [
        (VR, utc(2026, 6, 9, 13, 0)),
        (DC, utc(2026, 6, 11, 0, 0)),
        (SW, utc(2026, 6, 11, 0, 0)),
    ]
    # Visit "b" is 3 days before "a": b's dressing check and a's visit reminder share an instant.
    pair = [visit("a", date(2026, 6, 13), time(10), NY), visit("b", date(2026, 6, 10), time(10), NY)]
    planned = plan(pair, person(NY, time(9)))
    tie = [(p.rule, p.visit_key) for p in planned if p.due_at == utc(2026, 6, 12, 13, 0)]
    assert tie == [(DC, "b"), (SW, "b"), (VR, "a")]


def test_same_time_visits_are_ordered_by_key():
    twins = [visit("b", date(2026, 6, 10), time(10), NY), visit("a", date(2026, 6, 10), time(10), NY)]
    for visits in (twins, twins[::-1]):
        planned = plan(visits, person(NY, time(9)))
        assert [(p.visit_key, p.due_at) for p in planned if p.rule is VR] == [("a", utc(2026, 6, 9, 13, 0))]
        assert {p.visit_key for p in planned if p.rule is not VR} == {"b"}  # the later one owns the days


def test_planning_is_idempotent_and_independent_of_input_order():
    visits = [
        visit("c", date(2026, 2, 11), time(10), BERLIN),
        visit("a", date(2026, 1, 7), time(10), BERLIN),
        visit("b", date(2026, 1, 12), time(10), BERLIN),
    ]
    patient = person(BERLIN, time(9), quiet=(time(22), time(7)))
    first = plan(visits, patient, now=utc(2026, 1, 10))
    assert first == plan(visits, patient, now=utc(2026, 1, 10))
    assert first == plan(list(reversed(visits)), patient, now=utc(2026, 1, 10))
    assert first == sorted(first, key=lambda p: (p.due_at, p.rule, p.visit_key))


def test_realistic_schedule_counts():
    # First visit, second 3 weeks later, third 2 weeks after that (tvec-facts §1).
    first = date(2026, 1, 7)
    visits = [visit(f"v{i}", first + timedelta(days=d), time(10), BERLIN) for i, d in enumerate((0, 21, 35))]
    counts = lambda planned: {r: len(of_rule(planned, r)) for r in Rule if of_rule(planned, r)}  # noqa: E731
    patient = plan(visits, person(BERLIN, time(9)))
    assert counts(patient) == {VR: 3, DC: 21, DR: 3, SW: 9}
    reviews = [p.day for p in patient if p.rule is DR]
    assert reviews == [date(2026, 1, 14), date(2026, 2, 4), date(2026, 2, 18)]
    assert counts(plan(visits, person(BERLIN, time(9), Audience.CAREGIVER_HANDLER))) == {DC: 21, DR: 3}
    assert counts(plan(visits, person(BERLIN, time(9), Audience.CAREGIVER_NON_HANDLER))) == {DS: 21}
    midway = [
        p for p in plan(visits, person(BERLIN, time(9)), now=utc(2026, 1, 31)) if p.due_at > utc(2026, 1, 31)
    ]
    assert counts(midway) == {VR: 1, DC: 11, DR: 2, SW: 3}


# --- validation ---------------------------------------------------------------------------------


def test_validation_errors():
    slot = [visit("v", date(2026, 2, 2), time(10), BERLIN)]
    with pytest.raises(ValueError):
        plan(slot, person("Europe/Atlantis", time(9)))
    with pytest.raises(ValueError):
        plan([visit("v", date(2026, 2, 2), time(10), "Nowhere/City")], person(BERLIN, time(9)))
    with pytest.raises(ValueError):
        plan_reminders(slot, person(BERLIN, time(9)), now=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        RuleSettings(dressing_days=2)
    with pytest.raises(ValueError):
        Recipient(Audience.PATIENT, BERLIN, time(9), quiet_start=time(22), quiet_end=None)


def test_dressing_status_counts_days_since_the_latest_treatment():
    from portal.reminders.planning import dressing_status

    treatments = [date(2026, 10, 30), date(2026, 11, 20), date(2026, 12, 4)]
    status = dressing_status(treatments, date(2026, 11, 22))
    assert (status.last_treatment, status.days_since, status.in_dressing_period) == (
        date(2026, 11, 20),
        2,
        True,
    )
    assert not dressing_status(treatments, date(2026, 11, 27)).in_dressing_period
    assert dressing_status(treatments, date(2026, 11, 26)).in_dressing_period  # day 6 of 7
    assert dressing_status(treatments, date(2026, 10, 1)).last_treatment is None
    assert dressing_status(treatments, date(2026, 12, 4)).days_since == 0


# --- a site still weeping after the dressing period (B7) ------------------------------------------


def weeping(y, mo, d, h=0, mi=0):
    return DressingReport(at=utc(y, mo, d, h, mi), weeping=True)


def dry(y, mo, d, h=0, mi=0):
    return DressingReport(at=utc(y, mo, d, h, mi), weeping=False)


FOLLOW_UP_VISIT = [visit("v", date(2026, 6, 1), time(10), "UTC")]
FOLLOW_UP_PERSON = person("UTC", time(9))


def test_a_weeping_report_on_the_review_day_keeps_a_daily_check_and_review_until_dry():
    # Visit 1 June, 7 dressing days: review on 8 June 09:00. "Still weeping" on 8 June 10:00,
    # "dry" on 10 June 12:00: a check and a review on 9 and 10 June at 09:00, none after.
    planned = plan(
        FOLLOW_UP_VISIT,
        FOLLOW_UP_PERSON,
        reports=[weeping(2026, 6, 8, 10), dry(2026, 6, 10, 12)],
    )
    assert of_rule(planned, DR) == [(date(2026, 6, d), utc(2026, 6, d, 9, 0)) for d in (8, 9, 10)]
    assert [day.day for day, _due in of_rule(planned, DC)] == [1, 2, 3, 4, 5, 6, 7, 9, 10]


def test_weeping_before_the_review_day_or_a_later_dry_report_change_nothing():
    # Weeping on day 3 (4 June) is still inside the dressing period; dry on 8 June 08:00, before
    # the review, also ends it.
    early = plan(FOLLOW_UP_VISIT, FOLLOW_UP_PERSON, reports=[weeping(2026, 6, 4, 12)])
    assert of_rule(early, DR) == [(date(2026, 6, 8), utc(2026, 6, 8, 9, 0))]
    assert len(of_rule(early, DC)) == 7


def test_follow_ups_stop_after_fourteen_days():
    # Weeping reported on 8 June and never dry: reviews 8 June .. 22 June (8 + 14), nothing after.
    planned = plan(FOLLOW_UP_VISIT, FOLLOW_UP_PERSON, reports=[weeping(2026, 6, 8, 10)])
    assert [day for day, _due in of_rule(planned, DR)] == [
        date(2026, 6, 8) + timedelta(days=n) for n in range(15)
    ]
    assert max(day for day, _due in of_rule(planned, DC)) == date(2026, 6, 22)


def test_follow_ups_go_to_the_dressing_people_only_and_stop_at_the_next_visit():
    visits = [*FOLLOW_UP_VISIT, visit("w", date(2026, 6, 11), time(10), "UTC")]
    reports = [weeping(2026, 6, 8, 10)]
    patient = plan(visits, FOLLOW_UP_PERSON, reports=reports)
    # 9 and 10 June follow up visit v; from 11 June visit w owns the days.
    assert [(p.visit_key, p.day.day) for p in patient if p.rule is DR] == [
        ("v", 8),
        ("v", 9),
        ("v", 10),
        ("w", 18),
    ]
    safety = plan(visits, person("UTC", time(9), Audience.CAREGIVER_NON_HANDLER), reports=reports)
    assert [p.day.day for p in safety if p.visit_key == "v"] == [1, 2, 3, 4, 5, 6, 7, 9, 10]
