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


def test_demo_logins_work(client, db):
    from allauth.mfa.totp.internal.auth import hotp_value, yield_hotp_counters_from_time
    from django.urls import reverse

    from portal.demo import DEMO_TOTP_SECRET, HOME_PASSWORD, STAFF_PASSWORD

    seed_demo()
    response = client.post(
        reverse("account_login"), {"login": "clinician@demo.example", "password": STAFF_PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    code = f"{hotp_value(DEMO_TOTP_SECRET, next(yield_hotp_counters_from_time())):06d}"
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.get(reverse("patient-list")).status_code == 200
    client.logout()
    for email in ("patient@demo.example", "caregiver@demo.example"):
        client.post(reverse("account_login"), {"login": email, "password": HOME_PASSWORD})
        assert "_auth_user_id" in client.session
        client.logout()
