"""The warning before a staff session ends (WCAG 2.2.1): how long is left, asked without
counting as activity, and "Stay signed in" that counts."""

import time

import pytest
from django.urls import reverse

from tests.helpers import log_in

SEEN = "hcc_session_seen_at"
STARTED = "hcc_session_started_at"


def idle_for(client, seconds: float) -> float:
    session = client.session
    session[SEEN] = time.time() - seconds
    session.save()
    return session[SEEN]


def test_asking_how_long_is_left_does_not_keep_staff_signed_in(client, clinician, settings):
    log_in(client, clinician)
    seen = idle_for(client, 600)
    answer = client.get(reverse("account-session"), HTTP_ACCEPT="application/json").json()
    # 15 minutes of idle time, 10 of them gone: about 300 s left, worked from the setting.
    assert settings.STAFF_IDLE_SECONDS == 900
    assert 295 <= answer["left"] <= 300 and answer["final"] is False
    assert client.session[SEEN] == seen  # asking was not activity
    idle_for(client, settings.STAFF_IDLE_SECONDS + 1)
    assert client.get(reverse("account-session")).status_code == 404  # signed out by then
    response = client.get(reverse("patient-list"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("account_login"))
    # The page's look signed them out; the next page they open still says why.
    assert "You were signed out to keep patient data safe." in response.content.decode()


def test_stay_signed_in_gives_the_whole_idle_time_again(client, clinician, settings):
    log_in(client, clinician)
    idle_for(client, 800)
    answer = client.post(reverse("account-session"), HTTP_ACCEPT="application/json").json()
    assert 895 <= answer["left"] <= 900
    idle_for(client, 100)  # no further wait: still within the new idle time
    assert client.get(reverse("patient-list")).status_code == 200


def test_the_lifetime_cannot_be_lengthened(client, clinician, settings):
    log_in(client, clinician)
    session = client.session
    session[STARTED] = time.time() - settings.STAFF_SESSION_MAX_SECONDS + 60
    session.save()
    answer = client.post(reverse("account-session"), HTTP_ACCEPT="application/json").json()
    assert answer["final"] is True and 55 <= answer["left"] <= 60


def test_without_the_script_stay_signed_in_goes_back_to_the_page(client, clinician):
    log_in(client, clinician)
    idle_for(client, 800)
    response = client.post(reverse("account-session"), HTTP_REFERER="http://testserver/patients/")
    assert response.status_code == 302 and response["Location"] == "/patients/"
    assert time.time() - client.session[SEEN] < 5


@pytest.mark.parametrize("who", ["patient", "caregiver"])
def test_patients_and_caregivers_have_no_such_warning(client, request, who):
    user = request.getfixturevalue(who)
    user = getattr(user, "user", user)
    log_in(client, user)
    assert client.get(reverse("account-session")).status_code == 404
    page = client.get(reverse("account")).content.decode()
    assert "session-warning" not in page


def test_staff_pages_carry_the_warning_with_its_timing(client, clinician, settings):
    log_in(client, clinician)
    page = client.get(reverse("patient-list")).content.decode()
    assert 'id="session-warning"' in page and 'data-idle="900" data-lead="120"' in page
    assert "staff-session.js" in page
