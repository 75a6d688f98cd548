"""The patient list's lines, made in Python once per page (portal/clinic_views.patient_rows),
are the characters the template's own tags wrote: every kind of line, in every language."""

import re
from datetime import date, timedelta

import pytest
from django.template import engines
from django.urls import reverse
from django.utils import timezone, translation

from portal.models import Assignment, AssignmentProgress, InjectionVisit, User
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

# The loop as patient_list.html wrote it before the lines were made in Python.
TEMPLATE_LOOP = """{% load i18n %}
  {% for patient in page.object_list %}
    <tr>
      <td><a href="{% url 'patient-detail' patient.code %}">{{ patient.name }}</a></td>
      <td>{% if patient.discharged_at %}{% translate "Discharged" %}{% elif patient.user_id %}{% translate "Active" %}{% else %}{% translate "Invited" %}{% endif %}</td>
      <td>{{ patient.next_visit|date:"DATE_FORMAT"|default:"–" }}</td>
      <td>{% if patient.assigned %}{% blocktranslate with done=patient.acknowledged total=patient.assigned %}{{ done }} of {{ total }} acknowledged{% endblocktranslate %}{% else %}–{% endif %}</td>
    </tr>
  {% endfor %}"""
TBODY = re.compile(r"<tbody>(.*)</tbody>", re.S)


@pytest.mark.parametrize("language", ["en", "es", "fr", "de", "it", "pt-br", "zh-hans", "ar"])
def test_lines_are_the_templates(client, clinic, clinician, make_patient, make_visit, language) -> None:  # type: ignore[no-untyped-def]
    User.objects.filter(pk=clinician.pk).update(language=language)
    active = make_patient(clinic, "active@example.test", name="Zoë <O'Brien> & Co")
    make_patient(clinic, "invited@example.test", account=False, name="Invited Person")
    gone = make_patient(clinic, "gone@example.test", name="Gone Person")
    gone.discharged_at = timezone.now()
    gone.save()
    make_visit(active, timezone.localdate() + timedelta(days=40))
    make_visit(active, date(2020, 1, 1), status=InjectionVisit.Status.DONE)
    for n, slug in enumerate(["dressing-care", "side-effects", "when-to-call"]):
        assignment = Assignment.objects.create(patient=active, module_slug=slug, audience="patient")
        if n:
            AssignmentProgress.objects.create(
                assignment=assignment,
                reader=active.user,
                state=AssignmentProgress.State.ACKNOWLEDGED,
                opened_at=timezone.now(),
                finished_at=timezone.now(),
                acknowledged_at=timezone.now(),
                module_version=1,
            )
    log_in(client, clinician)
    for status in ("current", "all"):
        response = client.get(reverse("patient-list"), {"status": status})
        assert response.status_code == 200
        page = response.context["page"]
        body = TBODY.search(response.content.decode()).group(1)
        with translation.override(language):
            expected = engines["django"].from_string(TEMPLATE_LOOP).render({"page": page})
        assert body.strip() == expected.strip()
        assert "Zo&#x27;" not in body and "Zoë &lt;O&#x27;Brien&gt; &amp; Co" in body
    assert "2 of 3" in body or language != "en"
