"""The patient page's visits, whose date, time and link the view makes
(portal/views.patient_detail), are the characters |date, |time and {% url %} wrote: for the
patient and for the clinic, in several languages."""

import re
from datetime import date, time

import pytest
from django.template import engines
from django.utils import translation

from portal.models import InjectionVisit, User
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

# The partial as patient_detail.html wrote it before (a date with its time in the language's
# own order: a Latin comma between the two read wrong in Arabic).
PARTIAL = """{% load i18n %}
  <ol class="visits">
    {% for visit in visit_list %}
    <li class="visit {{ visit.status }}">
      <span class="when">{{ visit.local_datetime|date:"DATETIME_FORMAT" }}</span>
      <span class="status">{{ visit.get_status_display }}</span>
      {% if visit.sites %}<span class="sites">{{ visit.sites|join:", " }}</span>{% endif %}
      {% if is_staff %}<a href="{% url 'visit-manage' visit.code %}">{% translate "Change" %}<span class="visually-hidden"> {{ visit.local_date|date:"DATE_FORMAT" }}</span></a>{% endif %}
    </li>
    {% endfor %}
  </ol>
"""
LISTS = re.compile(r'\n  <ol class="visits">.*?</ol>\n', re.S)


@pytest.mark.parametrize("language", ["en", "de", "ar", "zh-hans"])
def test_visits_are_the_templates(client, patient, clinician, make_visit, language) -> None:  # type: ignore[no-untyped-def]
    make_visit(patient, date(2020, 3, 4), time(9, 5), status=InjectionVisit.Status.DONE)
    make_visit(patient, date(2040, 11, 23), time(15, 30))
    make_visit(patient, date(2041, 1, 2), time(8, 0), status=InjectionVisit.Status.CANCELLED)
    for reader, staff in ((patient.user, False), (clinician, True)):
        User.objects.filter(pk=reader.pk).update(language=language)
        reader.refresh_from_db()
        log_in(client, reader)
        response = client.get(f"/patients/{patient.code}/")
        found = LISTS.findall(response.content.decode())
        context = response.context
        with translation.override(language):
            expected = [
                engines["django"].from_string(PARTIAL).render({"visit_list": visits, "is_staff": staff})
                for visits in (context["upcoming"], context["past"])
            ]
        assert found == expected
        assert ("/visits/" in found[0]) is staff
