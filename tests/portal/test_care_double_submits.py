"""Six identical taps at once on the care pages make one row (issue 11 point 1: one-tap tasks
are double-submit safe), against a gunicorn with several workers, as in production."""

from portal.demo import HOME_PASSWORD
from tests.portal.test_double_submits import AT_ONCE, at_once, count
from tests.portal.test_processes import browser
from tests.processes import csrf_post


def test_six_taps_at_once_log_one_dressing_check_and_one_symptom_check(site):
    server = site.web_server(workers=3)
    patient = browser()
    landed = csrf_post(
        patient, server + "/accounts/login/", {"login": "patient@demo.example", "password": HOME_PASSWORD}
    )
    assert landed.url == server + "/care/"
    code = site.manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from portal.models import Patient; print(Patient.objects.get(email='patient@demo.example').code)",
    ).strip()
    before = count(site, "DressingLogEntry.objects.count()")
    statuses = at_once(patient, f"{server}/care/{code}/dressings/", {"kind": "checked", "back": "today"})
    assert statuses == [302] * AT_ONCE, statuses
    assert count(site, "DressingLogEntry.objects.count()") == before + 1

    statuses = at_once(patient, f"{server}/care/{code}/symptoms/", {"sign": "eyes"})
    assert statuses == [302] * AT_ONCE, statuses
    assert count(site, "SymptomCheck.objects.count()") == 1
    assert "Traceback" not in site.log()
