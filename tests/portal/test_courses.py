"""Treatment courses from the nurse's side: plan the whole course on one screen, then complete,
move, shift, cancel, pause and restart. Dates are relative to the day the test runs, in a
clinic on UTC, so no clock change or calendar quirk can reach them."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from portal import courses
from portal.course_views import describe
from portal.courses import PlannedVisit
from portal.models import AuditEvent, InjectionVisit, Patient, Reminder
from portal.scheduling import ScheduleWarning, WarningKind
from tests.helpers import log_in, page_in


@pytest.fixture
def nurse(client, clinician):
    log_in(client, clinician)
    return client


def today() -> date:
    return timezone.localdate()


def propose(nurse, patient, first: date, **extra):
    data = {
        "action": "propose",
        "first_date": first.isoformat(),
        "first_time": "10:00",
        "sites": "left forearm, right calf",
        "length": "count",
        "count": "4",
        **extra,
    }
    return nurse.post(reverse("course-plan", args=[patient.code]), data)


def rows_from(response) -> dict[str, str]:
    """The form as the browser would send it back."""
    formset = response.context["rows"]
    data = {key: str(value) for key, value in formset.management_form.initial.items()}
    data = {f"visit-{key}": value for key, value in data.items()}
    for i, row in enumerate(formset.initial):
        data[f"visit-{i}-keep"] = "on"
        data[f"visit-{i}-local_date"] = row["local_date"].isoformat()
        data[f"visit-{i}-local_time"] = row["local_time"].strftime("%H:%M")
        data[f"visit-{i}-sites"] = row["sites"]
    return data


def test_the_nurse_plans_a_whole_course_in_one_screen(nurse, patient):
    first = today() + timedelta(days=7)
    response = propose(nurse, patient, first)
    assert response.status_code == 200
    proposed = [row["local_date"] for row in response.context["rows"].initial]
    # The label: 3 weeks to the second treatment, then every 2 weeks.
    assert proposed == [first, first + timedelta(21), first + timedelta(35), first + timedelta(49)]
    assert response.context["warnings"] == []

    data = rows_from(response) | {"action": "save"}
    data["visit-3-keep"] = ""  # leave the last one out
    data["visit-1-local_time"] = "14:30"  # and change one time
    response = nurse.post(reverse("course-plan", args=[patient.code]), data)
    assert response.status_code == 302
    assert response.url == reverse("course-detail", args=[patient.code])
    visits = list(InjectionVisit.objects.filter(course__patient=patient).order_by("local_date"))
    assert [(v.local_date, v.local_time) for v in visits] == [
        (first, time(10)),
        (first + timedelta(21), time(14, 30)),
        (first + timedelta(35), time(10)),
    ]
    assert all(v.sites == ["left forearm", "right calf"] for v in visits)
    assert AuditEvent.objects.filter(action="course.planned", patient_code=patient.code).count() == 1
    # Reminders followed in the same step, and the course page shows what will be sent.
    assert Reminder.objects.filter(patient=patient, status=Reminder.Status.PENDING).exists()
    page = nurse.get(response.url)
    assert page.context["upcoming"]
    assert "What will now be sent" in page.content.decode()


def test_until_a_date(nurse, patient):
    first = today() + timedelta(days=3)
    response = propose(nurse, patient, first, length="until", until=(first + timedelta(35)).isoformat())
    assert [row["local_date"] for row in response.context["rows"].initial] == [
        first,
        first + timedelta(21),
        first + timedelta(35),
    ]


def test_bad_input_is_answered_in_words(nurse, patient):
    response = propose(nurse, patient, today(), count="0")
    assert response.context["propose"].errors["count"]
    response = propose(nurse, patient, today(), length="until", until=(today() - timedelta(1)).isoformat())
    assert "on or after" in str(response.context["propose"].errors["until"])
    response = propose(nurse, patient, date(9999, 12, 31))
    assert response.status_code == 200
    data = rows_from(propose(nurse, patient, today() + timedelta(days=1))) | {"action": "save"}
    data["visit-0-local_date"] = "0001-01-01"
    response = nurse.post(reverse("course-plan", args=[patient.code]), data | {"confirm": "on"})
    assert response.status_code == 200
    assert not InjectionVisit.objects.exists()


def test_warnings_stop_the_save_until_the_nurse_confirms_them(nurse, patient):
    first = today() + timedelta(days=7)
    data = rows_from(propose(nurse, patient, first)) | {"action": "save"}
    data["visit-0-local_date"] = (today() - timedelta(days=2)).isoformat()  # in the past
    data["visit-2-local_date"] = (first + timedelta(22)).isoformat()  # a day after visit 2
    response = nurse.post(reverse("course-plan", args=[patient.code]), data)
    assert response.status_code == 200
    text = " ".join(response.context["warnings"])
    assert "in the past" in text
    assert "closer to the visit" in text
    assert not InjectionVisit.objects.exists()

    # Ticking the box without having seen these warnings is not enough.
    response = nurse.post(reverse("course-plan", args=[patient.code]), data | {"confirm": "on", "seen": "x"})
    assert not InjectionVisit.objects.exists()
    seen = response.context["seen"]
    response = nurse.post(reverse("course-plan", args=[patient.code]), data | {"confirm": "on", "seen": seen})
    assert response.status_code == 302
    assert InjectionVisit.objects.count() == 4


def test_a_visit_already_on_that_date_and_time_is_refused(nurse, patient, make_visit):
    first = today() + timedelta(days=7)
    make_visit(patient, first, time(10))
    response = propose(nurse, patient, first)
    assert any("already a visit" in w for w in response.context["warnings"])
    data = rows_from(response) | {"action": "save", "confirm": "on", "seen": response.context["seen"]}
    response = nurse.post(reverse("course-plan", args=[patient.code]), data)
    assert response.status_code == 200
    assert "There is already a visit on" in response.content.decode()
    assert InjectionVisit.objects.count() == 1


def test_clock_change_warning_uses_the_clinic_zone(patient):
    patient.clinic.time_zone = "America/New_York"
    patient.clinic.save()
    now = timezone.datetime(2027, 3, 1, 12, tzinfo=timezone.UTC)
    warnings = courses.plan_warnings(patient, [PlannedVisit(date(2027, 3, 14), time(2, 30))], now=now)
    assert [w.kind for w in warnings] == ["nonexistent_time"]


def plan(patient, clinician, first: date, count: int = 4):
    dates = [first] + [first + timedelta(21 + 14 * i) for i in range(count - 1)]
    return courses.plan_course(
        patient=patient,
        by=clinician,
        visits=[PlannedVisit(day, time(10), ("left forearm",)) for day in dates],
    )


def test_completing_a_visit_carries_the_sites_forward(nurse, patient, clinician):
    change = plan(patient, clinician, today())
    first, second = change.visits[0], change.visits[1]
    url = reverse("visit-manage", args=[first.code])
    assert nurse.get(url).context["complete"].initial["sites"] == "left forearm"
    response = nurse.post(url, {"action": "complete", "sites": "left forearm, left upper arm"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == "done" and first.sites == ["left forearm", "left upper arm"]
    # The next visit offers what was actually injected last time.
    assert nurse.get(reverse("visit-manage", args=[second.code])).context["complete"].initial["sites"] == (
        "left forearm, left upper arm"
    )
    assert AuditEvent.objects.filter(action="visit.completed", subject_code=first.code).exists()


def test_a_visit_is_marked_done_from_its_day_on_in_the_clinics_zone(patient, clinician, make_visit):
    # 12:00 UTC on 1 December is 01:00 on 2 December in Auckland (UTC+13 in summer).
    patient.clinic.time_zone = "Pacific/Auckland"
    patient.clinic.save()
    now = timezone.datetime(2026, 12, 1, 12, tzinfo=timezone.UTC)
    on_the_day = make_visit(patient, date(2026, 12, 2))
    tomorrow = make_visit(patient, date(2026, 12, 3))
    courses.complete_visit(visit=on_the_day, by=clinician, sites=["left forearm"], now=now)
    assert InjectionVisit.objects.get(pk=on_the_day.pk).status == "done"
    with pytest.raises(ValidationError, match="from its day on"):
        courses.complete_visit(visit=tomorrow, by=clinician, sites=["left forearm"], now=now)
    assert InjectionVisit.objects.get(pk=tomorrow.pk).status == "scheduled"


def test_a_future_visit_offers_no_mark_as_done_and_refuses_one(nurse, patient, clinician):
    visit = plan(patient, clinician, today() + timedelta(days=3)).visits[0]
    url = reverse("visit-manage", args=[visit.code])
    page = nurse.get(url).content.decode()
    assert 'value="complete"' not in page and "A visit can be marked as done from its day on." in page
    # A form from an old page, or a hand-made request, changes nothing and says why.
    response = nurse.post(url, {"action": "complete", "sites": "left forearm"}, follow=True)
    assert "A visit can be marked as done from its day on." in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == "scheduled"
    assert not AuditEvent.objects.filter(action="visit.completed").exists()
    # Its "visit tomorrow" reminder is still planned: nothing was re-planned away.
    assert Reminder.objects.filter(visit=visit, status=Reminder.Status.PENDING).exists()


def test_a_cancelled_visit_offers_no_mark_as_done(nurse, patient, clinician):
    visit = plan(patient, clinician, today()).visits[0]
    url = reverse("visit-manage", args=[visit.code])
    page = nurse.get(url).content.decode()
    # The cancel button is behind a second step that says what it does.
    assert re.search(r'<details class="confirm">\s*<summary>Cancel the visit</summary>', page)
    assert nurse.post(url, {"action": "cancel"}).status_code == 302
    page = nurse.get(url).content.decode()
    assert 'value="complete"' not in page and 'value="cancel"' not in page


def test_move_one_visit_and_shift_the_later_ones(nurse, patient, clinician):
    first = today() + timedelta(days=10)
    change = plan(patient, clinician, first)
    visits = change.visits
    url = reverse("visit-manage", args=[visits[1].code])
    new_day = first + timedelta(days=21)  # same day, another time: no warning
    response = nurse.post(url, {"action": "move", "local_date": new_day.isoformat(), "local_time": "09:15"})
    assert response.status_code == 302
    visits[1].refresh_from_db()
    assert (visits[1].local_date, visits[1].local_time) == (new_day, time(9, 15))

    response = nurse.post(url, {"action": "shift", "days": "3"})
    assert response.status_code == 302
    dates = list(
        InjectionVisit.objects.filter(course__patient=patient)
        .order_by("local_date")
        .values_list("local_date", flat=True)
    )
    assert dates == [first, new_day + timedelta(3), first + timedelta(38), first + timedelta(52)]
    for bad in ("0", "1000", "x"):
        response = nurse.post(url, {"action": "shift", "days": bad})
        assert response.status_code == 200 and response.context["shift"].errors["days"]


def test_moving_too_close_needs_confirmation(nurse, patient, clinician):
    first = today() + timedelta(days=10)
    visits = plan(patient, clinician, first).visits
    url = reverse("visit-manage", args=[visits[2].code])
    too_close = first + timedelta(days=25)  # 4 days after the second treatment
    data = {"action": "move", "local_date": too_close.isoformat(), "local_time": "10:00"}
    response = nurse.post(url, data)
    assert response.status_code == 200
    assert any("closer to the visit" in w for w in response.context["warnings"])
    response = nurse.post(url, data | {"confirm": "on", "seen": response.context["seen"]})
    assert response.status_code == 302


def test_cancel_pause_and_restart(nurse, patient, clinician):
    first = today() + timedelta(days=2)
    visits = plan(patient, clinician, first).visits
    before = Reminder.objects.filter(visit=visits[0], status=Reminder.Status.PENDING).count()
    assert before > 0
    assert nurse.post(reverse("visit-manage", args=[visits[0].code]), {"action": "cancel"}).status_code == 302
    # The cancelled visit's reminders are gone from what will be sent.
    assert not Reminder.objects.filter(visit=visits[0], status=Reminder.Status.PENDING).exists()

    course = visits[0].course
    response = nurse.post(reverse("course-pause", args=[course.code]))
    assert response.status_code == 302
    assert not InjectionVisit.objects.filter(course=course, status="scheduled").exists()
    assert not Reminder.objects.filter(patient=patient, status=Reminder.Status.PENDING).exists()

    restart_url = reverse("course-restart", args=[course.code])
    restart = today() + timedelta(days=30)
    response = nurse.post(
        restart_url,
        {
            "action": "propose",
            "first_date": restart.isoformat(),
            "first_time": "11:00",
            "sites": "",
            "length": "count",
            "count": "3",
        },
    )
    # After a pause: every 2 weeks from the restart.
    assert [row["local_date"] for row in response.context["rows"].initial] == [
        restart,
        restart + timedelta(14),
        restart + timedelta(28),
    ]
    response = nurse.post(restart_url, rows_from(response) | {"action": "save"})
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.paused_at is None
    assert InjectionVisit.objects.filter(course=course, status="scheduled").count() == 3
    assert AuditEvent.objects.filter(action="course.restarted").exists()


# Monday 2 March 2026; the visit on Wednesday 4 March at 2:30 in the afternoon.
MONDAY = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
VISIT_DAY, VISIT_TIME = date(2026, 3, 4), time(14, 30)


@pytest.mark.parametrize(
    ("language", "when", "due"),
    [
        ("en", "Wednesday, March 4, 2026, 2:30 p.m.", "Tuesday, March 3, 9 a.m."),
        # Arabic: the weekday first, Arabic commas, day before month, the time as "g:i A".
        ("ar", "الأربعاء، 4 مارس، 2026، 2:30 م", "الثلاثاء، 3 مارس، 9:00 ص"),
        # Simplified Chinese: the date first, then the weekday, then the time.
        ("zh-hans", "2026年3月4日 星期三 14:30", "3月3日 星期二 09:00"),
    ],
)
def test_course_page_dates_in_the_readers_language(
    client, clinician, patient, make_visit, clock, language, when, due
):
    """Before: "D j M Y, H:i" for the visits and "D j M, H:i" for what will be sent, in every
    language ("Wed 4 Mar 2026, 14:30"; a Latin comma in Arabic and Chinese)."""
    clock.now = MONDAY
    Patient.objects.filter(pk=patient.pk).update(time_zone="Europe/Berlin")
    visit = make_visit(patient, VISIT_DAY, VISIT_TIME)
    # 08:00 UTC is 09:00 in Berlin (CET, UTC+1 until 29 March): the patient's time.
    due_at = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    Reminder.objects.create(
        recipient=patient.user,
        patient=patient,
        visit=visit,
        rule="visit_reminder",
        audience="patient",
        day=date(2026, 3, 3),
        due_at=due_at,
        next_attempt_at=due_at,
    )
    html = page_in(client, clinician, language, reverse("course-detail", args=[patient.code]))
    assert f'<span class="when">{when}</span>' in html
    assert f"<li><strong>{due}</strong> · " in html


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("en", "Visit on March 4, 2026, 2:30 p.m."),
        ("ar", "جلسة 4 مارس، 2026، 2:30 م"),
        ("de", "Termin am 4. März 2026, 14:30"),
    ],
)
def test_visit_page_time_in_the_readers_language(
    client, clinician, patient, make_visit, clock, language, heading
):
    """Before: the time as "H:i" in every language ("Visit on March 4, 2026, 14:30")."""
    clock.now = MONDAY
    visit = make_visit(patient, VISIT_DAY, VISIT_TIME)
    html = page_in(client, clinician, language, reverse("visit-manage", args=[visit.code]))
    assert f"<h1>{heading}</h1>" in html


@pytest.mark.parametrize(
    ("language", "past"),
    [
        ("en", "March 4, 2026 at 2:30 p.m. is in the past."),
        ("ar", "4 مارس، 2026 الساعة 2:30 م في الماضي."),
        ("de", "4. März 2026 um 14:30 liegt in der Vergangenheit."),
    ],
)
def test_warnings_say_the_time_in_the_readers_language(language, past):
    """Before: the time as "%H:%M" in every language ("March 4, 2026 at 14:30 is in the past.")."""
    warning = ScheduleWarning(kind=WarningKind.PAST, key="0", local_date=VISIT_DAY, local_time=VISIT_TIME)
    with translation.override(language):
        assert describe(warning) == past
