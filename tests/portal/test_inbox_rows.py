"""The inbox's rows, whose link and time the view makes (portal/reminder_views.reminder_list),
are the characters the template's {% url %} and |date wrote: in every language, in the
reader's time zone."""

import re
from datetime import date

import pytest
from django.template import engines
from django.utils import timezone, translation

from portal.models import User
from tests.helpers import log_in
from tests.portal.test_sqlonce import deliver

pytestmark = pytest.mark.django_db

# The loop as reminder_list.html wrote it before.
LOOP = """{% load i18n %}<ul class="cards reminders">
  {% for reminder in page %}
  <li class="{% if reminder.read_at %}read{% else %}unread{% endif %}">
    <a href="{% url 'reminder-detail' reminder.code %}">{{ reminder.title }}</a>
    {% if not reminder.read_at %}<strong class="badge">{% translate "New" %}</strong>{% endif %}
    <br><span class="when">{{ reminder.due_at|date:"DATETIME_FORMAT" }}</span>
    {% if reminder.patient.user_id != user.pk %}<span class="who"> · {{ reminder.patient.name }}</span>{% endif %}
  </li>
  {% endfor %}
</ul>"""
LIST = re.compile(r'<ul class="cards reminders">.*?</ul>', re.S)


@pytest.mark.parametrize(
    ("language", "zone"),
    [("en", "America/New_York"), ("fr", "Europe/Paris"), ("ar", "Asia/Tokyo"), ("zh-hans", "UTC")],
)
def test_rows_are_the_templates(client, patient, caregiver, make_visit, language, zone) -> None:  # type: ignore[no-untyped-def]
    visit = make_visit(patient, date(2030, 1, 1))
    for n in range(4):
        deliver(patient, visit, caregiver, date(2030, 1, 2 + n), read=n == 1)
    User.objects.filter(pk=caregiver.pk).update(language=language, time_zone=zone)
    caregiver.refresh_from_db()
    log_in(client, caregiver)
    response = client.get("/reminders/")
    body = LIST.search(response.content.decode()).group(0)
    with translation.override(language), timezone.override(zone):
        expected = (
            engines["django"].from_string(LOOP).render({"page": response.context["page"], "user": caregiver})
        )
    assert body == expected
    assert body.count('class="unread"') == 3 and patient.name in body
