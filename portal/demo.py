"""Demo data: one clinic, its staff, a patient mid-course and a caregiver.

Idempotent: running it again finds the same rows and changes nothing."""

from dataclasses import dataclass
from datetime import date, time, timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction
from django.utils import timezone

from portal.models import (
    CaregiverLink,
    Clinic,
    InjectionVisit,
    Patient,
    StaffMembership,
    TreatmentCourse,
    User,
)
from portal.reminders import replan_patient

CLINIC_NAME = "Demo Skin Cancer Clinic"
ZONE = "America/New_York"
STAFF_PASSWORD = "demo-staff-2026"
HOME_PASSWORD = "demo-home-2026"
# Base32 secret for the demo staff's authenticator app. Demo only: printed on purpose.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@dataclass
class DemoLogin:
    role: str
    email: str
    password: str
    recovery_codes: list[str]


def demo_user(email: str, name: str, password: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, password, name=name, time_zone=ZONE)
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def demo_staff(clinic: Clinic, email: str, name: str, role: str) -> DemoLogin:
    user = demo_user(email, name, STAFF_PASSWORD)
    StaffMembership.objects.get_or_create(clinic=clinic, user=user, defaults={"role": role})
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)
    codes = Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).first()
    recovery = RecoveryCodes(codes) if codes else RecoveryCodes.activate(user)
    return DemoLogin(role, email, STAFF_PASSWORD, recovery.get_unused_codes())


def treatment_dates(today: date) -> list[date]:
    """First treatment 23 days ago, second 2 days ago (3 weeks later), then every
    2 weeks, for 6 months: today is day 2 of a dressing period."""
    first = today - timedelta(days=23)
    dates = [first, first + timedelta(days=21)]
    while dates[-1] + timedelta(days=14) <= first + timedelta(days=182):
        dates.append(dates[-1] + timedelta(days=14))
    return dates


@transaction.atomic
def seed_demo(today: date | None = None) -> list[DemoLogin]:
    today = today or timezone.localdate(timezone=__import__("zoneinfo").ZoneInfo(ZONE))
    clinic, _ = Clinic.objects.get_or_create(
        name=CLINIC_NAME,
        defaults={
            "phone_daytime": "+1 555 0100",
            "phone_after_hours": "+1 555 0199",
            "emergency_number": "911",
            "time_zone": ZONE,
        },
    )
    logins = [
        demo_staff(clinic, "clinician@demo.example", "Dana Clinician", StaffMembership.Role.CLINICIAN),
        demo_staff(clinic, "admin@demo.example", "Alex Admin", StaffMembership.Role.ADMIN),
    ]
    patient_user = demo_user("patient@demo.example", "Pat Patient", HOME_PASSWORD)
    patient, _ = Patient.objects.get_or_create(
        user=patient_user,
        defaults={"clinic": clinic, "name": "Pat Patient", "email": patient_user.email, "time_zone": ZONE},
    )
    if not patient.courses.exists():
        dates = treatment_dates(today)
        course = TreatmentCourse.objects.create(patient=patient, started_on=dates[0])
        sites = [["left forearm"], ["left forearm", "left upper arm"]]
        for number, day in enumerate(dates):
            InjectionVisit.objects.create(
                course=course,
                patient=patient,
                local_date=day,
                local_time=time(10, 0),
                status=InjectionVisit.Status.DONE if day <= today else InjectionVisit.Status.SCHEDULED,
                sites=sites[min(number, 1)],
            )
    caregiver = demo_user("caregiver@demo.example", "Casey Caregiver", HOME_PASSWORD)
    CaregiverLink.objects.get_or_create(
        patient=patient,
        caregiver=caregiver,
        status=CaregiverLink.Status.ACTIVE,
        defaults={
            "email": caregiver.email,
            "name": caregiver.name,
            "consented_at": timezone.now(),
            "consent_recorded_by": patient_user,
            "activated_at": timezone.now(),
        },
    )
    # Visits were written directly above, so plan their reminders (idempotent).
    replan_patient(patient)
    if not patient.assignments.exists():
        # The clinic's default care plan, as a nurse would assign it.
        from portal.assignments import assign_care_plan, default_care_plan

        admin = User.objects.get(email="admin@demo.example")
        assign_care_plan(patient=patient, by=admin, care_plan=default_care_plan(clinic))
    logins += [
        DemoLogin("patient", patient_user.email, HOME_PASSWORD, []),
        DemoLogin("caregiver", caregiver.email, HOME_PASSWORD, []),
    ]
    return logins
