"""A clinic form refused reloads at the top of its page, where the first error can be a screen
or more below (the staff invitation under the staff list, the visit's shift under two other
forms, the clinic's phone numbers and reminder days on a phone): the top says nothing was saved
and links to each field to fix (portal/_error_summary.html), as the account settings do."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.helpers import clinic_settings_form, log_in

pytestmark = pytest.mark.django_db


def summary_above_form(page: str) -> str:
    """The page above its first full-width form (the summary's place), after the heading."""
    above = page.split('<form method="post" class="stacked"', 1)[0]
    return above.split("<h1>", 1)[1]


@pytest.fixture
def admin_client(client: Client, clinic_admin) -> Client:
    log_in(client, clinic_admin)
    return client


def test_clinic_settings_say_at_the_top_which_number_to_fix(admin_client: Client, clinic) -> None:
    url = reverse("clinic-settings", args=[clinic.code])
    page = admin_client.post(url, clinic_settings_form(phone_after_hours="call me")).text
    top = summary_above_form(page)
    assert "Not saved yet. Please fix:" in top and 'href="#id_phone_after_hours"' in top


def test_reminder_settings_say_at_the_top_which_field_to_fix(admin_client: Client, clinic) -> None:
    url = reverse("clinic-reminder-settings", args=[clinic.code])
    form = {
        "visit_reminder_on": "on",
        "dressing_check_on": "on",
        "dressing_review_on": "on",
        "symptom_watch_on": "on",
        "dressing_days": "3",  # under the 7 days a site stays covered
        "symptom_days": "3",
        "visit_reminder_time": "09:00",
        "default_reminder_time": "09:00",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200
    top = summary_above_form(response.text)
    assert "Not saved yet. Please fix:" in top and 'href="#id_dressing_days"' in top


def test_a_staff_invitation_without_an_address_says_so_at_the_top(admin_client: Client, clinic) -> None:
    url = reverse("clinic-staff", args=[clinic.code])
    page = admin_client.post(url, {"name": "Nia Nurse", "email": "", "role": "clinician"}).text
    top = summary_above_form(page)
    assert "Not saved yet. Please fix:" in top and 'href="#id_email"' in top


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "move", "local_date": "", "local_time": "10:00"}, "id_local_date"),
        ({"action": "shift", "days": "0"}, "id_days"),
    ],
)
def test_a_visit_change_refused_says_so_at_the_top(
    client: Client, clinician, patient, make_visit, data: dict[str, str], field: str
) -> None:
    visit = make_visit(patient, timezone.localdate() + timedelta(days=5))
    log_in(client, clinician)
    page = client.post(reverse("visit-manage", args=[visit.code]), data).text
    top = summary_above_form(page)
    assert "Not saved yet. Please fix:" in top and f'href="#{field}"' in top
