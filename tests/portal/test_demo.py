from datetime import date, timedelta

from django.core.management import call_command

from portal.demo import seed_demo, treatment_dates
from portal.models import CaregiverLink, Clinic, InjectionVisit, Patient, StaffMembership, User


def test_demo_schedule_follows_the_label():
    today = date(2026, 11, 22)
    dates = treatment_dates(today)
    assert dates[0] == today - timedelta(days=23)
    assert dates[1] == today - timedelta(days=2)  # 3 weeks after the first: today is dressing day 2
    assert all(
        later - earlier == timedelta(days=14) for earlier, later in zip(dates[1:], dates[2:], strict=False)
    )
    assert dates[-1] - dates[0] >= timedelta(days=168)  # at least 6 months


def test_seed_demo_is_idempotent(db, capsys):
    call_command("seed_demo")
    counts = [
        m.objects.count() for m in (User, Clinic, Patient, CaregiverLink, StaffMembership, InjectionVisit)
    ]
    first_output = capsys.readouterr().out
    call_command("seed_demo")
    assert [
        m.objects.count() for m in (User, Clinic, Patient, CaregiverLink, StaffMembership, InjectionVisit)
    ] == counts
    assert "clinician@demo.example" in first_output
    assert "patient@demo.example" in first_output


def test_demo_visits_are_done_then_scheduled(db):
    seed_demo(today=date(2026, 11, 22))
    visits = list(InjectionVisit.objects.order_by("local_date"))
    assert [v.status for v in visits[:2]] == ["done", "done"]
    assert {v.status for v in visits[2:]} == {"scheduled"}
    assert CaregiverLink.objects.get().status == CaregiverLink.Status.ACTIVE
